// Package commet serves the Commet payments API under /api/v1/, so that
// code written for Commet's official SDK (@commet/node) works against Till
// with only its base URL changed: the SDK's paths, its x-api-key with a ck_
// prefix, its {success, data} envelope and error shape, its field names and
// status vocabulary, its idempotency keys, and its webhook format and
// signature (format.go). It is a translator over package service: each
// handler decodes a Commet request, calls one service method and renders
// the result; the README lists the subset it implements and every mapping.
package commet

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// Name is the dialect's name: the API its idempotency keys belong to and
// the Dialect of the webhook endpoints it creates.
const Name = "commet"

// Prefix is where the dialect is mounted (middleware.ByPrefix).
const Prefix = "/api/v1/"

// APIVersion is the Commet API version the dialect speaks (the SDK's
// API_VERSION): the apiVersion of its webhook endpoints and deliveries.
const APIVersion = "2026-07-11"

// MaxBodyBytes is the largest request body accepted (1 MiB).
const MaxBodyBytes = 1 << 20

// Options configure a Server.
type Options struct {
	// PublicBaseURL is the origin of doc_url links.
	PublicBaseURL string
	Logger        *slog.Logger
	// RateLimit is the sustained requests per second allowed per API key
	// (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limiter, when set, is the rate limiter shared with the other APIs the
	// server mounts (RateLimit and Burst are then unused).
	Limiter *middleware.Limiter
	// Observe, when set, is told of each request by its route pattern.
	Observe middleware.RouteObserver
}

// Server is the Commet dialect's http.Handler, inside its own
// middleware.Stack: a path under /api/v1/ that no route serves is a 404,
// and a known path with another method a 405, in Commet's error envelope.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	baseURL string
	limits  *middleware.Limiter
	mux     *http.ServeMux
	handler http.Handler
}

// route is one endpoint of the dialect.
type route struct {
	method, path string
	h            http.HandlerFunc
}

func (s *Server) routes() []route {
	return []route{
		{"POST", "/api/v1/customers", s.createCustomer},
		{"GET", "/api/v1/customers", s.listCustomers},
		{"GET", "/api/v1/customers/{id}", s.getCustomer},
		{"PUT", "/api/v1/customers/{id}", s.updateCustomer},

		{"POST", "/api/v1/payments/charge", s.charge},
		{"POST", "/api/v1/payments", s.createPayment},
		{"GET", "/api/v1/payments", s.listPayments},
		{"GET", "/api/v1/payments/{id}", s.getPayment},
		{"POST", "/api/v1/payments/{id}/cancel", s.cancelPayment},

		{"POST", "/api/v1/webhooks", s.createWebhook},
		{"GET", "/api/v1/webhooks", s.listWebhooks},
		{"GET", "/api/v1/webhooks/{id}", s.getWebhook},
		{"PUT", "/api/v1/webhooks/{id}", s.updateWebhook},
		{"DELETE", "/api/v1/webhooks/{id}", s.deleteWebhook},
		{"POST", "/api/v1/webhooks/{id}/test", s.testWebhook},
	}
}

// New returns the Commet dialect's server.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, log: opts.Logger, baseURL: strings.TrimRight(opts.PublicBaseURL, "/"),
		limits: middleware.Shared(opts.Limiter, opts.RateLimit, opts.Burst), mux: http.NewServeMux()}
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.path, s.authenticate(rt.h))
		if allow[rt.path] == nil {
			paths.Handle(rt.path, http.NotFoundHandler())
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			methods := strings.Join(allow[pattern], ", ")
			w.Header().Set("Allow", methods)
			s.fail(w, r, till.Errorf(till.EMethodNotAllowed, "%s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, methods))
			return
		}
		s.fail(w, r, middleware.NotFound(r))
	})
	s.handler = middleware.Stack(s.mux, middleware.Options{ErrorWriter: s.fail, Logger: s.log,
		Observe: opts.Observe.By(func(r *http.Request) string { return middleware.MuxRoute(s.mux, r) })})
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// WriteError writes err in Commet's error envelope (for the middleware of
// a composition that mounts the dialect).
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) { s.fail(w, r, err) }

type ctxKey int

const (
	keyCaller ctxKey = iota
	keyBody
)

func callerOf(r *http.Request) *service.Caller {
	c, _ := r.Context().Value(keyCaller).(*service.Caller)
	return c
}

func bodyOf(r *http.Request) []byte {
	b, _ := r.Context().Value(keyBody).([]byte)
	return b
}

// tillKey returns the Till key a Commet key stands for: the SDK refuses
// keys that do not start with ck_, so a Till secret key sk_… is written
// ck_… (the same secret, nothing else stored); the sk_ form is accepted as
// it is.
func tillKey(key string) string {
	if rest, ok := strings.CutPrefix(key, "ck_"); ok {
		return "sk_" + rest
	}
	return key
}

// authenticate checks the x-api-key, applies the key's rate limit and
// reads the body of a request that has one.
func (s *Server) authenticate(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.Header.Get("X-Api-Key"))
		if key == "" {
			s.fail(w, r, till.Errorf(till.EKeyMissing, "No API key provided; send your key (ck_test_… or ck_live_…) in the x-api-key header."))
			return
		}
		c, err := s.svc.Authenticate(r.Context(), tillKey(key))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if c.Key.Kind != till.KeySecret {
			s.fail(w, r, till.Errorf(till.EPublishableKey, "Publishable keys cannot call the Commet API; use your secret key, written ck_test_… or ck_live_… (sk_… works too)."))
			return
		}
		middleware.AddLogAttrs(r.Context(), slog.String("account", c.Account.ID), slog.Bool("livemode", c.Livemode))
		if !s.limits.Allow(c.Key.ID, time.Now()) {
			s.fail(w, r, till.Errorf(till.ERateLimited, "Too many requests with this key; slow down and retry after a second."))
			return
		}
		ctx := context.WithValue(r.Context(), keyCaller, c)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			body, err := middleware.ReadBody(r, MaxBodyBytes)
			var be *middleware.BodyError
			switch {
			case err != nil && errors.As(err, &be) && be.TooLarge:
				s.fail(w, r, till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes))
				return
			case err != nil:
				s.fail(w, r, till.Errorf(till.EInvalidJSON, "The request body could not be read."))
				return
			}
			ctx = context.WithValue(ctx, keyBody, body)
		}
		h(w, r.WithContext(ctx))
	})
}

// idempotency returns the request's Idempotency-Key context (the SDK sends
// one with every POST and PUT), nil without the header. A Commet request is
// the same request when its method, path and body are.
func idempotency(r *http.Request) (*service.Idem, error) {
	return service.KeyedRequest(Name, r.Header.Get("Idempotency-Key"), r.Method, r.URL.Path, bodyOf(r))
}

// mutate runs a mutating use case: decode the body into in, set up the
// Idempotency-Key, call run and respond with its result rendered by run.
func mutate[T any](s *Server, w http.ResponseWriter, r *http.Request, run func(c *service.Caller, idem *service.Idem, in T) (any, error)) {
	var in T
	if err := middleware.DecodeJSON(r, bodyOf(r), &in); err != nil {
		s.fail(w, r, err)
		return
	}
	idem, err := idempotency(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := run(callerOf(r), idem, in)
	if idem != nil && idem.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, v)
}
