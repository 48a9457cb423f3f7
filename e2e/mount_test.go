package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tillpay/till/client"
)

// TestMountedAPIErrorShapes checks the composition of till serve on a real
// server: a URL the pages cannot serve, non-canonical ones included, is
// answered with the pages' HTML under /pay/ and with the native envelope
// under /v1, each with a request id.
func TestMountedAPIErrorShapes(t *testing.T) {
	env := Start(t, SQLite)
	br := newPayBrowser(t, env)
	for _, path := range []string{"/pay/a/../b", "/pay//", "/pay/./NoSuchToken123", "/pay"} {
		pg := br.get(env.URL + path)
		if pg.status != http.StatusNotFound || !strings.Contains(pg.body, "Payment not found") ||
			!strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") || pg.header.Get("Request-Id") == "" {
			t.Fatalf("GET %s: %d %s\n%s", path, pg.status, pg.header.Get("Content-Type"), pg.body)
		}
		checkPayHeaders(t, pg)
	}
	for _, path := range []string{"/v1/customers/../account", "/v1//account", "/v1/pay/x"} {
		r := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", path, nil))
		var e errorEnvelope
		if r.Status != http.StatusNotFound || json.Unmarshal(r.Body, &e) != nil || e.Error == nil ||
			e.Error.Code != "resource_missing" || r.Header.Get("Request-Id") == "" {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
}
