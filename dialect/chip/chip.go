// Package chip serves the subset of CHIP's purchases API that README.md
// lists, under /api/v1/purchases/ and /api/v1/clients/, so that a client
// written for CHIP works against Till with only its base URL changed. It
// is a translator over package service: it authenticates CHIP's Bearer
// header with the account's secret key, decodes CHIP's request bodies
// strictly, calls one service use case and renders its result as CHIP's
// Purchase, Client or Payment object, with ids shown as UUIDs
// (till.IDToUUID). Errors are written in CHIP's shape from the one table in
// errors.go. It holds no business rules: a purchase is a payment link, and
// what a purchase may do is decided by the service.
package chip

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// Prefixes are the paths the dialect is mounted at with middleware.ByPrefix.
var Prefixes = []string{"/api/v1/purchases/", "/api/v1/clients/"}

// APIName is the dialect's name for the service: its Idempotency-Keys are
// its own.
const APIName = "chip"

// maxBody is the largest request body accepted (1 MiB, as the native API).
const maxBody = 1 << 20

// Options configure a Server.
type Options struct {
	Logger *slog.Logger
	// RateLimit is the sustained requests per second allowed per API key
	// (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limiter, when set, is the rate limiter shared with the other APIs the
	// server mounts (RateLimit and Burst are then unused).
	Limiter *middleware.Limiter
	// Observe, when set, is told of each request by its route pattern (for
	// /metrics).
	Observe middleware.RouteObserver
}

// Server is the CHIP dialect's http.Handler, inside its middleware.Stack.
type Server struct {
	svc     *service.Service
	mux     *http.ServeMux
	limits  *middleware.Limiter
	handler http.Handler
}

// route is one endpoint of the dialect.
type route struct {
	method, path string
	h            func(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte)
}

// New returns the dialect's handler.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{svc: svc, mux: http.NewServeMux(), limits: middleware.Shared(opts.Limiter, opts.RateLimit, opts.Burst)}
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range s.routes() {
		// CHIP's paths end with a slash; the same path without it is
		// served too.
		for _, p := range []string{rt.path + "{$}", strings.TrimSuffix(rt.path, "/")} {
			s.mux.Handle(rt.method+" "+p, s.authenticate(rt.h))
			if allow[p] == nil {
				paths.Handle(p, http.NotFoundHandler())
			}
			allow[p] = append(allow[p], rt.method)
		}
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[pattern], ", "))
			WriteError(w, r, till.Errorf(till.EMethodNotAllowed, "%s is not allowed on %s.", r.Method, r.URL.Path))
			return
		}
		WriteError(w, r, middleware.NotFound(r))
	})
	s.handler = middleware.Stack(s.mux, middleware.Options{ErrorWriter: WriteError, Logger: opts.Logger,
		Observe: opts.Observe.By(func(r *http.Request) string { return middleware.MuxRoute(s.mux, r) })})
	return s
}

// Mounts returns the prefixes the dialect serves with s as their handler,
// for middleware.ByPrefix.
func (s *Server) Mounts() []middleware.Prefix {
	out := make([]middleware.Prefix, 0, len(Prefixes))
	for _, p := range Prefixes {
		out = append(out, middleware.Prefix{Path: p, Handler: s})
	}
	return out
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes is every endpoint of the dialect (README.md lists them).
func (s *Server) routes() []route {
	const p, cl = "/api/v1/purchases/", "/api/v1/clients/"
	return []route{
		{"POST", p, s.createPurchase},
		{"GET", p + "{id}/", s.getPurchase},
		{"POST", p + "{id}/charge/", s.chargePurchase},
		{"POST", p + "{id}/capture/", s.capturePurchase},
		{"POST", p + "{id}/release/", s.releasePurchase},
		{"POST", p + "{id}/refund/", s.refundPurchase},
		{"POST", p + "{id}/cancel/", s.cancelPurchase},
		{"POST", p + "{id}/delete_recurring_token/", s.deleteRecurringToken},
		{"POST", cl, s.createClient},
		{"GET", cl + "{id}/", s.getClient},
		{"GET", cl + "{id}/recurring_tokens/", s.recurringTokens},
	}
}

// authenticate checks CHIP's "Authorization: Bearer <secret key>", applies
// the key's rate limit and reads the body of a POST.
func (s *Server) authenticate(h func(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") || strings.TrimSpace(auth[7:]) == "" {
			WriteError(w, r, till.Errorf(till.EKeyMissing, "Send your secret key as 'Authorization: Bearer <key>'."))
			return
		}
		c, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(auth[7:]))
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if c.Key.Kind != till.KeySecret {
			WriteError(w, r, till.Errorf(till.EPublishableKey, "This API needs a secret key; publishable keys only tokenize cards."))
			return
		}
		middleware.AddLogAttrs(r.Context(), slog.String("account", c.Account.ID), slog.Bool("livemode", c.Livemode))
		if !s.limits.Allow(c.Key.ID, time.Now()) {
			WriteError(w, r, till.Errorf(till.ERateLimited, "Too many requests with this key; slow down and retry after a second."))
			return
		}
		var body []byte
		if r.Method == http.MethodPost {
			b, err := middleware.ReadBody(r, maxBody)
			var be *middleware.BodyError
			switch {
			case errors.As(err, &be) && be.TooLarge:
				WriteError(w, r, till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", maxBody))
				return
			case err != nil:
				WriteError(w, r, till.Errorf(till.EInvalidJSON, "The request body could not be read."))
				return
			}
			body = b
		}
		h(w, r, c, body)
	})
}

// idempotency returns the request's Idempotency-Key context (an addition
// of Till's: CHIP has none), nil without the header.
func idempotency(r *http.Request, body []byte) (*service.Idem, error) {
	h := sha256.Sum256(body)
	return service.NewIdem(APIName, r.Header.Get("Idempotency-Key"), r.Method+" "+r.URL.Path+" "+hex.EncodeToString(h[:]))
}

// decode decodes a JSON object body into v strictly: unknown fields, wrong
// types, trailing data and non-object bodies are 400 errors naming the
// field by its path. An empty body decodes as {}.
func decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if trimmed[0] != '{' {
		return till.Errorf(till.EInvalidJSON, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var field *fieldError
	switch {
	case err == nil:
		if _, err := dec.Token(); err != io.EOF {
			return till.Errorf(till.EInvalidJSON, "The request body has data after the JSON object.")
		}
		return nil
	case errors.As(err, &syn):
		return till.Errorf(till.EInvalidJSON, "The request body is not valid JSON (at byte %d).", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return till.Errorf(till.EInvalidJSON, "The request body is not valid JSON: it ends too early.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return till.ParamError(till.EParameterUnknown, name, "Till does not support the field %s; see the CHIP dialect's README for the subset it implements.", name)
	case errors.As(err, &typ):
		f := typ.Field
		if f == "" {
			f = "body"
		}
		return till.ParamError(till.EValidation, f, "%s must be %s (got %s)", f, typeName(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &field):
		return till.ParamError(till.EValidation, field.field, "%s", field.msg)
	}
	return till.Errorf(till.EInvalidJSON, "The request body could not be decoded.")
}

// typeName names a Go kind as the JSON type a field wants.
func typeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer within range"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

// fieldError is a value a custom decoder refused.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// render writes v as JSON with status 200.
func render(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// purchase responds with p shown as a Purchase, or with err.
func (s *Server) purchase(ctx context.Context, w http.ResponseWriter, r *http.Request, c *service.Caller, p *till.Payment, err error) {
	if err != nil {
		WriteError(w, r, err)
		return
	}
	v, err := s.svc.PurchaseOf(ctx, c, p)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, toPurchase(v, c, s.svc.PublicBaseURL()))
}

// tillID is the Till id with prefix that s names: a UUID is converted
// (till.IDFromUUID), anything else is taken as it is (an id without a
// UUID), which the service does not find unless it is one of the caller's.
func tillID(s, prefix string) string {
	if id, ok := till.IDFromUUID(prefix, s); ok {
		return id
	}
	return s
}

// wireID is the UUID of Till id of prefix, or the id itself when it has
// none (made before ids were UUIDs, or by a test ID source).
func wireID(id, prefix string) string {
	if u, ok := till.IDToUUID(id, prefix); ok {
		return u
	}
	return id
}
