package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// commetKey is the Commet form of a Till secret key: ck_ for sk_.
func commetKey(secret string) string { return "ck_" + strings.TrimPrefix(secret, "sk_") }

// TestCommetSDK runs testdata/node/commet.mjs: Commet's official SDK, with
// only its base URL pointed at Till, through every call it has for
// customers, payments and webhooks, verifying the deliveries it receives
// with the SDK's own webhooks.verify.
func TestCommetSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH; the Commet SDK test needs Node 20")
	}
	if _, err := os.Stat(filepath.Join("testdata", "node", "node_modules", "@commet", "node", "package.json")); err != nil {
		t.Skip("testdata/node/node_modules/@commet/node is missing; run make test or npm ci --prefix e2e/testdata/node")
	}
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "node", "commet.mjs"))
		cmd.Env = append(os.Environ(), "TILL_URL="+env.URL, "COMMET_API_KEY="+commetKey(env.Keys.TestSecretKey),
			"TILL_SECRET_KEY="+env.Keys.TestSecretKey, "COMMET_NO_UPDATE_CHECK=1", "NODE_ENV=test")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		checks := 0
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var c struct {
				Check  string `json:"check"`
				Pass   bool   `json:"pass"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("commet.mjs printed %q: %v (stderr: %s)", line, err, stderr.String())
			}
			checks++
			if !c.Pass {
				t.Errorf("%s failed: %s", c.Check, c.Detail)
				continue
			}
			t.Logf("%s: ok", c.Check)
		}
		if runErr != nil && !t.Failed() {
			t.Fatalf("commet.mjs: %v\nstderr: %s", runErr, stderr.String())
		}
		if checks < 30 {
			t.Errorf("commet.mjs ran %d checks, want every one (stderr: %s)", checks, stderr.String())
		}
	})
}

// commetCall makes one request to the Commet dialect with key (none when
// empty) and the SDK's headers, and returns the status, the decoded
// envelope and the response.
func commetCall(t *testing.T, env *Env, key, method, path, body string, header ...string) (int, commetEnvelope, *client.Response) {
	t.Helper()
	opts := []client.Option{client.Header("commet-version", "2026-07-11"),
		client.Header("commet-client-info", `{"sdk":"commet-node","sdk_version":"7.10.0"}`)}
	if key != "" {
		opts = append(opts, client.Header("x-api-key", key))
	}
	for i := 0; i+1 < len(header); i += 2 {
		opts = append(opts, client.Header(header[i], header[i+1]))
	}
	var b any
	if body != "" {
		b = body
	}
	resp, err := client.New(env.URL, "").Raw(env.Ctx(), method, path, b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	out := commetEnvelope{resp: resp}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, resp.Status, resp.Body, err)
	}
	out.raw = resp.Body
	return resp.Status, out, resp
}

// commetEnvelope is a decoded answer of the dialect: the native envelope's
// shape (SPEC §13 keeps it), with the list fields.
type commetEnvelope struct {
	errorEnvelope
	Data       json.RawMessage `json:"data"`
	HasMore    *bool           `json:"hasMore"`
	NextCursor *string         `json:"nextCursor"`
	raw        []byte
	resp       *client.Response
}

// wantError asserts a Commet error envelope with the status and code.
func (e commetEnvelope) wantError(t *testing.T, status, _ int, code string) {
	t.Helper()
	wantErrorResponse(t, e.resp, status, code)
}

// TestCommetEdges checks the dialect's answers to bad requests, its keys,
// idempotency, pagination, cancel rules and mode isolation.
func TestCommetEdges(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		key := commetKey(env.Keys.TestSecretKey)

		t.Run("validation", func(t *testing.T) {
			for _, tc := range []struct {
				name, path, body string
				fields           []string
			}{
				{"bad JSON", "/api/v1/payments/charge", `{"amount": 10,`, []string{"body"}},
				{"not an object", "/api/v1/payments", `[1]`, []string{"body"}},
				{"unknown field", "/api/v1/payments/charge", `{"customerId":"cus_x","amount":10,"currency":"EUR","description":"d","capture":false}`, []string{"capture"}},
				{"wrong type", "/api/v1/payments/charge", `{"customerId":"cus_x","amount":"10","currency":"EUR","description":"d"}`, []string{"amount"}},
				{"fractional amount", "/api/v1/payments", `{"amount":10.5,"currency":"EUR","description":"d"}`, []string{"amount"}},
				{"missing fields", "/api/v1/payments/charge", `{}`, []string{"customerId", "amount", "currency", "description"}},
				{"customer without email", "/api/v1/customers", `{"fullName":"Ada"}`, []string{"email"}},
				{"customer id chosen", "/api/v1/customers", `{"id":"mine","email":"a@example.com"}`, []string{"id"}},
				{"address region", "/api/v1/customers", `{"email":"a@example.com","address":{"line1":"l","city":"c","postalCode":"1","country":"DE","region":"r"}}`, []string{"address.region"}},
				{"address incomplete", "/api/v1/customers", `{"email":"a@example.com","address":{"country":"DE"}}`, []string{"address.line1", "address.city", "address.postalCode"}},
				{"metadata not a string", "/api/v1/customers", `{"email":"a@example.com","metadata":{"n":1}}`, []string{"metadata.n"}},
				{"bad timezone", "/api/v1/customers", `{"email":"a@example.com","timezone":"Mars/Olympus"}`, []string{"timezone"}},
				{"fullName too long", "/api/v1/customers", `{"email":"a@example.com","fullName":"` + strings.Repeat("x", 201) + `"}`, []string{"fullName"}},
				{"webhook event unknown", "/api/v1/webhooks", `{"url":"http://127.0.0.1:1/h","events":["payment.succeeded"]}`, []string{"events"}},
				{"webhook apiVersion", "/api/v1/webhooks", `{"url":"http://127.0.0.1:1/h","events":["payment.received"],"apiVersion":"2020-01-01"}`, []string{"apiVersion"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, env, _ := commetCall(t, env, key, "POST", tc.path, tc.body)
					env.wantError(t, 400, status, "validation_error")
					got := env.fields()
					for _, f := range tc.fields {
						if !slices.Contains(got, f) {
							t.Errorf("details do not name %s: %s", f, env.raw)
						}
					}
					if env.Error.Param != "" && env.Error.Param != tc.fields[0] && len(tc.fields) == 1 {
						t.Errorf("param %q, want %q", env.Error.Param, tc.fields[0])
					}
				})
			}
			status, e, _ := commetCall(t, env, key, "GET", "/api/v1/payments?page=2", "")
			e.wantError(t, 400, status, "validation_error")
			if !slices.Contains(e.fields(), "page") {
				t.Errorf("unknown query parameter not named: %s", e.raw)
			}
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/customers?limit=0", "")
			e.wantError(t, 400, status, "validation_error")
		})

		t.Run("never a 500", func(t *testing.T) {
			routes := []struct{ method, path string }{{"POST", "/api/v1/customers"}, {"PUT", "/api/v1/customers/cus_x"},
				{"POST", "/api/v1/payments/charge"}, {"POST", "/api/v1/payments"}, {"POST", "/api/v1/payments/pay_x/cancel"},
				{"POST", "/api/v1/webhooks"}, {"PUT", "/api/v1/webhooks/we_x"}, {"POST", "/api/v1/webhooks/we_x/test"}}
			bodies := []string{"null", `"text"`, "42", "{}", `{"metadata":null}`, `{"metadata":{"a":null}}`, `{"address":null}`,
				`{"events":null}`, `{"amount":null}`, `{"amount":-5,"currency":"EUR","description":"d","customerId":"cus_x"}`,
				`{"amount":1e30,"currency":"EUR","description":"d"}`, `{"amount":9223372036854775807,"currency":"EUR","description":"d"}`,
				`{"email":"a@example.com","fullName":"\u0000"}`, `{"description":{"a":[1,2,{"b":null}]}}`, strings.Repeat("[", 10000),
				`{"url":"ftp://x","events":["*"]}`, `{"isActive":"yes"}`, `{"description":5}`, `{"email":"a@example.com"}{}`}
			for _, rt := range routes {
				for _, body := range bodies {
					status, e, _ := commetCall(t, env, key, rt.method, rt.path, body)
					if status >= 500 || status < 400 && status != 200 || (status != 200 && (e.Error == nil || e.Error.Code == "")) {
						t.Errorf("%s %s %.40s: %d %s", rt.method, rt.path, body, status, e.raw)
					}
				}
			}
			status, e, _ := commetCall(t, env, key, "POST", "/api/v1/customers", `{"email":"a@example.com","metadata":{"k":"`+strings.Repeat("x", 2<<20)+`"}}`)
			e.wantError(t, 413, status, "body_too_large")
			live := commetKey(env.Keys.LiveSecretKey)
			for _, url := range []string{"http://example.com/hooks", "https://127.0.0.1/hooks", "https://169.254.169.254/latest"} {
				status, e, _ = commetCall(t, env, live, "POST", "/api/v1/webhooks", `{"url":"`+url+`","events":["payment.received"]}`)
				e.wantError(t, 400, status, "validation_error")
				if !slices.Contains(e.fields(), "url") {
					t.Errorf("live webhook %s: %s", url, e.raw)
				}
			}
		})

		t.Run("keys", func(t *testing.T) {
			status, e, _ := commetCall(t, env, "", "GET", "/api/v1/payments", "")
			e.wantError(t, 401, status, "api_key_missing")
			status, e, _ = commetCall(t, env, "ck_test_"+strings.Repeat("a", 48), "GET", "/api/v1/payments", "")
			e.wantError(t, 401, status, "api_key_invalid")
			status, e, _ = commetCall(t, env, env.Keys.TestSecretKey, "GET", "/api/v1/payments", "")
			if status != 200 || e.Success == nil || !*e.Success {
				t.Fatalf("the sk_ form: %d %s", status, e.raw)
			}
			status, e, _ = commetCall(t, env, env.Keys.TestPublishableKey, "GET", "/api/v1/payments", "")
			e.wantError(t, 403, status, "publishable_key_not_allowed")
			status, e, _ = commetCall(t, env, "ck_"+strings.TrimPrefix(env.Keys.TestPublishableKey, "pk_"), "GET", "/api/v1/payments", "")
			e.wantError(t, 401, status, "api_key_invalid")
			status, e, _ = commetCall(t, env, "", "GET", "/api/v1/payments", "", "Authorization", "Bearer "+key)
			e.wantError(t, 401, status, "api_key_missing")
		})

		t.Run("not found", func(t *testing.T) {
			for _, tc := range []struct{ method, path string }{{"GET", "/api/v1/subscriptions"}, {"GET", "/api/v1/"}, {"POST", "/api/v1/usage/events"}, {"GET", "/api/v1/payments/pay_x/refunds"}} {
				status, e, resp := commetCall(t, env, key, tc.method, tc.path, "")
				e.wantError(t, 404, status, "resource_missing")
				if resp.Header.Get("Request-Id") == "" || resp.Header.Get("X-Request-Id") != resp.Header.Get("Request-Id") {
					t.Errorf("%s %s: request id headers %q / %q", tc.method, tc.path, resp.Header.Get("Request-Id"), resp.Header.Get("X-Request-Id"))
				}
			}
			status, e, resp := commetCall(t, env, key, "DELETE", "/api/v1/payments", "")
			e.wantError(t, 405, status, "method_not_allowed")
			if resp.Header.Get("Allow") != "POST, GET" {
				t.Errorf("Allow: %q", resp.Header.Get("Allow"))
			}
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/customers/cus_nope", "")
			e.wantError(t, 404, status, "resource_missing")
			_, _, resp = commetCall(t, env, key, "GET", "/api/v1/payments", "", "x-request-id", "req_mine_1")
			if resp.Header.Get("Request-Id") != "req_mine_1" || resp.Header.Get("X-Request-Id") != "req_mine_1" {
				t.Errorf("caller's x-request-id not echoed: %v", resp.Header)
			}
		})

		cust, _ := env.CustomerWithCard("DE", "4242424242424242")

		t.Run("idempotency", func(t *testing.T) {
			body := `{"customerId":"` + cust.ID + `","amount":700,"currency":"EUR","description":"idem"}`
			s1, e1, r1 := commetCall(t, env, key, "POST", "/api/v1/payments/charge", body, "Idempotency-Key", "commet-idem-1")
			s2, e2, r2 := commetCall(t, env, key, "POST", "/api/v1/payments/charge", body, "Idempotency-Key", "commet-idem-1")
			if s1 != 200 || s2 != 200 || !bytes.Equal(e1.raw, e2.raw) {
				t.Fatalf("replay differs: %d %s / %d %s", s1, e1.raw, s2, e2.raw)
			}
			if r1.Header.Get("Idempotent-Replayed") != "" || r2.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed: %q then %q", r1.Header.Get("Idempotent-Replayed"), r2.Header.Get("Idempotent-Replayed"))
			}
			var p struct{ ID string }
			json.Unmarshal(e1.Data, &p)
			recs, err := env.Client.ProcessorCharges(env.Ctx(), "", p.ID)
			if err != nil || len(recs) != 1 {
				t.Errorf("processor charged %d times for one key, want once (%v)", len(recs), err)
			}
			s3, e3, _ := commetCall(t, env, key, "POST", "/api/v1/payments/charge", strings.Replace(body, "700", "701", 1), "Idempotency-Key", "commet-idem-1")
			e3.wantError(t, 422, s3, "idempotency_key_reused")
			// The same key through the native API is another API's key.
			pay, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(700), Currency: "EUR",
				Description: "idem"}, client.IdempotencyKey("commet-idem-1"))
			if err != nil || pay.ID == p.ID {
				t.Errorf("native API with the dialect's key: %v, %v", pay, err)
			}
		})

		t.Run("pagination", func(t *testing.T) {
			var ids []string
			for range 3 {
				status, e, _ := commetCall(t, env, key, "POST", "/api/v1/payments", `{"amount":100,"currency":"EUR","description":"page","customerId":"`+cust.ID+`"}`)
				if status != 200 {
					t.Fatalf("create link: %d %s", status, e.raw)
				}
				var p struct{ ID string }
				json.Unmarshal(e.Data, &p)
				ids = append([]string{p.ID}, ids...)
			}
			var seen []string
			cursor := ""
			for page := 0; page < 10; page++ {
				path := "/api/v1/payments?limit=2&customerId=" + cust.ID
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				status, e, _ := commetCall(t, env, key, "GET", path, "")
				if status != 200 || e.HasMore == nil {
					t.Fatalf("list: %d %s", status, e.raw)
				}
				var items []struct{ ID string }
				json.Unmarshal(e.Data, &items)
				for _, it := range items {
					seen = append(seen, it.ID)
				}
				if !*e.HasMore {
					if e.NextCursor != nil {
						t.Errorf("last page has nextCursor %q", *e.NextCursor)
					}
					break
				}
				cursor = *e.NextCursor
			}
			if len(seen) < 3 || strings.Join(seen[:3], ",") != strings.Join(ids, ",") {
				t.Errorf("pages gave %v, want newest first starting %v", seen, ids)
			}
		})

		t.Run("cancel", func(t *testing.T) {
			status, e, _ := commetCall(t, env, key, "POST", "/api/v1/payments/charge", `{"customerId":"`+cust.ID+`","amount":500,"currency":"EUR","description":"c"}`)
			var charge struct{ ID, Status string }
			json.Unmarshal(e.Data, &charge)
			if status != 200 || charge.Status != "succeeded" {
				t.Fatalf("charge: %d %s", status, e.raw)
			}
			status, e, _ = commetCall(t, env, key, "POST", "/api/v1/payments/"+charge.ID+"/cancel", "{}")
			e.wantError(t, 409, status, "state_conflict")
			status, e, _ = commetCall(t, env, key, "POST", "/api/v1/payments", `{"amount":100,"currency":"EUR","description":"to cancel"}`)
			var link struct{ ID, Status string }
			json.Unmarshal(e.Data, &link)
			for range 2 {
				status, e, _ = commetCall(t, env, key, "POST", "/api/v1/payments/"+link.ID+"/cancel", "")
				json.Unmarshal(e.Data, &link)
				if status != 200 || link.Status != "canceled" {
					t.Fatalf("cancel link: %d %s", status, e.raw)
				}
			}
		})

		t.Run("declined", func(t *testing.T) {
			declined, _ := env.CustomerWithCard("DE", "4000000000000002")
			status, e, _ := commetCall(t, env, key, "POST", "/api/v1/payments/charge", `{"customerId":"`+declined.ID+`","amount":500,"currency":"EUR","description":"d"}`)
			e.wantError(t, 402, status, "card_declined")
			var d struct{ DeclineCode, PaymentID string }
			json.Unmarshal(e.Error.Details, &d)
			if d.DeclineCode != "generic_decline" || d.PaymentID == "" {
				t.Fatalf("decline details: %s", e.raw)
			}
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/payments/"+d.PaymentID, "")
			var p struct{ Status string }
			json.Unmarshal(e.Data, &p)
			if status != 200 || p.Status != "failed" {
				t.Errorf("declined payment: %d %s", status, e.raw)
			}
		})

		t.Run("requires action and processing", func(t *testing.T) {
			sca, _ := env.CustomerWithCard("DE", "4000002760003184")
			status, e, _ := commetCall(t, env, key, "POST", "/api/v1/payments/charge", `{"customerId":"`+sca.ID+`","amount":500,"currency":"EUR","description":"sca"}`)
			e.wantError(t, 402, status, "card_declined")
			var d struct{ DeclineCode, PaymentID, NextActionURL string }
			json.Unmarshal(e.Error.Details, &d)
			if d.DeclineCode != "authentication_required" || d.NextActionURL == "" {
				t.Fatalf("3-D Secure decline details: %s", e.raw)
			}
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/payments/"+d.PaymentID, "")
			var p struct{ Status string }
			json.Unmarshal(e.Data, &p)
			if status != 200 || p.Status != "requires_action" {
				t.Errorf("payment needing authentication: %d %s", status, e.raw)
			}
			slow, _ := env.CustomerWithCard("DE", "4000000000001000")
			status, e, _ = commetCall(t, env, key, "POST", "/api/v1/payments/charge", `{"customerId":"`+slow.ID+`","amount":500,"currency":"EUR","description":"slow"}`)
			json.Unmarshal(e.Data, &p)
			if status != 200 || p.Status != "processing" {
				t.Errorf("pending processor answer: %d %s", status, e.raw)
			}
		})

		t.Run("mode isolation", func(t *testing.T) {
			live := commetKey(env.Keys.LiveSecretKey)
			status, e, _ := commetCall(t, env, live, "GET", "/api/v1/customers/"+cust.ID, "")
			e.wantError(t, 404, status, "resource_missing")
			status, e, _ = commetCall(t, env, live, "GET", "/api/v1/payments", "")
			var items []json.RawMessage
			json.Unmarshal(e.Data, &items)
			if status != 200 || len(items) != 0 {
				t.Errorf("live key lists test payments: %d %s", status, e.raw)
			}
			status, e, _ = commetCall(t, env, live, "POST", "/api/v1/customers", `{"email":"live@example.com"}`)
			var c struct {
				ID       string
				Livemode bool
			}
			json.Unmarshal(e.Data, &c)
			if status != 200 || !c.Livemode {
				t.Fatalf("live customer: %d %s", status, e.raw)
			}
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/customers/"+c.ID, "")
			e.wantError(t, 404, status, "resource_missing")
		})

		t.Run("webhook endpoints are the dialect's own", func(t *testing.T) {
			native, err := env.Client.CreateWebhookEndpoint(env.Ctx(), api.WebhookEndpointCreate{URL: "http://127.0.0.1:1/native",
				Events: []string{"*"}})
			if err != nil {
				t.Fatal(err)
			}
			status, e, _ := commetCall(t, env, key, "GET", "/api/v1/webhooks/"+native.ID, "")
			e.wantError(t, 404, status, "resource_missing")
			status, e, _ = commetCall(t, env, key, "DELETE", "/api/v1/webhooks/"+native.ID, "")
			e.wantError(t, 404, status, "resource_missing")
			status, e, _ = commetCall(t, env, key, "GET", "/api/v1/webhooks", "")
			if status != 200 || strings.Contains(string(e.raw), native.ID) {
				t.Errorf("the dialect lists the native endpoint: %s", e.raw)
			}
		})
	})
}

// commetReceiver records the deliveries it gets; paths under /fail answer
// 500.
type commetReceiver struct {
	mu  sync.Mutex
	got []receivedHook
	srv *httptest.Server
}

type receivedHook struct {
	path   string
	header http.Header
	body   []byte
}

func newCommetReceiver(t *testing.T) *commetReceiver {
	rc := &commetReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedHook{path: r.URL.Path, header: r.Header.Clone(), body: b})
		rc.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// find returns the deliveries to path whose body contains s.
func (rc *commetReceiver) find(path, s string) []receivedHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedHook
	for _, h := range rc.got {
		if h.path == path && bytes.Contains(h.body, []byte(s)) {
			out = append(out, h)
		}
	}
	return out
}

// TestCommetWebhookDelivery checks that Commet endpoints get Commet's
// envelope and signature through the core delivery (its log and retries)
// while native endpoints keep Till's, and that a keyed test delivery is
// sent once.
func TestCommetWebhookDelivery(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		key := commetKey(env.Keys.TestSecretKey)
		rc := newCommetReceiver(t)
		create := func(path string) (id, secret string) {
			status, e, _ := commetCall(t, env, key, "POST", "/api/v1/webhooks", `{"url":"`+rc.srv.URL+path+`","events":["payment.received"]}`)
			var wh struct{ ID, SecretKey string }
			json.Unmarshal(e.Data, &wh)
			if status != 200 || wh.SecretKey == "" {
				t.Fatalf("create webhook: %d %s", status, e.raw)
			}
			return wh.ID, wh.SecretKey
		}
		okID, secret := create("/commet")
		failID, _ := create("/fail")
		if _, err := env.Client.CreateWebhookEndpoint(env.Ctx(), api.WebhookEndpointCreate{URL: rc.srv.URL + "/native",
			Events: []string{"payment.succeeded"}}); err != nil {
			t.Fatal(err)
		}
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		status, e, _ := commetCall(t, env, key, "POST", "/api/v1/payments/charge", `{"customerId":"`+cust.ID+`","amount":1200,"currency":"EUR","description":"hooks"}`)
		var pay struct{ ID string }
		json.Unmarshal(e.Data, &pay)
		if status != 200 {
			t.Fatalf("charge: %d %s", status, e.raw)
		}
		var hook receivedHook
		env.Eventually(10*time.Second, "the Commet delivery", func() bool {
			hs := rc.find("/commet", pay.ID)
			if len(hs) > 0 {
				hook = hs[0]
			}
			return len(hs) > 0
		})
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(hook.body)
		if got := hook.header.Get("X-Commet-Signature"); got != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("X-Commet-Signature %q is not the hex HMAC-SHA256 of the body", got)
		}
		if hook.header.Get("Till-Signature") != "" || hook.header.Get("X-Commet-Event") != "payment.received" {
			t.Errorf("Commet delivery headers: %v", hook.header)
		}
		var envl struct {
			Event, Timestamp, OrganizationID, Mode, APIVersion string
			Data                                               struct{ PaymentTransactionID, InvoiceNumber string }
		}
		if err := json.Unmarshal(hook.body, &envl); err != nil || envl.Event != "payment.received" || envl.Mode != "sandbox" ||
			envl.OrganizationID == "" || envl.APIVersion != "2026-07-11" || envl.Data.PaymentTransactionID != pay.ID || envl.Data.InvoiceNumber == "" {
			t.Errorf("Commet envelope: %s (%v)", hook.body, err)
		}
		env.Eventually(10*time.Second, "the native delivery", func() bool {
			hs := rc.find("/native", pay.ID)
			return len(hs) > 0 && hs[0].header.Get("Till-Signature") != "" && bytes.Contains(hs[0].body, []byte(`"payment.succeeded"`))
		})
		// The delivery log of the core event lists both Commet endpoints:
		// the failing one with its retry planned.
		eventID := hook.header.Get("X-Commet-Delivery")
		byEndpoint := map[string]api.WebhookDelivery{}
		env.Eventually(10*time.Second, "both deliveries in the log", func() bool {
			resp, err := env.Client.Raw(env.Ctx(), "GET", "/v1/events/"+eventID+"/deliveries", nil)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Data []api.WebhookDelivery }
			json.Unmarshal(resp.Body, &out)
			for _, d := range out.Data {
				byEndpoint[d.EndpointID] = d
			}
			_, okLogged := byEndpoint[okID]
			_, failLogged := byEndpoint[failID]
			return okLogged && failLogged
		})
		if d := byEndpoint[okID]; d.Status != "succeeded" {
			t.Errorf("delivery to the Commet endpoint: %+v", d)
		}
		if d := byEndpoint[failID]; d.Status != "failed" || d.NextRetryAt == nil {
			t.Errorf("failed delivery to a Commet endpoint has no retry: %+v", d)
		}

		// A resend to a Commet endpoint of an event Commet has no name for
		// is refused, never queued to fail forever.
		resp, err := env.Client.Raw(env.Ctx(), "GET", "/v1/events?type=payment_method.attached&limit=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		var events struct{ Data []api.Event }
		json.Unmarshal(resp.Body, &events)
		if len(events.Data) != 1 {
			t.Fatalf("payment_method.attached events: %s", resp.Body)
		}
		err = env.Client.Do(env.Ctx(), "POST", "/v1/events/"+events.Data[0].ID+"/resend", api.ResendRequest{EndpointID: okID}, nil)
		APIError(t, err, 409, "state_conflict")

		// A keyed test delivery is sent once; its repeat answers the same.
		s1, e1, _ := commetCall(t, env, key, "POST", "/api/v1/webhooks/"+okID+"/test", "", "Idempotency-Key", "test-once")
		s2, e2, r2 := commetCall(t, env, key, "POST", "/api/v1/webhooks/"+okID+"/test", "", "Idempotency-Key", "test-once")
		if s1 != 200 || s2 != 200 || !bytes.Equal(e1.raw, e2.raw) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("test replay: %d %s / %d %s", s1, e1.raw, s2, e2.raw)
		}
		if n := len(rc.find("/commet", `"webhook.test"`)); n != 1 {
			t.Errorf("%d test deliveries for one key, want 1", n)
		}
		status, e, _ = commetCall(t, env, key, "POST", "/api/v1/webhooks/"+failID+"/test", "")
		var res struct{ Success bool }
		json.Unmarshal(e.Data, &res)
		if status != 200 || res.Success {
			t.Errorf("test of a failing endpoint: %d %s", status, e.raw)
		}
	})
}
