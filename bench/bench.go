// Package bench is the load generator behind `till bench`: it creates
// customers with a saved card, drives full charges (tax, invoice, ledger,
// outbox; a unique Idempotency-Key each) through the native HTTP API in a
// closed loop (N clients, for throughput) or an open loop (a constant
// arrival rate, for latency free of coordinated omission), reports beside
// them a trivial request's rate on the same server (the floor), and checks
// what the server stored: every charge succeeded, one invoice each with
// consecutive numbers, and (on a server it started) a clean `till
// reconcile`.
//
// It talks to the server only over HTTP, with package client for the set-up
// and the checks and plain net/http in the hot loop; it knows nothing of the
// server's internals. It may start the server itself, as a child process of
// the till binary.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till/client"
)

// Config is what one run of the bench is told.
type Config struct {
	// URL and Key target a running server; with URL empty the bench starts
	// Binary (`Binary serve`) on a fresh data folder under TempDir ("" for
	// the system's temporary folder) and DatabaseURL (empty for SQLite),
	// with ServerArgs added to its command line and its output written to
	// ServerLog (default: server.log in the data folder). KeepData keeps the
	// data folder after a successful run (it is always kept after a failed
	// one).
	URL, Key    string
	Binary      string
	TempDir     string
	DatabaseURL string
	ServerArgs  []string
	ServerLog   string
	KeepData    bool

	// Customers is how many customers with a saved card the charges go to.
	Customers int
	// Concurrency is the closed loop's number of clients, and the floor's.
	Concurrency int
	// Rate, when above 0, selects the open loop: charges per second, with at
	// most MaxInFlight outstanding.
	Rate        float64
	MaxInFlight int
	// Warmup runs the load unmeasured before Duration is measured.
	Warmup, Duration time.Duration
	// FloorDuration is how long GET /healthz is measured; 0 skips it.
	FloorDuration time.Duration
	// Verify checks the stored charges, invoices and ledger afterwards.
	Verify bool
	// Progress receives what the bench is doing, as it does it; nil
	// discards it.
	Progress io.Writer
}

// Report is everything one run measured and checked.
type Report struct {
	Mode        string  `json:"mode"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	MaxInFlight int     `json:"maxInFlight,omitempty"`
	Customers   int     `json:"customers"`
	Server      Server  `json:"server"`
	Machine     Machine `json:"machine"`
	StartedAt   string  `json:"startedAt"`

	WarmupSeconds   float64 `json:"warmupSeconds"`
	DurationSeconds float64 `json:"durationSeconds"`
	// ElapsedSeconds runs from the end of the warm-up to the last measured
	// answer.
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	// Requests counts the measured charges sent (or, open loop, due);
	// Charges those answered 200 with status succeeded.
	Requests         int64   `json:"requests"`
	Charges          int64   `json:"charges"`
	ChargesPerSecond float64 `json:"chargesPerSecond"`
	// Errors counts every failed charge, the warm-up's included (their
	// kinds start with "warm-up"); ErrorSamples holds one answer or message
	// per kind.
	Errors       int64             `json:"errors"`
	ErrorsByKind map[string]int64  `json:"errorsByKind"`
	ErrorSamples map[string]string `json:"errorSamples,omitempty"`
	// LatencyMs is of the measured successful charges, in milliseconds:
	// from sending (closed loop) or from the scheduled time (open loop) to
	// the whole answer.
	LatencyMs Latency `json:"latencyMs"`
	// SendLagMs (open loop) is how late the charges left the bench after
	// their scheduled time, included in LatencyMs: large values mean the
	// bench, not the server, was short of CPU.
	SendLagMs *Latency `json:"sendLagMs,omitempty"`
	// CPU is how many cores the bench and the started server used during
	// the load; nil where /proc cannot tell.
	CPU *CPU `json:"cpu,omitempty"`
	// Floor is nil when skipped. It is measured before the charges, on the
	// idle server.
	Floor *Floor `json:"floor"`
	// Verification is nil when skipped.
	Verification *Verification `json:"verification"`
	// OK is true with no errors and a verification that passed or was
	// skipped.
	OK bool `json:"ok"`
}

// Server says which server was measured.
type Server struct {
	// Store is "sqlite" or "postgres" for a started server, "unknown" for
	// one given by URL.
	Store   string   `json:"store"`
	Started bool     `json:"started"`
	URL     string   `json:"url"`
	Args    []string `json:"args,omitempty"`
	// Log and DataDir name the started server's output and data folder
	// when they are kept (--server-log, --keep-data, a failed run).
	Log     string `json:"log,omitempty"`
	DataDir string `json:"dataDir,omitempty"`
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Floor is the rate of a trivial request, GET /healthz, on the same server
// with the same number of clients.
type Floor struct {
	Concurrency  int              `json:"concurrency"`
	Seconds      float64          `json:"seconds"`
	Requests     int64            `json:"requests"`
	PerSecond    float64          `json:"perSecond"`
	Errors       int64            `json:"errors"`
	ErrorsByKind map[string]int64 `json:"errorsByKind"`
	LatencyMs    Latency          `json:"latencyMs"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func latencyOf(h *Histogram) Latency {
	return Latency{P50: ms(h.Percentile(0.50)), P90: ms(h.Percentile(0.90)), P95: ms(h.Percentile(0.95)),
		P99: ms(h.Percentile(0.99)), P999: ms(h.Percentile(0.999)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

func (c *Config) check() error {
	switch {
	case c.URL == "" && c.Binary == "":
		return errors.New("bench: no server URL and no binary to start")
	case c.URL != "" && !strings.HasPrefix(c.Key, "sk_test_"):
		return errors.New("--url needs --key with a test secret key (sk_test_…): the bench makes real charges")
	case c.URL != "" && c.DatabaseURL != "":
		return errors.New("--database-url is for a server the bench starts; with --url the server has its own")
	case c.Customers < 1 || c.Customers > 1_000_000:
		return errors.New("--customers must be between 1 and 1000000")
	case c.Concurrency < 1 || c.Concurrency > 100_000:
		return errors.New("--concurrency must be between 1 and 100000")
	case c.Rate < 0 || c.Rate > 1_000_000:
		return errors.New("--rate must be between 0 (closed loop) and 1000000")
	case c.Rate > 0 && (c.MaxInFlight < 1 || c.MaxInFlight > 100_000):
		return errors.New("--max-inflight must be between 1 and 100000")
	case c.Duration <= 0 || c.Warmup < 0 || c.FloorDuration < 0:
		return errors.New("--duration must be positive, --warmup and --floor-duration not negative")
	case c.Warmup+c.Duration > 24*time.Hour || c.FloorDuration > time.Hour:
		return errors.New("--warmup plus --duration is limited to a day, --floor-duration to an hour")
	case c.Rate > 0 && c.Rate*(c.Warmup+c.Duration).Seconds() > 1e9:
		return errors.New("--rate × (--warmup + --duration) is limited to a billion requests")
	}
	return nil
}

// Run runs the bench: it starts the server (unless cfg.URL names one),
// creates the customers, measures the floor on the idle server, drives the
// load, verifies, stops the server, and returns the report. An error means the bench could not measure (bad
// configuration, a server that did not start, a refused key, an interrupt);
// failed charges and failed checks are in the report, with OK false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	runID := newRunID()
	rep := &Report{Mode: "closed", Concurrency: cfg.Concurrency, Customers: cfg.Customers, Machine: thisMachine(),
		StartedAt: time.Now().UTC().Format(time.RFC3339), WarmupSeconds: cfg.Warmup.Seconds(),
		DurationSeconds: cfg.Duration.Seconds(), ErrorsByKind: map[string]int64{}}
	if cfg.Rate > 0 {
		rep.Mode, rep.Rate, rep.MaxInFlight = "open", cfg.Rate, cfg.MaxInFlight
	}

	baseURL, key := strings.TrimRight(cfg.URL, "/"), cfg.Key
	rep.Server = Server{Store: "unknown", URL: baseURL}
	var srv *server
	if cfg.URL == "" {
		var err error
		srv, err = startServer(ctx, cfg.Binary, cfg.TempDir, cfg.DatabaseURL, cfg.ServerLog, cfg.ServerArgs, progress)
		if err != nil {
			if srv != nil {
				srv.close(false)
			}
			return nil, fmt.Errorf("starting the server: %w", err)
		}
		baseURL, key = srv.url, srv.key
		rep.Server = Server{Store: "sqlite", Started: true, URL: baseURL, Args: cfg.ServerArgs, Log: srv.logPath, DataDir: srv.dir}
		if cfg.DatabaseURL != "" {
			rep.Server.Store = "postgres"
		}
	}
	keep := cfg.KeepData
	defer func() {
		if srv != nil {
			srv.close(!keep)
			if keep {
				fmt.Fprintf(progress, "kept the server's data folder %s\n", srv.dir)
			}
		}
	}()

	idle := cfg.Concurrency
	if cfg.Rate > 0 {
		idle = max(idle, cfg.MaxInFlight)
	}
	tr := newTransport(idle)
	defer tr.CloseIdleConnections()
	c := client.New(baseURL, key)
	c.HTTP = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	acct, err := c.Account(ctx)
	if err != nil {
		keep = true
		var ae *client.Error
		if errors.As(err, &ae) {
			return nil, fmt.Errorf("the server at %s refused the key: %w", baseURL, err)
		}
		return nil, fmt.Errorf("cannot reach the server at %s: %w", baseURL, err)
	}
	if acct.Livemode {
		keep = true
		return nil, errors.New("the key is a live-mode key; the bench only makes test-mode charges")
	}

	fmt.Fprintf(progress, "creating %d customers with a saved card…\n", cfg.Customers)
	t0 := time.Now()
	customers, err := createCustomers(ctx, c, cfg.Customers, min(cfg.Concurrency, 16), runID)
	if err != nil {
		keep = true
		return nil, fmt.Errorf("creating customers: %w", err)
	}
	fmt.Fprintf(progress, "  done in %.1f s\n", time.Since(t0).Seconds())

	ch, err := newCharger(tr, baseURL, key, customers, runID)
	if err != nil {
		return nil, err
	}
	if cfg.FloorDuration > 0 {
		fmt.Fprintf(progress, "floor: GET /healthz, %d clients, %v…\n", cfg.Concurrency, cfg.FloorDuration)
		health := func(ctx context.Context, _ int64, buf *bytes.Buffer) outcome { return ch.health(ctx, buf) }
		fl, fe := closedLoop(ctx, cfg.Concurrency, 0, cfg.FloorDuration, false, health)
		if ctx.Err() != nil {
			keep = true
			return nil, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		rep.Floor = &Floor{Concurrency: cfg.Concurrency, Seconds: fe.Seconds(), Requests: fl.requests,
			PerSecond: float64(fl.succeeded) / fe.Seconds(), Errors: fl.measuredErrors(), ErrorsByKind: fl.errors,
			LatencyMs: latencyOf(&fl.latency)}
	}

	serverPID := ""
	if srv != nil {
		serverPID = strconv.Itoa(srv.cmd.Process.Pid)
	}
	meter := startCPUMeter(serverPID)
	var load *tally
	var elapsed time.Duration
	if cfg.Rate > 0 {
		fmt.Fprintf(progress, "open loop: %g charges/s (at most %d in flight), %v warm-up, %v measured…\n",
			cfg.Rate, cfg.MaxInFlight, cfg.Warmup, cfg.Duration)
		load, elapsed = openLoop(ctx, cfg.Rate, cfg.MaxInFlight, cfg.Warmup, cfg.Duration, cfg.Verify, ch.charge)
	} else {
		fmt.Fprintf(progress, "closed loop: %d clients, %v warm-up, %v measured…\n", cfg.Concurrency, cfg.Warmup, cfg.Duration)
		load, elapsed = closedLoop(ctx, cfg.Concurrency, cfg.Warmup, cfg.Duration, cfg.Verify, ch.charge)
	}
	if ctx.Err() != nil {
		keep = true
		return nil, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	rep.CPU = meter.stop()
	rep.ElapsedSeconds = elapsed.Seconds()
	rep.Requests, rep.Charges = load.requests, load.succeeded
	rep.ChargesPerSecond = float64(load.succeeded) / elapsed.Seconds()
	rep.Errors = load.allErrors
	rep.ErrorsByKind, rep.ErrorSamples = load.errors, load.samples
	rep.LatencyMs = latencyOf(&load.latency)
	if cfg.Rate > 0 {
		lag := latencyOf(&load.lag)
		rep.SendLagMs = &lag
	}

	var stopErr error
	if cfg.Verify {
		fmt.Fprintln(progress, "verifying…")
		v := &Verification{Charges: load.allRequests, Succeeded: load.allRequests - load.allErrors,
			InvoiceSeries: []string{}, Problems: []string{}}
		if load.allErrors > 0 {
			v.Problems = append(v.Problems, fmt.Sprintf("%d of %d charges did not answer 200 succeeded", load.allErrors, load.allRequests))
		}
		count, series, problems := checkInvoices(ctx, c, load.paymentIDs, srv != nil)
		v.Invoices, v.Problems = count, append(v.Problems, problems...)
		v.InvoiceSeries = append(v.InvoiceSeries, series...)
		if srv != nil {
			stopErr = srv.stop()
			if ctx.Err() != nil {
				keep = true
				return nil, fmt.Errorf("interrupted: %w", ctx.Err())
			}
			result, report, err := srv.reconcile(ctx)
			switch {
			case err != nil:
				v.Reconcile = "failed"
				v.Problems = append(v.Problems, err.Error())
			case result != "clean":
				v.Reconcile, v.ReconcileReport = result, report
				v.Problems = append(v.Problems, "till reconcile found differences")
			default:
				v.Reconcile = result
			}
		} else {
			v.Reconcile = "skipped (--url: run till reconcile on that server's store)"
		}
		v.OK = len(v.Problems) == 0
		rep.Verification = v
	} else if srv != nil {
		stopErr = srv.stop()
	}
	if stopErr != nil {
		fmt.Fprintf(progress, "stopping the server: %v\n", stopErr)
	}
	rep.OK = rep.Errors == 0 && (rep.Floor == nil || rep.Floor.Errors == 0) &&
		(rep.Verification == nil || rep.Verification.OK)
	if !rep.OK {
		keep = true
	}
	if srv != nil && !keep {
		// The data folder goes when Run returns; name only what stays.
		rep.Server.DataDir = ""
		if cfg.ServerLog == "" {
			rep.Server.Log = ""
		}
	}
	return rep, nil
}

// newRunID returns a short random id that makes this run's idempotency keys
// and customer emails its own.
func newRunID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteText writes the report for a person.
func (r *Report) WriteText(w io.Writer) {
	if r.Mode == "open" {
		fmt.Fprintf(w, "mode:        open loop, %g charges/s scheduled (at most %d in flight)\n", r.Rate, r.MaxInFlight)
	} else {
		fmt.Fprintf(w, "mode:        closed loop, %d clients\n", r.Concurrency)
	}
	srv := r.Server.Store + ", started by the bench"
	if !r.Server.Started {
		srv = "given by --url"
	}
	fmt.Fprintf(w, "server:      %s, %s", r.Server.URL, srv)
	if len(r.Server.Args) > 0 {
		fmt.Fprintf(w, " (extra args: %s)", strings.Join(r.Server.Args, " "))
	}
	fmt.Fprintln(w)
	m := r.Machine
	fmt.Fprintf(w, "machine:     %s/%s, %d CPUs, %s, kernel %s, %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.CPU, m.Kernel, m.GoVersion)
	fmt.Fprintf(w, "duration:    %.3f s measured after %.3g s warm-up; %d customers\n", r.ElapsedSeconds, r.WarmupSeconds, r.Customers)
	fmt.Fprintf(w, "requests:    %d\n", r.Requests)
	fmt.Fprintf(w, "charges/s:   %.1f (%d succeeded)\n", r.ChargesPerSecond, r.Charges)
	fmt.Fprintf(w, "errors:      %d\n", r.Errors)
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-28s %d", k, r.ErrorsByKind[k])
		if s := r.ErrorSamples[strings.TrimPrefix(k, "warm-up ")]; s != "" {
			fmt.Fprintf(w, "  e.g. %s", s)
		}
		fmt.Fprintln(w)
	}
	l := r.LatencyMs
	fmt.Fprintf(w, "latency ms:  p50 %.2f  p90 %.2f  p95 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (mean %.2f)\n",
		l.P50, l.P90, l.P95, l.P99, l.P999, l.Max, l.Mean)
	if g := r.SendLagMs; g != nil {
		fmt.Fprintf(w, "send lag ms: p50 %.2f  p99 %.2f  max %.2f  (behind schedule, part of the latency)\n", g.P50, g.P99, g.Max)
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "cpu:         bench %.2f cores", c.BenchCores)
		if c.ServerCores != nil {
			fmt.Fprintf(w, ", server %.2f cores", *c.ServerCores)
		}
		fmt.Fprintf(w, " of %d, during the load\n", r.Machine.NumCPU)
	}
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "floor:       GET /healthz %.0f/s (%d clients, %.1f s, %d errors, p99 %.2f ms)\n",
			f.PerSecond, f.Concurrency, f.Seconds, f.Errors, f.LatencyMs.P99)
	} else {
		fmt.Fprintln(w, "floor:       skipped")
	}
	if v := r.Verification; v != nil {
		state := "ok"
		if !v.OK {
			state = "FAILED"
		}
		fmt.Fprintf(w, "verify:      %s: %d of %d charges succeeded; %d invoices (%s); reconcile %s\n", state,
			v.Succeeded, v.Charges, v.Invoices, strings.Join(v.InvoiceSeries, ", "), v.Reconcile)
		for _, p := range v.Problems {
			fmt.Fprintf(w, "  problem: %s\n", p)
		}
		if v.ReconcileReport != "" {
			fmt.Fprintf(w, "  reconcile: %s\n", v.ReconcileReport)
		}
	} else {
		fmt.Fprintln(w, "verify:      skipped")
	}
	if r.Server.Started && !r.OK {
		fmt.Fprintf(w, "data kept:   %s (server log %s)\n", r.Server.DataDir, r.Server.Log)
	}
}
