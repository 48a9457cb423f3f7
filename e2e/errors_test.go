package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// errorEnvelope is a decoded error response.
type errorEnvelope struct {
	Success *bool `json:"success"`
	Data    any   `json:"data"`
	Error   *struct {
		Type    string          `json:"type"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Param   string          `json:"param"`
		Details json.RawMessage `json:"details"`
		DocURL  string          `json:"doc_url"`
	} `json:"error"`
}

// fields returns the field names of a validation error's details.
func (e *errorEnvelope) fields() []string {
	var fs []client.FieldError
	json.Unmarshal(e.Error.Details, &fs)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Field
	}
	return out
}

// wantErrorResponse checks that r is an error response with the status and
// code in the full envelope of SPEC §1 (success false, type, code, message,
// doc_url, a Request-Id header, a JSON content type) and returns it.
func wantErrorResponse(tb testing.TB, r *client.Response, status int, code string) *errorEnvelope {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("want status %d, got %d: %s", status, r.Status, r.Body)
	}
	var env errorEnvelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		tb.Fatalf("error body is not JSON: %v: %s", err, r.Body)
	}
	if env.Success == nil || *env.Success || env.Error == nil || env.Data != nil {
		tb.Fatalf("not an error envelope: %s", r.Body)
	}
	e := env.Error
	if e.Code != code || e.Type == "" || e.Message == "" || e.DocURL == "" {
		tb.Fatalf("want code %s with type, message and doc_url: %s", code, r.Body)
	}
	if !strings.Contains(e.DocURL, "/docs") {
		tb.Fatalf("doc_url %q does not point into the docs", e.DocURL)
	}
	wantType := map[int]string{400: "invalid_request_error", 401: "authentication_error", 402: "card_error",
		403: "permission_error", 404: "invalid_request_error", 413: "invalid_request_error", 422: "idempotency_error"}[status]
	if wantType != "" && e.Type != wantType {
		tb.Fatalf("status %d: want type %s, got %s", status, wantType, e.Type)
	}
	if r.Header.Get("Request-Id") == "" {
		tb.Fatalf("no Request-Id header on %d %s", status, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("error Content-Type %q", ct)
	}
	return &env
}

// wantFields asserts that a validation error names exactly the fields, in
// order, with param the first.
func wantFields(tb testing.TB, ce *client.Error, fields ...string) {
	tb.Helper()
	var got []string
	for _, f := range ce.Fields() {
		got = append(got, f.Field)
	}
	if fmt.Sprint(got) != fmt.Sprint(fields) {
		tb.Fatalf("details fields: got %v, want %v (%s)", got, fields, ce.Details)
	}
	if len(fields) > 0 && ce.Param != fields[0] {
		tb.Fatalf("param: got %q, want %q", ce.Param, fields[0])
	}
}

// jsonOf renders v as JSON, for comparing objects that hold pointers.
func jsonOf(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// post sends body (raw bytes) with the env's secret key.
func post(t *testing.T, env *Env, path, body string, opts ...client.Option) *client.Response {
	t.Helper()
	return Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", path, []byte(body), opts...))
}

// countCustomers returns how many customers the env's test account has.
func countCustomers(t *testing.T, env *Env) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		page := Must[*client.List[api.Customer]](t)(env.Client.Customers(env.Ctx(), client.ListParams{Limit: 100, StartingAfter: cursor}))
		n += len(page.Data)
		if !page.HasMore {
			return n
		}
		cursor = page.NextCursor
	}
}

// countPayments returns how many payments the env's test account has.
func countPayments(t *testing.T, env *Env) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		page := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Limit: 100, StartingAfter: cursor}))
		n += len(page.Data)
		if !page.HasMore {
			return n
		}
		cursor = page.NextCursor
	}
}

// TestUnknownAndMistypedFields checks the strict decoder: unknown fields are
// parameter_unknown naming the field, values of the wrong type are
// validation_error naming it, and nothing is stored.
func TestUnknownAndMistypedFields(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		charge := func(extra string) string {
			return fmt.Sprintf(`{"customerId":%q,"currency":"EUR","description":"x",%s}`, cust.ID, extra)
		}

		e := wantErrorResponse(t, post(t, env, "/v1/payments/charge", charge(`"amount":100,"amout":100`)), 400, "parameter_unknown")
		if e.Error.Param != "amout" || !strings.Contains(e.Error.Message, "amout") {
			t.Fatalf("unknown field: %+v", e.Error)
		}
		e = wantErrorResponse(t, post(t, env, "/v1/customers", `{"email":"a@example.com","isAdmin":true}`), 400, "parameter_unknown")
		if e.Error.Param != "isAdmin" {
			t.Fatalf("mass assignment: %+v", e.Error)
		}
		wantErrorResponse(t, Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "PATCH", "/v1/account", []byte(`{"livemode":true}`))), 400, "parameter_unknown")

		for _, v := range []string{`"10"`, `10.5`, `1e30`, `true`, `-1e3`, `[1]`, `{"v":1}`, `99999999999999999999`} {
			e := wantErrorResponse(t, post(t, env, "/v1/payments/charge", charge(`"amount":`+v)), 400, "validation_error")
			if e.Error.Param != "amount" {
				t.Fatalf("amount %s: param %q (%s)", v, e.Error.Param, e.Error.Message)
			}
			if f := e.fields(); len(f) != 1 || f[0] != "amount" {
				t.Fatalf("amount %s: details %v", v, f)
			}
		}
		for body, param := range map[string]string{
			charge(`"amount":100,"currency":5`):          "currency",
			charge(`"amount":100,"capture":"no"`):        "capture",
			charge(`"amount":100,"metadata":{"a":1}`):    "metadata.a",
			charge(`"amount":100,"lineItems":{}`):        "lineItems",
			charge(`"amount":100,"scheduledAt":"soon"`):  "scheduledAt",
			charge(`"amount":100,"scheduledAt":1700000`): "scheduledAt",
		} {
			e := wantErrorResponse(t, post(t, env, "/v1/payments/charge", body), 400, "validation_error")
			// encoding/json names nested fields by their path.
			if e.Error.Param != param && !(param == "metadata.a" && e.Error.Param == "metadata") {
				t.Fatalf("%s: param %q, want %q (%s)", body, e.Error.Param, param, e.Error.Message)
			}
		}
		if n := countPayments(t, env); n != 0 {
			t.Fatalf("rejected charges stored %d payments", n)
		}
	})
}

// TestMissingAndInvalidChargeFields checks that every missing required field
// is listed at once, and the amount and currency codes.
func TestMissingAndInvalidChargeFields(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")

		_, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{})
		ce := APIError(t, err, 400, "validation_error")
		wantFields(t, ce, "customerId", "amount", "currency", "description")
		e := wantErrorResponse(t, post(t, env, "/v1/payments/charge", `{}`), 400, "validation_error")
		if len(e.fields()) != 4 {
			t.Fatalf("empty body: %v", e.fields())
		}
		// An explicit null is as good as missing.
		e = wantErrorResponse(t, post(t, env, "/v1/payments/charge",
			fmt.Sprintf(`{"customerId":%q,"amount":null,"currency":"EUR","description":"x"}`, cust.ID)), 400, "validation_error")
		if e.Error.Param != "amount" {
			t.Fatalf("null amount: %+v", e.Error)
		}

		req := func(amount int64, currency string) api.ChargeRequest {
			return api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(amount), Currency: currency, Description: "x"}
		}
		for _, a := range []int64{0, -1, -1 << 62} {
			_, err := env.Client.Charge(env.Ctx(), req(a, "EUR"))
			if ce := APIError(t, err, 400, "amount_too_small"); ce.Param != "amount" || ce.Type != "invalid_request_error" {
				t.Fatalf("amount %d: %+v", a, ce)
			}
		}
		for _, a := range []int64{till.MaxAmount + 1, 1<<63 - 1} {
			_, err := env.Client.Charge(env.Ctx(), req(a, "EUR"))
			if ce := APIError(t, err, 400, "amount_too_large"); ce.Param != "amount" {
				t.Fatalf("amount %d: %+v", a, ce)
			}
		}
		// The largest amount is accepted, but not when tax takes the total
		// over the limit.
		_, err = env.Client.Charge(env.Ctx(), req(till.MaxAmount, "EUR"))
		if ce := APIError(t, err, 400, "amount_too_large"); ce.Param != "amount" {
			t.Fatalf("total over the limit: %+v", ce)
		}
		for _, c := range []string{"XYZ", "btc", "EURO", "€", "HRK"} {
			_, err := env.Client.Charge(env.Ctx(), req(100, c))
			if ce := APIError(t, err, 400, "currency_unsupported"); ce.Param != "currency" {
				t.Fatalf("currency %q: %+v", c, ce)
			}
		}
		// Amount and currency problems are reported together.
		_, err = env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(0), Currency: "btc"})
		ce = APIError(t, err, 400, "amount_too_small")
		wantFields(t, ce, "amount", "currency", "description")
		if n := countPayments(t, env); n != 0 {
			t.Fatalf("rejected charges stored %d payments", n)
		}

		for _, c := range []string{"eur", "Eur", " usd "} {
			p := Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), req(100, c)))
			if want := strings.ToUpper(strings.TrimSpace(c)); p.Currency != want || p.Status != "succeeded" {
				t.Fatalf("currency %q: got %s %s", c, p.Currency, p.Status)
			}
		}
	})
}

// TestMalformedBodies checks invalid JSON, non-object JSON, trailing data,
// huge bodies and the wrong content type: each a 400 (413) with the full
// envelope, never a 5xx, and nothing stored.
func TestMalformedBodies(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		before := countCustomers(t, env)
		for _, body := range []string{
			`{"email":`, `{"email":"a@example.com"`, `{email:"x"}`, `{"email":'x'}`, `[]`, `null`, `"x"`, `42`, `true`,
			`{} x`, `{}{}`, `{"email":"a@example.com"}]`, "\x00", `{"name":"\ud800"}x`,
		} {
			r := post(t, env, "/v1/customers", body)
			wantErrorResponse(t, r, 400, "invalid_json")
		}
		// Whitespace around an object is fine.
		if r := post(t, env, "/v1/customers", " \n{\"email\":\"ws@example.com\"}\n "); r.Status != 200 {
			t.Fatalf("whitespace: %d %s", r.Status, r.Body)
		}

		big := `{"email":"a@example.com","name":"` + strings.Repeat("a", 1<<20) + `"}`
		e := wantErrorResponse(t, post(t, env, "/v1/customers", big), 413, "body_too_large")
		if !strings.Contains(e.Error.Message, "1048576") {
			t.Fatalf("body_too_large message: %q", e.Error.Message)
		}
		// Just under the limit is decoded (and then refused for the long name).
		under := `{"name":"` + strings.Repeat("a", 1<<20-11) + `"}`
		if len(under) != 1<<20 {
			t.Fatalf("test body is %d bytes", len(under))
		}
		wantErrorResponse(t, post(t, env, "/v1/customers", under), 400, "validation_error")

		form := post(t, env, "/v1/customers", "email=a%40example.com",
			client.Header("Content-Type", "application/x-www-form-urlencoded"))
		wantErrorResponse(t, form, 400, "invalid_json")
		multipart := post(t, env, "/v1/customers", `{"email":"a@example.com"}`, client.Header("Content-Type", "multipart/form-data; boundary=x"))
		wantErrorResponse(t, multipart, 400, "invalid_json")
		if got := countCustomers(t, env); got != before+1 {
			t.Fatalf("customers: %d before, %d after (want one more)", before, got)
		}
	})
}

// TestErrorEnvelopeEverywhere checks the envelope and Request-Id on errors of
// every status, unknown routes, and that the request id is echoed.
func TestErrorEnvelopeEverywhere(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		anon := client.New(env.URL, "")
		ctx := env.Ctx()

		r := Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/nope", nil))
		e := wantErrorResponse(t, r, 404, "resource_missing")
		if !strings.Contains(e.Error.Message, "/v1/nope") {
			t.Fatalf("unknown route message: %q", e.Error.Message)
		}
		wantErrorResponse(t, Must[*client.Response](t)(anon.Raw(ctx, "GET", "/nope", nil)), 404, "resource_missing")
		// An empty or dot segment is a missing id, not a redirect (which
		// a client would follow, re-sending a POST elsewhere).
		for _, p := range []string{"/v1/customers//payment-methods", "/v1/customers/./payment-methods", "/v1/payments/../account"} {
			r := Must[*client.Response](t)(env.Client.Raw(ctx, "POST", p, []byte(`{}`)))
			wantErrorResponse(t, r, 404, "resource_missing")
		}
		wantErrorResponse(t, Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/customers/cus_nope", nil)), 404, "resource_missing")
		wantErrorResponse(t, Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/payments/pay_nope", nil)), 404, "resource_missing")
		wantErrorResponse(t, Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/payment-methods/pm_nope", nil)), 404, "resource_missing")
		for _, m := range []string{"PUT", "DELETE"} {
			r := Must[*client.Response](t)(env.Client.Raw(ctx, m, "/v1/customers", []byte(`{}`)))
			if r.Status != 404 && r.Status != 405 {
				t.Fatalf("%s /v1/customers: %d %s", m, r.Status, r.Body)
			}
			wantErrorResponse(t, r, r.Status, map[int]string{404: "resource_missing", 405: "method_not_allowed"}[r.Status])
		}
		wantErrorResponse(t, Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/customers", nil)), 401, "api_key_missing")
		wantErrorResponse(t, Must[*client.Response](t)(env.Client.WithKey(env.Keys.TestPublishableKey).Raw(ctx, "GET", "/v1/customers", nil)), 403, "publishable_key_not_allowed")
		wantErrorResponse(t, post(t, env, "/v1/customers", `{"email":"nope"}`), 400, "validation_error")

		cust, _ := env.CustomerWithCard("DE", "4000000000000002")
		r = post(t, env, "/v1/payments/charge", fmt.Sprintf(`{"customerId":%q,"amount":100,"currency":"EUR","description":"x"}`, cust.ID))
		e = wantErrorResponse(t, r, 402, "card_declined")
		var d client.Decline
		if json.Unmarshal(e.Error.Details, &d) != nil || d.DeclineCode != "generic_decline" || !strings.HasPrefix(d.PaymentID, "pay_") {
			t.Fatalf("decline details: %s", e.Error.Details)
		}

		// The caller's request id is echoed; a malformed one is replaced.
		r = Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/nope", nil, client.Header("Request-Id", "order-42.retry_1")))
		if r.Header.Get("Request-Id") != "order-42.retry_1" {
			t.Fatalf("Request-Id echo: %q", r.Header.Get("Request-Id"))
		}
		r = Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/account", nil, client.Header("Request-Id", "bad id\twith spaces")))
		if id := r.Header.Get("Request-Id"); id == "" || strings.Contains(id, " ") || r.Status != 200 {
			t.Fatalf("malformed Request-Id: %q (%d)", id, r.Status)
		}
		// A success carries a request id too, and its error-free envelope.
		var ok struct {
			Success bool `json:"success"`
			Error   any  `json:"error"`
		}
		if json.Unmarshal(r.Body, &ok) != nil || !ok.Success || ok.Error != nil {
			t.Fatalf("success envelope: %s", r.Body)
		}
	})
}

// TestIdempotencyKeyLimit checks that an Idempotency-Key longer than 255
// characters (or with control characters) is refused before any work.
func TestIdempotencyKeyLimit(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		for _, key := range []string{strings.Repeat("k", 256), "bad\u00e9key"} {
			r := post(t, env, "/v1/customers", `{"email":"a@example.com"}`, client.IdempotencyKey(key))
			e := wantErrorResponse(t, r, 400, "validation_error")
			if e.Error.Param != "Idempotency-Key" {
				t.Fatalf("param %q", e.Error.Param)
			}
		}
		if n := countCustomers(t, env); n != 0 {
			t.Fatalf("refused keys created %d customers", n)
		}
		key := strings.Repeat("k", 255)
		r1 := post(t, env, "/v1/customers", `{"email":"a@example.com"}`, client.IdempotencyKey(key))
		r2 := post(t, env, "/v1/customers", `{"email":"a@example.com"}`, client.IdempotencyKey(key))
		if r1.Status != 200 || r2.Status != 200 || !bytes.Equal(r1.Body, r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("255-character key: %d %d %s", r1.Status, r2.Status, r2.Header.Get("Idempotent-Replayed"))
		}
		if n := countCustomers(t, env); n != 1 {
			t.Fatalf("want one customer, got %d", n)
		}
	})
}

// TestRejectedRequestsLeaveNothing sends a spread of bad requests to every
// mutating endpoint: each gets a 4xx (never a 5xx) and nothing changes.
func TestRejectedRequestsLeaveNothing(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, pm := env.CustomerWithCard("DE", "4242424242424242")
		acct := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		custBefore := Must[*api.Customer](t)(env.Client.Customer(env.Ctx(), cust.ID))

		bodies := []string{
			`{`, `[]`, `{"x":1}`, `{"metadata":{"":"v"}}`, `{"metadata":"x"}`, `{"email":"not an email"}`,
			`{"address":{"country":"XX"}}`, `{"taxIds":[{"type":"eu_vat","value":"DE1"}]}`, `{"name":"` + strings.Repeat("n", 201) + `"}`,
			`{"amount":-1}`, `{"card":{"number":"4242424242424241","expMonth":12,"expYear":2099}}`, `{"card":null}`,
			`{"scheduledAt":"2000-01-01T00:00:00Z"}`, `{"paymentMethodId":"pm_nope"}`, `{"active":"yes"}`,
			`{"retryPolicy":{"delaysDays":[0]}}`, `{"customTaxRates":[{"country":"US","rate":"101","name":"x"}]}`,
			`{"defaultTaxBehavior":"both"}`, `{"seconds":-5}`, `{"seconds":1e40}`, `{"token":"tok_nope"}`,
			`{"customerId":"cus_nope","amount":100,"currency":"EUR","description":"x"}`,
		}
		paths := []struct{ method, path string }{
			{"POST", "/v1/customers"}, {"PATCH", "/v1/customers/" + cust.ID}, {"POST", "/v1/customers/" + cust.ID + "/payment-methods"},
			{"POST", "/v1/payments/charge"}, {"PATCH", "/v1/account"}, {"POST", "/v1/test/clock/advance"},
		}
		for _, p := range paths {
			for _, body := range bodies {
				r := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), p.method, p.path, []byte(body)))
				if r.Status < 400 || r.Status >= 500 {
					t.Fatalf("%s %s %s: want a 4xx, got %d %s", p.method, p.path, body, r.Status, r.Body)
				}
				var env errorEnvelope
				if json.Unmarshal(r.Body, &env) != nil || env.Error == nil || env.Error.Code == "" || r.Header.Get("Request-Id") == "" {
					t.Fatalf("%s %s %s: not an error envelope: %s", p.method, p.path, body, r.Body)
				}
			}
		}
		if n := countCustomers(t, env); n != 1 {
			t.Fatalf("customers after rejected requests: %d", n)
		}
		if n := countPayments(t, env); n != 0 {
			t.Fatalf("payments after rejected requests: %d", n)
		}
		pms := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(env.Ctx(), cust.ID))
		if len(pms.Data) != 1 || pms.Data[0].ID != pm.ID {
			t.Fatalf("payment methods after rejected requests: %+v", pms.Data)
		}
		custAfter := Must[*api.Customer](t)(env.Client.Customer(env.Ctx(), cust.ID))
		if jsonOf(t, custBefore) != jsonOf(t, custAfter) {
			t.Fatalf("customer changed:\n%s\n%s", jsonOf(t, custBefore), jsonOf(t, custAfter))
		}
		acctAfter := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		if jsonOf(t, acct) != jsonOf(t, acctAfter) {
			t.Fatalf("account changed:\n%s\n%s", jsonOf(t, acct), jsonOf(t, acctAfter))
		}
	})
}

// TestNoServerErrorsOnOddInput throws odd but well-formed JSON at the
// endpoints: nesting, unicode, huge numbers, nulls. None may answer 5xx.
func TestNoServerErrorsOnOddInput(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		deep := strings.Repeat(`{"metadata":`, 2000) + "1" + strings.Repeat("}", 2000)
		odd := []string{
			deep, `{"name":"\u0000"}`, `{"name":"` + strings.Repeat("😀", 300) + `"}`, `{"email":"a@example.com","metadata":null}`,
			`{"customerId":null,"amount":null,"currency":null,"description":null}`,
			fmt.Sprintf(`{"customerId":%q,"amount":1,"currency":"EUR","description":"x","lineItems":[{"quantity":1e6,"unitAmount":999999999999,"description":"x"}]}`, cust.ID),
			fmt.Sprintf(`{"customerId":%q,"amount":1,"currency":"EUR","description":"x","lineItems":[null]}`, cust.ID),
			fmt.Sprintf(`{"customerId":%q,"amount":1,"currency":"EUR","description":"x","taxCountry":"ZZ","taxBehavior":"x"}`, cust.ID),
			fmt.Sprintf(`{"customerId":%q,"amount":1,"currency":"JPY","description":"x","scheduledAt":"9999-12-31T23:59:59Z"}`, cust.ID),
			fmt.Sprintf(`{"customerId":%q,"amount":1,"currency":"EUR","description":"x","receiptEmail":"<script>"}`, cust.ID),
			`{"customerId":"` + strings.Repeat("c", 10000) + `","amount":1,"currency":"EUR","description":"x"}`,
		}
		for _, path := range []string{"/v1/customers", "/v1/payments/charge", "/v1/customers/" + cust.ID + "/payment-methods", "/v1/tokens"} {
			for _, body := range odd {
				r := post(t, env, path, body)
				if r.Status >= 500 {
					t.Fatalf("POST %s %.80s: %d %s", path, body, r.Status, r.Body)
				}
			}
		}
		for _, q := range []string{"?limit=0", "?limit=abc", "?limit=1000000000000000000000", "?createdFrom=yesterday",
			"?startingAfter=" + strings.Repeat("x", 5000), "?status=bogus", "?email=%00", "?limit=1&limit=2"} {
			for _, path := range []string{"/v1/customers", "/v1/payments"} {
				r := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", path+q, nil))
				if r.Status >= 500 {
					t.Fatalf("GET %s%s: %d %s", path, q, r.Status, r.Body)
				}
			}
		}
		// The server still works.
		if _, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "after"}); err != nil {
			t.Fatal(err)
		}
	})
}
