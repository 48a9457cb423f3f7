package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
)

// specChecker sends requests to a running Till and validates each request
// and each response against the OpenAPI document with openapi3filter, so
// that a field renamed in the code but not in the document (or the other
// way round) fails.
//
// Response objects are tightened for the test: every object schema of the
// document without additionalProperties gets additionalProperties: false,
// so a field the server sends but the document does not list fails too.
// The published document leaves responses open, as clients must tolerate
// new fields.
type specChecker struct {
	t      *testing.T
	env    *Env
	doc    *openapi3.T
	router routers.Router
	// covered counts validated 2xx answers per operationId.
	covered map[string]int
}

func newSpecChecker(t *testing.T, env *Env) *specChecker {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(tillhttp.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ref := range doc.Components.Schemas {
		s := ref.Value
		if s.Type.Is("object") && len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
	}
	doc.Servers = openapi3.Servers{{URL: env.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{t: t, env: env, doc: doc, router: router, covered: map[string]int{}}
}

// authenticate accepts a request that carries the credential a security
// scheme names; what the credential is worth is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecurityScheme.Type {
	case "apiKey":
		if r.Header.Get(in.SecurityScheme.Name) != "" {
			return nil
		}
	case "http":
		if len(r.Header.Get("Authorization")) > 7 && strings.EqualFold(r.Header.Get("Authorization")[:7], "bearer ") {
			return nil
		}
	}
	return in.NewError(errors.New("no credential"))
}

var filterOptions = &openapi3filter.Options{
	AuthenticationFunc:                authenticate,
	IncludeResponseStatus:             true,
	RejectWhenRequestBodyNotSpecified: true,
	MultiError:                        true,
}

// call describes one request.
type call struct {
	method, path string
	body         any // []byte as is, anything else as JSON (as the client sends it), nil for none
	key          string
	opts         []client.Option
	status       int  // expected status
	badRequest   bool // the document must reject the request itself
}

// do sends c through the client's Raw, validates request and response, and
// returns the response.
func (sc *specChecker) do(c call) *client.Response {
	sc.t.Helper()
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case []byte:
		body = b
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			sc.t.Fatal(err)
		}
	}
	key := c.key
	if key == "" {
		key = sc.env.Keys.TestSecretKey
	}
	if key == "-" {
		key = ""
	}
	name := c.method + " " + c.path

	// The request as client.Raw sends it.
	req, err := http.NewRequest(c.method, sc.env.URL+c.path, bytes.NewReader(body))
	if err != nil {
		sc.t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, o := range c.opts {
		o(req)
	}
	route, params, err := sc.router.FindRoute(req)
	if err != nil {
		sc.t.Fatalf("%s: no documented operation: %v", name, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: filterOptions}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.badRequest && reqErr == nil:
		sc.t.Errorf("%s: the document accepts a request the server must refuse: %s", name, body)
	case !c.badRequest && reqErr != nil:
		sc.t.Errorf("%s: request does not match the document: %v\nbody: %s", name, reqErr, body)
	}

	var payload any
	if c.body != nil {
		payload = body
	}
	resp, err := sc.env.Client.WithKey(key).Raw(sc.env.Ctx(), c.method, c.path, payload, c.opts...)
	if err != nil {
		sc.t.Fatalf("%s: %v", name, err)
	}
	if resp.Status != c.status {
		sc.t.Errorf("%s: status %d, want %d: %s", name, resp.Status, c.status, resp.Body)
	}
	// The request's body was consumed by ValidateRequest; validate the
	// response against the same route.
	in.Request.Body = http.NoBody
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.Status, Header: resp.Header, Options: filterOptions}
	out.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		sc.t.Errorf("%s: %d response does not match the document: %v\nbody: %s", name, resp.Status, err, resp.Body)
	} else if resp.Status < 300 {
		sc.covered[route.Operation.OperationID]++
	}
	return resp
}

// data decodes the envelope's data into v.
func (sc *specChecker) data(resp *client.Response, v any) {
	sc.t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		sc.t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		sc.t.Fatalf("decode %s: %v", env.Data, err)
	}
}

// errorCode returns the error envelope's code.
func errorCode(tb testing.TB, resp *client.Response) string {
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		tb.Fatal(err)
	}
	return env.Error.Code
}

// TestOpenAPIConformance drives every operation of the native API with
// valid and invalid requests and validates each request and response
// against the served OpenAPI document.
func TestOpenAPIConformance(t *testing.T) {
	const adminToken = "admin-token-for-openapi-test"
	env := Start(t, SQLite, Options{AdminToken: adminToken})
	sc := newSpecChecker(t, env)
	year := time.Now().Year() + 3

	// The document must reject what it promises the server rejects: a
	// sanity check that the tightened schemas bite.
	t.Run("self-check", func(t *testing.T) {
		route, params, err := sc.router.FindRoute(mustRequest(t, "GET", env.URL+"/v1/account"))
		if err != nil {
			t.Fatal(err)
		}
		in := &openapi3filter.RequestValidationInput{Request: mustRequest(t, "GET", env.URL+"/v1/account"), PathParams: params, Route: route, Options: filterOptions}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: 200,
			Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_x"}}, Options: filterOptions}
		out.SetBodyBytes([]byte(`{"success":true,"data":{"id":"acct_x","surprise":1}}`))
		if openapi3filter.ValidateResponse(context.Background(), out) == nil {
			t.Fatal("an account with an unknown field and no required fields passed validation")
		}
	})

	// Operations.
	sc.do(call{method: "GET", path: "/healthz", key: "-", status: 200})
	sc.do(call{method: "GET", path: "/readyz", key: "-", status: 200})
	served := sc.do(call{method: "GET", path: "/openapi.json", key: "-", status: 200})
	if !bytes.Equal(served.Body, tillhttp.OpenAPI()) {
		t.Errorf("GET /openapi.json differs from http.OpenAPI()")
	}

	// Account.
	sc.do(call{method: "GET", path: "/v1/account", status: 200})
	sc.do(call{method: "PATCH", path: "/v1/account", status: 200, body: api.AccountUpdate{
		SupportEmail:       Str("help@acme.example"),
		TaxRegistrations:   &api.TaxRegistrations{EUOSS: true, Countries: []string{"gb"}},
		CustomTaxRates:     &[]api.CustomTaxRate{{Country: "US", Region: "NY", Rate: "8.875", Name: "NY sales tax"}},
		DefaultTaxBehavior: Str("exclusive"),
	}})
	sc.do(call{method: "PATCH", path: "/v1/account", status: 200, body: `{"branding":{"displayName":"Acme","color":"#123456"},"retryPolicy":{"enabled":true,"delaysDays":[1,2]},"processor":{"name":"simulator"}}`})
	acct := sc.do(call{method: "GET", path: "/v1/account", status: 200})
	if !bytes.Contains(acct.Body, []byte(`"supportEmail":"help@acme.example"`)) {
		t.Errorf("PATCH /v1/account did not stick: %s", acct.Body)
	}

	// Customers.
	var cust api.Customer
	sc.data(sc.do(call{method: "POST", path: "/v1/customers", status: 200, opts: []client.Option{client.IdempotencyKey("cus-1")},
		body: `{"email":"jana@example.com","name":"Jana Müller","address":{"country":"DE","city":"Berlin"},"metadata":{"crm":"42"}}`}), &cust)
	replay := sc.do(call{method: "POST", path: "/v1/customers", status: 200, opts: []client.Option{client.IdempotencyKey("cus-1")},
		body: `{"email":"jana@example.com","name":"Jana Müller","address":{"country":"DE","city":"Berlin"},"metadata":{"crm":"42"}}`})
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay without Idempotent-Replayed")
	}
	// The Go client's own encoding of a request (nulls for absent slices,
	// maps and pointers; empty strings) must match the document too.
	var other api.Customer
	sc.data(sc.do(call{method: "POST", path: "/v1/customers", status: 200, body: api.CustomerCreate{Email: "b2b@example.fr", Name: "Société",
		Address: &api.Address{Country: "FR"}}}), &other)
	sc.do(call{method: "GET", path: "/v1/customers/" + cust.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/customers/" + other.ID, status: 200, body: api.CustomerUpdate{Phone: Str("+33 1 23 45 67 89"), Locale: Str("fr-FR")}})
	sc.do(call{method: "PATCH", path: "/v1/customers/" + other.ID, status: 200, body: `{"taxIds":[{"type":"eu_vat","value":"FR12345678901"}],"metadata":{"a":"b"}}`})
	sc.do(call{method: "GET", path: "/v1/customers?limit=1", status: 200})
	sc.do(call{method: "GET", path: "/v1/customers?email=jana@example.com&createdFrom=2020-01-01T00:00:00Z", status: 200})
	sc.do(call{method: "GET", path: "/v1/customers?email=nobody@example.com&createdTo=1700000000", status: 200})

	// Payment methods and tokens.
	var pm api.PaymentMethod
	sc.data(sc.do(call{method: "POST", path: "/v1/customers/" + cust.ID + "/payment-methods", status: 200, body: api.PaymentMethodCreate{
		Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: year, CVC: "123", HolderName: "Jana Müller"}, SetDefault: true}}), &pm)
	sc.do(call{method: "GET", path: "/v1/payment-methods/" + pm.ID, status: 200})
	var tok api.Token
	sc.data(sc.do(call{method: "POST", path: "/v1/tokens", key: env.Keys.TestPublishableKey, status: 200,
		body: api.TokenCreate{Card: &api.CardInput{Number: "5555555555554444", ExpMonth: 3, ExpYear: year}}}), &tok)
	var fromToken api.PaymentMethod
	sc.data(sc.do(call{method: "POST", path: "/v1/customers/" + cust.ID + "/payment-methods", status: 200, body: `{"token":"` + tok.ID + `"}`}), &fromToken)
	sc.do(call{method: "GET", path: "/v1/customers/" + cust.ID + "/payment-methods", status: 200})
	sc.do(call{method: "DELETE", path: "/v1/payment-methods/" + fromToken.ID, status: 200})
	// A card refused while being saved.
	declinedSave := sc.do(call{method: "POST", path: "/v1/customers/" + cust.ID + "/payment-methods", status: 402,
		body: `{"card":{"number":"4000000000000127","expMonth":1,"expYear":` + fmt.Sprint(year) + `,"cvc":"999"}}`})
	if errorCode(t, declinedSave) != "card_declined" {
		t.Errorf("save-time decline: %s", declinedSave.Body)
	}

	// Charges.
	var paid api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, opts: []client.Option{client.IdempotencyKey("order-1")},
		body: api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "eur", Description: "Pro plan, November",
			Metadata: map[string]string{"orderId": "6735"}}}), &paid)
	if paid.Status != "succeeded" || paid.AmountTotal != 1190 {
		t.Errorf("charge: %+v", paid)
	}
	sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: fmt.Sprintf(
		`{"customerId":%q,"amount":5000,"currency":"EUR","description":"hold","capture":false}`, cust.ID)})
	sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: fmt.Sprintf(
		`{"customerId":%q,"amount":2500,"currency":"EUR","description":"order 7","taxBehavior":"inclusive","sendReceipt":false,"receiptEmail":"books@example.com",`+
			`"lineItems":[{"description":"Seat","quantity":2,"unitAmount":1000},{"description":"Book","quantity":1,"unitAmount":500,"taxCode":"exempt"}]}`, cust.ID)})
	var scheduled api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: fmt.Sprintf(
		`{"customerId":%q,"amount":900,"currency":"EUR","description":"renewal","scheduledAt":%q}`, cust.ID, time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339))}), &scheduled)
	sc.do(call{method: "PATCH", path: "/v1/payments/" + scheduled.ID, status: 200, body: api.PaymentUpdate{Active: Bool(false), Metadata: map[string]string{"paused": "yes"}}})
	// Declines.
	bad := Must[*api.Customer](t)(env.Client.CreateCustomer(env.Ctx(), api.CustomerCreate{Email: "x@example.com", Address: &api.Address{Country: "DE"}}))
	for _, card := range []string{"4000000000000002", "4000000000009995", "4000002760003184"} {
		var m api.PaymentMethod
		sc.data(sc.do(call{method: "POST", path: "/v1/customers/" + bad.ID + "/payment-methods", status: 200,
			body: api.PaymentMethodCreate{Card: &api.CardInput{Number: card, ExpMonth: 12, ExpYear: year}}}), &m)
		resp := sc.do(call{method: "POST", path: "/v1/payments/charge", status: 402, body: fmt.Sprintf(
			`{"customerId":%q,"paymentMethodId":%q,"amount":500,"currency":"EUR","description":"declined"}`, bad.ID, m.ID)})
		var decl struct {
			Error struct {
				Details struct {
					PaymentID string `json:"paymentId"`
				} `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Body, &decl); err != nil || decl.Error.Details.PaymentID == "" {
			t.Fatalf("decline without paymentId: %s", resp.Body)
		}
		sc.do(call{method: "GET", path: "/v1/payments/" + decl.Error.Details.PaymentID, status: 200})
	}
	// A pending processor answer.
	slow := Must[*api.Customer](t)(env.Client.CreateCustomer(env.Ctx(), api.CustomerCreate{Email: "slow@example.com"}))
	env.Card(slow.ID, "4000000000001000")
	sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: fmt.Sprintf(
		`{"customerId":%q,"amount":700,"currency":"JPY","description":"pending"}`, slow.ID)})

	sc.do(call{method: "GET", path: "/v1/payments/" + paid.ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/payments?limit=2", status: 200})
	sc.do(call{method: "GET", path: "/v1/payments?status=failed&kind=charge&customerId=" + bad.ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/test/processor/charges?paymentId=" + paid.ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/test/processor/charges?reference=" + paid.Attempts[0].Reference, status: 200})
	sc.do(call{method: "POST", path: "/v1/test/clock/advance", status: 200, body: api.ClockAdvance{Seconds: 60}})

	// Deletion.
	sc.do(call{method: "DELETE", path: "/v1/customers/" + other.ID, status: 200})

	// Admin.
	admin := []client.Option{client.Header("Authorization", "Bearer "+adminToken)}
	var keys api.NewAccountKeys
	sc.data(sc.do(call{method: "POST", path: "/v1/admin/accounts", key: "-", opts: admin, status: 200, body: api.NewAccount{Name: "Acme GmbH", Country: "at"}}), &keys)
	var key api.Key
	sc.data(sc.do(call{method: "POST", path: "/v1/admin/accounts/" + keys.ID + "/keys", key: "-", opts: admin, status: 200, body: api.NewKey{Mode: "test"}}), &key)
	sc.do(call{method: "DELETE", path: "/v1/admin/keys/" + key.ID, key: "-", opts: admin, status: 200})

	// Errors: each answer in its documented shape, and each invalid
	// request refused by the document as by the server.
	errorsCases := []struct {
		call
		code string
	}{
		{call{method: "POST", path: "/v1/customers", status: 400, badRequest: true, body: `{"emial":"typo@example.com"}`}, "parameter_unknown"},
		{call{method: "POST", path: "/v1/customers", status: 400, badRequest: true, body: `{"email":5}`}, "validation_error"},
		{call{method: "POST", path: "/v1/customers", status: 400, badRequest: true, body: `[1,2]`}, "invalid_json"},
		{call{method: "POST", path: "/v1/payments/charge", status: 400, badRequest: true, body: `{"amount":0,"currency":"EUR","description":"x","customerId":"` + cust.ID + `"}`}, "amount_too_small"},
		{call{method: "POST", path: "/v1/payments/charge", status: 400, badRequest: true, body: `{"amount":100,"currency":"EUR"}`}, "validation_error"},
		{call{method: "POST", path: "/v1/payments/charge", status: 400, body: `{"amount":100,"currency":"XXX","description":"x","customerId":"` + cust.ID + `"}`}, "currency_unsupported"},
		{call{method: "POST", path: "/v1/payments/charge", status: 404, body: `{"amount":100,"currency":"EUR","description":"x","customerId":"cus_nope"}`}, "resource_missing"},
		{call{method: "GET", path: "/v1/payments?limit=101", status: 400, badRequest: true}, "validation_error"},
		{call{method: "GET", path: "/v1/payments?status=paid", status: 400, badRequest: true}, "validation_error"},
		{call{method: "GET", path: "/v1/account", key: "-", status: 401, badRequest: true}, "api_key_missing"},
		{call{method: "GET", path: "/v1/account", key: "sk_test_nope", status: 401}, "api_key_invalid"},
		{call{method: "GET", path: "/v1/account", key: env.Keys.TestPublishableKey, status: 403}, "publishable_key_not_allowed"},
		{call{method: "POST", path: "/v1/test/clock/advance", key: env.Keys.LiveSecretKey, status: 403, body: `{"seconds":5}`}, "live_mode_forbidden"},
		{call{method: "GET", path: "/v1/customers/cus_nope", status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/payments/pay_nope", status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/payment-methods/pm_nope", status: 404}, "resource_missing"},
		{call{method: "DELETE", path: "/v1/customers/" + other.ID, status: 404}, "resource_missing"},
		{call{method: "PATCH", path: "/v1/payments/" + paid.ID, status: 409, body: `{"active":false}`}, "state_conflict"},
		{call{method: "POST", path: "/v1/payments/charge", status: 422, opts: []client.Option{client.IdempotencyKey("order-1")},
			body: fmt.Sprintf(`{"customerId":%q,"amount":1001,"currency":"EUR","description":"other"}`, cust.ID)}, "idempotency_key_reused"},
		{call{method: "POST", path: "/v1/customers", status: 413, badRequest: true, body: append(append([]byte(`{"name":"`), bytes.Repeat([]byte("x"), tillhttp.MaxBodyBytes)...), `"}`...)}, "body_too_large"},
		{call{method: "POST", path: "/v1/admin/accounts", key: "-", status: 401, body: `{"name":"x"}`, opts: []client.Option{client.Header("Authorization", "Bearer wrong")}}, "api_key_invalid"},
		{call{method: "POST", path: "/v1/admin/accounts/acct_nope/keys", key: "-", opts: admin, status: 404, body: `{"mode":"test"}`}, "resource_missing"},
		{call{method: "POST", path: "/v1/admin/accounts", key: "-", opts: admin, status: 400, badRequest: true, body: `{"name":""}`}, "validation_error"},
	}
	for _, ec := range errorsCases {
		resp := sc.do(ec.call)
		if got := errorCode(t, resp); got != ec.code {
			t.Errorf("%s %s: code %q, want %q: %s", ec.method, ec.path, got, ec.code, resp.Body)
		}
	}

	// Every documented operation answered at least once with a success
	// that matched the document.
	var missing []string
	for _, path := range sc.doc.Paths.Keys() {
		for method, op := range sc.doc.Paths.Value(path).Operations() {
			if sc.covered[op.OperationID] == 0 {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised with a success: %v", missing)
	}
}

func mustRequest(tb testing.TB, method, url string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}
