package middleware

import (
	"context"
	"net/http"
	"regexp"

	"github.com/tillpay/till"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogAttrs
)

// requestIDPattern is what a caller's own request id must look like to be
// kept: short and safe in a header, a log line and a URL.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// AssignRequestID gives every request an id: the caller's Request-Id (or,
// without one, X-Request-Id) header when it matches
// ^[A-Za-z0-9_.:-]{1,64}$, otherwise a new "req_" followed by 20 random
// base62 characters. The id is echoed in both the Request-Id and the
// X-Request-Id response headers and kept in the request's context for
// RequestID.
func AssignRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Request-Id")
		if id == "" {
			id = r.Header.Get("X-Request-Id")
		}
		if !requestIDPattern.MatchString(id) {
			id = "req_" + till.RandomString(20)
		}
		w.Header().Set("Request-Id", id)
		w.Header().Set("X-Request-Id", id)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

// RequestID returns the id AssignRequestID gave the request of ctx, or ""
// outside AssignRequestID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}
