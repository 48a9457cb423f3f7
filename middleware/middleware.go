// Package middleware holds the HTTP layers that every API Till serves shares:
// the native API under /v1, the hosted pages under /pay/ and the
// vendor-compatible dialects. Each piece wraps an http.Handler and knows
// nothing of any API's wire format: where a layer must answer a request
// itself (a panic, a non-canonical path) it calls the ErrorWriter of the API
// it wraps, so every API answers in its own error shape.
//
// Stack assembles the pieces one mounted API needs; ByPrefix sends each
// request to the stack of the API that owns its path. The other pieces
// (ReadBody, Limiter, ServerTimeouts) are helpers an API calls itself.
//
// The package imports only the standard library and the root package till,
// for till.Error and till.RandomString.
package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// ErrorWriter writes err as one API's error response. The middleware calls
// it with a *till.Error: code till.EInternal for a panic, till.ENotFound for
// a path that is not in canonical form. An ErrorWriter must not panic.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Options configure the Stack of one API.
type Options struct {
	// ErrorWriter writes the API's error responses; nil is PlainError.
	ErrorWriter ErrorWriter
	// Logger receives the access log and panics; nil discards them.
	Logger *slog.Logger
	// Timeout bounds the context of each request; 0 leaves it unbounded.
	Timeout time.Duration
	// Observe, when set, is told of each request once its handler returned
	// (for /metrics).
	Observe Observer
}

// Observer is told of a request a Stack served: the request, the status
// sent (200 when the handler wrote nothing; the 500 Recover sent for a
// panic) and the time the handler took. It runs on the request's goroutine
// after the response was written, and must be cheap.
type Observer func(r *http.Request, status int, elapsed time.Duration)

// RouteObserver is told of a request by the route that served it (a
// ServeMux pattern without its method, "" when none matched: a 404 or 405),
// its method, status and time: the shape of the request metrics.
type RouteObserver func(route, method string, status int, elapsed time.Duration)

// By returns an Observer that names each request's route with route; a
// nil o returns nil.
func (o RouteObserver) By(route func(*http.Request) string) Observer {
	if o == nil {
		return nil
	}
	return func(r *http.Request, status int, elapsed time.Duration) { o(route(r), r.Method, status, elapsed) }
}

// MuxRoute returns the pattern of mux that serves r, without its method
// ("GET /v1/payments/{id}" is "/v1/payments/{id}"), or "" when only the
// catch-all "/" does.
func MuxRoute(mux *http.ServeMux, r *http.Request) string {
	_, p := mux.Handler(r)
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	if p == "/" {
		return ""
	}
	return p
}

// ObserveRequests calls obs for each request h serves; a nil obs leaves h
// as it is.
func ObserveRequests(h http.Handler, obs Observer) http.Handler {
	if obs == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := record(w)
		h.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		obs(r, status, time.Since(start))
	})
}

// Stack returns h inside the layers every mounted API shares, outermost
// first: AssignRequestID, LogRequests, ObserveRequests, Recover,
// RequireCanonicalPath and Timeout. Every response so carries a request id,
// every request is logged and observed once, and a panic or a non-canonical
// path is answered by opts.ErrorWriter.
func Stack(h http.Handler, opts Options) http.Handler {
	if opts.ErrorWriter == nil {
		opts.ErrorWriter = PlainError
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h = Timeout(h, opts.Timeout)
	h = RequireCanonicalPath(h, opts.ErrorWriter)
	h = Recover(h, opts.Logger, opts.ErrorWriter)
	h = ObserveRequests(h, opts.Observe)
	h = LogRequests(h, opts.Logger)
	return AssignRequestID(h)
}

// PlainError is an ErrorWriter for handlers without an error shape of their
// own: the status of err's code (404 for till.ENotFound, 405 for
// till.EMethodNotAllowed, 413 for till.EBodyTooLarge, 500 otherwise) with the
// code as a plain-text body.
func PlainError(w http.ResponseWriter, r *http.Request, err error) {
	code := till.ErrorCode(err)
	status := http.StatusInternalServerError
	switch code {
	case till.ENotFound:
		status = http.StatusNotFound
	case till.EMethodNotAllowed:
		status = http.StatusMethodNotAllowed
	case till.EBodyTooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	http.Error(w, string(code), status)
}

// NotFound returns the till.ENotFound error of a URL that no route serves,
// naming the method and path.
func NotFound(r *http.Request) error {
	return till.Errorf(till.ENotFound, "Unrecognized request URL (%s %s).", r.Method, r.URL.Path)
}

// recorder is a ResponseWriter that remembers the status it sent, for the
// access log and for Recover (which may answer only while nothing was sent).
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

// record returns w as a recorder, reusing w when an outer layer already
// made it one.
func record(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap returns the underlying ResponseWriter, for
// http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// started reports whether the response's header has been sent.
func (w *recorder) started() bool { return w.status != 0 }

// panicError is the error an ErrorWriter gets for a panic.
func panicError(p any) error { return till.Internal(fmt.Errorf("panic: %v", p)) }
