// Package cms serves the CMS storefront's charge, POST
// /cms/customer/payment/charge (seed 000), over Till's catalogue: it
// decodes the CMS request (ids as the catalogue's per-account numbers,
// prices as exact decimals), calls service.ChargeCatalog for the customer
// of the caller's customer session, and answers in the CMS payment shape.
// README.md lists the subset and its mapping tables.
package cms

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// APIName is the dialect's name for the service: its Idempotency-Keys are
// its own.
const APIName = "cms"

// maxBody bounds a request body.
const maxBody = 64 << 10

// Options configure the dialect's handler.
type Options struct {
	Logger *slog.Logger
	// RateLimit is the sustained requests per second allowed per session
	// (0 disables limiting); Burst is the bucket size.
	RateLimit float64
	Burst     int
	// Limiter, when set, is the rate limiter shared with the other APIs the
	// server mounts (RateLimit and Burst are then unused).
	Limiter *middleware.Limiter
	// RequestTimeout bounds the context of each request; 0 leaves it
	// unbounded.
	RequestTimeout time.Duration
	// Observe, when set, is told of each request by its route.
	Observe middleware.RouteObserver
}

// Handler is the dialect's http.Handler, to mount at /cms/.
type Handler struct {
	svc     *service.Service
	log     *slog.Logger
	limits  *middleware.Limiter
	handler http.Handler
}

// New returns the dialect's handler.
func New(svc *service.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, log: opts.Logger, limits: middleware.Shared(opts.Limiter, opts.RateLimit, opts.Burst)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cms/customer/payment/charge", h.charge)
	mux.HandleFunc("/cms/customer/payment/charge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		h.WriteError(w, r, till.Errorf(till.EMethodNotAllowed, "%s is not allowed on %s; allowed: POST.", r.Method, r.URL.Path))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.WriteError(w, r, middleware.NotFound(r)) })
	h.handler = middleware.Stack(mux, middleware.Options{ErrorWriter: h.WriteError, Logger: h.log, Timeout: opts.RequestTimeout,
		Observe: opts.Observe.By(func(r *http.Request) string { return middleware.MuxRoute(mux, r) })})
	return h
}

// ServeHTTP serves a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// charge is POST /cms/customer/payment/charge: the customer session's
// customer pays with a saved card for a cart, a product item or articles.
func (h *Handler) charge(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	body, err := middleware.ReadBody(r, maxBody)
	if err != nil {
		h.WriteError(w, r, bodyError(err))
		return
	}
	in, priceField, err := decodeCharge(body, c.CustomerID)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	idem, err := idempotency(r, c, body)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	p, err := h.svc.ChargeCatalog(r.Context(), c, idem, in)
	if idem != nil && idem.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if p == nil || (err != nil && till.ErrorCode(err) != till.ECardDeclined) {
		// An article's custom price is custom_price on the wire.
		h.WriteError(w, r, till.RenameFields(err, func(path string) string {
			if path == "customPrice" && priceField != "" {
				return priceField
			}
			return wireName(path)
		}))
		return
	}
	// A decline is an answer about the payment, not an error of the
	// request: 200 with the failed payment and success false, as the
	// seed's success ("payment success status") says.
	writeJSON(w, http.StatusOK, ChargeResponse{Payment: PaymentOf(p), Success: p.Status == till.StatusSucceeded})
}

// authenticate resolves the request's customer session token (Bearer or
// x-api-key). The merchant's keys are refused: this route acts for the
// customer of the session only.
func (h *Handler) authenticate(r *http.Request) (*service.Caller, error) {
	tok := strings.TrimSpace(r.Header.Get("X-Api-Key"))
	if auth := r.Header.Get("Authorization"); tok == "" && len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		tok = strings.TrimSpace(auth[7:])
	}
	if tok == "" {
		return nil, till.Errorf(till.EKeyMissing, "No customer session token; send it as 'Authorization: Bearer cs_…'.")
	}
	c, err := h.svc.Authenticate(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if c.Key.Kind != till.KeyCustomer || c.CustomerID == "" {
		return nil, till.Errorf(till.EForbidden,
			"This route charges the current customer: authenticate with a customer session token (POST /v1/customers/{id}/sessions), not an API key.")
	}
	middleware.AddLogAttrs(r.Context(), slog.String("account", c.Account.ID), slog.Bool("livemode", c.Livemode))
	if !h.limits.Allow(c.Key.ID, time.Now()) {
		return nil, till.Errorf(till.ERateLimited, "Too many requests with this session; slow down and retry after a second.")
	}
	return c, nil
}

// idempotency returns the request's Idempotency-Key context, kept apart
// from the native API's and from other customers'.
func idempotency(r *http.Request, c *service.Caller, body []byte) (*service.Idem, error) {
	return service.KeyedRequest(c.IdemAPI(APIName), r.Header.Get("Idempotency-Key"), r.Method, r.URL.Path, body)
}

func bodyError(err error) error {
	if be, ok := err.(*middleware.BodyError); ok && be.TooLarge {
		return till.Errorf(till.EBodyTooLarge, "The request body is larger than %d bytes.", maxBody)
	}
	return till.Errorf(till.EInvalidJSON, "The request body could not be read.")
}

// WriteError writes err in the dialect's error envelope, with field names
// as the CMS request spells them. An unexpected error is logged with the
// request id and shows nothing of its cause.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := till.AsError(till.RenameFields(err, wireName))
	if !ok {
		e = till.Internal(err)
	}
	status := statusOf(e.Code)
	msg := e.Message
	if status >= 500 {
		h.log.Error("request failed", "request_id", middleware.RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		if e.Code == till.EInternal || msg == "" {
			msg = "An internal error occurred. The request id identifies it in the logs."
		}
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	out := errorBody{Error: Error{Code: string(e.Code), Message: msg, Field: e.Param}}
	for _, f := range e.Fields {
		out.Error.Fields = append(out.Error.Fields, FieldError(f))
	}
	writeJSON(w, status, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	middleware.WriteJSON(w, status, middleware.EncodeJSON(v))
}
