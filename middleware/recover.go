package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panic in h into an error response: it logs the panic
// with its stack and the request id, then, when no response has been
// started, calls ew with a till.EInternal error (the panic value is its
// cause, for logs; what the caller sees is up to ew). A panic after the
// response started is only logged. http.ErrAbortHandler, the way a handler
// asks net/http to abort the response, is panicked again untouched.
func Recover(h http.Handler, log *slog.Logger, ew ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := record(w)
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error("panic serving request", "request_id", RequestID(r.Context()), "method", r.Method,
				"path", LogPath(r.URL.Path), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.started() {
				ew(rec, r, panicError(p))
			}
		}()
		h.ServeHTTP(rec, r)
	})
}
