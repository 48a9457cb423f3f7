// Package orders serves the Orders & Subscriptions payments API (seed 004)
// under /os/v1/: orders, subscriptions and the payments that pay them, with
// the seed's snake_case objects, decimal amounts, twelve payment states and
// its two roles — the merchant's secret key (admin) and a customer session
// token (user), which sees only its customer's objects. It translates
// requests into calls of the service and the answers back; README.md has
// the subset and the mapping tables.
package orders

import (
	"bytes"
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

// Prefix is where the API is mounted.
const Prefix = "/os/v1/"

// apiName keeps this API's Idempotency-Keys apart from the native API's.
const apiName = "orders"

// maxBody bounds request bodies (1 MiB).
const maxBody = 1 << 20

// Options configure a Handler.
type Options struct {
	Logger *slog.Logger
	// RateLimit is the sustained requests per second allowed per key or
	// session (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limiter, when set, is the rate limiter shared with the other APIs the
	// server mounts (RateLimit and Burst are then unused).
	Limiter *middleware.Limiter
}

// Handler serves the API.
type Handler struct {
	svc    *service.Service
	log    *slog.Logger
	limits *middleware.Limiter
	mux    *http.ServeMux
	h      http.Handler
}

// role says who may call a route.
type role int

const (
	admin role = iota // the merchant's secret key
	user              // a secret key or a customer session
)

type route struct {
	method, path string
	role         role
	h            func(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte)
}

// New returns the API's handler.
func New(svc *service.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, log: opts.Logger, limits: middleware.Shared(opts.Limiter, opts.RateLimit, opts.Burst), mux: http.NewServeMux()}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.path, h.authenticate(rt))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.WriteError(w, r, middleware.NotFound(r)) })
	h.h = middleware.Stack(h.mux, middleware.Options{ErrorWriter: h.WriteError, Logger: opts.Logger})
	return h
}

// Route describes one route: its method, ServeMux path and whether only
// the admin role (the merchant's secret key) may call it.
type Route struct {
	Method, Path string
	AdminOnly    bool
}

// Routes lists the API's routes (tests sweep them for the roles).
func (h *Handler) Routes() []Route {
	var out []Route
	for _, rt := range h.routes() {
		out = append(out, Route{Method: rt.method, Path: rt.path, AdminOnly: rt.role == admin})
	}
	return out
}

func (h *Handler) routes() []route {
	return []route{
		{"POST", "/os/v1/orders", admin, h.createOrder},
		{"GET", "/os/v1/orders", user, h.listOrders},
		{"GET", "/os/v1/orders/{id}", user, h.getOrder},
		{"POST", "/os/v1/subscriptions", admin, h.createSubscription},
		{"GET", "/os/v1/subscriptions", user, h.listSubscriptions},
		{"GET", "/os/v1/subscriptions/{id}", user, h.getSubscription},
		{"POST", "/os/v1/payments", user, h.createPayment},
		{"GET", "/os/v1/payments", user, h.listPayments},
		{"GET", "/os/v1/payments/{id}", user, h.getPayment},
		{"PATCH", "/os/v1/payments/{id}", user, h.updatePayment},
	}
}

// ServeHTTP serves a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// credential is the key or session token of a request: Authorization:
// Bearer, or x-api-key.
func credential(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// authenticate resolves the caller, checks its role and rate limit, reads
// the body, and runs the route.
func (h *Handler) authenticate(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.svc.Authenticate(r.Context(), credential(r))
		if err != nil {
			h.WriteError(w, r, err)
			return
		}
		switch {
		case c.Key.Kind == till.KeyPublishable:
			h.WriteError(w, r, till.Errorf(till.EPublishableKey, "Publishable keys cannot call this API; use the secret key (admin) or a customer session (user)."))
			return
		case c.Key.Kind == till.KeyCustomer && rt.role == admin:
			h.WriteError(w, r, till.Errorf(till.EForbidden, "This path is for the admin role: use the merchant's secret key."))
			return
		}
		middleware.AddLogAttrs(r.Context(), slog.String("account", c.Account.ID), slog.Bool("livemode", c.Livemode))
		if !h.limits.Allow(c.Key.ID, time.Now()) {
			h.WriteError(w, r, till.Errorf(till.ERateLimited, "Too many requests with this key; slow down and retry after a second."))
			return
		}
		var body []byte
		if r.Method != http.MethodGet {
			b, err := middleware.ReadBody(r, maxBody)
			var be *middleware.BodyError
			switch {
			case errors.As(err, &be) && be.TooLarge:
				h.WriteError(w, r, till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", maxBody))
				return
			case err != nil:
				h.WriteError(w, r, till.Errorf(till.EInvalidJSON, "The request body could not be read."))
				return
			}
			body = b
		}
		rt.h(w, r, c, body)
	})
}

// decode decodes a JSON object body strictly into v: unknown fields, wrong
// types and trailing data are errors naming the field.
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return till.Errorf(till.EInvalidJSON, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return till.ParamError(till.EValidation, te.Field, "%s must be a JSON %s", te.Field, jsonKind(te.Type.String()))
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return till.Errorf(till.EInvalidJSON, "The request body is not valid JSON.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return till.ParamError(till.EParameterUnknown, f, "unknown field %s", f)
		}
		return till.Errorf(till.EInvalidJSON, "The request body could not be decoded.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return till.Errorf(till.EInvalidJSON, "The request body has data after the JSON object.")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"), goType == "json.Number":
		return "number"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case goType == "string":
		return "string"
	}
	return "object"
}

// idem is the request's Idempotency-Key, if any, in this API's scope (and
// the session's, for a customer).
func idem(r *http.Request, c *service.Caller, body []byte) (*service.Idem, error) {
	return service.KeyedRequest(c.IdemAPI(apiName), r.Header.Get("Idempotency-Key"), r.Method, r.URL.Path, body)
}

// amountOf parses a decimal amount of currency exactly into minor units.
func amountOf(v *till.Validator, field string, n *json.Number, currency string) *int64 {
	if n == nil {
		v.Add(field, "%s is required (a decimal number such as 19.99)", field)
		return nil
	}
	c, ok := till.LookupCurrency(currency)
	if !ok {
		return nil // the currency's own error names it
	}
	a, ok := till.ParseAmount(n.String(), c)
	if !ok {
		v.Add(field, "%s must be a non-negative amount of %s with at most %d decimals", field, c.Code, c.Exponent)
		return nil
	}
	return &a
}

// lines converts the API's lines to the service's, parsing each price.
func lines(v *till.Validator, field string, in []lineInput, currency string) []service.LineItemParams {
	out := make([]service.LineItemParams, 0, len(in))
	for i, l := range in {
		f := field + "[" + strconv.Itoa(i) + "]"
		out = append(out, service.LineItemParams{Description: l.Description, Quantity: l.Quantity,
			UnitAmount: amountOf(v, f+".unit_price", l.UnitPrice, currency)})
	}
	return out
}
