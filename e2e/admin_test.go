package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// TestAdminAPI creates accounts and keys through the admin API: guarded by
// the admin token, idempotent, and never storing a new secret in plain text.
func TestAdminAPI(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{AdminToken: "adm_secret_token"})
		admin := client.New(env.URL, "adm_secret_token")
		body := []byte(`{"name":"Admin Made GmbH","country":"at"}`)
		first := Must[*client.Response](t)(admin.Raw(env.Ctx(), "POST", "/v1/admin/accounts", body, client.IdempotencyKey("acct-1")))
		again := Must[*client.Response](t)(admin.Raw(env.Ctx(), "POST", "/v1/admin/accounts", body, client.IdempotencyKey("acct-1")))
		if first.Status != 200 || !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("admin create replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
		}
		var keys struct{ Data api.NewAccountKeys }
		if err := json.Unmarshal(first.Body, &keys); err != nil {
			t.Fatal(err)
		}
		acct := Must[*api.Account](t)(client.New(env.URL, keys.Data.TestSecretKey).Account(env.Ctx()))
		if acct.OriginCountry != "AT" || acct.Name != "Admin Made GmbH" {
			t.Fatalf("account: %+v", acct)
		}
		// The stored response is sealed: the secret appears nowhere in the database.
		if path := env.Path(); path != "" {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow(`SELECT COUNT(*) FROM idempotency_keys WHERE instr(response_body, ?) > 0`, keys.Data.TestSecretKey).Scan(&n); err != nil || n != 0 {
				t.Fatalf("a new secret key is stored in plain text (%d rows, %v)", n, err)
			}
		}
		key := Must[*client.Response](t)(admin.Raw(env.Ctx(), "POST", "/v1/admin/accounts/"+keys.Data.ID+"/keys", []byte(`{"mode":"live","kind":"publishable"}`), client.IdempotencyKey("k-1")))
		if key.Status != 200 || !bytes.Contains(key.Body, []byte(`"secret":"pk_live_`)) {
			t.Fatalf("create key: %d %s", key.Status, key.Body)
		}
		var k struct{ Data api.Key }
		json.Unmarshal(key.Body, &k)
		rev := Must[*client.Response](t)(admin.Raw(env.Ctx(), "DELETE", "/v1/admin/keys/"+k.Data.ID, nil, client.IdempotencyKey("r-1")))
		if rev.Status != 200 || !bytes.Contains(rev.Body, []byte(`"revokedAt":"`)) || bytes.Contains(rev.Body, []byte(`"secret"`)) {
			t.Fatalf("revoke: %d %s", rev.Status, rev.Body)
		}
		for _, tc := range []struct {
			key  string
			code string
		}{{"", "api_key_missing"}, {"wrong", "api_key_invalid"}, {keys.Data.TestSecretKey, "api_key_invalid"}} {
			_, err := client.New(env.URL, tc.key).Raw(env.Ctx(), "POST", "/v1/admin/accounts", body)
			r := Must[*client.Response](t)(client.New(env.URL, tc.key).Raw(env.Ctx(), "POST", "/v1/admin/accounts", body))
			if err != nil || r.Status != 401 || !bytes.Contains(r.Body, []byte(tc.code)) {
				t.Fatalf("admin with %q: %d %s", tc.key, r.Status, r.Body)
			}
		}
	})
}

// TestAdminDisabled checks that without an admin token the admin API refuses.
func TestAdminDisabled(t *testing.T) {
	env := Start(t, SQLite)
	r := Must[*client.Response](t)(client.New(env.URL, "anything").Raw(env.Ctx(), "POST", "/v1/admin/accounts", []byte(`{"name":"x"}`)))
	if r.Status != 403 || !bytes.Contains(r.Body, []byte(`"forbidden"`)) {
		t.Fatalf("disabled admin API: %d %s", r.Status, r.Body)
	}
}

// TestMethodNotAllowedAndDocs checks 405 with Allow for a known path, 404
// for an unknown one, and that every error's doc_url resolves to a served
// page with that code's anchor.
func TestMethodNotAllowedAndDocs(t *testing.T) {
	env := Start(t, SQLite)
	r := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "PUT", "/v1/customers/cus_x", []byte(`{}`)))
	if r.Status != http.StatusMethodNotAllowed || !bytes.Contains(r.Body, []byte(`"method_not_allowed"`)) ||
		r.Header.Get("Allow") != "GET, PATCH, DELETE" {
		t.Fatalf("405: %d %s Allow=%q", r.Status, r.Body, r.Header.Get("Allow"))
	}
	r = Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/nothing-here", nil))
	if r.Status != 404 || !bytes.Contains(r.Body, []byte(`"resource_missing"`)) {
		t.Fatalf("404: %d %s", r.Status, r.Body)
	}
	var env2 struct{ Error client.Error }
	json.Unmarshal(r.Body, &env2)
	url, anchor, _ := strings.Cut(env2.Error.DocURL, "#")
	page, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(page.Body)
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(buf.String(), `id="`+anchor+`"`) {
		t.Fatalf("doc_url %s: %d, anchor %q present: %v", env2.Error.DocURL, page.StatusCode, anchor, strings.Contains(buf.String(), anchor))
	}
	for _, doc := range []string{"tax", "vault", "reliability", "architecture", "dialects", "dialects/commet", "dialects/chip", "dialects/orders", "dialects/cms"} {
		resp, err := http.Get(env.URL + "/docs/" + doc)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/docs/%s: %v %v", doc, err, resp.Status)
		}
		resp.Body.Close()
	}
}
