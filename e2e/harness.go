// Package e2e holds Till's end-to-end tests: each starts the real HTTP
// server on a real database (SQLite, and PostgreSQL where a server is
// available) with the simulator processor, and talks to it over HTTP through
// package client, as a merchant's code would.
package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/checkout"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/dialect/chip"
	"github.com/tillpay/till/dialect/cms"
	"github.com/tillpay/till/dialect/commet"
	"github.com/tillpay/till/dialect/orders"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/pdf"
	"github.com/tillpay/till/processor/simulator"
	"github.com/tillpay/till/service"
	"github.com/tillpay/till/smtp"
	"github.com/tillpay/till/sqlite"
	"github.com/tillpay/till/vault"
	"github.com/tillpay/till/webhook"
)

// Backend opens a fresh, empty store for one test. OpenSimulator, when
// set, opens the simulator's own store (SQLite keeps it in a file of its
// own, as till serve does); otherwise the simulator shares the store.
type Backend struct {
	Name          string
	Open          func(tb testing.TB) Store
	OpenSimulator func(tb testing.TB) till.RecordStore
}

// Store is what a backend opens: Till's store, which also keeps the
// simulator's records when the backend has no OpenSimulator.
type Store interface {
	till.Store
	till.RecordStore
}

// SQLite is the embedded store in a temporary folder.
var SQLite = Backend{Name: "sqlite", Open: openSQLite("till.db"),
	OpenSimulator: func(tb testing.TB) till.RecordStore { return openSQLite("simulator.db")(tb) }}

func openSQLite(name string) func(tb testing.TB) Store {
	return func(tb testing.TB) Store {
		tb.Helper()
		st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), name), sqlite.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return st
	}
}

// Backends are the stores every end-to-end test runs on. Packages that add a
// store append to it in an init function of a _test file.
var Backends = []Backend{SQLite}

// Env is a running Till: its URL, a client holding the first account's test
// secret key, and the parts tests may reach into.
type Env struct {
	URL     string
	Client  *client.Client
	Keys    *api.NewAccountKeys
	Service *service.Service
	Store   till.Store
	Keyring *vault.Keyring
	tb      testing.TB
}

// DefaultProcessorTimeout bounds each processor call of an Env whose
// Options set none.
const DefaultProcessorTimeout = time.Second

// Options change how an Env starts.
type Options struct {
	Lease            time.Duration
	ProcessorTimeout time.Duration
	RateLimit        float64
	AdminToken       string
	// NoWorkers leaves the background workers stopped; the test runs them
	// with RunDue.
	NoWorkers bool
	// SMTPURL sends receipts over SMTP instead of the local mailbox.
	SMTPURL string
	// Connectors are the processors besides the simulator accounts may
	// choose (service.Config.Connectors).
	Connectors map[string]service.Connector
}

// Each runs fn as a subtest on every backend.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// Start runs Till on a fresh store of backend b, with a bootstrapped account.
func Start(tb testing.TB, b Backend, opts ...Options) *Env {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	st := b.Open(tb)
	mk, err := vault.ParseMasterKeys("0000000000000000000000000000000000000000000000000000000000000001")
	if err != nil {
		tb.Fatal(err)
	}
	kr := vault.NewKeyring(mk, nil, nil)
	if err := st.Update(ctx, func(tx till.Tx) error {
		existing, err := tx.DataKeys(ctx)
		if err != nil {
			return err
		}
		created, _, err := kr.Load(existing)
		for _, k := range created {
			if err == nil {
				err = tx.CreateDataKey(ctx, k)
			}
		}
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	// The server's log and responses go through the secrets tap (tap.go).
	tp := &tap{}
	log := tp.logger()
	env := &Env{Store: st, Keyring: kr, tb: tb}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	var simStore till.RecordStore = st
	if b.OpenSimulator != nil {
		simStore = b.OpenSimulator(tb)
	}
	sim := simulator.New(simStore, till.RandomIDs{})
	var mailer till.Mailer
	if o.SMTPURL != "" {
		m, err := smtp.New(o.SMTPURL, smtp.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		mailer = m
	}
	if o.ProcessorTimeout == 0 {
		// The simulator's timeout card hangs for as long as this.
		o.ProcessorTimeout = DefaultProcessorTimeout
	}
	env.Service = service.New(service.Config{
		Store: st, Keyring: kr, PublicBaseURL: base, Lease: o.Lease, ProcessorTimeout: o.ProcessorTimeout, Logger: log,
		Renderer: pdf.New(), Mailer: mailer, Webhooks: webhook.New(webhook.Options{}), RenderEvent: api.EventBody,
		WebhookFormats: map[string]service.WebhookFormat{commet.Name: commet.Format{}, chip.APIName: chip.Format{}},
		Processor: func(ctx context.Context, a *till.Account, livemode bool) (till.Processor, error) {
			if livemode {
				return nil, till.Errorf(till.ELiveForbidden, "no live processor")
			}
			return sim, nil
		},
		Connectors: o.Connectors,
	})
	// The same composition as till serve: the native API and, under /pay/,
	// the pages, and the dialects (Commet under /api/v1/, CHIP under its
	// more specific prefixes, Orders & Subscriptions under /os/v1/, the CMS
	// storefront under /cms/), each in its own middleware stack.
	limits := middleware.NewLimiter(o.RateLimit, 0)
	native := tillhttp.New(env.Service, tillhttp.Options{PublicBaseURL: base, AdminToken: o.AdminToken,
		Logger: log, Limiter: limits})
	pages := checkout.New(env.Service, checkout.Options{Logger: log})
	commetAPI := commet.New(env.Service, commet.Options{PublicBaseURL: base, Logger: log, Limiter: limits})
	chipAPI := chip.New(env.Service, chip.Options{Logger: log, Limiter: limits})
	srv.Config.Handler = tp.wrap(middleware.ByPrefix(native, append(chipAPI.Mounts(),
		middleware.Prefix{Path: commet.Prefix, Handler: commetAPI},
		middleware.Prefix{Path: "/cms/", Handler: cms.New(env.Service, cms.Options{Logger: log, Limiter: limits})},
		middleware.Prefix{Path: orders.Prefix, Handler: orders.New(env.Service, orders.Options{Logger: log, Limiter: limits})},
		middleware.Prefix{Path: "/pay/", Handler: middleware.Stack(pages, middleware.Options{ErrorWriter: pages.WriteError, Logger: log})})...))
	srv.Start()
	env.URL = base
	created, err := env.Service.Bootstrap(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	env.Keys = tillhttp.AccountKeysOf(created)
	env.Client = client.New(base, env.Keys.TestSecretKey)
	workCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if !o.NoWorkers {
		wg.Go(func() { env.Service.RunWorkers(workCtx, service.WorkerOptions{Poll: 20 * time.Millisecond}) })
		wg.Go(func() { env.Service.RunDeliveries(workCtx, service.DeliveryOptions{Poll: 20 * time.Millisecond}) })
	}
	path := env.Path()
	tb.Cleanup(func() {
		stop()
		wg.Wait()
		srv.Close()
		st.Close()
		tp.check(tb, path)
	})
	return env
}

// Ctx returns a context bounded for one test step.
func (e *Env) Ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	e.tb.Cleanup(cancel)
	return ctx
}

// Customer creates a customer in country (empty for none).
func (e *Env) Customer(country string) *api.Customer {
	e.tb.Helper()
	in := api.CustomerCreate{Email: "buyer@example.com", Name: "Jana Müller"}
	if country != "" {
		in.Address = &api.Address{Country: country}
	}
	c, err := e.Client.CreateCustomer(e.Ctx(), in)
	if err != nil {
		e.tb.Fatal(err)
	}
	return c
}

// Card saves card number as the customer's default method.
func (e *Env) Card(customerID, number string) *api.PaymentMethod {
	e.tb.Helper()
	pm, err := e.Client.AddPaymentMethod(e.Ctx(), customerID, api.PaymentMethodCreate{
		Card: &api.CardInput{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}, SetDefault: true})
	if err != nil {
		e.tb.Fatal(err)
	}
	return pm
}

// CustomerWithCard creates a customer in country with a default card.
func (e *Env) CustomerWithCard(country, number string) (*api.Customer, *api.PaymentMethod) {
	e.tb.Helper()
	c := e.Customer(country)
	return c, e.Card(c.ID, number)
}

// Eventually polls cond every 20 ms until it returns true or timeout passes.
func (e *Env) Eventually(timeout time.Duration, what string, cond func() bool) {
	e.tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Amount returns a pointer to n, for request fields.
func Amount(n int64) *int64 { return &n }

// Bool returns a pointer to b.
func Bool(b bool) *bool { return &b }

// Str returns a pointer to s.
func Str(s string) *string { return &s }

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// Int64 returns a pointer to n.
func Int64(n int64) *int64 { return &n }

// APIError asserts err is an API error with the status and code.
func APIError(tb testing.TB, err error, status int, code string) *client.Error {
	tb.Helper()
	ce, ok := err.(*client.Error)
	if !ok {
		tb.Fatalf("want API error %d %s, got %v", status, code, err)
	}
	if ce.Status != status || ce.Code != code {
		tb.Fatalf("want %d %s, got %d %s: %s", status, code, ce.Status, ce.Code, ce.Message)
	}
	return ce
}

// Must fails the test on err and returns v.
func Must[T any](tb testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// String renders v for failure messages.
func String(v any) string { return fmt.Sprintf("%+v", v) }

// Path returns the file of the Env's database, or "" when its store is not a
// single file (PostgreSQL). Tests scan the file for data that must never be
// stored in the clear.
func (e *Env) Path() string {
	if p, ok := e.Store.(interface{ Path() string }); ok {
		return p.Path()
	}
	return ""
}
