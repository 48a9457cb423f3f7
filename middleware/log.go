package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tillpay/till"
)

// logAttrs collects the attributes a handler adds to its request's access
// log line. A handler may start goroutines, hence the lock.
type logAttrs struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// LogRequests writes one line to log for each request it serves, message
// "request", once the handler returns: request_id, method, path (through
// LogPath), status, duration_ms, then the attributes the handler added with
// AddLogAttrs. The level is error for a status of 500 or more and info
// otherwise. It never logs a body, a header or a query string, so no key or
// card number reaches the log. A request whose handler panics through it
// (Recover lets only http.ErrAbortHandler through) is not logged.
func LogRequests(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		extra := &logAttrs{}
		r = r.WithContext(context.WithValue(r.Context(), keyLogAttrs, extra))
		rec := record(w)
		h.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			// Nothing written: net/http sends 200 with an empty body.
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", RequestID(r.Context())), slog.String("method", r.Method),
			slog.String("path", LogPath(r.URL.Path)), slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		extra.mu.Lock()
		attrs = append(attrs, extra.attrs...)
		extra.mu.Unlock()
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// AddLogAttrs adds attrs to the access log line of the request of ctx, such
// as the authenticated account and mode. Outside LogRequests it does
// nothing. Attributes must never carry a secret: a key, a token, a card.
func AddLogAttrs(ctx context.Context, attrs ...slog.Attr) {
	extra, _ := ctx.Value(keyLogAttrs).(*logAttrs)
	if extra == nil {
		return
	}
	extra.mu.Lock()
	extra.attrs = append(extra.attrs, attrs...)
	extra.mu.Unlock()
}

// LogPath returns a request path fit for logs: a card number in it is
// redacted (till.RedactPANs), and the token of a hosted
// payment page (/pay/{token}, and any path below it) is replaced with
// "{token}", as the token grants access to the page. Below the token only
// segments that read as words (a lower-case letter, then up to 23 letters,
// digits or dashes: "authenticate", "confirm") are kept; any other segment
// is logged as "{token}" too, so that a token shifted by a non-canonical
// path (/pay/./TOKEN, /pay//TOKEN) is never written out. The stylesheets
// under /pay/assets/ are logged as they are.
func LogPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/pay/")
	if !ok || strings.HasPrefix(rest, "assets/") {
		return till.RedactPANs(p)
	}
	segs := strings.Split(rest, "/")
	segs[0] = "{token}"
	for i := 1; i < len(segs); i++ {
		if segs[i] != "" && !wordSegment(segs[i]) {
			segs[i] = "{token}"
		}
	}
	return "/pay/" + strings.Join(segs, "/")
}

// wordSegment reports whether a path segment reads as a word, not a token.
func wordSegment(s string) bool {
	if len(s) > 24 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s[1:] {
		if !(c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
