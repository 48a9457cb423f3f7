package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tillpay/till/e2e"
	tillhttp "github.com/tillpay/till/http"
)

// The fuzz targets feed arbitrary bytes as the body of a real request to the
// real handler, on a SQLite store with a bootstrapped account, a customer
// and a saved card (built once per fuzzing process and reused by every
// input). Whatever the bytes, the answer must be a 2xx or 4xx in the native
// envelope, consistent with its status, and match the OpenAPI document.
//
// Run one with, for example:
//
//	go test -run '^$' -fuzz '^FuzzDecodeCharge$' -fuzztime 15s ./http/

// fuzzServer is a handler with an account, its secret key and a customer
// with a default card.
type fuzzServer struct {
	h        http.Handler
	key      string
	customer string
	router   routers.Router
}

// customerPlaceholder in a fuzz input is replaced by the id of the
// fuzzServer's customer, so that valid inputs reach the charge itself.
const customerPlaceholder = "cus_FUZZ"

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	env := e2e.Start(f, e2e.SQLite, e2e.Options{NoWorkers: true})
	cust, _ := env.CustomerWithCard("DE", "4242424242424242")
	doc := tillhttp.MustLoadOpenAPI(f)
	doc.Servers = openapi3.Servers{{URL: "http://till.test"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzServer{
		h:   tillhttp.New(env.Service, tillhttp.Options{PublicBaseURL: env.URL}),
		key: env.Keys.TestSecretKey, customer: cust.ID, router: router,
	}
}

// check sends body to method path and asserts the answer's shape.
func (s *fuzzServer) check(t *testing.T, method, path string, body []byte) {
	body = bytes.ReplaceAll(body, []byte(customerPlaceholder), []byte(s.customer))
	req := httptest.NewRequest(method, "http://till.test"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", s.key)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	res := rec.Result()
	status, out := res.StatusCode, rec.Body.Bytes()

	if status >= 500 {
		t.Fatalf("%s %s answered %d for body %q:\n%s", method, path, status, body, out)
	}
	if status != http.StatusOK && (status < 400 || status > 499) {
		t.Fatalf("unexpected status %d: %s", status, out)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if res.Header.Get("Request-Id") == "" {
		t.Fatalf("no Request-Id")
	}
	var env struct {
		Success *bool           `json:"success"`
		Data    json.RawMessage `json:"data"`
		Error   *struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			DocURL  string `json:"doc_url"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%d answer is not JSON: %v\n%s", status, err, out)
	}
	switch {
	case env.Success == nil:
		t.Fatalf("no success field: %s", out)
	case status == http.StatusOK && (!*env.Success || env.Error != nil || len(env.Data) == 0 || string(env.Data) == "null"):
		t.Fatalf("200 answer is not a success envelope: %s", out)
	case status != http.StatusOK && (*env.Success || env.Error == nil || env.Data != nil):
		t.Fatalf("%d answer is not an error envelope: %s", status, out)
	case env.Error != nil && (env.Error.Type == "" || env.Error.Code == "" || env.Error.Message == "" || env.Error.DocURL == ""):
		t.Fatalf("error without type, code, message or doc_url: %s", out)
	}

	// The answer matches the document: the status is one the operation
	// documents, its code one of that status, its object the schema.
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	rv.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
		t.Fatalf("%d answer does not match the OpenAPI document: %v\nbody: %q\nanswer: %s", status, err, body, out)
	}
}

// junkSeeds are inputs that are not valid for any endpoint.
var junkSeeds = []string{
	``, ` `, `{`, `}`, `[]`, `[1,2]`, `null`, `true`, `"string"`, `0`, `{} {}`, `{}x`, "\xef\xbb\xbf{}",
	`{"a":1}`, `{"":""}`, `{"metadata":{"k":{"nested":[1,2,{"x":null}]}}}`, `{"metadata":[]}`,
	`{"metadata":{"` + strings.Repeat("k", 41) + `":"v"}}`, `{"description":"\u0000\u001f"}`, "{\"name\":\"\xff\xfe\"}",
	`{"name":"日本語 🎉 Müller"}`, `{"email":5}`, `{"email":{"$gt":""}}`, `{"name":1e400}`,
	strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100), strings.Repeat(`{"a":`, 50) + `1` + strings.Repeat(`}`, 50),
	`{"address":"DE"}`, `{"address":{"country":5}}`, `{"address":{"country":"XX","line1":"` + strings.Repeat("x", 300) + `"}}`,
}

// FuzzDecodeCharge fuzzes POST /v1/payments/charge.
func FuzzDecodeCharge(f *testing.F) {
	for _, s := range append(junkSeeds,
		`{"customerId":"cus_FUZZ","amount":1000,"currency":"EUR","description":"seed"}`,
		`{"customerId":"cus_FUZZ","amount":1000,"currency":"jpy","description":"seed","capture":false,"metadata":{"order":"1"}}`,
		`{"customerId":"cus_FUZZ","amount":2500,"currency":"EUR","description":"lines","taxBehavior":"inclusive","lineItems":[{"description":"a","quantity":2,"unitAmount":1000},{"description":"b","quantity":1,"unitAmount":500,"taxCode":"exempt"}]}`,
		`{"customerId":"cus_FUZZ","amount":900,"currency":"EUR","description":"later","scheduledAt":"2099-01-01T00:00:00Z"}`,
		`{"customerId":"cus_FUZZ","amount":900,"currency":"EUR","description":"later","scheduledAt":"not a time"}`,
		`{"customerId":"cus_FUZZ","amount":100,"currency":"EUR","description":"x","taxCountry":"zz","receiptEmail":"not-an-email","sendReceipt":false}`,
		`{"customerId":"cus_FUZZ","amount":999999999999,"currency":"EUR","description":"max"}`,
		`{"customerId":"cus_FUZZ","amount":9223372036854775807,"currency":"EUR","description":"huge"}`,
		`{"customerId":"cus_FUZZ","amount":99999999999999999999999,"currency":"EUR","description":"overflow"}`,
		`{"customerId":"cus_FUZZ","amount":-1,"currency":"EUR","description":"negative"}`,
		`{"customerId":"cus_FUZZ","amount":1.5,"currency":"EUR","description":"float"}`,
		`{"customerId":"cus_FUZZ","amount":"1000","currency":"EUR","description":"string"}`,
		`{"customerId":"cus_FUZZ","amount":1000,"currency":"€€€","description":"unicode currency"}`,
		`{"customerId":"cus_FUZZ","amount":1000000000000000000,"currency":"EUR","description":"lines","lineItems":[{"description":"a","quantity":1000000,"unitAmount":999999999999}]}`,
		`{"customerId":"cus_FUZZ","amount":1,"currency":"EUR","description":"x","lineItems":[{"description":"a","quantity":null,"unitAmount":null,"taxCode":"zero"}]}`,
		`{"customerId":"cus_FUZZ","amount":1,"currency":"EUR","description":"x","paymentMethodId":"pm_nope"}`,
		`{"customerId":"cus_nope","amount":1,"currency":"EUR","description":"x"}`,
		`{"customerId":null,"amount":null,"currency":null,"description":null,"capture":"yes"}`,
	) {
		f.Add([]byte(s))
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		srv.check(t, http.MethodPost, "/v1/payments/charge", body)
	})
}

// FuzzDecodeCustomerCreate fuzzes POST /v1/customers.
func FuzzDecodeCustomerCreate(f *testing.F) {
	for _, s := range append(junkSeeds,
		`{"email":"jana@example.com","name":"Jana Müller","phone":"+49 30 123","address":{"line1":"Hauptstr. 1","city":"Berlin","postalCode":"10115","country":"de"},"taxIds":[{"type":"eu_vat","value":"DE123456789"}],"locale":"de-DE","metadata":{"crm":"42"}}`,
		`{"email":"Jana <jana@example.com>"}`,
		`{"taxIds":[{"type":"eu_vat","value":"XX1"},{"type":"nope","value":""}]}`,
		`{"taxIds":[{},{},{},{},{},{}]}`,
		`{"phone":"call me","locale":"de DE"}`,
		`{"metadata":{"a":"`+strings.Repeat("v", 501)+`"}}`,
	) {
		f.Add([]byte(s))
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		srv.check(t, http.MethodPost, "/v1/customers", body)
	})
}

// FuzzDecodeAccountUpdate fuzzes PATCH /v1/account.
func FuzzDecodeAccountUpdate(f *testing.F) {
	for _, s := range append(junkSeeds,
		`{"name":"Acme","legalName":"Acme GmbH","supportEmail":"help@acme.example","receiptFrom":"Acme <billing@acme.example>","invoicePrefix":"acme-1"}`,
		`{"originCountry":"at","vatNumber":"ATU12345678","defaultTaxBehavior":"inclusive"}`,
		`{"taxRegistrations":{"euOss":true,"countries":["gb","GB","zz"]}}`,
		`{"customTaxRates":[{"country":"US","region":"ny","rate":"8.875","name":"NY"},{"country":"US","rate":"101","name":""},{"country":"","rate":"1e3","name":"x"}]}`,
		`{"retryPolicy":{"enabled":true,"delaysDays":[0,61,1,2,3,4,5,6,7,8,9]}}`,
		`{"branding":{"displayName":"`+strings.Repeat("ü", 101)+`","color":"red"}}`,
		`{"processor":{"name":"stripe","secretKey":"sk_x"}}`,
		`{"processor":{"name":"simulator"}}`,
		`{"name":"","defaultTaxBehavior":"both","invoicePrefix":"-"}`,
		`{"name":null,"address":null,"customTaxRates":null}`,
	) {
		f.Add([]byte(s))
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		srv.check(t, http.MethodPatch, "/v1/account", body)
	})
}
