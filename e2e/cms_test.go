package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// cmsAnswer is a decoded CMS answer: its status and body, numbers kept as
// json.Number so decimals are compared exactly.
type cmsAnswer struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// payment returns the answer's payment object.
func (a cmsAnswer) payment(tb testing.TB) map[string]any {
	tb.Helper()
	p, ok := a.Body["payment"].(map[string]any)
	if !ok {
		tb.Fatalf("no payment in %d %s", a.Status, a.Raw)
	}
	return p
}

// errorCode returns the answer's error code and field.
func (a cmsAnswer) errorCode() (string, string) {
	e, _ := a.Body["error"].(map[string]any)
	code, _ := e["code"].(string)
	field, _ := e["field"].(string)
	return code, field
}

// cmsCharge posts body to the CMS charge with token as the session.
func cmsCharge(tb testing.TB, env *Env, token string, body any, opts ...client.Option) cmsAnswer {
	tb.Helper()
	a, err := cmsTry(env, token, body, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// cmsTry is cmsCharge for other goroutines than the test's: it returns
// what went wrong instead of failing the test.
func cmsTry(env *Env, token string, body any, opts ...client.Option) (cmsAnswer, error) {
	resp, err := env.Client.WithKey(token).Raw(env.Ctx(), "POST", "/cms/customer/payment/charge", body, opts...)
	if err != nil {
		return cmsAnswer{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	out := cmsAnswer{Status: resp.Status, Raw: resp.Body}
	if err := dec.Decode(&out.Body); err != nil {
		return out, fmt.Errorf("%d answer is not JSON: %s", resp.Status, resp.Body)
	}
	return out, nil
}

// session returns a customer session token of a new German customer with
// a default card number.
func session(tb testing.TB, env *Env, number string) (*api.Customer, string) {
	tb.Helper()
	cust, _ := env.CustomerWithCard("DE", number)
	cs, err := env.Client.CreateCustomerSession(env.Ctx(), cust.ID, api.CustomerSessionCreate{})
	if err != nil {
		tb.Fatal(err)
	}
	return cust, cs.Token
}

// wantCMSError asserts a CMS error answer.
func wantCMSError(tb testing.TB, a cmsAnswer, status int, code, field string) {
	tb.Helper()
	gotCode, gotField := a.errorCode()
	if a.Status != status || gotCode != code || (field != "" && gotField != field) || a.Body["success"] != false {
		tb.Fatalf("want %d %s (%s), got %d %s", status, code, field, a.Status, a.Raw)
	}
}

// wantNumbers asserts the decimal numbers of an object, exactly.
func wantNumbers(tb testing.TB, obj map[string]any, want map[string]string) {
	tb.Helper()
	for k, v := range want {
		n, ok := obj[k].(json.Number)
		if !ok || n.String() != v {
			tb.Errorf("%s = %#v, want the number %s", k, obj[k], v)
		}
	}
}

// processorCharges returns the simulator's record of every charge of the
// account's payments: what was charged, from the processor's side.
func processorCharges(tb testing.TB, env *Env) []api.ProcessorCharge {
	tb.Helper()
	var out []api.ProcessorCharge
	page := Must[*client.List[api.Payment]](tb)(env.Client.Payments(env.Ctx(), client.ListParams{Limit: 100}))
	for _, p := range page.Data {
		out = append(out, Must[[]api.ProcessorCharge](tb)(env.Client.ProcessorCharges(env.Ctx(), "", p.ID))...)
	}
	return out
}

// stockOf returns the stock of a product's first item.
func stockOf(tb testing.TB, env *Env, productID string) int64 {
	tb.Helper()
	p, err := env.Client.Product(env.Ctx(), productID)
	if err != nil {
		tb.Fatal(err)
	}
	return p.Items[0].StockAvailable
}

// TestCMSCartCharge charges a cart (two mugs and an article) with DHL
// shipping to Germany and a 10 % coupon: every total of the answer, the
// payment's line items, the invoice's lines, the stock, the coupon's
// redemption and the evidence kept in metadata.
func TestCMSCartCharge(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		prod := Must[*api.Product](t)(c.CreateProduct(ctx, mug(5)))
		art := Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: "Care guide", Price: Amount(499), Currency: "EUR"}))
		Must[*api.ShippingRate](t)(c.CreateShippingRate(ctx, api.ShippingRateCreate{Provider: "dhl", Country: "DE", Amount: Amount(490), Currency: "EUR", MaxWeightGrams: 5000}))
		coupon := Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "TENOFF", PercentOff: "10"}))
		cust, token := session(t, env, "4242424242424242")
		cart := Must[*api.Cart](t)(c.CreateCart(ctx, api.CartCreate{CustomerID: cust.ID, Lines: []api.CartLineInput{
			{ProductID: prod.ID, ItemID: prod.Items[0].ID, Quantity: 2}, {ArticleID: art.ID, Quantity: 1}}}))

		a := cmsCharge(t, env, token, map[string]any{
			"cartId": fmt.Sprint(cart.Number), "currency": "EUR", "payment_method": "card",
			"shipping_provider": "dhl", "shipping_address": map[string]any{"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
			"vat_country": "DE", "ip_address": "203.0.113.7", "country": "DE", "source": "web", "page": "https://shop.example/cart", "button": "buy",
			"properties": map[string]any{"coupon": "tenoff", "utm_source": "newsletter", "utm_campaign": "spring"},
		})
		if a.Status != 200 || a.Body["success"] != true {
			t.Fatalf("charge: %d %s", a.Status, a.Raw)
		}
		p := a.payment(t)
		// Items 2 × 19.99 + 4.99 = 44.97; 10 % off is 4.497, half up 4.50;
		// shipping 4.90. The discount is shared over the items (4.01 and
		// 0.49); 19 % per line: 35.97 → 6.83, 4.50 → 0.86 (half up), 4.90 →
		// 0.93, tax 8.62; total 44.97 − 4.50 + 4.90 + 8.62 = 53.99.
		wantNumbers(t, p, map[string]string{"subtotal": "44.97", "discount": "4.50", "shipping": "4.90", "shipping_price": "4.90",
			"tax": "8.62", "tax_price": "8.62", "total": "53.99", "price": "53.99"})
		if p["status"] != "paid" || p["userId"] != cust.ID || p["paymentMethod"] != "card" || p["currency"] != "EUR" {
			t.Errorf("payment: %s", a.Raw)
		}
		lines, _ := p["cart"].([]any)
		if len(lines) != 2 {
			t.Fatalf("cart: %s", a.Raw)
		}
		first := lines[0].(map[string]any)
		item := first["item"].(map[string]any)
		wantNumbers(t, first, map[string]string{"quantity": "2", "price": "19.99"})
		wantNumbers(t, item, map[string]string{"id": fmt.Sprint(prod.Items[0].Number), "productId": fmt.Sprint(prod.Number), "price": "19.99", "weight": "500"})
		if item["product"] != "Mug" || item["sku"] != "MUG-B" || item["shippable"] != true {
			t.Errorf("item: %v", item)
		}
		second := lines[1].(map[string]any)["item"].(map[string]any)
		wantNumbers(t, second, map[string]string{"id": fmt.Sprint(art.Number), "price": "4.99"})
		if second["productId"] != nil {
			t.Errorf("an article's productId: %v", second["productId"])
		}

		pay := Must[*api.Payment](t)(c.Payment(ctx, p["id"].(string)))
		if pay.AmountSubtotal != 4537 || pay.TaxAmount != 862 || pay.AmountTotal != 5399 || len(pay.LineItems) != 3 {
			t.Fatalf("payment: %+v", pay)
		}
		if pay.Metadata["utm_source"] != "newsletter" || pay.Metadata["utm_campaign"] != "spring" {
			t.Errorf("metadata: %v", pay.Metadata)
		}
		if o := pay.CatalogOrder; o == nil || o.Subtotal != 4497 || o.Discount != 450 || o.Shipping != 490 || o.CouponCode == nil || *o.CouponCode != "TENOFF" ||
			o.IPAddress == nil || *o.IPAddress != "203.0.113.7" || o.IPCountry == nil || *o.IPCountry != "DE" || o.Source == nil || *o.Source != "web" ||
			o.ShippingAddress == nil || o.ShippingAddress.PostalCode != "10115" || len(o.Lines) != 2 || o.Lines[0].Quantity != 2 || o.StockReleased {
			t.Errorf("the payment's order (evidence, totals): %s", String(o))
		}
		inv := Must[*api.Document](t)(c.Invoice(ctx, *pay.InvoiceID))
		want := []struct {
			desc      string
			net, tax  int64
			quantity  int64
			unitPrice int64
		}{
			{"2 × Mug – Blue (coupon TENOFF: −4.01 EUR)", 3597, 683, 1, 3597},
			{"Care guide (coupon TENOFF: −0.49 EUR)", 450, 86, 1, 450},
			{"Shipping (dhl, DE)", 490, 93, 1, 490},
		}
		if len(inv.Lines) != len(want) || inv.Subtotal != 4537 || inv.Total != 5399 {
			t.Fatalf("invoice: %+v", inv)
		}
		for i, w := range want {
			l := inv.Lines[i]
			if l.Description != w.desc || l.Net != w.net || l.TaxAmount != w.tax || l.Quantity != w.quantity || l.UnitNet != w.unitPrice {
				t.Errorf("invoice line %d: %+v, want %+v", i, l, w)
			}
		}
		if got := stockOf(t, env, prod.ID); got != 3 {
			t.Errorf("stock after selling 2 of 5: %d", got)
		}
		if got := Must[*api.Coupon](t)(c.Coupon(ctx, coupon.ID)); got.Redeemed != 1 {
			t.Errorf("coupon redeemed %d times", got.Redeemed)
		}

		// Too heavy for the rate: 11 mugs of 500 g.
		heavy := cmsCharge(t, env, token, map[string]any{"productId": prod.Number, "id": prod.Items[0].Number, "quantity": 3, "currency": "EUR",
			"shipping_provider": "dhl", "shipping_address": map[string]any{"country": "FR"}})
		wantCMSError(t, heavy, 400, "validation_error", "shipping_provider")
	})
}

// TestCMSProductAndArticles charges a product item × quantity (in JPY, no
// shipping) and several articles at once, with ids as the catalogue's
// numbers, exactly.
func TestCMSProductAndArticles(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		prod := Must[*api.Product](t)(c.CreateProduct(ctx, api.ProductCreate{Name: "E-book", Items: []api.ProductItemInput{
			{Description: "PDF", Price: Amount(1990), Currency: "JPY"}}}))
		_, token := session(t, env, "4242424242424242")
		a := cmsCharge(t, env, token, map[string]any{"productId": prod.Number, "id": prod.Items[0].Number, "quantity": 3, "currency": "jpy"})
		if a.Status != 200 || a.Body["success"] != true {
			t.Fatalf("charge: %d %s", a.Status, a.Raw)
		}
		// 3 × 1990 JPY = 5970, 19 % = 1134.3 → 1134; JPY has no decimals.
		wantNumbers(t, a.payment(t), map[string]string{"subtotal": "5970", "shipping": "0", "discount": "0", "tax": "1134", "total": "7104"})

		var ids []int64
		for _, price := range []int64{499, 250} {
			art := Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: fmt.Sprint("Issue ", price), Price: Amount(price), Currency: "EUR"}))
			ids = append(ids, art.Number)
		}
		a = cmsCharge(t, env, token, map[string]any{"articleId": ids, "currency": "EUR"})
		if a.Status != 200 {
			t.Fatalf("articles: %d %s", a.Status, a.Raw)
		}
		p := a.payment(t)
		// 19 % per line: 4.99 → 0.9481 → 0.95, 2.50 → 0.475 → 0.48 (half up).
		wantNumbers(t, p, map[string]string{"subtotal": "7.49", "tax": "1.43", "total": "8.92"})
		if lines := p["cart"].([]any); len(lines) != 2 {
			t.Errorf("cart: %v", lines)
		}
		one := cmsCharge(t, env, token, map[string]any{"articleId": ids[1], "currency": "EUR"})
		wantNumbers(t, one.payment(t), map[string]string{"subtotal": "2.50"})
		// Shipping for articles is refused, not ignored.
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"articleId": ids[0], "currency": "EUR", "shipping_provider": "dhl",
			"shipping_address": map[string]any{"country": "DE"}}), 400, "validation_error", "shipping_provider")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"articleId": ids[0], "currency": "USD"}), 400, "validation_error", "articleId[0]")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"articleId": 999, "currency": "EUR"}), 400, "validation_error", "articleId[0]")
	})
}

// TestCMSExactDecimals checks custom prices as exact decimals: 19.99 EUR is
// 1999, JPY has 0 decimals, KWD 3, and 1.234 EUR is refused; and ids that
// are not integers.
func TestCMSExactDecimals(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		_, token := session(t, env, "4242424242424242")
		article := func(price int64, currency string) int64 {
			return Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: "Tip jar", Price: Amount(price), Currency: currency, CustomPrice: true})).Number
		}
		eur, jpy, kwd := article(100, "EUR"), article(100, "JPY"), article(100, "KWD")
		for _, tc := range []struct {
			id       int64
			currency string
			price    string
			unit     string
			minor    int64
		}{
			{eur, "EUR", "19.99", "19.99", 1999},
			{eur, "EUR", "19.990", "19.99", 1999},
			{jpy, "JPY", "1990", "1990", 1990},
			{kwd, "KWD", "1.234", "1.234", 1234},
		} {
			body := fmt.Sprintf(`{"articleId": %d, "currency": %q, "custom_price": %s}`, tc.id, tc.currency, tc.price)
			a := cmsCharge(t, env, token, []byte(body))
			if a.Status != 200 {
				t.Fatalf("%s %s: %d %s", tc.price, tc.currency, a.Status, a.Raw)
			}
			p := a.payment(t)
			wantNumbers(t, p["cart"].([]any)[0].(map[string]any), map[string]string{"price": tc.unit})
			pay := Must[*api.Payment](t)(c.Payment(ctx, p["id"].(string)))
			if pay.AmountSubtotal != tc.minor {
				t.Errorf("%s %s charged %d minor units, want %d", tc.price, tc.currency, pay.AmountSubtotal, tc.minor)
			}
		}
		for _, tc := range []struct {
			body, field string
		}{
			{fmt.Sprintf(`{"articleId": %d, "currency": "EUR", "custom_price": 1.234}`, eur), "custom_price"},
			{fmt.Sprintf(`{"articleId": %d, "currency": "JPY", "custom_price": 19.5}`, jpy), "custom_price"},
			{fmt.Sprintf(`{"articleId": %d, "currency": "EUR", "custom_price": 1e3}`, eur), "custom_price"},
			{fmt.Sprintf(`{"articleId": %d, "currency": "EUR", "custom_price": -5}`, eur), "custom_price"},
			{fmt.Sprintf(`{"articleId": %d, "currency": "EUR", "custom_price": 0.5}`, eur), "custom_price"},
			{`{"articleId": 1.5, "currency": "EUR"}`, "articleId"},
			{`{"productId": 1, "id": 2.0, "currency": "EUR"}`, "id"},
			{`{"articleId": [], "currency": "EUR"}`, "articleId"},
		} {
			wantCMSError(t, cmsCharge(t, env, token, []byte(tc.body)), 400, "validation_error", tc.field)
		}
		wantCMSError(t, cmsCharge(t, env, token, []byte(`{"articleId": 1, "currency": "EUR", "colour": "red"}`)), 400, "parameter_unknown", "colour")
		wantCMSError(t, cmsCharge(t, env, token, []byte(`{"articleId": 1, "currency": "EUR", "properties": {"coupon": 5}}`)), 400, "validation_error", "")
		if recs := processorCharges(t, env); len(recs) != 4 {
			t.Errorf("%d processor charges, want the 4 accepted", len(recs))
		}
	})
}

// TestCMSStock checks stock: a request for more than is left is refused
// with 409 and charges nothing; a declined card gives the unit back, and so
// does a canceled payment that required authentication; concurrent
// requests for the last unit sell it exactly once; a retried request (same
// Idempotency-Key) takes it once.
func TestCMSStock(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		prod := Must[*api.Product](t)(c.CreateProduct(ctx, api.ProductCreate{Name: "Poster", Items: []api.ProductItemInput{
			{Description: "Signed", Price: Amount(5000), Currency: "EUR", StockEnabled: true, StockAvailable: 1}}}))
		body := map[string]any{"productId": prod.Number, "id": prod.Items[0].Number, "quantity": 2, "currency": "EUR"}
		_, token := session(t, env, "4242424242424242")
		wantCMSError(t, cmsCharge(t, env, token, body), 409, "state_conflict", "id")
		if recs := processorCharges(t, env); len(recs) != 0 {
			t.Fatalf("out of stock charged: %+v", recs)
		}

		// A declined card: the unit comes back.
		_, declined := session(t, env, "4000000000000002")
		body["quantity"] = 1
		a := cmsCharge(t, env, declined, body)
		if a.Status != 200 || a.Body["success"] != false || a.payment(t)["status"] != "failed" || a.payment(t)["responseMessage"] == "" {
			t.Fatalf("declined: %d %s", a.Status, a.Raw)
		}
		if got := stockOf(t, env, prod.ID); got != 1 {
			t.Fatalf("stock after a decline: %d, want 1", got)
		}

		// A card that wants 3-D Secure: the unit stays reserved while the
		// payment requires action, and comes back when it is canceled.
		_, challenged := session(t, env, "4000002760003184")
		a = cmsCharge(t, env, challenged, body)
		if p := a.payment(t); a.Status != 200 || a.Body["success"] != false || p["status"] != "requires_action" ||
			p["response"].(map[string]any)["nextActionUrl"] == nil {
			t.Fatalf("3-D Secure: %d %s", a.Status, a.Raw)
		}
		if got := stockOf(t, env, prod.ID); got != 0 {
			t.Fatalf("stock while the payment requires action: %d, want 0", got)
		}
		Must[*api.Payment](t)(c.CancelPayment(ctx, a.payment(t)["id"].(string)))
		if got := stockOf(t, env, prod.ID); got != 1 {
			t.Fatalf("stock after the cancel: %d, want 1", got)
		}

		// Concurrent buyers of the last unit, each request sent twice with
		// its key: exactly one buyer pays, once.
		const buyers = 6
		tokens := make([]string, buyers)
		for i := range tokens {
			_, tokens[i] = session(t, env, "4242424242424242")
		}
		answers := make([]cmsAnswer, 2*buyers)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if answers[i], err = cmsTry(env, tokens[i%buyers], body, client.IdempotencyKey(fmt.Sprint("buy-", i%buyers))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		paid := map[string]bool{}
		for _, a := range answers {
			switch code, _ := a.errorCode(); {
			case a.Status == 200 && a.Body["success"] == true:
				paid[a.payment(t)["id"].(string)] = true
			case a.Status == 409 && (code == "state_conflict" || code == "request_in_progress"):
			default:
				t.Errorf("answer %d %s", a.Status, a.Raw)
			}
		}
		if len(paid) != 1 {
			t.Fatalf("%d payments for the last unit", len(paid))
		}
		if got := stockOf(t, env, prod.ID); got != 0 {
			t.Errorf("stock after the sale: %d", got)
		}
		charges := 0
		for _, r := range processorCharges(t, env) {
			if r.Outcome == "succeeded" {
				charges++
			}
		}
		if charges != 1 {
			t.Errorf("%d succeeded processor charges, want 1", charges)
		}
	})
}

// TestCMSCoupons checks coupon limits: per customer, in all (a declined
// payment gives its use back), the validity window on the account's clock,
// an unknown code and a fixed amount in another currency.
func TestCMSCoupons(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		art := Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: "Issue", Price: Amount(1000), Currency: "EUR"}))
		Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "ONCE", AmountOff: Amount(300), Currency: "EUR", MaxPerCustomer: 1, MaxRedemptions: 2}))
		tomorrow := time.Now().UTC().Add(24 * time.Hour)
		Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "LATER", PercentOff: "50", ValidFrom: &tomorrow}))
		Must[*api.Coupon](t)(c.CreateCoupon(ctx, api.CouponCreate{Code: "USD5", AmountOff: Amount(500), Currency: "USD"}))
		with := func(code string) map[string]any {
			return map[string]any{"articleId": art.Number, "currency": "EUR", "properties": map[string]any{"coupon": code}}
		}
		_, first := session(t, env, "4242424242424242")
		a := cmsCharge(t, env, first, with("once"))
		wantNumbers(t, a.payment(t), map[string]string{"discount": "3.00", "subtotal": "10.00"})
		wantCMSError(t, cmsCharge(t, env, first, with("ONCE")), 409, "state_conflict", "properties.coupon")

		_, declined := session(t, env, "4000000000000002")
		if a := cmsCharge(t, env, declined, with("ONCE")); a.Body["success"] != false {
			t.Fatalf("declined: %s", a.Raw)
		}
		_, second := session(t, env, "4242424242424242")
		if a := cmsCharge(t, env, second, with("ONCE")); a.Status != 200 || a.Body["success"] != true {
			t.Fatalf("second customer (the decline gave its use back): %d %s", a.Status, a.Raw)
		}
		_, third := session(t, env, "4242424242424242")
		wantCMSError(t, cmsCharge(t, env, third, with("ONCE")), 409, "state_conflict", "properties.coupon")

		wantCMSError(t, cmsCharge(t, env, third, with("LATER")), 400, "validation_error", "properties.coupon")
		Must[*api.Clock](t)(c.AdvanceClock(ctx, 86400+600))
		_, third = session(t, env, "4242424242424242") // sessions live an hour on the account's clock
		a = cmsCharge(t, env, third, with("LATER"))
		wantNumbers(t, a.payment(t), map[string]string{"discount": "5.00"})
		wantCMSError(t, cmsCharge(t, env, third, with("USD5")), 400, "validation_error", "properties.coupon")
		wantCMSError(t, cmsCharge(t, env, third, with("NOPE")), 400, "validation_error", "properties.coupon")
	})
}

// TestCMSAuthAndShape checks who may charge (a customer session only, its
// own carts) and the answer's fields and JSON types against the seed's
// payment object.
func TestCMSAuthAndShape(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		art := Must[*api.Article](t)(c.CreateArticle(ctx, api.ArticleCreate{Title: "Issue", Price: Amount(1000), Currency: "EUR"}))
		body := map[string]any{"articleId": art.Number, "currency": "EUR"}
		wantCMSError(t, cmsCharge(t, env, "", body), 401, "api_key_missing", "")
		wantCMSError(t, cmsCharge(t, env, env.Keys.TestSecretKey, body), 403, "forbidden", "")
		wantCMSError(t, cmsCharge(t, env, "cs_test_nothing", body), 401, "api_key_invalid", "")
		other, _ := session(t, env, "4242424242424242")
		cart := Must[*api.Cart](t)(c.CreateCart(ctx, api.CartCreate{CustomerID: other.ID, Lines: []api.CartLineInput{{ArticleID: art.ID, Quantity: 1}}}))
		_, token := session(t, env, "4242424242424242")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"cartId": cart.Number, "currency": "EUR"}), 404, "resource_missing", "cartId")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"cartId": cart.Number, "articleId": art.Number, "currency": "EUR"}), 400, "validation_error", "cartId")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"articleId": art.Number, "currency": "EUR", "payment_method": "paypal"}), 400, "validation_error", "payment_method")
		wantCMSError(t, cmsCharge(t, env, token, map[string]any{"articleId": art.Number, "currency": "EUR", "token_id": "pm_nothing"}), 404, "resource_missing", "token_id")

		a := cmsCharge(t, env, token, map[string]any{"articleId": art.Number, "currency": "EUR", "ip_address": "2001:db8::1", "country": "AT",
			"address": map[string]any{"line1": "Ring 1", "city": "Wien", "postal_code": "1010", "country": "AT"}})
		if a.Status != 200 {
			t.Fatalf("charge: %d %s", a.Status, a.Raw)
		}
		types := map[string]string{"id": "string", "price": "number", "status": "string", "responseMessage": "string", "lastUpdate": "string",
			"timestamp": "string", "userId": "string", "paymentMethod": "string", "cart": "array", "subtotal": "number", "shipping": "number",
			"tax": "number", "discount": "number", "total": "number", "shipping_price": "number", "tax_price": "number", "address": "object",
			"response": "object", "currency": "string"}
		p := a.payment(t)
		for k, want := range types {
			if got := osJSONType(p[k]); got != want {
				t.Errorf("payment.%s is %s, want %s", k, got, want)
			}
		}
		for k := range p {
			if _, ok := types[k]; !ok && k != "authorization" && k != "shipping_address" {
				t.Errorf("payment.%s is not in the seed's list", k)
			}
		}
		item := p["cart"].([]any)[0].(map[string]any)["item"].(map[string]any)
		for k, want := range map[string]string{"id": "number", "description": "string", "price": "number", "currency": "string",
			"shippable": "boolean", "weight": "number", "oncePerUser": "boolean", "sku": "string", "productId": "null", "product": "null"} {
			if got := osJSONType(item[k]); got != want {
				t.Errorf("item.%s is %s, want %s", k, got, want)
			}
		}
		// Billing in Austria without OSS registration: not collecting.
		wantNumbers(t, p, map[string]string{"tax": "0.00", "total": "10.00"})
		if p["address"].(map[string]any)["postal_code"] != "1010" {
			t.Errorf("address: %v", p["address"])
		}
	})
}

// TestCMSOncePerUser checks an item a customer may buy once: a second
// purchase by the same customer is refused, another customer's is not, and
// a declined payment does not use it up.
func TestCMSOncePerUser(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		prod := Must[*api.Product](t)(c.CreateProduct(ctx, api.ProductCreate{Name: "Membership", Items: []api.ProductItemInput{
			{Description: "Lifetime", Price: Amount(9900), Currency: "EUR", OncePerUser: true}}}))
		body := map[string]any{"productId": prod.Number, "id": prod.Items[0].Number, "currency": "EUR"}
		cust, token := session(t, env, "4000000000000002")
		if a := cmsCharge(t, env, token, body); a.Status != 200 || a.Body["success"] != false {
			t.Fatalf("declined: %d %s", a.Status, a.Raw)
		}
		good := env.Card(cust.ID, "4242424242424242")
		body["token_id"] = good.ID
		if a := cmsCharge(t, env, token, body); a.Status != 200 || a.Body["success"] != true {
			t.Fatalf("after a decline: %d %s", a.Status, a.Raw)
		}
		wantCMSError(t, cmsCharge(t, env, token, body), 409, "state_conflict", "id")
		delete(body, "token_id")
		body["quantity"] = 2
		_, other := session(t, env, "4242424242424242")
		wantCMSError(t, cmsCharge(t, env, other, body), 409, "state_conflict", "id")
		delete(body, "quantity")
		if a := cmsCharge(t, env, other, body); a.Status != 200 || a.Body["success"] != true {
			t.Fatalf("another customer: %d %s", a.Status, a.Raw)
		}
	})
}

// TestCMSBadBodies sends malformed and hostile bodies: each is a 4xx in the
// dialect's error envelope, never a 500, and nothing is charged.
func TestCMSBadBodies(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		_, token := session(t, env, "4242424242424242")
		for _, body := range []string{
			``, `null`, `[]`, `"x"`, `{`, `{}`, `{"articleId":1}{}`, `{"cartId":{}}`, `{"cartId":"abc"}`, `{"cartId":-3,"currency":"EUR"}`,
			`{"articleId":[[1]],"currency":"EUR"}`, `{"articleId":"1","currency":"EUR"}`, `{"properties":[],"articleId":1,"currency":"EUR"}`,
			`{"productId":99999999999999999999,"id":1,"currency":"EUR"}`, `{"productId":1,"id":1,"quantity":1e9,"currency":"EUR"}`,
			`{"productId":1,"id":1,"quantity":-1,"currency":"EUR"}`, `{"articleId":1,"currency":"XXX","custom_price":1}`,
			`{"articleId":1,"currency":"EUR","address":"Berlin"}`, `{"articleId":1,"currency":"EUR","shipping_address":{"country":"Mars"}}`,
			`{"articleId":1,"currency":"EUR","ip_address":"999.1.1.1","country":"DE"}`, `{"articleId":1,"currency":"EUR","vat_country":"XX"}`,
			`{"articleId":1,"currency":"EUR","custom_price":"1e400"}`, `{"articleId":1,"currency":"EUR","page":"` + strings.Repeat("x", 3000) + `"}`,
			`{"articleId":1,"currency":"EUR","properties":{"` + strings.Repeat("k", 50) + `":"v"}}`,
		} {
			a := cmsCharge(t, env, token, []byte(body))
			if a.Status < 400 || a.Status >= 500 || a.Body["success"] != false || a.Body["error"] == nil {
				t.Errorf("%.60s: %d %s", body, a.Status, a.Raw)
			}
		}
		huge := cmsCharge(t, env, token, []byte(`{"page":"`+strings.Repeat("x", 100<<10)+`"}`))
		wantCMSError(t, huge, 413, "body_too_large", "")
		if recs := processorCharges(t, env); len(recs) != 0 {
			t.Errorf("bad bodies charged: %+v", recs)
		}
	})
}

// TestCMSConcurrentCarts charges carts that share two products, listed in
// opposite orders, all at once: every one is paid and each product's
// stock falls by exactly what was sold.
func TestCMSConcurrentCarts(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx, c := env.Ctx(), env.Client
		var prods []*api.Product
		for range 2 {
			prods = append(prods, Must[*api.Product](t)(c.CreateProduct(ctx, api.ProductCreate{Name: "Print", Items: []api.ProductItemInput{
				{Description: "A4", Price: Amount(1500), Currency: "EUR", StockEnabled: true, StockAvailable: 100}}})))
		}
		const buyers = 6
		tokens, carts := make([]string, buyers), make([]int64, buyers)
		for i := range buyers {
			cust, token := session(t, env, "4242424242424242")
			first, second := prods[i%2], prods[1-i%2]
			cart := Must[*api.Cart](t)(c.CreateCart(ctx, api.CartCreate{CustomerID: cust.ID, Lines: []api.CartLineInput{
				{ProductID: first.ID, ItemID: first.Items[0].ID, Quantity: 1}, {ProductID: second.ID, ItemID: second.Items[0].ID, Quantity: 2}}}))
			tokens[i], carts[i] = token, cart.Number
		}
		answers := make([]cmsAnswer, buyers)
		var wg sync.WaitGroup
		for i := range buyers {
			wg.Go(func() {
				var err error
				if answers[i], err = cmsTry(env, tokens[i], map[string]any{"cartId": carts[i], "currency": "EUR"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for i, a := range answers {
			if a.Status != 200 || a.Body["success"] != true {
				t.Errorf("buyer %d: %d %s", i, a.Status, a.Raw)
			}
		}
		// Each product: 3 carts take 1 and 3 carts take 2.
		for _, p := range prods {
			if got := stockOf(t, env, p.ID); got != 100-9 {
				t.Errorf("stock of %s: %d, want 91", p.ID, got)
			}
		}
	})
}
