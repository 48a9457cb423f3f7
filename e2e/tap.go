package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The secrets tap: every Env records its server's log (at debug level) and
// every response body it sends, and when its test ends scans them — and,
// for SQLite, the database file — for the test cards' numbers and for a
// CVC next to its name. A hit fails the test that caused it (SPEC §3: a PAN
// or CVC is never logged, returned or stored in the clear). Request bodies
// are not scanned: tests send card numbers on purpose.

// tapPANs are the numbers of every test card (SPEC §4a), also as they are
// written with spaces.
var tapPANs = func() []string {
	var out []string
	for _, n := range []string{"4242424242424242", "5555555555554444", "378282246310005", "4000000000000127", "4000000000000069",
		"4000000000000002", "4000000000009995", "4000000000000119", "4000002760003184", "4000000000000259",
		"4000000000001000", "4000000000002008", "4000000000003006", "4000000000004004", "4111111111111111"} {
		out = append(out, n)
		if len(n) == 16 {
			out = append(out, n[:4]+" "+n[4:8]+" "+n[8:12]+" "+n[12:])
		}
	}
	return out
}()

// tapCVC is a CVC value next to its name (JSON, form or log field).
var tapCVC = regexp.MustCompile(`(?i)"?\bcvc"?\s*[:=]\s*"?\d{3,4}\b`)

// tap collects what a server sends out.
type tap struct {
	mu  sync.Mutex
	log bytes.Buffer
	out bytes.Buffer
}

// maxTap bounds what a tap keeps of each stream; past it, scanning goes on
// per write and only the hits are kept.
const maxTap = 64 << 20

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log.Len() < maxTap {
		t.log.Write(p)
	}
	return len(p), nil
}

// logger returns the server's logger: into the tap at debug level, and to
// stderr too when TILL_TEST_LOG is set.
func (t *tap) logger() *slog.Logger {
	h := slog.Handler(slog.NewJSONHandler(t, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if os.Getenv("TILL_TEST_LOG") != "" {
		h = fanout{h, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})}
	}
	return slog.New(h)
}

// wrap records the bodies of h's responses, except the documentation's
// (/docs and /openapi.json list the test cards on purpose).
func (t *tap) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/docs") || r.URL.Path == "/openapi.json" {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&tapWriter{ResponseWriter: w, t: t}, r)
	})
}

// publicHints are what the test-mode pages show on purpose: the test card
// to pay with.
var publicHints = [][]byte{[]byte("Test mode: use card 4242 4242 4242 4242")}

type tapWriter struct {
	http.ResponseWriter
	t *tap
}

func (w *tapWriter) Write(p []byte) (int, error) {
	w.t.mu.Lock()
	if w.t.out.Len() < maxTap {
		w.t.out.Write(p)
	}
	w.t.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *tapWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *tapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scanSecrets reports where b holds a test card's number or a CVC.
func scanSecrets(what string, b []byte) []string {
	for _, h := range publicHints {
		b = bytes.ReplaceAll(b, h, nil)
	}
	var hits []string
	for _, pan := range tapPANs {
		if i := bytes.Index(b, []byte(pan)); i >= 0 {
			hits = append(hits, what+": card number "+pan[:6]+"… near "+excerpt(b, i))
		}
	}
	if loc := tapCVC.FindIndex(b); loc != nil {
		hits = append(hits, what+": a CVC near "+excerpt(b, loc[0]))
	}
	return hits
}

func excerpt(b []byte, i int) string {
	lo, hi := max(i-60, 0), min(i+60, len(b))
	return strings.ReplaceAll(string(b[lo:hi]), "\n", " ")
}

// check fails tb for every secret the tap (and the database file at path,
// if any) holds.
func (t *tap) check(tb testing.TB, path string) {
	t.mu.Lock()
	hits := append(scanSecrets("server log", t.log.Bytes()), scanSecrets("responses", t.out.Bytes())...)
	t.mu.Unlock()
	for _, p := range []string{path, path + "-wal"} {
		if path == "" {
			break
		}
		if b, err := os.ReadFile(p); err == nil {
			hits = append(hits, scanSecrets("database "+p, b)...)
		}
	}
	for _, h := range hits {
		tb.Errorf("secrets tap: %s", h)
	}
}

// fanout sends records to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
