// Package http serves Till's native API under /v1 over net/http: the routes
// table, the middleware (request ids, logging, panics, authentication, rate
// limits, body limits, idempotency keys) and the one table from error codes
// to HTTP statuses. Handlers decode a request, call one service method and
// encode its result.
package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tillpay/till"
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
	// Ready reports whether the server can take traffic (for /readyz).
	Ready func(ctx context.Context) error
}

// Server is the native API's http.Handler.
type Server struct {
	svc        *service.Service
	log        *slog.Logger
	baseURL    string
	adminToken string
	ready      func(ctx context.Context) error
	mux        *http.ServeMux
	handler    http.Handler
	limits     *limiter
	routes     []Route
}

// authKind says which credential a route needs.
type authKind int

const (
	authNone        authKind = iota // public
	authSecret                      // a secret key
	authPublishable                 // a publishable or secret key
	authAdmin                       // the admin token
)

// Route is one endpoint of the native API.
type Route struct {
	Method  string
	Path    string // ServeMux pattern path, e.g. /v1/payments/{id}
	Summary string
	auth    authKind
	h       http.HandlerFunc
}

// New returns the native API server.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		svc: svc, log: opts.Logger, baseURL: strings.TrimRight(opts.PublicBaseURL, "/"), adminToken: opts.AdminToken,
		ready: opts.Ready, mux: http.NewServeMux(), limits: newLimiter(opts.RateLimit, opts.Burst),
	}
	s.routes = s.routeTable()
	// paths knows every route's path regardless of method, to tell a wrong
	// method (405) from an unknown URL (404).
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.authenticate(rt.auth, rt.h))
		if allow[rt.Path] == nil {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	s.mux.HandleFunc("GET /docs", s.docsPage)
	s.mux.HandleFunc("GET /docs/{name}", s.docsPage)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			s.fail(w, r, till.Errorf(till.EMethodNotAllowed, "%s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, strings.Join(allow[pattern], ", ")))
			return
		}
		s.fail(w, r, unrecognized(r))
	})
	s.handler = s.middleware(s.mux)
	return s
}

// Routes returns the native API's endpoints (the OpenAPI test checks that
// the document lists each).
func (s *Server) Routes() []Route { return s.routes }

// Mount serves another handler (the checkout page, a dialect) under pattern,
// inside the same request-id, logging and recovery middleware.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
	keyBody
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// requestID returns the request's id.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// RequestID returns the id of the request being served, for packages that
// mount handlers on the server.
func RequestID(r *http.Request) string { return requestID(r) }

// statusWriter records the status for logs.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware gives every request an id (echoed in Request-Id), recovers
// panics into a 500 envelope, and logs one line per request: never a body,
// never a key.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("Request-Id")
		if id == "" {
			id = r.Header.Get("X-Request-Id")
		}
		if !requestIDPattern.MatchString(id) {
			id = "req_" + till.RandomString(20)
		}
		w.Header().Set("Request-Id", id)
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.fail(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			attrs := []any{"request_id", id, "method", r.Method, "path", logPath(r.URL.Path), "status", sw.status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000}
			if c := callerOf(r); c != nil {
				attrs = append(attrs, "account", c.Account.ID, "livemode", c.Livemode)
			}
			s.log.Log(r.Context(), level, "request", attrs...)
		}()
		if !cleanPath(r.URL.Path) {
			// ServeMux would answer 307 to the cleaned path: an empty
			// segment ("/v1/customers//payment-methods") is a missing id,
			// not a request for another URL.
			s.fail(sw, r, unrecognized(r))
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// unrecognized is the 404 of a URL that no route serves.
func unrecognized(r *http.Request) error {
	return till.Errorf(till.ENotFound, "Unrecognized request URL (%s %s).", r.Method, r.URL.Path)
}

// cleanPath reports whether p is already in canonical form: no empty, "."
// or ".." segments (a trailing slash aside).
func cleanPath(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// logPath returns a request path fit for logs: the bearer token of a
// payment page (/pay/{token}) is replaced, as it grants access to the page.
func logPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/pay/"); ok && !strings.HasPrefix(rest, "assets/") {
		if _, tail, found := strings.Cut(rest, "/"); found {
			return "/pay/{token}/" + tail
		}
		return "/pay/{token}"
	}
	return p
}

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
		case authSecret, authPublishable:
			c, err := s.svc.Authenticate(r.Context(), apiKey(r))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if kind == authSecret && c.Key.Kind != till.KeySecret {
				s.fail(w, r, till.Errorf(till.EPublishableKey,
					"Publishable keys can only create card tokens (POST /v1/tokens); use a secret key for this request."))
				return
			}
			if !s.limits.allow(c.Key.ID, time.Now()) {
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
// the header.
func (s *Server) idempotency(r *http.Request) (*idemRequest, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > service.MaxIdempotencyKeyLen || strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c > 0x7e }) {
		return nil, till.ParamError(till.EValidation, "Idempotency-Key",
			"Idempotency-Key must be 1–%d printable ASCII characters", service.MaxIdempotencyKeyLen)
	}
	h := sha256.Sum256(bodyOf(r))
	return &idemRequest{Key: key, Method: r.Method, Path: r.URL.Path, Hash: h[:], Render: s.renderer(callerOf(r).live())}, nil
}

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

// limiter is a token bucket per API key.
type limiter struct {
	rate  float64
	burst float64
	mu    sync.Mutex
	m     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if burst <= 0 {
		burst = int(2 * rate)
	}
	return &limiter{rate: rate, burst: float64(burst), m: map[string]*bucket{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) > 100000 {
			clear(l.m)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
