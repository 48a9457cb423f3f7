// Package http serves Till's native API under /v1 over net/http: the routes
// table, authentication, rate limits, body limits, idempotency keys and the
// one table from error codes to HTTP statuses. Request ids, the access log,
// panic recovery and canonical paths come from package middleware, with the
// native error envelope as the error writer. Handlers decode a request,
// call one service method and encode its result.
package http

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// Options configure a Server.
type Options struct {
	// PublicBaseURL is the origin of doc_url links and payment URLs.
	PublicBaseURL string
	// AdminToken guards /v1/admin; empty disables the admin API.
	AdminToken string
	Logger     *slog.Logger
	// RateLimit is the sustained requests per second allowed per API key
	// (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limiter, when set, is the rate limiter shared with the other APIs the
	// server mounts (RateLimit and Burst are then unused).
	Limiter *middleware.Limiter
	// Ready reports whether the server can take traffic (for /readyz).
	Ready func(ctx context.Context) error
	// RequestTimeout bounds the context of each request; 0 leaves it
	// unbounded.
	RequestTimeout time.Duration
	// Observe, when set, is told of each request by its route pattern (for
	// /metrics).
	Observe middleware.RouteObserver
}

// Server is the native API's http.Handler: the routes inside their
// middleware.Stack, whose errors are written in the native envelope. It
// serves /v1/*, /healthz, /readyz, /openapi.json and /docs, and answers
// any other URL with the envelope's 404 (or 405 for a known path); other
// APIs are mounted beside it with middleware.ByPrefix, not inside it.
type Server struct {
	svc        *service.Service
	log        *slog.Logger
	baseURL    string
	adminToken string
	ready      func(ctx context.Context) error
	mux        *http.ServeMux
	handler    http.Handler
	limits     *middleware.Limiter
	routes     []Route
}

// authKind says which credential a route needs.
type authKind int

const (
	authNone        authKind = iota // public
	authSecret                      // a secret key
	authPublishable                 // a publishable or secret key
	authAdmin                       // the admin token
	authCustomer                    // a secret key, or a customer session (which sees only its customer's objects)
)

// Route is one endpoint of the native API.
type Route struct {
	Method  string
	Path    string // ServeMux pattern path, e.g. /v1/payments/{id}
	Summary string
	auth    authKind
	h       http.HandlerFunc
	// cors lets browser pages of the account's allowedOrigins call the
	// route (cors.go).
	cors bool
}

// New returns the native API server.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		svc: svc, log: opts.Logger, baseURL: strings.TrimRight(opts.PublicBaseURL, "/"), adminToken: opts.AdminToken,
		ready: opts.Ready, mux: http.NewServeMux(), limits: middleware.Shared(opts.Limiter, opts.RateLimit, opts.Burst),
	}
	s.routes = s.routeTable()
	// paths knows every route's path regardless of method, to tell a wrong
	// method (405) from an unknown URL (404).
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes {
		h := s.authenticate(rt.auth, rt.h)
		if rt.cors {
			h = corsHeaders(h)
			s.mux.HandleFunc("OPTIONS "+rt.Path, preflight(rt.Method))
		}
		s.mux.Handle(rt.Method+" "+rt.Path, h)
		if allow[rt.Path] == nil {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	s.mux.HandleFunc("GET /docs", s.docsPage)
	s.mux.HandleFunc("GET /docs/{name}", s.docsPage)
	s.mux.HandleFunc("GET /docs/{dir}/{name}", s.docsPage)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			s.fail(w, r, till.Errorf(till.EMethodNotAllowed, "%s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, strings.Join(allow[pattern], ", ")))
			return
		}
		s.fail(w, r, middleware.NotFound(r))
	})
	s.handler = middleware.Stack(s.mux, middleware.Options{ErrorWriter: s.fail, Logger: s.log, Timeout: opts.RequestTimeout,
		Observe: opts.Observe.By(func(r *http.Request) string { return middleware.MuxRoute(s.mux, r) })})
	return s
}

// Routes returns the native API's endpoints (the OpenAPI test checks that
// the document lists each).
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type ctxKey int

const (
	keyCaller ctxKey = iota
	keyBody
)

// requestID returns the id middleware.AssignRequestID gave r.
func requestID(r *http.Request) string { return middleware.RequestID(r.Context()) }

// logPath returns a request path fit for logs (see middleware.LogPath).
func logPath(p string) string { return middleware.LogPath(p) }

// caller is the authenticated caller in a request's context.
type caller struct{ *service.Caller }

func (c *caller) live() bool { return c != nil && c.Livemode }

func callerOf(r *http.Request) *caller {
	c, _ := r.Context().Value(keyCaller).(*caller)
	return c
}

// apiKey returns the key sent in x-api-key or as a bearer token.
func apiKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// authenticate checks the route's credential, applies the key's rate limit,
// and reads the body of a mutating request.
func (s *Server) authenticate(kind authKind, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch kind {
		case authAdmin:
			if s.adminToken == "" {
				s.fail(w, r, till.Errorf(till.EForbidden, "The admin API is disabled; start till with TILL_ADMIN_TOKEN set."))
				return
			}
			tok := apiKey(r)
			if tok == "" {
				s.fail(w, r, till.Errorf(till.EKeyMissing, "No admin token provided; send it as 'Authorization: Bearer …'."))
				return
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.adminToken)) != 1 {
				s.fail(w, r, till.Errorf(till.EKeyInvalid, "Invalid admin token."))
				return
			}
		case authSecret, authPublishable, authCustomer:
			c, err := s.svc.Authenticate(r.Context(), apiKey(r))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if c.Key.Kind == till.KeyCustomer && kind != authCustomer {
				s.fail(w, r, till.Errorf(till.EForbidden,
					"A customer session reaches only its customer's own objects (GET /v1/payments, GET /v1/customers/{its id}); use the merchant's secret key for this request."))
				return
			}
			if c.Key.Kind == till.KeyPublishable && kind != authPublishable {
				s.fail(w, r, till.Errorf(till.EPublishableKey,
					"Publishable keys can only create card tokens (POST /v1/tokens); use a secret key for this request."))
				return
			}
			middleware.AddLogAttrs(r.Context(), slog.String("account", c.Account.ID), slog.Bool("livemode", c.Livemode))
			if !s.limits.Allow(c.Key.ID, time.Now()) {
				s.fail(w, r, till.Errorf(till.ERateLimited, "Too many requests with this key; slow down and retry after a second."))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyCaller, &caller{c}))
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodDelete {
			body, err := readBody(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyBody, body))
		}
		h(w, r)
	})
}

func bodyOf(r *http.Request) []byte {
	b, _ := r.Context().Value(keyBody).([]byte)
	return b
}

// idemRequest is a request's idempotency context.
type idemRequest = service.Idem

// idempotency returns the request's Idempotency-Key context, nil without
// the header (see service.KeyedRequest).
func (s *Server) idempotency(r *http.Request) (*idemRequest, error) {
	var c *service.Caller
	if cc := callerOf(r); cc != nil {
		c = cc.Caller
	}
	return service.KeyedRequest(c.IdemAPI(APIName), r.Header.Get("Idempotency-Key"), r.Method, r.URL.Path, bodyOf(r))
}

// APIName is the native API's name for the service: its Idempotency-Keys
// are its own.
const APIName = "native"

// mutate runs a mutating use case: decode the body into in (if not nil),
// set up the Idempotency-Key, call run, and respond.
func mutate[T any](s *Server, w http.ResponseWriter, r *http.Request, run func(c *service.Caller, idem *idemRequest, in T) (any, error)) {
	var in T
	if err := decodeJSON(r, bodyOf(r), &in); err != nil {
		s.fail(w, r, err)
		return
	}
	idem, err := s.idempotency(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := run(callerOf(r).Caller, idem, in)
	s.respond(w, r, idem, v, err)
}
