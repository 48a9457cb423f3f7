// Package service holds Till's use cases: creating accounts and keys,
// customers and their vaulted cards, charging them, and the background work
// that settles what a request could not. Each use case is one or more units
// of work on the till.Store; every state change commits together with its
// events and outbox rows. Calls to a processor happen between units of work,
// never inside one.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/vault"
)

// ProcessorFactory returns the processor an account uses in a mode.
type ProcessorFactory func(ctx context.Context, a *till.Account, livemode bool) (till.Processor, error)

// Config wires a Service.
type Config struct {
	Store     till.Store
	Clock     till.Clock
	IDs       till.IDSource
	Keyring   *vault.Keyring
	Processor ProcessorFactory
	// Connectors make the processors accounts can choose besides the
	// simulator, by name ("stripe"), from the account's secret key.
	Connectors map[string]Connector
	// PublicBaseURL is the origin of payment-link and authentication URLs.
	PublicBaseURL string
	// Instance names this process as the holder of leases.
	Instance string
	// Lease is how long a request or worker holds work before another
	// process may take it over. It must exceed ProcessorTimeout.
	Lease time.Duration
	// ProcessorTimeout bounds one processor call.
	ProcessorTimeout time.Duration
	// ReconcileAfter is how long after an unknown outcome the reconciler
	// first asks the processor.
	ReconcileAfter time.Duration
	Logger         *slog.Logger
	// Renderer renders invoices and credit notes as PDF.
	Renderer till.DocumentRenderer
	// Mailer sends receipts; nil keeps them in the local mailbox
	// (GET /v1/test/emails).
	Mailer till.Mailer
	// Webhooks delivers webhook events (package webhook); RenderEvent
	// renders an event as the JSON body of its delivery (the native API's
	// event object). RunDeliveries needs both.
	Webhooks    till.WebhookSender
	RenderEvent func(*till.Event) ([]byte, error)
	// WebhookFormats are the webhook formats of the dialects, by the
	// name endpoints carry in till.WebhookEndpoint.Dialect; an endpoint
	// of a dialect not listed cannot be created, and its deliveries fail.
	WebhookFormats map[string]WebhookFormat
	// Observer receives measurements (package metrics); nil observes
	// nothing.
	Observer till.Observer
	// IdempotencyRetention is how long a completed Idempotency-Key is
	// remembered: 0 means DefaultIdempotencyRetention (7 days); New raises
	// a shorter one to MinIdempotencyRetention (24 hours).
	IdempotencyRetention time.Duration
	// Hook, if set, is called at named points of a mutating operation
	// ("charge.before-call", "charge.after-call", and the same for
	// "refund", "capture" and "release"). Crash tests use it to
	// stop the process at an exact point; production leaves it nil.
	Hook func(point string)
}

// Service implements the use cases. It is safe for concurrent use.
type Service struct {
	store     till.Store
	clock     till.Clock
	ids       till.IDSource
	keys      *vault.Keyring
	factory   ProcessorFactory
	procs     processors
	baseURL   string
	instance  string
	lease     time.Duration
	timeout   time.Duration
	recAfter  time.Duration
	log       *slog.Logger
	auth      *keyCache
	hook      func(point string)
	renderer  till.DocumentRenderer
	mailer    till.Mailer
	retention time.Duration
	webhooks  till.WebhookSender
	// renderEvent renders a delivery's body.
	renderEvent func(*till.Event) ([]byte, error)
	formats     map[string]WebhookFormat
	// wake tells this process's delivery runner that deliveries were
	// queued.
	wake chan struct{}
	obs  till.Observer
}

// New returns a Service. Zero durations get defaults: a 30 s lease, a 15 s
// processor timeout, a first reconciliation 1 s after an unknown outcome and
// a 7-day idempotency retention.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = till.SystemClock{}
	}
	if cfg.IDs == nil {
		cfg.IDs = till.RandomIDs{}
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.ProcessorTimeout <= 0 {
		cfg.ProcessorTimeout = 15 * time.Second
	}
	if cfg.ReconcileAfter <= 0 {
		cfg.ReconcileAfter = time.Second
	}
	switch {
	case cfg.IdempotencyRetention == 0:
		cfg.IdempotencyRetention = DefaultIdempotencyRetention
	case cfg.IdempotencyRetention < MinIdempotencyRetention:
		cfg.IdempotencyRetention = MinIdempotencyRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Instance == "" {
		cfg.Instance = "inst_" + till.RandomString(12)
	}
	s := &Service{
		store: cfg.Store, clock: cfg.Clock, ids: cfg.IDs, keys: cfg.Keyring, factory: cfg.Processor,
		procs:   processors{connectors: cfg.Connectors},
		baseURL: strings.TrimRight(cfg.PublicBaseURL, "/"), instance: cfg.Instance, lease: cfg.Lease,
		timeout: cfg.ProcessorTimeout, recAfter: cfg.ReconcileAfter, log: cfg.Logger, auth: newKeyCache(), hook: cfg.Hook,
		renderer: cfg.Renderer, mailer: cfg.Mailer, retention: cfg.IdempotencyRetention,
		webhooks: cfg.Webhooks, renderEvent: cfg.RenderEvent, formats: cfg.WebhookFormats, wake: make(chan struct{}, 1),
		obs: cfg.Observer,
	}
	if s.obs == nil {
		s.obs = till.NopObserver{}
	}
	if s.mailer == nil {
		s.mailer = &Mailbox{store: cfg.Store, ids: cfg.IDs}
	}
	return s
}

// Store returns the service's store.
func (s *Service) Store() till.Store { return s.store }

// Instance returns the lease-holder name of this process.
func (s *Service) Instance() string { return s.instance }

// PublicBaseURL returns the origin that public URLs start with.
func (s *Service) PublicBaseURL() string { return s.baseURL }

// Caller is an authenticated API key and its account.
type Caller struct {
	Account  *till.Account
	Key      *till.APIKey
	Livemode bool
	// CustomerID is the customer of a customer session (Key.Kind is
	// till.KeyCustomer); empty for API keys. Such a caller sees only that
	// customer's objects.
	CustomerID string
}

// sees reports whether the caller may see an object of customer
// customerID: any, for an API key; only its own, for a customer session.
func (c *Caller) sees(customerID string) bool {
	return c.CustomerID == "" || c.CustomerID == customerID
}

// IdemAPI is the API name a request's Idempotency-Key is kept under: api
// for an API key; api and the customer for a customer session, so that a
// customer's keys never meet the merchant's or another customer's.
func (c *Caller) IdemAPI(api string) string {
	if c == nil || c.CustomerID == "" {
		return api
	}
	return api + ":" + c.CustomerID
}

// Scope returns the caller's tenant.
func (c *Caller) Scope() till.Scope {
	return till.Scope{AccountID: c.Account.ID, Livemode: c.Livemode}
}

// now returns the time of the caller's account clock.
func (s *Service) now(a *till.Account, livemode bool) time.Time {
	return a.Now(s.clock, livemode)
}

// emit records an event about obj (a domain object stored as JSON) in the
// same unit of work as the change it describes. The event holds the object's
// snapshot without its secrets (eventSnapshot).
func (s *Service) emit(ctx context.Context, tx till.Tx, scope till.Scope, typ, objType, objID string, version int64, obj any, at time.Time) error {
	data, err := json.Marshal(eventSnapshot(obj))
	if err != nil {
		return err
	}
	e := &till.Event{
		ID: s.ids.NewID(till.PrefixEvent), AccountID: scope.AccountID, Livemode: scope.Livemode, Type: typ,
		ObjectType: objType, ObjectID: objID, ObjectVersion: version, Data: data, CreatedAt: at,
	}
	if err := tx.CreateEvent(ctx, e); err != nil {
		return err
	}
	return s.fanOut(ctx, tx, e)
}

// eventSnapshot returns the copy of obj an event keeps: events outlive the
// objects they describe and are delivered to other systems, so they never
// hold a credential. A payment's link token (the bearer credential of its
// /pay page; the rendered url stays, as the API shows it to the merchant), a
// card's sealed number and an account's sealed processor secrets are
// dropped, and so are a webhook endpoint's sealed secrets.
func eventSnapshot(obj any) any {
	switch o := obj.(type) {
	case *till.WebhookEndpoint:
		c := *o
		c.SealedSecret, c.SealedPreviousSecret, c.DataKeyID, c.PreviousDataKeyID = nil, nil, "", ""
		return &c
	case *till.Payment:
		c := *o
		c.LinkToken = ""
		return &c
	case *till.PaymentMethod:
		c := *o
		c.SealedPAN, c.DataKeyID = nil, ""
		return &c
	case *till.Account:
		c := *o
		for _, ps := range []*till.ProcessorSettings{&c.TestProcessor, &c.LiveProcessor} {
			ps.SealedSecretKey, ps.SealedWebhookSecret, ps.DataKeyID = nil, nil, ""
		}
		return &c
	}
	return obj
}

// at calls the test hook at a named point.
func (s *Service) at(point string) {
	if s.hook != nil {
		s.hook(point)
	}
}

// hashKey returns the stored form of an API key.
func hashKey(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// isNotFound reports whether err is a resource_missing error.
func isNotFound(err error) bool { return till.ErrorCode(err) == till.ENotFound }

// Event returns an event of the caller's account and mode.
func (s *Service) Event(ctx context.Context, c *Caller, id string) (*till.Event, error) {
	var e *till.Event
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		e, err = tx.Event(ctx, c.Scope(), id)
		return err
	})
	return e, err
}

// ListEvents returns a page of the caller's events, newest first. A type
// filter must name a known event type (till.EventTypes).
func (s *Service) ListEvents(ctx context.Context, c *Caller, f till.EventFilter) ([]*till.Event, bool, error) {
	if f.Type != "" && !slices.Contains(till.EventTypes, f.Type) {
		return nil, false, till.ParamError(till.EValidation, "type", "type %q is not an event type (such as payment.succeeded)", f.Type)
	}
	var out []*till.Event
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListEvents(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}
