package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/internal/browser"
)

// tokenBody is a card token request from a browser.
func tokenBody() string {
	return fmt.Sprintf(`{"card":{"number":"4242 4242 4242 4242","expMonth":12,"expYear":%d,"cvc":"123"}}`, time.Now().Year()+2)
}

// corsCall sends a request as a browser page of origin would.
func corsCall(t *testing.T, method, u, origin, key, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestTokenCORS checks POST /v1/tokens across origins: the preflight, a
// refused origin (readable 403, no token), the account's allowedOrigins
// (normalized, validated), an allowed origin, and no CORS on secret-key
// routes.
func TestTokenCORS(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		pk := env.Keys.TestPublishableKey
		shop := "https://shop.example"

		pre := corsCall(t, "OPTIONS", env.URL+"/v1/tokens", shop, "", "", map[string]string{
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
		if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != shop ||
			pre.Header.Get("Access-Control-Allow-Methods") != "POST" ||
			!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
			pre.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
		}

		refused := corsCall(t, "POST", env.URL+"/v1/tokens", shop, pk, tokenBody(), nil)
		var env1 struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		json.NewDecoder(refused.Body).Decode(&env1)
		if refused.StatusCode != 403 || env1.Error.Code != "forbidden" || !strings.Contains(env1.Error.Message, "allowedOrigins") ||
			refused.Header.Get("Access-Control-Allow-Origin") != shop {
			t.Errorf("unlisted origin: %d %+v %v", refused.StatusCode, env1, refused.Header)
		}

		_, err := env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{AllowedOrigins: &[]string{"https://ok.example", "https://shop.example/pay", "http://shop.example"}})
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"allowedOrigins[1]", "allowedOrigins[2]"}) {
			t.Errorf("invalid origins: %v", got)
		}
		acct := Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{AllowedOrigins: &[]string{"HTTPS://Shop.Example:443/", "http://localhost:3000", "https://shop.example"}}))
		if !slices.Equal(acct.AllowedOrigins, []string{shop, "http://localhost:3000"}) {
			t.Errorf("allowedOrigins: %v", acct.AllowedOrigins)
		}

		ok := corsCall(t, "POST", env.URL+"/v1/tokens", shop, pk, tokenBody(), map[string]string{"Idempotency-Key": "tok-1"})
		var tok struct {
			Data api.Token `json:"data"`
		}
		json.NewDecoder(ok.Body).Decode(&tok)
		if ok.StatusCode != 200 || !strings.HasPrefix(tok.Data.ID, "tok_") || ok.Header.Get("Access-Control-Allow-Origin") != shop ||
			!strings.Contains(ok.Header.Get("Access-Control-Expose-Headers"), "Request-Id") {
			t.Fatalf("allowed origin: %d %+v %v", ok.StatusCode, tok, ok.Header)
		}
		cust := env.Customer("DE")
		pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(env.Ctx(), cust.ID, api.PaymentMethodCreate{Token: tok.Data.ID}))
		if pm.Card.Last4 != "4242" {
			t.Errorf("token's card: %+v", pm.Card)
		}
		// A server call (no Origin) is unaffected; a secret-key route gets
		// no CORS headers even with an Origin.
		if res := corsCall(t, "POST", env.URL+"/v1/tokens", "", pk, tokenBody(), nil); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("server call: %d %v", res.StatusCode, res.Header)
		}
		res := corsCall(t, "GET", env.URL+"/v1/customers", shop, env.Keys.TestSecretKey, "", nil)
		if res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("secret-key route answers CORS: %v", res.Header)
		}
		if res := corsCall(t, "OPTIONS", env.URL+"/v1/customers", shop, "", "", map[string]string{"Access-Control-Request-Method": "POST"}); res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of a secret-key route: %d %v", res.StatusCode, res.Header)
		}
	})
}

// TestBrowserTokenCORS tokenizes a card from a merchant's page in headless
// Chromium: fetch() from an allowed origin gets a token; from another
// origin the browser reads Till's 403.
func TestBrowserTokenCORS(t *testing.T) {
	env := Start(t, SQLite)
	page := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Shop</title><p>Shop</p></html>`)
	}
	allowed := httptest.NewServer(http.HandlerFunc(page))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(page))
	defer other.Close()
	Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{AllowedOrigins: &[]string{allowed.URL}}))

	tab := browser.Start(t).Tab(t, browserTimeout)
	tokenize := fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Authorization": "Bearer %s", "Content-Type": "application/json",
		"Idempotency-Key": "k" + Math.random()}, body: %q}).then(async r => r.status + " " + (await r.json()).data?.id + " " + r.headers.get("Request-Id"))
		.catch(e => "failed: " + e)`, env.URL+"/v1/tokens", env.Keys.TestPublishableKey, tokenBody())
	run := func(origin string) string {
		tab.Do(chromedp.Navigate(origin + "/"))
		out, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[string](tokenize, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := run(allowed.URL); !strings.HasPrefix(got, "200 tok_") || !strings.Contains(got, " req_") {
		t.Errorf("allowed origin: %q", got)
	}
	if got := run(other.URL); !strings.HasPrefix(got, "403 undefined") {
		t.Errorf("other origin: %q", got)
	}
}
