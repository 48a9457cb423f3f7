package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/dialect/chip"
	"github.com/tillpay/till/service"
)

// chipClient talks to the CHIP dialect as a CHIP client does: JSON bodies
// and a Bearer key, base URL changed to Till's.
type chipClient struct {
	t   *testing.T
	env *Env
	key string
}

func newChip(t *testing.T, env *Env) *chipClient {
	return &chipClient{t: t, env: env, key: env.Keys.TestSecretKey}
}

// eachChip runs fn in parallel with the other tests on every backend, with
// a fresh Till and a CHIP client holding its test secret key.
func eachChip(t *testing.T, fn func(t *testing.T, env *Env, c *chipClient)) {
	t.Parallel()
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		fn(t, env, newChip(t, env))
	})
}

// do sends a request and returns the status and the raw body.
func (c *chipClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(c.env.Ctx(), method, c.env.URL+"/api/v1"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, out)
	}
	return res.StatusCode, out
}

// ok sends a request that must answer 200 and decodes its body into v.
func (c *chipClient) ok(method, path string, body, v any) {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if status != http.StatusOK {
		c.t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		c.t.Fatalf("%s %s: %v in %s", method, path, err, out)
	}
}

// purchase sends a request answered with a Purchase.
func (c *chipClient) purchase(method, path string, body any) *chip.Purchase {
	c.t.Helper()
	var p chip.Purchase
	c.ok(method, path, body, &p)
	return &p
}

// fails sends a request that must fail with status and returns CHIP's
// error object (field → [{message, code}]).
func (c *chipClient) fails(method, path string, body any, status int) map[string][]struct{ Message, Code string } {
	c.t.Helper()
	got, out := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: want %d, got %d %s", method, path, status, got, out)
	}
	var e map[string][]struct{ Message, Code string }
	if err := json.Unmarshal(out, &e); err != nil || len(e) == 0 {
		c.t.Fatalf("%s %s: not CHIP's error shape: %s", method, path, out)
	}
	for field, items := range e {
		if len(items) == 0 || items[0].Message == "" || items[0].Code == "" {
			c.t.Fatalf("%s %s: error of %s without message or code: %s", method, path, field, out)
		}
	}
	return e
}

// newPurchase creates a purchase of one product at price EUR for email,
// with extra fields merged into the request.
func (c *chipClient) newPurchase(price int64, client map[string]any, extra map[string]any) *chip.Purchase {
	c.t.Helper()
	body := map[string]any{
		"purchase": map[string]any{"currency": "EUR", "products": []any{map[string]any{"name": "Annual plan", "price": price}}},
	}
	for k, v := range client {
		body[k] = v
	}
	for k, v := range extra {
		body[k] = v
	}
	p := c.purchase("POST", "/purchases/", body)
	if p.Status != "created" || p.Purchase.Total != price || !strings.HasPrefix(p.CheckoutURL, c.env.URL+"/pay/") {
		c.t.Fatalf("new purchase: %+v", p)
	}
	return p
}

var (
	chipCSRF  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	chipTotal = regexp.MustCompile(`name="total"[^>]*value="([0-9]+)"`)
)

// payOnPage pays a purchase's checkout_url with card number as a browser
// posts the hosted form; the answer must be a 303.
func payOnPage(t *testing.T, env *Env, checkoutURL, number string) {
	t.Helper()
	postCheckout(t, env, checkoutURL, number)
}

// postCheckout posts the hosted form of checkoutURL with card number and
// returns where the 303 answer sends the browser.
func postCheckout(t *testing.T, env *Env, checkoutURL, number string) string {
	t.Helper()
	br := newPayBrowser(t, env)
	page := br.get(checkoutURL)
	csrf, total := chipCSRF.FindStringSubmatch(page.body), chipTotal.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || csrf == nil || total == nil {
		t.Fatalf("checkout page %d without its form:\n%s", page.status, page.body)
	}
	res := br.post(checkoutURL, url.Values{
		"action": {"pay"}, "csrf": {html.UnescapeString(csrf[1])}, "total": {total[1]},
		"email": {"payer@example.com"}, "name": {"Jana Payer"}, "country": {"DE"}, "postalCode": {"10115"},
		"cardNumber": {number}, "expiry": {"12 / " + strconv.Itoa(time.Now().Year()+3)}, "cvc": {"123"},
	}, env.URL)
	if res.status != http.StatusSeeOther {
		t.Fatalf("checkout form: %d\n%s", res.status, res.body)
	}
	return res.header.Get("Location")
}

// attemptTypes lists a purchase's attempts, newest first, as type:successful:error code.
func attemptTypes(p *chip.Purchase) string {
	var out []string
	for _, a := range p.TransactionData.Attempts {
		s := a.Type + ":" + strconv.FormatBool(a.Successful)
		if a.Error != nil {
			s += ":" + a.Error.Code
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// historyOf lists a purchase's status_history.
func historyOf(p *chip.Purchase) string {
	var out []string
	for _, h := range p.StatusHistory {
		out = append(out, h.Status)
	}
	return strings.Join(out, ",")
}

// TestChipRecurring: a purchase paid on its checkout_url saves the card as
// a recurring token; other purchases of the client are charged with it,
// named as the paid purchase (CHIP's form) or as the client's token; the
// token is deleted with delete_recurring_token.
func TestChipRecurring(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		first := c.newPurchase(1190, map[string]any{"client": map[string]any{"email": "payer@example.com", "full_name": "Jana Payer"}},
			map[string]any{"success_redirect": "https://shop.example/thanks", "reference": "order-17", "send_receipt": true})
		if first.Client.Email != "payer@example.com" || first.ClientID == nil || first.IsRecurringToken || first.Payment != nil ||
			first.Reference != "order-17" || first.SuccessRedirect != "https://shop.example/thanks" || first.RefundableAmount != 0 {
			t.Fatalf("created: %+v", first)
		}
		payOnPage(t, env, first.CheckoutURL, "4242424242424242")
		paid := c.purchase("GET", "/purchases/"+first.ID+"/", nil)
		if paid.Status != "paid" || !paid.IsRecurringToken || paid.RecurringToken != nil || paid.Payment == nil ||
			paid.Payment.Amount != 1190 || paid.RefundableAmount != 1190 || historyOf(paid) != "created,pending_execute,paid" ||
			attemptTypes(paid) != "execute:true" || *paid.ClientID != *first.ClientID || paid.Purchase.TaxAmount != 190 {
			t.Fatalf("paid on the page: %+v", paid)
		}
		var tokens tokenPage
		c.ok("GET", "/clients/"+*first.ClientID+"/recurring_tokens/", nil, &tokens)
		if len(tokens.Results) != 1 || !strings.Contains(tokens.Results[0].Description, "4242") {
			t.Fatalf("tokens: %+v", tokens)
		}
		token := tokens.Results[0].RecurringToken

		// CHIP's form: the recurring token is the purchase that saved it.
		second := c.newPurchase(2380, map[string]any{"client_id": *first.ClientID}, nil)
		charged := c.purchase("POST", "/purchases/"+second.ID+"/charge/", map[string]any{"recurring_token": first.ID})
		if charged.Status != "paid" || charged.RecurringToken == nil || *charged.RecurringToken != token || charged.IsRecurringToken ||
			attemptTypes(charged) != "recurring_execute:true" || historyOf(charged) != "created,pending_charge,paid" ||
			charged.Payment == nil || charged.Payment.Amount != 2380 {
			t.Fatalf("charged with the purchase as token: %+v", charged)
		}
		// A purchase already paid cannot be charged again.
		e := c.fails("POST", "/purchases/"+second.ID+"/charge/", map[string]any{"recurring_token": token}, 400)
		if e["__all__"][0].Code != "invalid_status" {
			t.Fatalf("second charge: %+v", e)
		}
		// The client's token itself, on a purchase made for the same email.
		third := c.newPurchase(500, map[string]any{"client": map[string]any{"email": "payer@example.com"}}, nil)
		if *third.ClientID != *first.ClientID {
			t.Fatalf("purchase for the same email has another client: %s", *third.ClientID)
		}
		if got := c.purchase("POST", "/purchases/"+third.ID+"/charge/", map[string]any{"recurring_token": token}); got.Status != "paid" {
			t.Fatalf("charged with the client's token: %+v", got)
		}
		// Refunds: in part, then the rest.
		var ref chip.Refund
		c.ok("POST", "/purchases/"+second.ID+"/refund/", map[string]any{"amount": 1000}, &ref)
		if ref.Type != "payment" || ref.Status != "success" || ref.Payment.Amount != 1000 || !ref.Payment.IsOutgoing || ref.RelatedTo.ID != second.ID {
			t.Fatalf("part refund: %+v", ref)
		}
		got := c.purchase("GET", "/purchases/"+second.ID+"/", nil)
		if got.Status != "refunded" || got.RefundableAmount != 1380 || got.RefundAvailability != "all" {
			t.Fatalf("after part refund: %+v", got)
		}
		e = c.fails("POST", "/purchases/"+second.ID+"/refund/", map[string]any{"amount": 1381}, 400)
		if e["amount"][0].Code != "invalid" {
			t.Fatalf("refund of too much: %+v", e)
		}
		c.ok("POST", "/purchases/"+second.ID+"/refund/", nil, &ref)
		if got = c.purchase("GET", "/purchases/"+second.ID+"/", nil); ref.Payment.Amount != 1380 || got.RefundableAmount != 0 || got.RefundAvailability != "none" {
			t.Fatalf("after full refund: %+v %+v", ref, got)
		}
		// delete_recurring_token detaches the card: the purchase is no
		// token any more and charging with it finds nothing.
		deleted := c.purchase("POST", "/purchases/"+first.ID+"/delete_recurring_token/", nil)
		if deleted.IsRecurringToken || deleted.Status != "paid" {
			t.Fatalf("deleted token: %+v", deleted)
		}
		c.ok("GET", "/clients/"+*first.ClientID+"/recurring_tokens/", nil, &tokens)
		if len(tokens.Results) != 0 {
			t.Fatalf("tokens after delete: %+v", tokens)
		}
		fourth := c.newPurchase(500, map[string]any{"client_id": *first.ClientID}, nil)
		for _, tok := range []string{first.ID, token} {
			if e := c.fails("POST", "/purchases/"+fourth.ID+"/charge/", map[string]any{"recurring_token": tok}, 404); e["recurring_token"][0].Code != "not_found" {
				t.Fatalf("charge with a deleted token: %+v", e)
			}
		}
		c.fails("POST", "/purchases/"+first.ID+"/delete_recurring_token/", nil, 400)
		if got := c.purchase("GET", "/purchases/"+fourth.ID+"/", nil); got.Status != "created" || len(got.TransactionData.Attempts) != 0 {
			t.Fatalf("purchase after refused charges: %+v", got)
		}
	})
}

// TestChipHold: skip_capture purchases are held when paid on the page,
// then captured in part or released.
func TestChipHold(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		client := map[string]any{"client": map[string]any{"email": "hold@example.com"}}
		held := c.newPurchase(1190, client, map[string]any{"skip_capture": true})
		if !held.SkipCapture {
			t.Fatalf("skip_capture not shown: %+v", held)
		}
		payOnPage(t, env, held.CheckoutURL, "4242424242424242")
		got := c.purchase("GET", "/purchases/"+held.ID+"/", nil)
		if got.Status != "hold" || got.RefundableAmount != 0 || !got.IsRecurringToken || got.Payment == nil || historyOf(got) != "created,pending_execute,hold" {
			t.Fatalf("held: %+v", got)
		}
		if e := c.fails("POST", "/purchases/"+held.ID+"/capture/", map[string]any{"amount": 1191}, 400); e["amount"] == nil {
			t.Fatalf("capture of more than held: %+v", e)
		}
		captured := c.purchase("POST", "/purchases/"+held.ID+"/capture/", map[string]any{"amount": 595})
		if captured.Status != "paid" || captured.Payment.Amount != 595 || captured.RefundableAmount != 595 ||
			historyOf(captured) != "created,pending_execute,hold,paid" || attemptTypes(captured) != "capture:true,execute:true" {
			t.Fatalf("captured in part: %+v", captured)
		}

		released := c.newPurchase(1000, client, map[string]any{"skip_capture": true})
		payOnPage(t, env, released.CheckoutURL, "5555555555554444")
		got = c.purchase("POST", "/purchases/"+released.ID+"/release/", nil)
		if got.Status != "released" || got.RefundableAmount != 0 || historyOf(got) != "created,pending_execute,hold,released" {
			t.Fatalf("released: %+v", got)
		}
		if e := c.fails("POST", "/purchases/"+released.ID+"/capture/", nil, 400); e["__all__"][0].Code != "invalid_status" {
			t.Fatalf("capture after release: %+v", e)
		}

		// A recurring charge of a skip_capture purchase holds too.
		clientID, token := chipClientWithCard(t, env, c, "4242424242424242")
		charged := c.newPurchase(800, map[string]any{"client_id": clientID}, map[string]any{"skip_capture": true})
		got = c.purchase("POST", "/purchases/"+charged.ID+"/charge/", map[string]any{"recurring_token": token})
		if got.Status != "hold" || attemptTypes(got) != "recurring_execute:true" || got.RecurringToken == nil || *got.RecurringToken != token {
			t.Fatalf("charged hold: %+v", got)
		}
		if got = c.purchase("POST", "/purchases/"+charged.ID+"/capture/", nil); got.Status != "paid" || got.Payment.Amount != 800 {
			t.Fatalf("charged hold captured: %+v", got)
		}
	})
}

// TestChipCancel: a purchase nobody paid is cancelled (again: a no-op) and
// can then be neither paid nor charged.
func TestChipCancel(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		p := c.newPurchase(1000, map[string]any{"client": map[string]any{"email": "cancel@example.com"}}, nil)
		for range 2 {
			if got := c.purchase("POST", "/purchases/"+p.ID+"/cancel/", nil); got.Status != "cancelled" || historyOf(got) != "created,cancelled" {
				t.Fatalf("cancelled: %+v", got)
			}
		}
		if e := c.fails("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": p.ID}, 400); e["__all__"][0].Code != "invalid_status" {
			t.Fatalf("charge of a cancelled purchase: %+v", e)
		}
		if page := newPayBrowser(t, env).get(p.CheckoutURL); !strings.Contains(page.body, "canceled") {
			t.Fatalf("checkout page of a cancelled purchase:\n%s", page.body)
		}
	})
}

// tokenPage is the answer of GET /clients/{id}/recurring_tokens/.
type tokenPage struct {
	Results []struct {
		ID             string `json:"id"`
		RecurringToken string `json:"recurring_token"`
		Description    string `json:"description"`
	} `json:"results"`
}

// chipClientWithCard creates a client over the dialect and saves card
// number on it with the native API; it returns the client's id and its
// recurring token.
func chipClientWithCard(t *testing.T, env *Env, c *chipClient, number string) (string, string) {
	t.Helper()
	var cl chip.Client
	c.ok("POST", "/clients/", map[string]any{"email": "merchant-saved@example.com", "full_name": "Max Muster", "country": "DE"}, &cl)
	if cl.Type != "client" || cl.Email != "merchant-saved@example.com" || cl.Country != "DE" {
		t.Fatalf("client: %+v", cl)
	}
	var again chip.Client
	c.ok("GET", "/clients/"+cl.ID+"/", nil, &again)
	if again.ID != cl.ID || again.FullName != "Max Muster" {
		t.Fatalf("client read back: %+v", again)
	}
	customerID := tillIDOf(t, cl.ID, "cus_")
	pm := env.Card(customerID, number)
	var tokens tokenPage
	c.ok("GET", "/clients/"+cl.ID+"/recurring_tokens/", nil, &tokens)
	if len(tokens.Results) != 1 || tillIDOf(t, tokens.Results[0].RecurringToken, "pm_") != pm.ID {
		t.Fatalf("tokens of %s: %+v", pm.ID, tokens)
	}
	return cl.ID, tokens.Results[0].RecurringToken
}

// TestChipChargeFailure: a declined recurring charge is 400
// purchase_charge_error; the purchase records the attempt with its error,
// waits again, keeps the client's token, and can then be paid.
func TestChipChargeFailure(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		clientID, token := chipClientWithCard(t, env, c, "4000000000000002")
		p := c.newPurchase(1000, map[string]any{"client_id": clientID}, nil)
		e := c.fails("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": token}, 400)
		if len(e["__all__"]) != 1 || e["__all__"][0].Code != "purchase_charge_error" {
			t.Fatalf("declined charge: %+v", e)
		}
		got := c.purchase("GET", "/purchases/"+p.ID+"/", nil)
		a := got.TransactionData.Attempts
		if got.Status != "error" || len(a) != 1 || a[0].Type != "recurring_execute" || a[0].Successful || a[0].Error == nil ||
			a[0].Error.Code != "generic_decline" || a[0].Error.Message == "" || got.Payment != nil || historyOf(got) != "created,pending_charge,error" {
			t.Fatalf("after the decline: %+v", got)
		}
		var tokens tokenPage
		c.ok("GET", "/clients/"+clientID+"/recurring_tokens/", nil, &tokens)
		if len(tokens.Results) != 1 {
			t.Fatalf("the declined token was dropped: %+v", tokens)
		}
		// Another client's token is refused and changes nothing.
		_, otherToken := chipClientWithCard(t, env, c, "4242424242424242")
		if e := c.fails("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": otherToken}, 400); e["recurring_token"][0].Code != "invalid" {
			t.Fatalf("another client's token: %+v", e)
		}
		payOnPage(t, env, p.CheckoutURL, "4242424242424242")
		got = c.purchase("GET", "/purchases/"+p.ID+"/", nil)
		if got.Status != "paid" || attemptTypes(got) != "execute:true,recurring_execute:false:generic_decline" {
			t.Fatalf("paid after the decline: %+v", got)
		}
	})
}

// TestChipPendingCharge: a slow acquirer answers 200 pending_charge; the
// reconciler settles the purchase paid, or error with the attempt's decline.
func TestChipPendingCharge(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		for _, tc := range []struct{ card, status, attempts string }{
			{"4000000000001000", "paid", "recurring_execute:true"},
			{"4000000000002008", "error", "recurring_execute:false:insufficient_funds"},
		} {
			clientID, token := chipClientWithCard(t, env, c, tc.card)
			p := c.newPurchase(1000, map[string]any{"client_id": clientID}, nil)
			got := c.purchase("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": token})
			if got.Status != "pending_charge" || got.Payment != nil || attemptTypes(got) != "recurring_execute:false" {
				t.Fatalf("%s: slow charge: %+v", tc.card, got)
			}
			env.Eventually(12*time.Second, tc.card+" to settle", func() bool {
				got = c.purchase("GET", "/purchases/"+p.ID+"/", nil)
				return got.Status != "pending_charge"
			})
			if got.Status != tc.status || attemptTypes(got) != tc.attempts || historyOf(got) != "created,pending_charge,"+tc.status {
				t.Fatalf("%s: settled: %+v", tc.card, got)
			}
			if recs := records(t, env, tillIDOf(t, p.ID, "pay_")); len(recs) != 1 {
				t.Fatalf("%s: charged other than once: %+v", tc.card, recs)
			}
		}
	})
}

// tillIDOf is the Till id of a UUID the dialect showed.
func tillIDOf(t *testing.T, u, prefix string) string {
	t.Helper()
	id, ok := till.IDFromUUID(prefix, u)
	if !ok {
		t.Fatalf("%q is no UUID", u)
	}
	return id
}

// uuidOf is the UUID of a Till id.
func uuidOf(t *testing.T, id, prefix string) string {
	t.Helper()
	u, ok := till.IDToUUID(id, prefix)
	if !ok {
		t.Fatalf("%q has no UUID", id)
	}
	return u
}

// TestChipErrors: bad requests are 400 in CHIP's error shape naming each
// field, and nothing is written; wrong keys are 401/403; another account's
// or mode's purchases and clients are 404.
func TestChipErrors(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		good := map[string]any{"client": map[string]any{"email": "x@example.com"},
			"purchase": map[string]any{"currency": "EUR", "products": []any{map[string]any{"name": "Plan", "price": 1000}}}}
		with := func(k string, v any) map[string]any {
			out := map[string]any{}
			for kk, vv := range good {
				out[kk] = vv
			}
			out[k] = v
			return out
		}
		for _, tc := range []struct {
			name   string
			body   any
			fields []string
			code   string
		}{
			{"not JSON", "{", []string{"__all__"}, "parse_error"},
			{"not an object", "[]", []string{"__all__"}, "parse_error"},
			{"unknown field", with("total_override", 5), []string{"total_override"}, "unknown_field"},
			{"wrong type", with("skip_capture", "yes"), []string{"skip_capture"}, "invalid"},
			{"no purchase", map[string]any{"client": map[string]any{"email": "x@example.com"}}, []string{"purchase"}, "invalid"},
			{"no client", map[string]any{"purchase": good["purchase"]}, []string{"client"}, "invalid"},
			{"client without email", with("client", map[string]any{"full_name": "X"}), []string{"client.email"}, "invalid"},
			{"bad client email", with("client", map[string]any{"email": "nope"}), []string{"client.email"}, "invalid"},
			{"bad products", with("purchase", map[string]any{"currency": "XXX", "products": []any{
				map[string]any{"name": "", "price": -1}, map[string]any{"name": "B", "price": 1, "quantity": 0}}}),
				[]string{"purchase.currency", "purchase.products[0].name", "purchase.products[0].price", "purchase.products[1].quantity"}, "invalid"},
			{"fractional quantity", with("purchase", map[string]any{"currency": "EUR", "products": []any{
				map[string]any{"name": "A", "price": 1, "quantity": "1.5"}, map[string]any{"name": "B", "price": 1, "quantity": 1.25}}}),
				[]string{"purchase.products[0].quantity", "purchase.products[1].quantity"}, "invalid"},
			{"price too large", with("purchase", map[string]any{"currency": "EUR", "products": []any{
				map[string]any{"name": "A", "price": 999_999_999_999, "quantity": 1_000_000}}}), []string{"purchase.products[0]"}, "max_value"},
			{"no products", with("purchase", map[string]any{"currency": "EUR"}), []string{"purchase.products"}, "invalid"},
			{"discount", with("purchase", map[string]any{"currency": "EUR", "products": []any{map[string]any{"name": "A", "price": 1, "discount": 1}}}),
				[]string{"purchase.products[0].discount"}, "invalid"},
			{"cancel_redirect", with("cancel_redirect", "https://shop.example/back"), []string{"cancel_redirect"}, "invalid"},
			{"bad failure_redirect", with("failure_redirect", "ftp://shop.example/failed"), []string{"failure_redirect"}, "invalid"},
			{"callback", with("success_callback", "https://shop.example/cb"), []string{"success_callback"}, "invalid"},
			{"due without due_strict", with("due", time.Now().Add(time.Hour).Unix()), []string{"due"}, "invalid"},
			{"another brand", with("brand_id", "0190b7c8-7e2a-7c3d-8e4f-5a6b7c8d9e0f"), []string{"brand_id"}, "invalid"},
			{"bad success_redirect", with("success_redirect", "javascript:alert(1)"), []string{"success_redirect"}, "invalid"},
			{"unknown client_id", map[string]any{"client_id": "0190b7c8-7e2a-7c3d-8e4f-5a6b7c8d9e0f", "purchase": good["purchase"]}, []string{"client_id"}, "not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status := 400
				if tc.code == "not_found" {
					status = 404
				}
				e := c.fails("POST", "/purchases/", tc.body, status)
				for _, f := range tc.fields {
					if len(e[f]) == 0 || e[f][0].Code != tc.code {
						t.Errorf("want %s on %s, got %+v", tc.code, f, e)
					}
				}
			})
		}
		if list := Must[[]api.Payment](t)(listAll(env)); len(list) != 0 {
			t.Fatalf("refused purchases were written: %d", len(list))
		}
		// A due with due_strict ends the purchase then.
		due := time.Now().Add(2 * time.Hour).Unix()
		strict := with("due", due)
		strict["purchase"] = map[string]any{"currency": "EUR", "due_strict": true, "products": []any{map[string]any{"name": "Plan", "price": 1000}}}
		p := c.purchase("POST", "/purchases/", strict)
		if p.Due != due {
			t.Fatalf("due: %d, want %d", p.Due, due)
		}

		for _, tc := range []struct {
			key    string
			status int
			code   string
		}{
			{"", 401, "not_authenticated"},
			{"sk_test_nope", 401, "authentication_failed"},
			{env.Keys.TestPublishableKey, 403, "permission_denied"},
		} {
			cc := &chipClient{t: t, env: env, key: tc.key}
			for _, path := range []string{"/purchases/" + p.ID + "/", "/clients/" + *p.ClientID + "/"} {
				if e := cc.fails("GET", path, nil, tc.status); e["__all__"][0].Code != tc.code {
					t.Fatalf("key %q: %+v", tc.key, e)
				}
			}
		}
		other := Must[*service.AccountKeys](t)(env.Service.CreateAccount(context.Background(), nil, service.NewAccountParams{Name: "Other", Country: "DE"}))
		for _, key := range []string{other.TestSecretKey, env.Keys.LiveSecretKey} {
			cc := &chipClient{t: t, env: env, key: key}
			for _, path := range []string{"/purchases/" + p.ID + "/", "/clients/" + *p.ClientID + "/", "/clients/" + *p.ClientID + "/recurring_tokens/"} {
				cc.fails("GET", path, nil, 404)
			}
			for _, action := range []string{"charge", "capture", "release", "refund", "cancel", "delete_recurring_token"} {
				body := map[string]any{}
				if action == "charge" {
					body["recurring_token"] = p.ID
				}
				cc.fails("POST", "/purchases/"+p.ID+"/"+action+"/", body, 404)
			}
		}
		// Ids that are no UUID are not found, unless they are Till's own
		// (which the dialect shows for ids without a UUID); a native
		// charge is no purchase.
		for _, id := range []string{"nope", "pay_test123", "cus_" + p.ID} {
			c.fails("GET", "/purchases/"+id+"/", nil, 404)
		}
		if got := c.purchase("GET", "/purchases/"+tillIDOf(t, p.ID, "pay_")+"/", nil); got.ID != p.ID {
			t.Fatalf("purchase by its Till id: %+v", got)
		}
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		charge := Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		c.fails("GET", "/purchases/"+uuidOf(t, charge.ID, "pay_")+"/", nil, 404)
		c.fails("POST", "/purchases/"+uuidOf(t, charge.ID, "pay_")+"/refund/", nil, 404)
		// A path that is not canonical is 404 in CHIP's shape, with a
		// request id.
		for _, path := range []string{"/purchases/a/../b/", "/purchases//", "/clients/./x/"} {
			req, _ := http.NewRequestWithContext(env.Ctx(), "GET", env.URL+"/api/v1"+path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 404 || res.Header.Get("Request-Id") == "" || !strings.Contains(string(body), `"__all__"`) {
				t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
			}
		}
		// The paths work without their trailing slash too.
		if got := c.purchase("GET", "/purchases/"+p.ID, nil); got.ID != p.ID {
			t.Fatalf("purchase without the trailing slash: %+v", got)
		}
		// Wrong methods and unknown paths answer in CHIP's shape too.
		c.fails("DELETE", "/purchases/"+p.ID+"/", nil, 405)
		c.fails("GET", "/purchases/"+p.ID+"/nope/", nil, 404)
		c.fails("POST", "/purchases/"+p.ID+"/charge/", map[string]any{}, 400)
	})
}

// listAll lists the test account's payments.
func listAll(env *Env) ([]api.Payment, error) {
	page, err := env.Client.Payments(env.Ctx(), client.ListParams{Limit: 100})
	if err != nil {
		return nil, err
	}
	return page.Data, nil
}

// TestChipContract: a Purchase carries every field of seed 001's Purchase
// object with the JSON type the seed gives it.
func TestChipContract(t *testing.T) {
	t.Parallel()
	env := Start(t, SQLite)
	c := newChip(t, env)
	p := c.newPurchase(1000, map[string]any{"client": map[string]any{"email": "contract@example.com"}}, nil)
	payOnPage(t, env, p.CheckoutURL, "4242424242424242")
	_, raw := c.do("GET", "/purchases/"+p.ID+"/", nil)
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	// The seed's fields and types: "string", "integer", "boolean",
	// "object", "array", with "|null" where the seed allows null.
	seed := map[string]string{
		"type": "string", "id": "string", "created_on": "integer", "updated_on": "integer", "client": "object",
		"purchase": "object", "payment": "object|null", "issuer_details": "object", "transaction_data": "object",
		"status": "string", "status_history": "array", "viewed_on": "integer|null", "company_id": "string",
		"is_test": "boolean", "user_id": "string|null", "brand_id": "string", "billing_template_id": "string|null",
		"client_id": "string|null", "send_receipt": "boolean", "is_recurring_token": "boolean",
		"recurring_token": "string|null", "skip_capture": "boolean", "force_recurring": "boolean",
		"reference_generated": "string", "reference": "string", "issued": "string", "due": "integer",
		"refund_availability": "string", "refundable_amount": "integer", "currency_conversion": "object|null",
		"payment_method_whitelist": "array", "success_redirect": "string", "failure_redirect": "string",
		"cancel_redirect": "string", "success_callback": "string", "creator_agent": "string", "platform": "string",
		"product": "string", "created_from_ip": "string", "invoice_url": "string", "checkout_url": "string",
		"direct_post_url": "string|null", "marked_as_paid": "boolean", "order_id": "string",
	}
	for field, want := range seed {
		v, ok := got[field]
		if !ok {
			t.Errorf("field %s is missing", field)
			continue
		}
		if typ := jsonType(v); !strings.Contains("|"+want+"|", "|"+typ+"|") {
			t.Errorf("field %s is %s, the seed says %s", field, typ, want)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, f := range []string{"id", "company_id", "brand_id", "client_id"} {
		if s, _ := got[f].(string); !uuid.MatchString(s) {
			t.Errorf("%s = %v is no UUIDv7", f, got[f])
		}
	}
	statuses := map[string]bool{}
	for _, s := range strings.Split("created sent viewed error cancelled overdue expired blocked hold released pending_release pending_capture preauthorized paid pending_execute pending_charge cleared settled chargeback pending_refund refunded", " ") {
		statuses[s] = true
	}
	if !statuses[got["status"].(string)] {
		t.Errorf("status %v is not one of CHIP's", got["status"])
	}
	for _, h := range got["status_history"].([]any) {
		entry := h.(map[string]any)
		if !statuses[entry["status"].(string)] || jsonType(entry["timestamp"]) != "integer" {
			t.Errorf("status_history entry %v", entry)
		}
	}
	purchase := got["purchase"].(map[string]any)
	for field, want := range map[string]string{"currency": "string", "products": "array", "total": "integer", "due_strict": "boolean"} {
		if typ := jsonType(purchase[field]); typ != want {
			t.Errorf("purchase.%s is %s, want %s", field, typ, want)
		}
	}
	attempts := got["transaction_data"].(map[string]any)["attempts"].([]any)
	if len(attempts) != 1 || jsonType(attempts[0].(map[string]any)["error"]) != "null" {
		t.Errorf("transaction_data.attempts: %v", attempts)
	}
	payment := got["payment"].(map[string]any)
	for field, want := range map[string]string{"amount": "integer", "currency": "string", "paid_on": "integer", "is_outgoing": "boolean"} {
		if typ := jsonType(payment[field]); typ != want {
			t.Errorf("payment.%s is %s, want %s", field, typ, want)
		}
	}
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// TestChipChargeOnce: five charges of one purchase at once take the money
// once (one 200, the others 400 invalid_status); a repeat with the same
// Idempotency-Key gets the first answer without another charge, and the
// key reused for another request is refused.
func TestChipChargeOnce(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		clientID, token := chipClientWithCard(t, env, c, "4242424242424242")
		p := c.newPurchase(1000, map[string]any{"client_id": clientID}, nil)
		statuses := make(chan int, 5)
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				status, _ := c.do("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": token})
				statuses <- status
			})
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[200] != 1 || count[400] != 4 {
			t.Fatalf("five charges at once answered %v", count)
		}
		if recs := records(t, env, tillIDOf(t, p.ID, "pay_")); len(recs) != 1 {
			t.Fatalf("charged %d times", len(recs))
		}

		q := c.newPurchase(700, map[string]any{"client_id": clientID}, nil)
		send := func(key string, body any) (int, []byte) {
			t.Helper()
			j, _ := json.Marshal(body)
			req, _ := http.NewRequestWithContext(env.Ctx(), "POST", env.URL+"/api/v1/purchases/"+q.ID+"/charge/", bytes.NewReader(j))
			req.Header.Set("Authorization", "Bearer "+env.Keys.TestSecretKey)
			req.Header.Set("Idempotency-Key", key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			out, _ := io.ReadAll(res.Body)
			return res.StatusCode, out
		}
		first, firstBody := send("charge-q", map[string]any{"recurring_token": token})
		again, againBody := send("charge-q", map[string]any{"recurring_token": token})
		if first != 200 || again != 200 {
			t.Fatalf("keyed charge: %d %s, repeat %d %s", first, firstBody, again, againBody)
		}
		var a, b2 chip.Purchase
		if json.Unmarshal(firstBody, &a) != nil || json.Unmarshal(againBody, &b2) != nil || a.Status != "paid" || b2.Status != "paid" ||
			len(b2.TransactionData.Attempts) != 1 {
			t.Fatalf("keyed charge answers: %s / %s", firstBody, againBody)
		}
		if recs := records(t, env, tillIDOf(t, q.ID, "pay_")); len(recs) != 1 {
			t.Fatalf("keyed charge repeated charged %d times", len(recs))
		}
		if status, body := send("charge-q", map[string]any{"recurring_token": q.ID}); status != 422 || !strings.Contains(string(body), "idempotency_key_reused") {
			t.Fatalf("key reused for another body: %d %s", status, body)
		}
	})
}

// TestChipChargeAuthentication: a recurring charge the issuer wants
// authenticated is 400 purchase_charge_error with the attempt's
// authentication_required; the payer completes it on the purchase's
// checkout_url and the purchase is paid.
func TestChipChargeAuthentication(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		clientID, token := chipClientWithCard(t, env, c, "4000002760003184")
		p := c.newPurchase(1000, map[string]any{"client_id": clientID}, nil)
		if e := c.fails("POST", "/purchases/"+p.ID+"/charge/", map[string]any{"recurring_token": token}, 400); e["__all__"][0].Code != "purchase_charge_error" {
			t.Fatalf("charge needing authentication: %+v", e)
		}
		got := c.purchase("GET", "/purchases/"+p.ID+"/", nil)
		if got.Status != "pending_execute" || attemptTypes(got) != "recurring_execute:false:authentication_required" {
			t.Fatalf("purchase needing authentication: %+v", got)
		}
		br := newPayBrowser(t, env)
		pg := br.get(p.CheckoutURL)
		if res := br.post(p.CheckoutURL, url.Values{"action": {"approve"}, "csrf": {formToken(t, pg)}}, env.URL); res.status != http.StatusSeeOther {
			t.Fatalf("authentication: %d\n%s", res.status, res.body)
		}
		got = c.purchase("GET", "/purchases/"+p.ID+"/", nil)
		if got.Status != "paid" || got.Payment == nil || got.Payment.Amount != 1000 {
			t.Fatalf("after authentication: %+v", got)
		}
	})
}

// TestChipFailureRedirect: a payer whose card is declined on the hosted
// page is sent to failure_redirect (a card refused when verified too); the
// purchase waits for them again, and once paid they go to
// success_redirect.
func TestChipFailureRedirect(t *testing.T) {
	eachChip(t, func(t *testing.T, env *Env, c *chipClient) {
		p := c.newPurchase(1000, map[string]any{"client": map[string]any{"email": "payer@example.com"}},
			map[string]any{"success_redirect": "https://shop.example/thanks", "failure_redirect": "https://shop.example/failed"})
		if p.FailureRedirect != "https://shop.example/failed" {
			t.Fatalf("failure_redirect not shown: %+v", p)
		}
		for _, card := range []string{"4000000000000002", "4000000000000127"} {
			if to := postCheckout(t, env, p.CheckoutURL, card); to != "https://shop.example/failed" {
				t.Fatalf("declined card %s sent the payer to %q", card, to)
			}
		}
		got := c.purchase("GET", "/purchases/"+p.ID+"/", nil)
		if got.Status != "error" || attemptTypes(got) != "execute:false:generic_decline" {
			t.Fatalf("after the declines: %+v", got)
		}
		if to := postCheckout(t, env, p.CheckoutURL, "4242424242424242"); to == "https://shop.example/failed" {
			t.Fatalf("paid, the payer was sent to the failure URL")
		}
		page := newPayBrowser(t, env).get(p.CheckoutURL)
		if got = c.purchase("GET", "/purchases/"+p.ID+"/", nil); got.Status != "paid" || !strings.Contains(page.body, "https://shop.example/thanks") {
			t.Fatalf("paid: %s\n%s", got.Status, page.body)
		}

		// A payer who declines the issuer's challenge goes there too.
		clientID, token := chipClientWithCard(t, env, c, "4000002760003184")
		q := c.newPurchase(1000, map[string]any{"client_id": clientID}, map[string]any{"failure_redirect": "https://shop.example/failed"})
		c.fails("POST", "/purchases/"+q.ID+"/charge/", map[string]any{"recurring_token": token}, 400)
		br := newPayBrowser(t, env)
		pg := br.get(q.CheckoutURL)
		res := br.post(q.CheckoutURL, url.Values{"action": {"decline"}, "csrf": {formToken(t, pg)}}, env.URL)
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "https://shop.example/failed" {
			t.Fatalf("declined challenge: %d %s", res.status, res.header.Get("Location"))
		}
		if got = c.purchase("GET", "/purchases/"+q.ID+"/", nil); got.Status != "error" {
			t.Fatalf("after the declined challenge: %+v", got)
		}
	})
}
