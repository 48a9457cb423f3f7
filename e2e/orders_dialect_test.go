package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/dialect/orders"
)

// osCall sends a request to the Orders & Subscriptions API and decodes its
// JSON answer.
func osCall(t *testing.T, c *client.Client, method, path string, body any, status int) map[string]any {
	t.Helper()
	res, err := c.Raw(t.Context(), method, "/os/v1"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(res.Body)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object", method, path, res.Status, res.Body)
	}
	if res.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, status, res.Body)
	}
	return out
}

// osError returns the error code and fields of an error answer.
func osError(t *testing.T, out map[string]any) (string, []string) {
	t.Helper()
	e, _ := out["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object: %v", out)
	}
	var fields []string
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		fields = append(fields, f.(map[string]any)["field"].(string))
	}
	return e["code"].(string), fields
}

// TestOrdersDialect drives the Orders & Subscriptions API (seed 004) as its
// clients do: orders with decimal prices parsed exactly, payments of
// orders with the seed's payment object (every field, in its JSON type),
// the twelve-state vocabulary, human ids, page/size lists, the four
// updatable fields, and the user role of a customer session.
func TestOrdersDialect(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{})
		ctx := env.Ctx()
		c := env.Client
		jana := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "jana@example.com", Name: "Jana", Address: &api.Address{Country: "DE"}}))
		omar := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "omar@example.com", Address: &api.Address{Country: "DE"}}))
		good := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, jana.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))
		hard := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, jana.ID, api.PaymentMethodCreate{Card: card("4000000000000002")}))
		soft := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, jana.ID, api.PaymentMethodCreate{Card: card("4000000000009995")}))
		Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, omar.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))

		order := func(cust, currency, price string) string {
			t.Helper()
			out := osCall(t, c, "POST", "/orders", fmt.Sprintf(`{"user":%q,"currency":%q,"lines":[{"description":"Box","quantity":2,"unit_price":%s}]}`, cust, currency, price), 201)
			return out["id"].(string)
		}

		// Decimal prices are exact at the edge.
		o := osCall(t, c, "POST", "/orders", `{"user":"`+jana.ID+`","currency":"EUR","lines":[{"description":"Box","quantity":2,"unit_price":19.99}],"description":"First order"}`, 201)
		if o["amount"] != json.Number("39.98") || o["status"] != "open" || o["lines"].([]any)[0].(map[string]any)["unit_price"] != json.Number("19.99") {
			t.Fatalf("order: %v", o)
		}
		order(jana.ID, "JPY", "1500")
		order(jana.ID, "KWD", "1.234")
		for _, bad := range []struct{ currency, price string }{{"EUR", "1.234"}, {"JPY", "1.5"}, {"EUR", "-1"}, {"EUR", "1e3"}} {
			out := osCall(t, c, "POST", "/orders", fmt.Sprintf(`{"user":%q,"currency":%q,"lines":[{"description":"x","quantity":1,"unit_price":%s}]}`, jana.ID, bad.currency, bad.price), 400)
			if code, fields := osError(t, out); code != "validation_error" || len(fields) != 1 || fields[0] != "lines[0].unit_price" {
				t.Errorf("%s %s: %s %v", bad.price, bad.currency, code, fields)
			}
		}
		out := osCall(t, c, "POST", "/orders", `{"user":"`+jana.ID+`","currency":"EUR","lines":[],"colour":"red"}`, 400)
		if code, fields := osError(t, out); code != "parameter_unknown" || fields[0] != "colour" {
			t.Errorf("unknown field: %s %v", code, fields)
		}
		out = osCall(t, c, "POST", "/orders", `{"user":"cus_nobody","currency":"EUR","lines":[{"description":"x","quantity":1,"unit_price":1}]}`, 404)
		if code, fields := osError(t, out); code != "resource_missing" || fields != nil && fields[0] != "user" {
			t.Errorf("unknown user: %s %v", code, fields)
		}

		// A payment of the order: the seed's object, field for field.
		p := osCall(t, c, "POST", "/payments", `{"orders":["`+o["id"].(string)+`"],"payment_method":"`+good.ID+`"}`, 201)
		want := map[string]string{"id": "string", "user": "object", "amount": "number", "amount_paid": "number", "amount_reserved": "number",
			"currency": "string", "human_id": "string", "subject": "string", "current_state": "string", "active": "boolean",
			"payment_date": "null", "payment_method": "string", "billing_address": "null", "description": "string", "metadata": "array",
			"status_code": "null", "error_message": "null"}
		for field, typ := range want {
			if got := osJSONType(p[field]); got != typ {
				t.Errorf("payment.%s is %s, want %s", field, got, typ)
			}
		}
		if p["amount"] != json.Number("47.58") || p["amount_paid"] != json.Number("47.58") || p["amount_reserved"] != json.Number("0.00") ||
			p["current_state"] != "succeeded" || p["subject"] != o["id"] || p["user"].(map[string]any)["email"] != "jana@example.com" ||
			!regexp.MustCompile(`^[2-9A-HJ-NP-Z]{6}$`).MatchString(p["human_id"].(string)) {
			t.Fatalf("payment: %v", p)
		}
		again := osCall(t, c, "GET", "/payments/"+p["id"].(string), nil, 200)
		if again["human_id"] != p["human_id"] {
			t.Errorf("human_id changed: %v then %v", p["human_id"], again["human_id"])
		}
		// The same payment natively: its invoice, receipt and events.
		native := Must[*api.Payment](t)(c.Payment(ctx, p["id"].(string)))
		if native.AmountTotal != 4758 || native.InvoiceID == nil || native.Receipt == nil || !slices.Equal(native.OrderIDs, []string{o["id"].(string)}) {
			t.Errorf("the same payment natively: %+v", native)
		}
		if n := eventCount(t, ctx, c, "payment.succeeded", native.ID); n != 1 {
			t.Errorf("%d payment.succeeded events for the dialect's payment", n)
		}
		if inv := Must[*api.Document](t)(c.Invoice(ctx, *native.InvoiceID)); inv.Total != 4758 {
			t.Errorf("its invoice: %+v", inv)
		}
		out = osCall(t, c, "POST", "/payments", `{"orders":["`+o["id"].(string)+`"]}`, 409)
		if code, _ := osError(t, out); code != "state_conflict" {
			t.Errorf("paying a paid order: %s", code)
		}

		// Declines: hard → failed with the code and message; soft → on_retry.
		failed := osCall(t, c, "POST", "/payments", `{"orders":["`+order(jana.ID, "EUR", "5")+`"],"payment_method":"`+hard.ID+`"}`, 201)
		if failed["current_state"] != "failed" || failed["status_code"] != "generic_decline" || failed["error_message"] == nil {
			t.Errorf("hard decline: %v", failed)
		}
		retry := osCall(t, c, "POST", "/payments", `{"orders":["`+order(jana.ID, "EUR", "6")+`"],"payment_method":"`+soft.ID+`"}`, 201)
		if retry["current_state"] != "on_retry" || retry["status_code"] != "insufficient_funds" || osJSONType(retry["payment_date"]) != "number" {
			t.Fatalf("soft decline: %v", retry)
		}

		// Update: the four fields only.
		id := retry["id"].(string)
		later := time.Now().Add(72 * time.Hour).Unix()
		upd := osCall(t, c, "PATCH", "/payments/"+id, fmt.Sprintf(`{"payment_method":%q,"payment_date":%d,"active":false,"billing_address":{"line1":"Hauptstr. 1","city":"Berlin","postal_code":"10115","country":"DE"}}`, good.ID, later), 200)
		if upd["payment_method"] != good.ID || upd["payment_date"] != json.Number(fmt.Sprint(later)) || upd["active"] != false ||
			upd["billing_address"].(map[string]any)["postal_code"] != "10115" {
			t.Errorf("updated: %v", upd)
		}
		upd = osCall(t, c, "PATCH", "/payments/"+id, `{"billing_address":"Hauptstr. 1, 10115 Berlin"}`, 200)
		if upd["billing_address"].(map[string]any)["line1"] != "Hauptstr. 1, 10115 Berlin" {
			t.Errorf("billing address as a string: %v", upd["billing_address"])
		}
		for _, body := range []string{`{"amount":1}`, `{"currency":"USD"}`, `{"description":"x"}`} {
			out = osCall(t, c, "PATCH", "/payments/"+id, body, 400)
			if code, _ := osError(t, out); code != "parameter_unknown" {
				t.Errorf("PATCH %s: %s", body, code)
			}
		}
		out = osCall(t, c, "PATCH", "/payments/"+p["id"].(string), `{"payment_date":`+fmt.Sprint(later)+`}`, 409)
		if code, _ := osError(t, out); code != "state_conflict" {
			t.Errorf("payment_date of a succeeded payment: %s", code)
		}

		// Lists: page/size, status, dates, oldest first.
		l := osCall(t, c, "GET", "/payments?size=2&page=0", nil, 200)
		if len(l["data"].([]any)) != 2 || l["has_more"] != true {
			t.Errorf("first page: %v", l)
		}
		l = osCall(t, c, "GET", "/payments?size=2&page=1", nil, 200)
		if len(l["data"].([]any)) != 1 || l["has_more"] != false {
			t.Errorf("second page: %v", l)
		}
		l = osCall(t, c, "GET", "/payments?status=failed", nil, 200)
		if d := l["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != failed["id"] {
			t.Errorf("failed payments: %v", l)
		}
		l = osCall(t, c, "GET", "/payments?sort=created_at&size=1", nil, 200)
		if d := l["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != p["id"] {
			t.Errorf("oldest first: %v", l)
		}
		l = osCall(t, c, "GET", fmt.Sprintf("/payments?from_date=%d", time.Now().Add(time.Hour).Unix()), nil, 200)
		if len(l["data"].([]any)) != 0 {
			t.Errorf("from an hour ahead: %v", l)
		}
		for _, q := range []string{"status=paid", "sort=amount", "size=0", "size=101", "page=-1", "color=red", "from_date=yesterday"} {
			out = osCall(t, c, "GET", "/payments?"+q, nil, 400)
			if code, _ := osError(t, out); code != "validation_error" && code != "parameter_unknown" {
				t.Errorf("?%s: %s", q, code)
			}
		}

		// The user role: a customer session sees and pays only its own.
		cs := Must[*api.CustomerSession](t)(c.CreateCustomerSession(ctx, omar.ID, api.CustomerSessionCreate{}))
		as := c.WithKey(cs.Token)
		theirs := order(omar.ID, "EUR", "10")
		osCall(t, as, "GET", "/payments/"+p["id"].(string), nil, 404)
		osCall(t, as, "GET", "/orders/"+o["id"].(string), nil, 404)
		osCall(t, as, "POST", "/orders", `{"user":"`+omar.ID+`","currency":"EUR","lines":[{"description":"x","quantity":1,"unit_price":1}]}`, 403)
		osCall(t, as, "PATCH", "/payments/"+id, `{"active":true}`, 404)
		mine := osCall(t, as, "POST", "/payments", `{"orders":["`+theirs+`"]}`, 201)
		if mine["current_state"] != "succeeded" || mine["user"].(map[string]any)["id"] != omar.ID {
			t.Errorf("omar pays: %v", mine)
		}
		if l := osCall(t, as, "GET", "/payments", nil, 200); len(l["data"].([]any)) != 1 {
			t.Errorf("omar's payments: %v", l)
		}
		if l := osCall(t, as, "GET", "/orders", nil, 200); len(l["data"].([]any)) != 1 {
			t.Errorf("omar's orders: %v", l)
		}
		osCall(t, c.WithKey("sk_test_"+strings.Repeat("x", 48)), "GET", "/payments", nil, 401)
		osCall(t, c.WithKey(env.Keys.TestPublishableKey), "GET", "/payments", nil, 403)

		// Every route, swept from the route table: a session is refused by
		// the admin's before anything else, and reaches the others (which
		// then find no such object, or a bad request, never 403).
		for _, rt := range orders.New(env.Service, orders.Options{}).Routes() {
			path := strings.TrimPrefix(regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.Path, "x_any"), "/os/v1")
			res, err := as.Raw(ctx, rt.Method, "/os/v1"+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rt.AdminOnly != (res.Status == 403) {
				t.Errorf("%s %s with a customer session: %d %s", rt.Method, rt.Path, res.Status, res.Body)
			}
		}

		// A subscription renews through the same payments.
		sub := osCall(t, c, "POST", "/subscriptions", `{"user":"`+jana.ID+`","currency":"EUR","interval":"month","items":[{"description":"Plan","quantity":1,"unit_price":9.90}]}`, 201)
		if sub["amount"] != json.Number("9.90") || sub["status"] != "active" {
			t.Fatalf("subscription: %v", sub)
		}
		env.Eventually(15*time.Second, "the first renewal", func() bool {
			got := osCall(t, c, "GET", "/subscriptions/"+sub["id"].(string), nil, 200)
			return len(got["payments"].([]any)) == 1
		})
		got := osCall(t, c, "GET", "/subscriptions/"+sub["id"].(string), nil, 200)
		renewal := osCall(t, c, "GET", "/payments/"+got["payments"].([]any)[0].(string), nil, 200)
		if renewal["subject"] != sub["id"] || renewal["current_state"] != "succeeded" {
			t.Errorf("renewal: %v", renewal)
		}
		if l := osCall(t, c, "GET", "/subscriptions?size=1&user="+jana.ID, nil, 200); len(l["data"].([]any)) != 1 || l["has_more"] != false {
			t.Errorf("subscriptions: %v", l)
		}
		if l := osCall(t, as, "GET", "/subscriptions", nil, 200); len(l["data"].([]any)) != 0 {
			t.Errorf("omar sees subscriptions: %v", l)
		}
	})
}

// osJSONType names the JSON type of a decoded value.
func osJSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
