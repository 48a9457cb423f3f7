package checkout

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tillpay/till/middleware"
)

// TestWriteErrorInsideStack checks the pages' error writer as the
// middleware uses it: a panic and a non-canonical path are answered with a
// page carrying the pages' security headers, never with JSON.
func TestWriteErrorInsideStack(t *testing.T) {
	h := &Handler{log: slog.New(slog.DiscardHandler), base: "/pay/",
		tmpl: template.Must(template.ParseFS(templateFS, "templates/*.html"))}
	panicking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	stack := middleware.Stack(panicking, middleware.Options{ErrorWriter: h.WriteError})
	tests := []struct {
		path   string
		status int
		text   string
	}{
		{"/pay/tok_1", http.StatusInternalServerError, "Something went wrong"},
		{"/pay/a/../tok_1", http.StatusNotFound, "Payment not found"},
		{"/pay//", http.StatusNotFound, "Payment not found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path = tt.path
			rec := httptest.NewRecorder()
			stack.ServeHTTP(rec, r)
			body := rec.Body.String()
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
				!strings.Contains(body, tt.text) || strings.Contains(body, `"success"`) {
				t.Fatalf("%d %s:\n%s", rec.Code, rec.Header().Get("Content-Type"), body)
			}
			if rec.Header().Get("Content-Security-Policy") != contentSecurityPolicy || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Fatalf("security headers missing: %v", rec.Header())
			}
			if id := rec.Header().Get("Request-Id"); tt.status == 500 && (id == "" || !strings.Contains(body, id)) {
				t.Fatalf("the error page does not show the request id %q:\n%s", id, body)
			}
		})
	}
}
