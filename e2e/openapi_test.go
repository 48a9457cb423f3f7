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
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
	stripeproc "github.com/tillpay/till/processor/stripe"
	"github.com/tillpay/till/service"
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
	// The document PDFs are binary: openapi3filter reads them as a string
	// (their schema), after checking the Content-Type.
	openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
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
	// Live mode runs on Stripe (never called here) to receive its webhooks.
	env := Start(t, SQLite, Options{AdminToken: adminToken, Connectors: map[string]service.Connector{stripeproc.Name: func(key string) till.Processor {
		return stripeproc.New(stripeproc.Config{SecretKey: key, APIURL: "http://127.0.0.1:1"})
	}}})
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
	sc.do(call{method: "PATCH", path: "/v1/account", status: 200, body: `{"allowedOrigins":["https://shop.example"],"branding":{"displayName":"Acme","color":"#123456"},"retryPolicy":{"enabled":true,"delaysDays":[1,2]},"processor":{"name":"simulator"}}`})
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
	// Customer sessions: the token reads its own customer.
	var session api.CustomerSession
	sc.data(sc.do(call{method: "POST", path: "/v1/customers/" + cust.ID + "/sessions", status: 200, body: api.CustomerSessionCreate{ExpiresIn: Amount(900)}}), &session)
	sc.do(call{method: "GET", path: "/v1/customers/" + cust.ID, key: session.Token, status: 200})
	sc.do(call{method: "POST", path: "/v1/customers/" + cust.ID + "/sessions", status: 200, body: `{}`})
	sc.do(call{method: "DELETE", path: "/v1/customers/" + cust.ID + "/sessions/" + session.ID, status: 200})
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
	var declinedID string
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
		if declinedID == "" {
			declinedID = decl.Error.Details.PaymentID
		}
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

	// Holds: one captured in part (tax computed anew on the captured net
	// amount), one released.
	var hold, captured api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: api.ChargeRequest{CustomerID: cust.ID,
		Amount: Amount(5000), Currency: "EUR", Description: "Deposit", Capture: Bool(false)}}), &hold)
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + hold.ID + "/capture", status: 200, opts: []client.Option{client.IdempotencyKey("capture-1")},
		body: api.CaptureRequest{Amount: Amount(3000)}}), &captured)
	if captured.Status != "succeeded" || captured.AmountSubtotal != 3000 || captured.TaxAmount != 570 || captured.AmountCaptured != 3570 || captured.InvoiceID == nil {
		t.Errorf("partial capture: %+v", captured)
	}
	var released api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: fmt.Sprintf(
		`{"customerId":%q,"amount":2000,"currency":"EUR","description":"Hotel deposit","capture":false}`, cust.ID)}), &released)
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + released.ID + "/release", status: 200}), &released)
	if released.Status != "canceled" || released.AmountCaptured != 0 || released.InvoiceID != nil {
		t.Errorf("release: %+v", released)
	}

	// Payment links and cancels.
	var link api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payment-links", status: 200, opts: []client.Option{client.IdempotencyKey("link-1")},
		body: `{"amount":4900,"currency":"EUR","description":"Class pack","successUrl":"https://studio.example/thanks","metadata":{"order":"9"},` +
			`"lineItems":[{"description":"Class","quantity":7,"unitAmount":700}]}`}), &link)
	if link.Kind != "link" || link.Status != "pending" || link.URL == nil || link.ExpiresAt == nil || link.SuccessURL == nil || link.AmountTotal != 5831 {
		t.Errorf("payment link: %+v", link)
	}
	linkExpires := time.Now().Add(72 * time.Hour)
	sc.do(call{method: "POST", path: "/v1/payment-links", status: 200, body: api.PaymentLinkRequest{Amount: Amount(1500), Currency: "EUR",
		Description: "For Jana", CustomerID: cust.ID, ExpiresAt: &linkExpires, TaxBehavior: "inclusive"}})
	sc.do(call{method: "POST", path: "/v1/payment-links", status: 400, badRequest: true, body: `{"currency":"EUR","description":"no amount"}`})
	sc.do(call{method: "POST", path: "/v1/payment-links", status: 400, body: fmt.Sprintf(
		`{"amount":100,"currency":"EUR","description":"too long","expiresAt":%q}`, time.Now().Add(40*24*time.Hour).UTC().Format(time.RFC3339))})
	sc.do(call{method: "POST", path: "/v1/payment-links", status: 404, body: `{"amount":100,"currency":"EUR","description":"x","customerId":"cus_nobody"}`})
	sc.do(call{method: "GET", path: "/v1/payments?kind=link&status=pending", status: 200})
	sc.do(call{method: "POST", path: "/v1/payment-links/" + link.ID + "/cancel", status: 200})
	sc.do(call{method: "POST", path: "/v1/payment-links/" + link.ID + "/cancel", status: 200, body: `{}`})
	sc.do(call{method: "POST", path: "/v1/payment-links/" + paid.ID + "/cancel", status: 409})
	sc.do(call{method: "POST", path: "/v1/payment-links/pay_nothing/cancel", status: 404})
	sc.do(call{method: "POST", path: "/v1/payments/" + scheduled.ID + "/cancel", status: 200, opts: []client.Option{client.IdempotencyKey("cancel-1")}})
	sc.do(call{method: "POST", path: "/v1/payments/" + paid.ID + "/cancel", status: 409})
	sc.do(call{method: "POST", path: "/v1/payments/" + released.ID + "/cancel", status: 200})

	// Refunds: in part with a reason, then the rest; in part of the
	// captured hold; and one the processor refuses.
	var r1, r2, rHold, rFailed api.Refund
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + paid.ID + "/refunds", status: 200, opts: []client.Option{client.IdempotencyKey("refund-1")},
		body: `{"amount":595,"reason":"requested_by_customer"}`}), &r1)
	if r1.Status != "succeeded" || r1.NetAmount != 500 || r1.TaxAmount != 95 || r1.CreditNoteID == nil || r1.Reason == nil {
		t.Errorf("partial refund: %+v", r1)
	}
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + paid.ID + "/refunds", status: 200, body: api.RefundRequest{}}), &r2)
	if r2.Status != "succeeded" || r2.Amount != 595 || r1.TaxAmount+r2.TaxAmount != 190 || r2.Reason != nil {
		t.Errorf("refund of the rest: %+v", r2)
	}
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + captured.ID + "/refunds", status: 200, body: api.RefundRequest{Amount: Amount(1000), Reason: "duplicate"}}), &rHold)
	refundFails := Must[*api.Customer](t)(env.Client.CreateCustomer(env.Ctx(), api.CustomerCreate{Email: "refunds-fail@example.com", Address: &api.Address{Country: "DE"}}))
	env.Card(refundFails.ID, "4000000000004004")
	var unrefundable api.Payment
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/charge", status: 200, body: api.ChargeRequest{CustomerID: refundFails.ID,
		Amount: Amount(1000), Currency: "EUR", Description: "Refund fails"}}), &unrefundable)
	sc.data(sc.do(call{method: "POST", path: "/v1/payments/" + unrefundable.ID + "/refunds", status: 200}), &rFailed)
	if rFailed.Status != "failed" || rFailed.Failure == nil || rFailed.Failure.Code != "refund_failed" || rFailed.CreditNoteID != nil {
		t.Errorf("refused refund: %+v", rFailed)
	}
	var after api.Payment
	sc.data(sc.do(call{method: "GET", path: "/v1/payments/" + unrefundable.ID, status: 200}), &after)
	if after.Status != "succeeded" || after.AmountRefunded != 0 {
		t.Errorf("a refused refund changed the payment: %+v", after)
	}
	var refunds []api.Refund
	sc.data(sc.do(call{method: "GET", path: "/v1/payments/" + paid.ID + "/refunds", status: 200}), &refunds)
	if len(refunds) != 2 || refunds[0].ID != r2.ID {
		t.Errorf("refund list: %+v", refunds)
	}
	sc.do(call{method: "GET", path: "/v1/payments/" + unrefundable.ID + "/refunds", status: 200})
	sc.do(call{method: "GET", path: "/v1/refunds/" + r1.ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/refunds/" + rFailed.ID, status: 200})

	// Invoices and credit notes, as JSON and as PDF.
	var invoices, creditNotes []api.Document
	sc.data(sc.do(call{method: "GET", path: "/v1/invoices?paymentId=" + captured.ID, status: 200}), &invoices)
	if len(invoices) != 1 || invoices[0].ID != *captured.InvoiceID || invoices[0].Object != "invoice" || invoices[0].Total != 3570 {
		t.Errorf("invoices of the captured hold: %+v", invoices)
	}
	sc.do(call{method: "GET", path: "/v1/invoices?limit=2&customerId=" + cust.ID + "&createdFrom=2020-01-01T00:00:00Z", status: 200})
	sc.do(call{method: "GET", path: "/v1/invoices/" + *paid.InvoiceID, status: 200})
	pdf := sc.do(call{method: "GET", path: invoices[0].PDFURL, status: 200})
	if !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) || !strings.Contains(pdf.Header.Get("Content-Disposition"), invoices[0].Number+".pdf") {
		t.Errorf("invoice pdf: %q, %q", pdf.Header.Get("Content-Disposition"), pdf.Body[:min(len(pdf.Body), 8)])
	}
	sc.data(sc.do(call{method: "GET", path: "/v1/credit-notes?paymentId=" + paid.ID, status: 200}), &creditNotes)
	if len(creditNotes) != 2 || creditNotes[1].ID != *r1.CreditNoteID || creditNotes[1].Object != "credit_note" || creditNotes[1].InvoiceID == nil {
		t.Errorf("credit notes of the refunded payment: %+v", creditNotes)
	}
	sc.do(call{method: "GET", path: "/v1/credit-notes?limit=1&createdTo=" + fmt.Sprint(time.Now().Add(time.Hour).Unix()), status: 200})
	sc.do(call{method: "GET", path: "/v1/credit-notes/" + *rHold.CreditNoteID, status: 200})
	if cn := sc.do(call{method: "GET", path: creditNotes[0].PDFURL, status: 200}); !bytes.HasPrefix(cn.Body, []byte("%PDF-")) {
		t.Errorf("credit note pdf: %q", cn.Body[:min(len(cn.Body), 8)])
	}

	// The ledger and the balance it adds up to.
	var bal api.Balance
	sc.data(sc.do(call{method: "GET", path: "/v1/balance", status: 200}), &bal)
	for _, b := range bal.Balances {
		if b.Net != b.Collected-b.Refunded-b.Disputed || (b.Currency == "EUR" && b.Refunded != r1.Amount+r2.Amount+rHold.Amount) {
			t.Errorf("balance: %+v", bal)
		}
	}
	var entries []api.JournalEntry
	sc.data(sc.do(call{method: "GET", path: "/v1/ledger/entries?paymentId=" + paid.ID, status: 200}), &entries)
	if len(entries) != 3 || entries[2].Kind != "capture" || entries[0].Kind != "refund" {
		t.Errorf("ledger entries of the refunded payment: %+v", entries)
	}
	sc.do(call{method: "GET", path: "/v1/ledger/entries?limit=2", status: 200})

	// Receipts: sent by a background worker into the local mailbox.
	env.Eventually(10*time.Second, "the receipt of "+paid.ID, func() bool {
		p, err := env.Client.Payment(env.Ctx(), paid.ID)
		return err == nil && p.Receipt != nil && p.Receipt.Status == "sent"
	})
	var mails []api.Email
	sc.data(sc.do(call{method: "GET", path: "/v1/test/emails?paymentId=" + paid.ID, status: 200}), &mails)
	found := false
	for _, m := range mails {
		found = found || (m.RefundID == nil && m.To == "jana@example.com" && len(m.Attachments) == 1 && m.Attachments[0].ContentType == "application/pdf")
	}
	if !found {
		t.Errorf("no payment receipt in the mailbox: %+v", mails)
	}
	sc.do(call{method: "GET", path: "/v1/test/emails?limit=1&to=jana@example.com", status: 200})

	// Orders and subscriptions.
	var order, spare api.Order
	sc.data(sc.do(call{method: "POST", path: "/v1/orders", status: 200, body: api.OrderCreate{CustomerID: cust.ID, Currency: "EUR",
		Lines: []api.LineItemInput{{Description: "Box", Quantity: Amount(2), UnitAmount: Amount(1500)}}, Description: "Order 1"}}), &order)
	sc.data(sc.do(call{method: "POST", path: "/v1/orders", status: 200, body: `{"customerId":"` + cust.ID + `","currency":"EUR","lines":[{"description":"Spare","quantity":1,"unitAmount":100}],"metadata":{"shop":"1"}}`}), &spare)
	sc.do(call{method: "GET", path: "/v1/orders?limit=5&customerId=" + cust.ID, status: 200})
	sc.do(call{method: "POST", path: "/v1/orders/pay", status: 200, body: api.OrdersPay{Orders: []string{order.ID}}})
	sc.do(call{method: "GET", path: "/v1/orders/" + order.ID, status: 200})
	sc.do(call{method: "POST", path: "/v1/orders/" + spare.ID + "/cancel", status: 200})
	var sub api.Subscription
	sc.data(sc.do(call{method: "POST", path: "/v1/subscriptions", status: 200, body: api.SubscriptionCreate{CustomerID: cust.ID, Currency: "EUR",
		Items: []api.LineItemInput{{Description: "Plan", Quantity: Amount(1), UnitAmount: Amount(900)}}, Interval: "month",
		StartDate: Ptr(time.Now().Add(48 * time.Hour))}}), &sub)
	sc.do(call{method: "GET", path: "/v1/subscriptions?limit=5", status: 200})
	sc.do(call{method: "GET", path: "/v1/subscriptions/" + sub.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/subscriptions/" + sub.ID, status: 200, body: `{"metadata":{"plan":"pro"},"paymentMethodId":""}`})
	sc.do(call{method: "POST", path: "/v1/subscriptions/" + sub.ID + "/cancel", status: 200, body: `{}`})

	// Stripe's webhooks, for live mode on Stripe.
	const hookSecret = "whsec_openapiConformance000"
	sc.do(call{method: "PATCH", path: "/v1/account", key: env.Keys.LiveSecretKey, status: 200,
		body: `{"processor":{"name":"stripe","secretKey":"sk_live_openapiConformance0","webhookSecret":"` + hookSecret + `"}}`})
	stripeEvent := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Secret: hookSecret, Timestamp: time.Now(),
		Payload: []byte(`{"id":"evt_1OpenAPI","object":"event","type":"customer.created","livemode":true,"data":{"object":{"id":"cus_x","object":"customer"}}}`)})
	hookPath := "/hooks/stripe/" + env.Keys.ID
	sc.do(call{method: "POST", path: hookPath, key: "-", status: 200, body: stripeEvent.Payload,
		opts: []client.Option{client.Header("Stripe-Signature", stripeEvent.Header)}})
	if resp := sc.do(call{method: "POST", path: hookPath, key: "-", status: 400, body: stripeEvent.Payload,
		opts: []client.Option{client.Header("Stripe-Signature", "t=1,v1=00")}}); errorCode(t, resp) != "validation_error" {
		t.Errorf("a forged Stripe event: %s", resp.Body)
	}

	// Events: every change, with the object as it was.
	var events []api.Event
	sc.data(sc.do(call{method: "GET", path: "/v1/events?objectId=" + paid.ID + "&limit=100", status: 200}), &events)
	if len(events) == 0 {
		t.Fatalf("no events of %s", paid.ID)
	}
	sc.do(call{method: "GET", path: "/v1/events/" + events[0].ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/events?type=receipt.sent&limit=1", status: 200})
	sc.do(call{method: "GET", path: "/v1/test/events/poll?timeout=0", status: 200})

	// Webhook endpoints, the delivery log and resend.
	hooks := newReceiver(t)
	var ep api.WebhookEndpointWithSecret
	sc.data(sc.do(call{method: "POST", path: "/v1/webhook-endpoints", body: api.WebhookEndpointCreate{URL: hooks.URL, Events: []string{"*"}, Description: "spec"}, status: 200}), &ep)
	sc.do(call{method: "GET", path: "/v1/webhook-endpoints?limit=5", status: 200})
	sc.do(call{method: "GET", path: "/v1/webhook-endpoints/" + ep.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/webhook-endpoints/" + ep.ID, body: api.WebhookEndpointUpdate{Description: Str("spec 2")}, status: 200})
	sc.do(call{method: "POST", path: "/v1/webhook-endpoints/" + ep.ID + "/roll-secret", body: api.RollSecretRequest{ExpiresInSeconds: Int64(60)}, status: 200})
	sc.do(call{method: "POST", path: "/v1/events/" + events[0].ID + "/resend", body: api.ResendRequest{EndpointID: ep.ID}, status: 200})
	env.Eventually(10*time.Second, "the resend", func() bool { return len(hooks.hooks()) > 0 })
	env.Eventually(10*time.Second, "the resend in the log", func() bool { return len(env.deliveries(t, events[0].ID)) > 0 })
	sc.do(call{method: "GET", path: "/v1/events/" + events[0].ID + "/deliveries", status: 200})
	sc.do(call{method: "DELETE", path: "/v1/webhook-endpoints/" + ep.ID, status: 200})
	sc.do(call{method: "GET", path: "/v1/payments/" + paid.ID, status: 200})

	// The catalogue.
	var prod api.Product
	sc.data(sc.do(call{method: "POST", path: "/v1/products", status: 200, body: api.ProductCreate{Name: "Mug", Description: "Stoneware",
		Items: []api.ProductItemInput{{Description: "Blue", Price: Amount(1999), Currency: "EUR", SKU: "MUG-B", Shippable: true, WeightGrams: 350,
			StockEnabled: true, StockAvailable: 3}}, Metadata: map[string]string{"line": "kitchen"}}}), &prod)
	sc.do(call{method: "GET", path: "/v1/products?limit=5", status: 200})
	sc.do(call{method: "GET", path: "/v1/products/" + prod.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/products/" + prod.ID + "/items/" + prod.Items[0].ID, status: 200, body: `{"stockAvailable":10,"price":2099}`})
	var art api.Article
	sc.data(sc.do(call{method: "POST", path: "/v1/articles", status: 200, body: api.ArticleCreate{Title: "Issue 12", Price: Amount(499), Currency: "EUR"}}), &art)
	sc.do(call{method: "GET", path: "/v1/articles", status: 200})
	sc.do(call{method: "GET", path: "/v1/articles/" + art.ID, status: 200})
	var cart api.Cart
	sc.data(sc.do(call{method: "POST", path: "/v1/carts", status: 200, body: api.CartCreate{CustomerID: cust.ID, Lines: []api.CartLineInput{
		{ProductID: prod.ID, ItemID: prod.Items[0].ID, Quantity: 2}, {ArticleID: art.ID, Quantity: 1}}}}), &cart)
	sc.do(call{method: "GET", path: "/v1/carts", status: 200})
	sc.do(call{method: "GET", path: "/v1/carts/" + cart.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/carts/" + cart.ID, status: 200, body: api.CartUpdate{Metadata: map[string]string{"note": "gift"}}})
	var rate api.ShippingRate
	sc.data(sc.do(call{method: "POST", path: "/v1/shipping-rates", status: 200, body: `{"provider":"dhl","country":"DE","amount":490,"currency":"EUR","maxWeightGrams":30000}`}), &rate)
	sc.do(call{method: "GET", path: "/v1/shipping-rates", status: 200})
	sc.do(call{method: "GET", path: "/v1/shipping-rates/" + rate.ID, status: 200})
	var pct, fixed api.Coupon
	sc.data(sc.do(call{method: "POST", path: "/v1/coupons", status: 200, body: api.CouponCreate{Code: "TEN", PercentOff: "10", MaxPerCustomer: 1}}), &pct)
	sc.data(sc.do(call{method: "POST", path: "/v1/coupons", status: 200, body: fmt.Sprintf(`{"code":"FIVE","amountOff":500,"currency":"EUR","validFrom":%q}`,
		time.Now().UTC().Format(time.RFC3339))}), &fixed)
	sc.do(call{method: "GET", path: "/v1/coupons", status: 200})
	sc.do(call{method: "GET", path: "/v1/coupons/" + fixed.ID, status: 200})
	sc.do(call{method: "PATCH", path: "/v1/products/" + prod.ID, status: 200, body: api.ProductUpdate{Name: Str("Mug (stoneware)")}})
	sc.do(call{method: "PATCH", path: "/v1/articles/" + art.ID, status: 200, body: `{"price":599,"customPrice":true}`})
	sc.do(call{method: "PATCH", path: "/v1/shipping-rates/" + rate.ID, status: 200, body: api.ShippingRateUpdate{Amount: Amount(590)}})
	sc.do(call{method: "PATCH", path: "/v1/coupons/" + fixed.ID, status: 200, body: fmt.Sprintf(`{"validUntil":%q,"maxRedemptions":5}`,
		time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339))})
	sc.do(call{method: "POST", path: "/v1/payments/charge-catalog", status: 200, body: api.CatalogChargeRequest{CustomerID: cust.ID, Currency: "EUR",
		CartID: cart.ID, ShippingProvider: "dhl", ShippingAddress: &api.Address{Country: "DE", City: "Berlin"}, CouponCode: "ten",
		IPAddress: "203.0.113.7", IPCountry: "DE", Metadata: map[string]string{"utm_source": "spec"}}})
	sc.do(call{method: "POST", path: "/v1/payments/charge-catalog", status: 409, body: fmt.Sprintf(`{"customerId":%q,"currency":"EUR","productId":%q,"itemId":%q,"quantity":99,"shippingProvider":"dhl","shippingAddress":{"country":"DE"}}`,
		cust.ID, prod.ID, prod.Items[0].ID)})
	sc.do(call{method: "POST", path: "/v1/products", status: 400, body: `{"name":"","items":[]}`})
	for _, path := range []string{"/v1/coupons/" + pct.ID, "/v1/shipping-rates/" + rate.ID, "/v1/carts/" + cart.ID, "/v1/articles/" + art.ID, "/v1/products/" + prod.ID} {
		sc.do(call{method: "DELETE", path: path, status: 200})
	}

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
		{call{method: "POST", path: "/v1/payments/" + paid.ID + "/capture", status: 409, body: `{}`}, "state_conflict"},
		{call{method: "POST", path: "/v1/payments/" + released.ID + "/release", status: 409}, "state_conflict"},
		{call{method: "POST", path: "/v1/payments/" + hold.ID + "/capture", status: 400, badRequest: true, body: `{"amount":0}`}, "amount_too_small"},
		{call{method: "POST", path: "/v1/payments/" + released.ID + "/release", status: 400, badRequest: true, body: `{"amount":1}`}, "parameter_unknown"},
		{call{method: "POST", path: "/v1/payments/" + declinedID + "/refunds", status: 409, body: `{}`}, "state_conflict"},
		{call{method: "POST", path: "/v1/payments/" + paid.ID + "/refunds", status: 409}, "state_conflict"},
		{call{method: "POST", path: "/v1/payments/" + captured.ID + "/refunds", status: 400, body: `{"amount":3000}`}, "validation_error"},
		{call{method: "POST", path: "/v1/payments/" + captured.ID + "/refunds", status: 400, badRequest: true, body: `{"reason":"because"}`}, "validation_error"},
		{call{method: "GET", path: "/v1/payments/" + paid.ID + "/refunds?limit=5", status: 400}, "parameter_unknown"},
		{call{method: "GET", path: "/v1/refunds/re_nope", status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/events/evt_nope", status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/events?type=payment.exploded", status: 400, badRequest: true}, "validation_error"},
		{call{method: "GET", path: "/v1/invoices/" + *r1.CreditNoteID, status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/credit-notes/" + *paid.InvoiceID + "/pdf", status: 404}, "resource_missing"},
		{call{method: "GET", path: "/v1/balance?currency=EUR", status: 400}, "parameter_unknown"},
		{call{method: "GET", path: "/v1/test/emails", key: env.Keys.LiveSecretKey, status: 403}, "live_mode_forbidden"},
		{call{method: "GET", path: "/v1/test/events/poll?timeout=0", key: env.Keys.LiveSecretKey, status: 403}, "live_mode_forbidden"},
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
