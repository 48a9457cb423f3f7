package middleware

import (
	"context"
	"net/http"
	"time"
)

// Timeout bounds the context of each request to d; a d of 0 or less
// returns h unchanged. It writes nothing itself: a handler whose context
// ends answers as its API does for a canceled context (unlike
// http.TimeoutHandler, which would write a body in no API's shape).
func Timeout(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ServerTimeouts are the connection timeouts of an http.Server, in the
// fields of the same names.
type ServerTimeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// DefaultServerTimeouts returns the timeouts till serve uses: 10 s to read
// a request's header (against slow-header clients) and 120 s for an idle
// keep-alive connection. Reading the body and writing the response are not
// bounded by the connection (0): bodies are capped in size by ReadBody, and
// a charge may legitimately wait on its processor for as long as the
// processor timeout; Timeout bounds a request's work instead.
func DefaultServerTimeouts() ServerTimeouts {
	return ServerTimeouts{ReadHeader: 10 * time.Second, Idle: 120 * time.Second}
}

// Apply sets t on srv.
func (t ServerTimeouts) Apply(srv *http.Server) {
	srv.ReadHeaderTimeout = t.ReadHeader
	srv.ReadTimeout = t.Read
	srv.WriteTimeout = t.Write
	srv.IdleTimeout = t.Idle
}
