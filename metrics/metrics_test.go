package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHandler checks the handler's refusals and that invented methods and
// unmatched routes share one series each.
func TestHandler(t *testing.T) {
	m := New(Options{Version: "test"})
	m.Request("", "BREW", 404, time.Millisecond)
	m.Request("", "PROPFIND", 404, time.Millisecond)
	m.Request("/v1/payments/{id}", "GET", 200, time.Millisecond)
	h := m.Handler("")
	for _, c := range []struct {
		method, path string
		want         int
	}{{"POST", "/metrics", 405}, {"GET", "/metrics/x", 404}, {"HEAD", "/metrics", 200}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`till_http_requests_total{code="404",method="OTHER",route="other"} 2`,
		`till_http_requests_total{code="200",method="GET",route="/v1/payments/{id}"} 1`,
		`till_charges_total{outcome="succeeded"} 0`,
		`till_build_info{goversion="`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer secret")
	m.Handler("secret").ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("with the token: %d", rec.Code)
	}
}
