package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/checkout"
	"github.com/tillpay/till/dialect/chip"
	"github.com/tillpay/till/dialect/cms"
	"github.com/tillpay/till/dialect/commet"
	"github.com/tillpay/till/dialect/orders"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/metrics"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/pdf"
	"github.com/tillpay/till/processor/simulator"
	stripeproc "github.com/tillpay/till/processor/stripe"
	"github.com/tillpay/till/service"
	"github.com/tillpay/till/smtp"
	"github.com/tillpay/till/sqlite"
	"github.com/tillpay/till/webhook"
)

// serveConfig is everything `till serve` is told.
type serveConfig struct {
	storage          storageFlags
	addr             string
	publicBaseURL    string
	adminToken       string
	logLevel         string
	rateLimit        float64
	lease            time.Duration
	processorTimeout time.Duration
	stripeAPIURL     string
	idemRetention    time.Duration
	workers          int
	smtpURL          string
	cpuProfile       string
	metricsToken     string
}

func serveFlags(cfg *serveConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.storage.register(fs)
	fs.StringVar(&cfg.addr, "addr", envOr("TILL_ADDR", "127.0.0.1:4000"), "listen `address` (TILL_ADDR)")
	fs.StringVar(&cfg.publicBaseURL, "public-base-url", os.Getenv("TILL_PUBLIC_BASE_URL"),
		"`origin` that payment-link URLs and doc_url links start with; default http:// + the listen address (TILL_PUBLIC_BASE_URL)")
	fs.StringVar(&cfg.adminToken, "admin-token", os.Getenv("TILL_ADMIN_TOKEN"), "`token` that guards /v1/admin; empty disables it (TILL_ADMIN_TOKEN)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr("TILL_LOG_LEVEL", "info"), "debug, info, warn or error (TILL_LOG_LEVEL)")
	fs.Float64Var(&cfg.rateLimit, "rate-limit", envFloat("TILL_RATE_LIMIT", 500), "sustained requests per second per API key, 0 for none (TILL_RATE_LIMIT)")
	fs.DurationVar(&cfg.lease, "lease", envDuration("TILL_LEASE", 30*time.Second), "how long a process holds work before another may take it over (TILL_LEASE)")
	fs.StringVar(&cfg.stripeAPIURL, "stripe-api-url", envOr("TILL_STRIPE_API_URL", ""), "Stripe's API base URL for the stripe processor, e.g. a stripe-mock; empty is Stripe's own (TILL_STRIPE_API_URL)")
	fs.DurationVar(&cfg.processorTimeout, "processor-timeout", envDuration("TILL_PROCESSOR_TIMEOUT", 15*time.Second), "bound of one processor call (TILL_PROCESSOR_TIMEOUT)")
	fs.DurationVar(&cfg.idemRetention, "idempotency-retention", envDuration("TILL_IDEMPOTENCY_RETENTION", service.DefaultIdempotencyRetention),
		"how long a completed Idempotency-Key is remembered, at least 24h (TILL_IDEMPOTENCY_RETENTION)")
	fs.IntVar(&cfg.workers, "workers", envInt("TILL_WORKERS", 8), "background tasks run at once (TILL_WORKERS)")
	fs.StringVar(&cfg.cpuProfile, "cpu-profile", os.Getenv("TILL_CPU_PROFILE"),
		"write a CPU profile of the whole run to `file` (read it with go tool pprof) (TILL_CPU_PROFILE)")
	fs.StringVar(&cfg.metricsToken, "metrics-token", os.Getenv("TILL_METRICS_TOKEN"),
		"`token` that GET /metrics requires as 'Authorization: Bearer …'; empty serves /metrics to anyone who can reach the address (TILL_METRICS_TOKEN)")
	fs.StringVar(&cfg.smtpURL, "smtp-url", os.Getenv("TILL_SMTP_URL"),
		"SMTP server for receipts, `smtp://user:pass@host:587` (STARTTLS when offered) or smtps://…:465; empty keeps receipts in the local mailbox, GET /v1/test/emails (TILL_SMTP_URL)")
	return fs
}

func envFloat(name string, def float64) float64 {
	var v float64
	if s := os.Getenv(name); s != "" {
		if _, err := fmt.Sscan(s, &v); err == nil {
			return v
		}
	}
	return def
}

func envInt(name string, def int) int {
	var v int
	if s := os.Getenv(name); s != "" {
		if _, err := fmt.Sscan(s, &v); err == nil {
			return v
		}
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if s := os.Getenv(name); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return def
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{"bad log level " + level}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := serveFlags(&cfg, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.lease <= cfg.processorTimeout {
		return usageError{"--lease must be longer than --processor-timeout"}
	}
	if cfg.idemRetention < service.MinIdempotencyRetention {
		return usageError{"--idempotency-retention must be at least 24h (SPEC §1 keeps keys at least 24 hours)"}
	}
	logOut := newLogWriter(stderr)
	defer logOut.Close()
	log, err := newLogger(cfg.logLevel, logOut)
	if err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.publicBaseURL == "" {
		cfg.publicBaseURL = "http://" + ln.Addr().String()
	}
	cfg.publicBaseURL = strings.TrimRight(cfg.publicBaseURL, "/")

	obs := metrics.New(metrics.Options{Version: versionString(), Logger: log})
	cfg.storage.onCommit = obs.Committed
	st, err := cfg.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if q, ok := st.Store.(till.QueueCounter); ok {
		obs.WatchQueue(q, service.TaskKinds())
	}
	if st.exclusive {
		unlock, err := lockDataDir(cfg.storage.data)
		if err != nil {
			return err
		}
		defer unlock()
	}
	keys, keySource, err := openKeyring(ctx, st, cfg.storage.data)
	if err != nil {
		return err
	}
	simStore, closeSim, err := cfg.storage.simulatorStore(ctx, st, log)
	if err != nil {
		return err
	}
	defer closeSim()
	sim := simulator.New(simStore, till.RandomIDs{})
	var mailer till.Mailer
	mailDesc := "local mailbox (GET /v1/test/emails)"
	if cfg.smtpURL != "" {
		m, err := smtp.New(cfg.smtpURL, smtp.Options{})
		if err != nil {
			return usageError{"--smtp-url: " + err.Error()}
		}
		mailer, mailDesc = m, "SMTP "+redactURL(cfg.smtpURL)
	}
	svc := service.New(service.Config{
		Store: st, Keyring: keys, PublicBaseURL: cfg.publicBaseURL, Lease: cfg.lease,
		ProcessorTimeout: cfg.processorTimeout, Logger: log, Hook: failpoint(log), IdempotencyRetention: cfg.idemRetention,
		Renderer: pdf.New(), Mailer: mailer, Webhooks: webhook.New(webhook.Options{}), RenderEvent: api.EventBody, Observer: obs,
		WebhookFormats: map[string]service.WebhookFormat{commet.Name: commet.Format{}, chip.APIName: chip.Format{}},
		Processor: func(ctx context.Context, a *till.Account, livemode bool) (till.Processor, error) {
			if livemode {
				return nil, till.Errorf(till.ELiveForbidden, "Live mode needs a real processor; none is configured for this account.")
			}
			return sim, nil
		},
		Connectors: map[string]service.Connector{stripeproc.Name: func(key string) till.Processor {
			return stripeproc.New(stripeproc.Config{SecretKey: key, APIURL: cfg.stripeAPIURL})
		}},
	})
	if st.exclusive {
		// Only this process uses the store: whatever an earlier process held
		// when it stopped can be taken over now.
		if err := st.Update(ctx, func(tx till.Tx) error { return tx.ReleaseLeases(ctx, svc.Instance()) }); err != nil {
			return err
		}
	}
	created, err := svc.Bootstrap(ctx)
	if err != nil {
		return err
	}
	keysPath := filepath.Join(cfg.storage.data, "keys.json")
	if created != nil {
		if err := writeKeysFile(keysPath, tillhttp.AccountKeysOf(created)); err != nil {
			return err
		}
	}
	// Each API is served inside its own middleware stack, answering errors
	// (a panic, a non-canonical path) in its own shape: the native API wraps
	// itself with its envelope; the pages render an HTML page; the CHIP
	// dialect answers in CHIP's error shape, the CMS dialect in its own.
	// One rate limiter for every API: a key's budget is the same whichever
	// it calls.
	limits := middleware.NewLimiter(cfg.rateLimit, 0)
	native := tillhttp.New(svc, tillhttp.Options{
		PublicBaseURL: cfg.publicBaseURL, AdminToken: cfg.adminToken, Logger: log, Limiter: limits,
		Ready: st.ready, Observe: obs.Request,
	})
	pages := checkout.New(svc, checkout.Options{Logger: log})
	// The dialects wrap themselves with their own envelopes, as the native
	// API does.
	commetAPI := commet.New(svc, commet.Options{PublicBaseURL: cfg.publicBaseURL, Logger: log, Limiter: limits,
		Observe: obs.Request})
	ordersAPI := orders.New(svc, orders.Options{Logger: log, Limiter: limits})
	storefront := cms.New(svc, cms.Options{Logger: log, Limiter: limits, Observe: obs.Request})
	observe := middleware.RouteObserver(obs.Request)
	chipAPI := chip.New(svc, chip.Options{Logger: log, Limiter: limits, Observe: observe})
	handler := middleware.ByPrefix(native, append(chipAPI.Mounts(),
		middleware.Prefix{Path: commet.Prefix, Handler: commetAPI},
		middleware.Prefix{Path: "/cms/", Handler: storefront},
		middleware.Prefix{Path: orders.Prefix, Handler: ordersAPI},
		middleware.Prefix{Path: "/pay/", Handler: middleware.Stack(pages, middleware.Options{ErrorWriter: pages.WriteError, Logger: log,
			Observe: observe.By(pages.Route)})},
		middleware.Prefix{Path: "/metrics/", Handler: middleware.Stack(obs.Handler(cfg.metricsToken), middleware.Options{Logger: log,
			Observe: observe.By(func(r *http.Request) string { return map[bool]string{true: "/metrics"}[r.URL.Path == "/metrics"] })})})...)
	srv := &http.Server{Handler: handler, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	middleware.DefaultServerTimeouts().Apply(srv)

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { svc.RunWorkers(workCtx, service.WorkerOptions{Concurrency: cfg.workers}) })
	wg.Go(func() { svc.RunDeliveries(workCtx, service.DeliveryOptions{}) })

	printBanner(stdout, cfg, st.describe+"\n  receipts:   "+mailDesc, keySource, keysPath, created)
	log.Info("till serving", "addr", ln.Addr().String(), "store", st.describe, "version", versionString())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopWork()
	wg.Wait()
	if sq, ok := st.Store.(*sqlite.Store); ok {
		w := sq.WriterStats()
		log.Info("stopped", "commits", w.Commits, "units", w.Units, "exec", w.Exec.String(), "commit", w.Commit.String(), "checkpoints", w.Checkpoints, "wal_restarts", w.Restarts)
	} else {
		log.Info("stopped")
	}
	return err
}

// failpoint returns the crash-test hook named by TILL_FAILPOINT: when a
// charge reaches that point, the request stops there for good (the test then
// kills the process). Without the variable it returns nil.
func failpoint(log *slog.Logger) func(string) {
	name := os.Getenv("TILL_FAILPOINT")
	if name == "" {
		return nil
	}
	return func(point string) {
		if point == name {
			log.Warn("failpoint reached", "point", point)
			select {}
		}
	}
}

// writeKeysFile stores the first account's keys in the data folder, readable
// only by the owner.
func writeKeysFile(path string, k *api.NewAccountKeys) error {
	b, _ := json.MarshalIndent(k, "", "  ")
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// printBanner tells a newcomer how to talk to the server: the test key and
// a first request.
func printBanner(w io.Writer, cfg serveConfig, storeDesc, keySource, keysPath string, created *service.AccountKeys) {
	fmt.Fprintf(w, "Till %s listening on %s\n", versionString(), cfg.publicBaseURL)
	fmt.Fprintf(w, "  store:      %s\n  master key: %s\n", storeDesc, keySource)
	key := ""
	if created != nil {
		fmt.Fprintf(w, "\nCreated account %s. Its keys are shown once here and kept in %s (mode 0600):\n", created.AccountID, keysPath)
		fmt.Fprintf(w, "  test secret key:      %s\n  test publishable key: %s\n", created.TestSecretKey, created.TestPublishableKey)
		key = created.TestSecretKey
	} else if b, err := os.ReadFile(keysPath); err == nil {
		var k api.NewAccountKeys
		if json.Unmarshal(b, &k) == nil {
			fmt.Fprintf(w, "  test secret key of the first account (from %s): %s\n", keysPath, k.TestSecretKey)
			key = k.TestSecretKey
		}
	}
	if key == "" {
		return
	}
	fmt.Fprintf(w, "\nTry it:\n  export TILL_KEY=%s\n", key)
	fmt.Fprintf(w, "  curl -s %s/v1/customers -H \"x-api-key: $TILL_KEY\" -H 'Content-Type: application/json' \\\n", cfg.publicBaseURL)
	fmt.Fprintf(w, "    -d '{\"email\":\"jane@example.com\",\"name\":\"Jane Doe\",\"address\":{\"country\":\"DE\"}}'\n")
	fmt.Fprintf(w, "Then save a card and charge it: see the README's quick start.\n\n")
}

// lockDataDir takes an exclusive lock on the data folder so that two servers
// never share one SQLite database.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another till serve is using %s (one server per SQLite database; use PostgreSQL to run several)", dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
