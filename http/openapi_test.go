package http

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
)

// The OpenAPI document (openapi.json) is written by hand. These tests keep it
// in step with the code: every route is documented and every documented
// operation is a route; the error table, the payment statuses and the wire
// types of package api match their schemas field for field.
//
// The document is OpenAPI 3.1. kin-openapi (v0.153) validates 3.1 documents
// and, in openapi3filter, validates values with a JSON Schema 2020-12
// validator, so nullability is written the 3.1 way: `type: [X, "null"]`, or
// `anyOf: [{$ref}, {type: "null"}]` for a referenced schema (`nullable` is
// not a 3.1 keyword).

// MustLoadOpenAPI parses and validates the served document.
func MustLoadOpenAPI(tb testing.TB) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI())
	if err != nil {
		tb.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		tb.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIIsValid(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if !strings.Contains(doc.Info.Description, "Idempotency") || !strings.Contains(doc.Info.Description, "Pagination") {
		t.Errorf("info.description should summarize the conventions")
	}
}

// TestOpenAPIRoutes checks both directions between routeTable and the
// document's paths, and what each operation must declare.
func TestOpenAPIRoutes(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	routes := (&Server{}).routeTable()
	documented := map[string]*openapi3.Operation{}
	for _, path := range doc.Paths.Keys() {
		for method, op := range doc.Paths.Value(path).Operations() {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	opIDs := map[string]bool{}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		op, ok := documented[key]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		delete(documented, key)
		t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
			checkOperation(t, doc, rt, op)
			if opIDs[op.OperationID] {
				t.Errorf("operationId %q is used twice", op.OperationID)
			}
			opIDs[op.OperationID] = true
		})
	}
	for key := range documented {
		t.Errorf("openapi.json documents %s, which is not a route", key)
	}
}

func checkOperation(t *testing.T, doc *openapi3.T, rt Route, op *openapi3.Operation) {
	if op.OperationID == "" {
		t.Error("no operationId")
	}
	if op.Summary != rt.Summary {
		t.Errorf("summary %q, want the route's %q", op.Summary, rt.Summary)
	}
	if op.Description == "" {
		t.Error("no description")
	}
	// A processor's webhook (/hooks/…) is the processor's request, not a
	// client's: no Idempotency-Key (events are applied by status), its
	// body is the processor's event, and an unknown account answers like a
	// bad signature.
	hook := strings.HasPrefix(rt.Path, "/hooks/")
	mutating := (rt.Method == http.MethodPost || rt.Method == http.MethodPatch || rt.Method == http.MethodDelete) && !hook
	hasIdem := false
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInHeader && p.Value.Name == "Idempotency-Key" {
			hasIdem = true
		}
	}
	if mutating != hasIdem {
		t.Errorf("Idempotency-Key declared %v, want %v", hasIdem, mutating)
	}
	for _, name := range pathParams(rt.Path) {
		found := false
		for _, p := range op.Parameters {
			found = found || (p.Value.In == openapi3.ParameterInPath && p.Value.Name == name)
		}
		if !found {
			t.Errorf("path parameter %s is not declared", name)
		}
	}

	// Security follows the route's credential.
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	var schemes []string
	for _, req := range sec {
		for name := range req {
			schemes = append(schemes, name)
		}
	}
	sort.Strings(schemes)
	want := map[authKind][]string{
		authNone: nil, authSecret: {"secretKey", "secretKeyBearer"}, authPublishable: {"secretKey", "secretKeyBearer"},
		authAdmin: {"adminToken"}, authCustomer: {"customerSession", "secretKey", "secretKeyBearer"},
	}[rt.auth]
	if !slices.Equal(schemes, want) {
		t.Errorf("security schemes %v, want %v", schemes, want)
	}

	// Responses: 200, and the errors every route of its kind can answer.
	codes := op.Responses.Keys()
	wantCodes := []string{"200"}
	switch rt.auth {
	case authSecret, authPublishable, authCustomer:
		wantCodes = append(wantCodes, "401", "403", "429", "500")
	case authAdmin:
		wantCodes = append(wantCodes, "401", "403", "500")
	}
	if mutating && rt.auth != authNone {
		wantCodes = append(wantCodes, "413")
		if rt.auth != authAdmin {
			wantCodes = append(wantCodes, "409", "422")
		}
	}
	if op.RequestBody != nil || (mutating && rt.auth != authAdmin) {
		wantCodes = append(wantCodes, "400")
	}
	if len(pathParams(rt.Path)) > 0 && !hook {
		wantCodes = append(wantCodes, "404")
	}
	for _, c := range wantCodes {
		if !slices.Contains(codes, c) {
			t.Errorf("no %s response", c)
		}
	}
	for _, c := range codes {
		r := op.Responses.Value(c).Value
		if r.Description == nil || *r.Description == "" {
			t.Errorf("response %s has no description", c)
		}
		if _, ok := r.Headers["Request-Id"]; !ok {
			t.Errorf("response %s does not declare Request-Id", c)
		}
		if n, _ := strconv.Atoi(c); n >= 400 && !strings.Contains(op.Responses.Value(c).Ref, "#/components/responses/") {
			t.Errorf("error response %s should reference a shared error response", c)
		}
	}
	if rt.Path == "/v1/payments/charge" && !slices.Contains(codes, "402") {
		t.Error("the charge must document 402 card_declined")
	}
	if (rt.Method == http.MethodPost || rt.Method == http.MethodPatch) && rt.Path != "/v1/test/processor/charges" && !hook {
		if op.RequestBody == nil {
			t.Error("no request body")
		} else if s := op.RequestBody.Value.Content.Get("application/json").Schema.Value; s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Error("request body schema must have additionalProperties: false (the server rejects unknown fields)")
		}
	}
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.Trim(seg, "{}"))
		}
	}
	return out
}

// TestOpenAPIErrors checks the error schema and the shared error responses
// against errorKinds, the one table from code to status and type.
func TestOpenAPIErrors(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	errSchema := doc.Components.Schemas["Error"].Value
	codeEnum := enumStrings(errSchema.Properties["code"].Value)
	typeEnum := enumStrings(errSchema.Properties["type"].Value)
	for _, code := range till.Codes {
		if !slices.Contains(codeEnum, string(code)) {
			t.Errorf("Error.code does not list %s", code)
		}
	}
	if len(codeEnum) != len(till.Codes) {
		t.Errorf("Error.code lists %d codes, till.Codes has %d", len(codeEnum), len(till.Codes))
	}
	// Shared error responses, by status.
	byStatus := map[int]*openapi3.Schema{}
	for name, r := range doc.Components.Responses {
		s := r.Value.Content.Get("application/json").Schema.Value
		if len(s.AllOf) != 2 || s.AllOf[0].Ref != "#/components/schemas/ErrorEnvelope" {
			t.Errorf("response %s: want allOf [ErrorEnvelope, narrowing]", name)
			continue
		}
		narrow := s.AllOf[1].Value.Properties["error"].Value
		for _, c := range enumStrings(narrow.Properties["code"].Value) {
			st := kindOf(till.Code(c)).status
			if prev, ok := byStatus[st]; ok && prev != narrow {
				t.Errorf("two shared responses list codes of status %d", st)
			}
			byStatus[st] = narrow
		}
	}
	for code, k := range errorKinds {
		if !slices.Contains(typeEnum, k.typ) {
			t.Errorf("Error.type does not list %s", k.typ)
		}
		if code == till.EMethodNotAllowed {
			// The router answers unknown method and path pairs with 404
			// resource_missing; no route answers 405.
			continue
		}
		narrow, ok := byStatus[k.status]
		if !ok {
			t.Errorf("no shared error response for status %d (code %s)", k.status, code)
			continue
		}
		if !slices.Contains(enumStrings(narrow.Properties["code"].Value), string(code)) {
			t.Errorf("the %d response does not list code %s", k.status, code)
		}
		if types := enumStrings(narrow.Properties["type"].Value); !slices.Contains(types, k.typ) {
			t.Errorf("the %d response lists types %v, code %s has type %s", k.status, types, code, k.typ)
		}
	}
	// Every documented error status of every operation is a shared response
	// of that status.
	for _, path := range doc.Paths.Keys() {
		for method, op := range doc.Paths.Value(path).Operations() {
			for _, c := range op.Responses.Keys() {
				n, _ := strconv.Atoi(c)
				if n < 400 {
					continue
				}
				narrow := op.Responses.Value(c).Value.Content.Get("application/json").Schema.Value.AllOf[1].Value.Properties["error"].Value
				if byStatus[n] != narrow {
					t.Errorf("%s %s: response %s is not the shared response of status %d", method, path, c, n)
				}
			}
		}
	}
}

// enumStrings returns a schema's enum, or its const as a one-element list.
func enumStrings(s *openapi3.Schema) []string {
	var out []string
	for _, v := range s.Enum {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	if str, ok := s.Const.(string); ok {
		out = append(out, str)
	}
	return out
}

// TestOpenAPIStatuses checks every payment status list against till.Statuses.
func TestOpenAPIStatuses(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	want := make([]string, len(till.Statuses))
	for i, st := range till.Statuses {
		want[i] = string(st)
	}
	check := func(where string, s *openapi3.Schema) {
		if got := enumStrings(s); !slices.Equal(got, want) {
			t.Errorf("%s: statuses %v, want %v", where, got, want)
		}
	}
	check("Payment.status", doc.Components.Schemas["Payment"].Value.Properties["status"].Value)
	check("StatusChange.status", doc.Components.Schemas["StatusChange"].Value.Properties["status"].Value)
	for _, p := range doc.Paths.Value("/v1/payments").Get.Parameters {
		if p.Value.Name == "status" {
			check("GET /v1/payments ?status", p.Value.Schema.Value)
		}
	}
}

// wireTypes maps each component schema to the Go type it describes. Request
// bodies (and the objects nested in them) are checked as requests: closed to
// unknown fields, with pointers, maps and slices nullable unless required.
// Responses are checked as responses: every field without omitempty is
// required, and a field may be null exactly when it is a pointer.
var wireTypes = []struct {
	schema  string
	typ     reflect.Type
	request bool
}{
	{"Address", reflect.TypeFor[api.Address](), false},
	{"AddressInput", reflect.TypeFor[api.Address](), true},
	{"TaxId", reflect.TypeFor[till.TaxID](), true},
	{"TaxId", reflect.TypeFor[till.TaxID](), false},
	{"TaxRegistrations", reflect.TypeFor[api.TaxRegistrations](), false},
	{"TaxRegistrationsInput", reflect.TypeFor[api.TaxRegistrations](), true},
	{"CustomTaxRate", reflect.TypeFor[api.CustomTaxRate](), false},
	{"CustomTaxRateInput", reflect.TypeFor[api.CustomTaxRate](), true},
	{"RetryPolicy", reflect.TypeFor[till.RetryPolicy](), false},
	{"RetryPolicyInput", reflect.TypeFor[till.RetryPolicy](), true},
	{"Branding", reflect.TypeFor[till.Branding](), false},
	{"BrandingInput", reflect.TypeFor[till.Branding](), true},
	{"AccountProcessor", reflect.TypeFor[api.AccountProcessor](), false},
	{"ProcessorSettings", reflect.TypeFor[api.ProcessorSettings](), true},
	{"Account", reflect.TypeFor[api.Account](), false},
	{"AccountUpdate", reflect.TypeFor[api.AccountUpdate](), true},
	{"Customer", reflect.TypeFor[api.Customer](), false},
	{"CustomerCreate", reflect.TypeFor[api.CustomerCreate](), true},
	{"CustomerSessionCreate", reflect.TypeFor[api.CustomerSessionCreate](), true},
	{"Order", reflect.TypeFor[api.Order](), false},
	{"OrderLine", reflect.TypeFor[api.OrderLine](), false},
	{"OrderCreate", reflect.TypeFor[api.OrderCreate](), true},
	{"OrdersPay", reflect.TypeFor[api.OrdersPay](), true},
	{"Subscription", reflect.TypeFor[api.Subscription](), false},
	{"SubscriptionCreate", reflect.TypeFor[api.SubscriptionCreate](), true},
	{"SubscriptionUpdate", reflect.TypeFor[api.SubscriptionUpdate](), true},
	{"CustomerSession", reflect.TypeFor[api.CustomerSession](), false},
	{"CustomerUpdate", reflect.TypeFor[api.CustomerUpdate](), true},
	{"DeletedObject", reflect.TypeFor[api.DeletedObject](), false},
	{"CardInput", reflect.TypeFor[api.CardInput](), true},
	{"CardDetails", reflect.TypeFor[api.CardDetails](), false},
	{"PaymentMethodCreate", reflect.TypeFor[api.PaymentMethodCreate](), true},
	{"PaymentMethod", reflect.TypeFor[api.PaymentMethod](), false},
	{"TokenCreate", reflect.TypeFor[api.TokenCreate](), true},
	{"Token", reflect.TypeFor[api.Token](), false},
	{"ChargeRequest", reflect.TypeFor[api.ChargeRequest](), true},
	{"LineItemInput", reflect.TypeFor[api.LineItemInput](), true},
	{"PaymentUpdate", reflect.TypeFor[api.PaymentUpdate](), true},
	{"Payment", reflect.TypeFor[api.Payment](), false},
	{"TaxLine", reflect.TypeFor[api.TaxLine](), false},
	{"LineItem", reflect.TypeFor[api.LineItem](), false},
	{"Attempt", reflect.TypeFor[api.Attempt](), false},
	{"StatusChange", reflect.TypeFor[till.StatusChange](), false},
	{"Receipt", reflect.TypeFor[till.Receipt](), false},
	{"Failure", reflect.TypeFor[till.Failure](), false},
	{"NextAction", reflect.TypeFor[till.NextAction](), false},
	{"CaptureRequest", reflect.TypeFor[api.CaptureRequest](), true},
	{"ReleaseRequest", reflect.TypeFor[struct{}](), true},
	{"CancelRequest", reflect.TypeFor[struct{}](), true},
	{"PaymentLinkRequest", reflect.TypeFor[api.PaymentLinkRequest](), true},
	{"RefundRequest", reflect.TypeFor[api.RefundRequest](), true},
	{"Refund", reflect.TypeFor[api.Refund](), false},
	{"Document", reflect.TypeFor[api.Document](), false},
	{"Party", reflect.TypeFor[api.Party](), false},
	{"DocumentLine", reflect.TypeFor[api.DocumentLine](), false},
	{"JournalEntry", reflect.TypeFor[api.JournalEntry](), false},
	{"Posting", reflect.TypeFor[till.Posting](), false},
	{"Balance", reflect.TypeFor[api.Balance](), false},
	{"CurrencyBalance", reflect.TypeFor[api.CurrencyBalance](), false},
	{"Email", reflect.TypeFor[api.Email](), false},
	{"EmailAttachment", reflect.TypeFor[api.EmailAttachment](), false},
	{"ProcessorCharge", reflect.TypeFor[api.ProcessorCharge](), false},
	{"ClockAdvance", reflect.TypeFor[api.ClockAdvance](), true},
	{"Clock", reflect.TypeFor[api.Clock](), false},
	{"NewAccount", reflect.TypeFor[api.NewAccount](), true},
	{"NewAccountKeys", reflect.TypeFor[api.NewAccountKeys](), false},
	{"NewKey", reflect.TypeFor[api.NewKey](), true},
	{"Key", reflect.TypeFor[api.Key](), false},
	{"Error", reflect.TypeFor[api.Error](), false},
	{"FieldError", reflect.TypeFor[till.FieldError](), false},
	{"Decline", reflect.TypeFor[till.Decline](), false},
	{"Event", reflect.TypeFor[api.Event](), false},
	{"EventData", reflect.TypeFor[api.EventData](), false},
	{"WebhookEndpoint", reflect.TypeFor[api.WebhookEndpoint](), false},
	{"WebhookEndpointWithSecret", reflect.TypeFor[api.WebhookEndpointWithSecret](), false},
	{"WebhookEndpointCreate", reflect.TypeFor[api.WebhookEndpointCreate](), true},
	{"WebhookEndpointUpdate", reflect.TypeFor[api.WebhookEndpointUpdate](), true},
	{"RollSecretRequest", reflect.TypeFor[api.RollSecretRequest](), true},
	{"WebhookDelivery", reflect.TypeFor[api.WebhookDelivery](), false},
	{"ResendRequest", reflect.TypeFor[api.ResendRequest](), true},
	{"Resend", reflect.TypeFor[api.Resend](), false},
	{"ProductCreate", reflect.TypeFor[api.ProductCreate](), true},
	{"ProductItemInput", reflect.TypeFor[api.ProductItemInput](), true},
	{"ProductItemUpdate", reflect.TypeFor[api.ProductItemUpdate](), true},
	{"Product", reflect.TypeFor[api.Product](), false},
	{"ProductItem", reflect.TypeFor[api.ProductItem](), false},
	{"ArticleCreate", reflect.TypeFor[api.ArticleCreate](), true},
	{"Article", reflect.TypeFor[api.Article](), false},
	{"CartCreate", reflect.TypeFor[api.CartCreate](), true},
	{"CartLineInput", reflect.TypeFor[api.CartLineInput](), true},
	{"CartUpdate", reflect.TypeFor[api.CartUpdate](), true},
	{"ProductUpdate", reflect.TypeFor[api.ProductUpdate](), true},
	{"ArticleUpdate", reflect.TypeFor[api.ArticleUpdate](), true},
	{"ShippingRateUpdate", reflect.TypeFor[api.ShippingRateUpdate](), true},
	{"CouponUpdate", reflect.TypeFor[api.CouponUpdate](), true},
	{"CatalogChargeRequest", reflect.TypeFor[api.CatalogChargeRequest](), true},
	{"Cart", reflect.TypeFor[api.Cart](), false},
	{"CartLine", reflect.TypeFor[api.CartLine](), false},
	{"ShippingRateCreate", reflect.TypeFor[api.ShippingRateCreate](), true},
	{"ShippingRate", reflect.TypeFor[api.ShippingRate](), false},
	{"CouponCreate", reflect.TypeFor[api.CouponCreate](), true},
	{"Coupon", reflect.TypeFor[api.Coupon](), false},
	{"CatalogOrder", reflect.TypeFor[api.CatalogOrder](), false},
	{"CatalogOrderLine", reflect.TypeFor[api.CatalogOrderLine](), false},
}

// TestOpenAPIWireTypes checks each schema against its Go type: the same
// JSON field names, required and nullable where the type says, and JSON
// types that fit the Go kinds (int64 money is an integer of format int64).
func TestOpenAPIWireTypes(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	documented := map[string]bool{}
	for _, wt := range wireTypes {
		documented[wt.schema] = true
		t.Run(fmt.Sprintf("%s(%s)", wt.schema, wt.typ), func(t *testing.T) {
			ref, ok := doc.Components.Schemas[wt.schema]
			if !ok {
				t.Fatalf("no schema %s", wt.schema)
			}
			checkWireType(t, ref.Value, wt.typ, wt.request)
		})
	}
	// Every object schema is tied to a Go type, except the envelopes (checked
	// by TestOpenAPIEnvelopes) and the bare health bodies.
	for name, ref := range doc.Components.Schemas {
		if documented[name] || strings.HasSuffix(name, "Response") || strings.HasSuffix(name, "List") ||
			name == "ErrorEnvelope" || name == "Metadata" || name == "Health" || name == "Ready" {
			continue
		}
		if ref.Value.Type.Is("object") {
			t.Errorf("schema %s is not tied to a Go type in wireTypes", name)
		}
	}
}

func checkWireType(t *testing.T, s *openapi3.Schema, typ reflect.Type, request bool) {
	t.Helper()
	if !s.Type.Is("object") {
		t.Fatalf("schema type %v, want object", s.Type)
	}
	if s.Description == "" && request {
		t.Errorf("request schema has no description")
	}
	if request && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
		t.Errorf("request schema must set additionalProperties: false")
	}
	fields := map[string]reflect.StructField{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f
	}
	for name := range s.Properties {
		if _, ok := fields[name]; !ok {
			t.Errorf("schema property %q is not a field of %s", name, typ)
		}
	}
	for name, f := range fields {
		prop, ok := s.Properties[name]
		if !ok {
			t.Errorf("field %s (%q) is not in the schema", f.Name, name)
			continue
		}
		required := slices.Contains(s.Required, name)
		omitempty := strings.Contains(f.Tag.Get("json"), ",omitempty")
		nullable := isNullable(prop.Value)
		kind := f.Type.Kind()
		if request {
			canBeNull := kind == reflect.Pointer || kind == reflect.Map || kind == reflect.Slice
			if nullable != (canBeNull && !required) {
				t.Errorf("%q: nullable %v; a request field may be null exactly when it is a pointer, map or slice that is not required", name, nullable)
			}
		} else {
			if required == omitempty {
				t.Errorf("%q: required %v, but omitempty is %v (response fields are required unless omitempty)", name, required, omitempty)
			}
			if nullable != (kind == reflect.Pointer) {
				t.Errorf("%q: nullable %v, but the Go field is a %s (response fields may be null exactly when they are pointers)", name, nullable, f.Type)
			}
		}
		if prop.Value.Description == "" && prop.Ref == "" && len(prop.Value.AnyOf) == 0 && prop.Value.Const == nil && len(prop.Value.Enum) == 0 {
			// Scalar fields whose name says it all may go undescribed; but
			// money and time must say what they are.
			if isMoney(f.Type) || isTime(f.Type) {
				t.Errorf("%q: money and time fields need a description", name)
			}
		}
		checkKind(t, name, prop.Value, f.Type)
	}
}

func isNullable(s *openapi3.Schema) bool {
	if s.Type != nil && s.Type.IncludesNull() {
		return true
	}
	for _, alt := range s.AnyOf {
		if alt.Value.Type != nil && alt.Value.Type.Is("null") {
			return true
		}
	}
	return false
}

func isTime(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "time" && t.Name() == "Time"
}

func isMoney(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Int64
}

// checkKind checks that a property's JSON type fits the Go type.
func checkKind(t *testing.T, name string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if len(s.AnyOf) > 0 {
		// anyOf [{$ref}, {type: null}]: check the referenced schema.
		for _, alt := range s.AnyOf {
			if alt.Value.Type != nil && !alt.Value.Type.Is("null") {
				checkKind(t, name, alt.Value, typ)
			}
		}
		return
	}
	want := ""
	switch {
	case isTime(typ):
		if s.Format != "date-time" {
			t.Errorf("%q: a timestamp needs format date-time", name)
		}
		want = "string"
	case typ.Kind() == reflect.String:
		want = "string"
	case typ.Kind() == reflect.Bool:
		want = "boolean"
	case typ.Kind() == reflect.Int64:
		want = "integer"
		if s.Format != "int64" {
			t.Errorf("%q: an int64 (money, counts) needs format int64", name)
		}
	case typ.Kind() == reflect.Int:
		want = "integer"
	case typ.Kind() == reflect.Slice:
		want = "array"
	case typ.Kind() == reflect.Map, typ.Kind() == reflect.Struct:
		want = "object"
	case typ.Kind() == reflect.Interface:
		return
	}
	if s.Type == nil || !s.Type.Permits(want) {
		t.Errorf("%q: JSON type %v, the Go type %s wants %s", name, s.Type, typ, want)
	}
}

// TestOpenAPIEnvelopes checks the envelope schemas' field names against
// api.Envelope.
func TestOpenAPIEnvelopes(t *testing.T) {
	doc := MustLoadOpenAPI(t)
	names := map[string]bool{}
	for f := range reflect.TypeFor[api.Envelope[any]]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names[name] = true
	}
	for name, ref := range doc.Components.Schemas {
		if !strings.HasSuffix(name, "Response") && !strings.HasSuffix(name, "List") && name != "ErrorEnvelope" {
			continue
		}
		for prop := range ref.Value.Properties {
			if !names[prop] {
				t.Errorf("%s.%s is not a field of api.Envelope", name, prop)
			}
		}
		if !slices.Contains(ref.Value.Required, "success") {
			t.Errorf("%s: success must be required", name)
		}
	}
}
