package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// testCards are every number of SPEC §4a.
var testCards = []string{
	"4242424242424242", "5555555555554444", "378282246310005", "4000000000000127", "4000000000000069",
	"4000000000000002", "4000000000009995", "4000000000000119", "4000002760003184", "4000000000000259",
	"4000000000001000", "4000000000002008", "4000000000003006", "4000000000004004",
}

// TestVaultCard checks the saved card object for each brand.
func TestVaultCard(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust := env.Customer("DE")
		year := time.Now().Year() + 3
		for _, tc := range []struct{ number, brand, last4 string }{
			{"4242 4242 4242 4242", "visa", "4242"}, {"5555-5555-5555-4444", "mastercard", "4444"}, {"378282246310005", "amex", "0005"},
		} {
			in := card(strings.NewReplacer(" ", "", "-", "").Replace(tc.number))
			in.Number = tc.number
			pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: in}))
			if !strings.HasPrefix(pm.ID, "pm_") || pm.Object != "payment_method" || pm.Type != "card" || pm.Provider != "simulator" || pm.Livemode {
				t.Fatalf("%s: %+v", tc.number, pm)
			}
			if pm.CustomerID == nil || *pm.CustomerID != cust.ID || pm.Card.Brand != tc.brand || pm.Card.Last4 != tc.last4 ||
				pm.Card.ExpMonth != 12 || pm.Card.ExpYear != year || len(pm.Card.Fingerprint) < 16 {
				t.Fatalf("%s card: %+v", tc.number, pm.Card)
			}
			got := Must[*api.PaymentMethod](t)(env.Client.PaymentMethod(ctx, pm.ID))
			if jsonOf(t, got) != jsonOf(t, pm) {
				t.Fatalf("read differs:\n%s\n%s", jsonOf(t, got), jsonOf(t, pm))
			}
			raw := Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/payment-methods/"+pm.ID, nil))
			for _, leak := range []string{strings.NewReplacer(" ", "", "-", "").Replace(tc.number), "cvc", "holderName", "sealed", "Sealed"} {
				if bytes.Contains(raw.Body, []byte(leak)) {
					t.Fatalf("payment method JSON contains %q: %s", leak, raw.Body)
				}
			}
		}
		// Two-digit years mean 20YY.
		in := card("4242424242424242")
		in.ExpYear = year % 100
		if pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: in})); pm.Card.ExpYear != year {
			t.Fatalf("two-digit year: %d", pm.Card.ExpYear)
		}
		// A card expiring this month is still good.
		now := time.Now().UTC()
		in = card("4242424242424242")
		in.ExpMonth, in.ExpYear = int(now.Month()), now.Year()
		Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: in}))
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 5 {
			t.Fatalf("saved %d cards, want 5", len(l.Data))
		}
	})
}

// TestFingerprints checks that the same number gives the same fingerprint on
// different customers and different numbers different ones.
func TestFingerprints(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		_, a1 := env.CustomerWithCard("DE", "4242424242424242")
		_, a2 := env.CustomerWithCard("FR", "4242 4242 4242 4242")
		_, other := env.CustomerWithCard("DE", "4000056655665556")
		_, mc := env.CustomerWithCard("DE", "5555555555554444")
		if a1.Card.Fingerprint != a2.Card.Fingerprint {
			t.Fatalf("same card, different fingerprints: %s %s", a1.Card.Fingerprint, a2.Card.Fingerprint)
		}
		if a1.Card.Fingerprint == other.Card.Fingerprint || a1.Card.Fingerprint == mc.Card.Fingerprint || other.Card.Fingerprint == mc.Card.Fingerprint {
			t.Fatalf("different cards share a fingerprint")
		}
		if other.Card.Last4 != "5556" || other.Card.Brand != "visa" {
			t.Fatalf("other card: %+v", other.Card)
		}
		// A new expiry does not change the fingerprint.
		c := env.Customer("DE")
		in := card("4242424242424242")
		in.ExpYear++
		pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(env.Ctx(), c.ID, api.PaymentMethodCreate{Card: in}))
		if pm.Card.Fingerprint != a1.Card.Fingerprint {
			t.Fatalf("expiry changed the fingerprint")
		}
		if strings.Contains(a1.Card.Fingerprint, "4242") && strings.Contains(a1.Card.Fingerprint, "424242") {
			t.Fatalf("fingerprint looks like the number: %s", a1.Card.Fingerprint)
		}
	})
}

// TestCardValidation checks that bad card data is a 400 naming each field,
// whose body never holds the number, and that nothing is saved.
func TestCardValidation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust := env.Customer("DE")
		now := time.Now().UTC()
		year := now.Year() + 3
		type cardJSON = map[string]any
		for _, tc := range []struct {
			name   string
			card   cardJSON
			fields []string
		}{
			{"bad Luhn", cardJSON{"number": "4242424242424241", "expMonth": 12, "expYear": year, "cvc": "123"}, []string{"card.number"}},
			{"short", cardJSON{"number": "424242424242", "expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"too short", cardJSON{"number": "4242", "expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"too long", cardJSON{"number": "42424242424242424242", "expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"letters", cardJSON{"number": "4242x42424242424", "expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"missing number", cardJSON{"expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"amex length", cardJSON{"number": "3782822463100051", "expMonth": 12, "expYear": year}, []string{"card.number"}},
			{"past year", cardJSON{"number": "4242424242424242", "expMonth": 12, "expYear": now.Year() - 1}, []string{"card.expYear"}},
			{"month 13", cardJSON{"number": "4242424242424242", "expMonth": 13, "expYear": year}, []string{"card.expMonth"}},
			{"month 0", cardJSON{"number": "4242424242424242", "expMonth": 0, "expYear": year}, []string{"card.expMonth"}},
			{"year 3 digits", cardJSON{"number": "4242424242424242", "expMonth": 1, "expYear": 203}, []string{"card.expYear"}},
			{"far future", cardJSON{"number": "4242424242424242", "expMonth": 1, "expYear": now.Year() + 60}, []string{"card.expYear"}},
			{"cvc letters", cardJSON{"number": "4242424242424242", "expMonth": 12, "expYear": year, "cvc": "12a"}, []string{"card.cvc"}},
			{"cvc long", cardJSON{"number": "4242424242424242", "expMonth": 12, "expYear": year, "cvc": "12345"}, []string{"card.cvc"}},
			{"amex cvc", cardJSON{"number": "378282246310005", "expMonth": 12, "expYear": year, "cvc": "123"}, []string{"card.cvc"}},
			{"holder control", cardJSON{"number": "4242424242424242", "expMonth": 12, "expYear": year, "holderName": "a\u202eb"}, []string{"card.holderName"}},
			{"everything", cardJSON{"number": "4242424242424241", "expMonth": 13, "expYear": year, "cvc": "x"}, []string{"card.number", "card.expMonth", "card.cvc"}},
			{"expMonth type", cardJSON{"number": "4242424242424242", "expMonth": "12", "expYear": year}, []string{"card.expMonth"}},
		} {
			body, _ := json.Marshal(map[string]any{"card": tc.card})
			r := post(t, env, "/v1/customers/"+cust.ID+"/payment-methods", string(body))
			e := wantErrorResponse(t, r, 400, "validation_error")
			got := e.fields()
			if tc.name == "expMonth type" {
				// A wrong type is caught by the decoder, which names the
				// field by its path.
				if e.Error.Param != "card.expMonth" && e.Error.Param != "expMonth" {
					t.Fatalf("%s: param %q", tc.name, e.Error.Param)
				}
			} else if fmt.Sprint(got) != fmt.Sprint(tc.fields) || e.Error.Param != tc.fields[0] {
				t.Fatalf("%s: fields %v (param %q), want %v", tc.name, got, e.Error.Param, tc.fields)
			}
			if n, _ := tc.card["number"].(string); len(n) >= 6 && bytes.Contains(r.Body, []byte(n)) {
				t.Fatalf("%s: the error holds the number: %s", tc.name, r.Body)
			}
			if c, _ := tc.card["cvc"].(string); c != "" && bytes.Contains(r.Body, []byte(`"`+c+`"`)) {
				t.Fatalf("%s: the error holds the cvc: %s", tc.name, r.Body)
			}
		}
		// Last month, when there is one this year.
		if now.Month() > 1 {
			in := card("4242424242424242")
			in.ExpMonth, in.ExpYear = int(now.Month())-1, now.Year()
			_, err := env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: in})
			wantFields(t, APIError(t, err, 400, "validation_error"), "card.expMonth")
		}
		// No card, or a card and a token at once.
		_, err := env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{})
		wantFields(t, APIError(t, err, 400, "validation_error"), "card")
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), Token: "tok_x"})
		wantFields(t, APIError(t, err, 400, "validation_error"), "card")

		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 0 {
			t.Fatalf("invalid cards were saved: %+v", l.Data)
		}
		if c := Must[*api.Customer](t)(env.Client.Customer(ctx, cust.ID)); c.DefaultPaymentMethodID != nil {
			t.Fatalf("default set by invalid cards: %+v", c)
		}
	})
}

// TestSaveTimeDeclines checks the two cards the simulator refuses at save
// time: a 402 with the decline code, and nothing saved.
func TestSaveTimeDeclines(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust := env.Customer("DE")
		for number, code := range map[string]string{"4000000000000127": "incorrect_cvc", "4000000000000069": "expired_card"} {
			r := post(t, env, "/v1/customers/"+cust.ID+"/payment-methods", fmt.Sprintf(`{"card":{"number":%q,"expMonth":12,"expYear":%d,"cvc":"123"},"setDefault":true}`, number, time.Now().Year()+3))
			e := wantErrorResponse(t, r, 402, "card_declined")
			var d client.Decline
			if json.Unmarshal(e.Error.Details, &d) != nil || d.DeclineCode != code || d.PaymentID != "" {
				t.Fatalf("%s: details %s", number, e.Error.Details)
			}
			if bytes.Contains(r.Body, []byte(number)) {
				t.Fatalf("decline holds the number: %s", r.Body)
			}
		}
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 0 {
			t.Fatalf("declined cards were saved: %+v", l.Data)
		}
		if c := Must[*api.Customer](t)(env.Client.Customer(ctx, cust.ID)); c.DefaultPaymentMethodID != nil {
			t.Fatalf("default set by a declined card: %+v", c)
		}
		if n := countPayments(t, env); n != 0 {
			t.Fatalf("save-time declines made %d payments", n)
		}
	})
}

// TestPANNeverInDatabase saves every test card (directly and as tokens),
// charges some and detaches one, then reads every file of the database — the
// database, its WAL and shared memory — for the card numbers.
func TestPANNeverInDatabase(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		if env.Path() == "" {
			t.Skip("the store is not a file")
		}
		pk := env.Client.WithKey(env.Keys.TestPublishableKey)
		cust := env.Customer("DE")
		var saved []*api.PaymentMethod
		for _, n := range testCards {
			pm, err := env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card(n)})
			if err != nil {
				if ce, ok := err.(*client.Error); !ok || ce.Code != "card_declined" {
					t.Fatalf("%s: %v", n, err)
				}
				continue
			}
			saved = append(saved, pm)
		}
		for _, n := range []string{"4242424242424242", "4000056655665556", "6011111111111117"} {
			tok := Must[*api.Token](t)(pk.CreateToken(ctx, api.TokenCreate{Card: card(n)}))
			if n != "6011111111111117" {
				Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok.ID}))
			}
		}
		for _, pm := range saved[:3] {
			Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: pm.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		}
		Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, saved[0].ID))

		numbers := append(append([]string{}, testCards...), "4000056655665556", "6011111111111117")
		for _, n := range numbers {
			for _, form := range []string{n, n[:4] + " " + n[4:8] + " " + n[8:12] + " " + n[12:]} {
				if f := filesContaining(t, env, []byte(form)); len(f) > 0 {
					t.Fatalf("card number %s…%s in clear text in %v", n[:6], n[len(n)-4:], f)
				}
			}
			// Nor base64-encoded, as JSON renders a []byte.
			if f := filesContaining(t, env, []byte(base64Of(n))); len(f) > 0 {
				t.Fatalf("card number %s…%s base64-encoded in %v", n[:6], n[len(n)-4:], f)
			}
		}
	})
}

// TestDefaultPaymentMethod checks the default method rules: the first card
// becomes the default, setDefault switches, the customer's PATCH switches,
// and detaching the default leaves none (a charge then names
// paymentMethodId).
func TestDefaultPaymentMethod(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust := env.Customer("DE")
		add := func(number string, setDefault bool) *api.PaymentMethod {
			return Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card(number), SetDefault: setDefault}))
		}
		defaultOf := func() string {
			t.Helper()
			c := Must[*api.Customer](t)(env.Client.Customer(ctx, cust.ID))
			l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID))
			flagged := ""
			for _, pm := range l.Data {
				if pm.IsDefault {
					if flagged != "" {
						t.Fatalf("two defaults in the list")
					}
					flagged = pm.ID
				}
			}
			def := ""
			if c.DefaultPaymentMethodID != nil {
				def = *c.DefaultPaymentMethodID
			}
			if def != flagged {
				t.Fatalf("customer default %q, list flags %q", def, flagged)
			}
			if def != "" && !Must[*api.PaymentMethod](t)(env.Client.PaymentMethod(ctx, def)).IsDefault {
				t.Fatalf("GET of the default says it is not")
			}
			return def
		}
		first := add("4242424242424242", false)
		if !first.IsDefault || defaultOf() != first.ID {
			t.Fatalf("the first card is not the default")
		}
		second := add("5555555555554444", false)
		if second.IsDefault || defaultOf() != first.ID {
			t.Fatalf("a second card without setDefault became the default")
		}
		third := add("4000056655665556", true)
		if !third.IsDefault || defaultOf() != third.ID {
			t.Fatalf("setDefault did not switch")
		}
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 3 || l.Data[0].ID != third.ID || l.Data[2].ID != first.ID {
			t.Fatalf("list (newest first): %+v", l.Data)
		}
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		if *p.PaymentMethodID != third.ID {
			t.Fatalf("charged %s, want the default %s", *p.PaymentMethodID, third.ID)
		}
		Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{DefaultPaymentMethodID: Str(second.ID)}))
		if defaultOf() != second.ID {
			t.Fatalf("PATCH defaultPaymentMethodId did not switch")
		}
		// Detaching a card that is not the default leaves the default.
		Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, first.ID))
		if defaultOf() != second.ID {
			t.Fatalf("detaching another card changed the default")
		}
		// Detaching the default leaves none.
		det := Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, second.ID))
		if det.ID != second.ID || det.IsDefault {
			t.Fatalf("detach answer: %+v", det)
		}
		if d := defaultOf(); d != "" {
			t.Fatalf("default after detaching it: %q", d)
		}
		_, err := env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "paymentMethodId" {
			t.Fatalf("charge without a default: %+v", ce)
		}
		p = Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: third.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		if p.Status != "succeeded" {
			t.Fatalf("explicit method: %+v", p)
		}
		// Setting a detached card, or none, as the default.
		_, err = env.Client.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{DefaultPaymentMethodID: Str(second.ID)})
		wantFields(t, APIError(t, err, 400, "validation_error"), "defaultPaymentMethodId")
		Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{DefaultPaymentMethodID: Str(third.ID)}))
		Must[*api.Customer](t)(env.Client.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{DefaultPaymentMethodID: Str("")}))
		if d := defaultOf(); d != "" {
			t.Fatalf("clearing the default: %q", d)
		}
		// With no default, the next card saved becomes it.
		fourth := add("5555555555554444", false)
		if !fourth.IsDefault || defaultOf() != fourth.ID {
			t.Fatalf("a card saved with no default present did not become it")
		}
	})
}

// TestDetachDestroysCard checks that a detached card cannot be read or
// charged, that its sealed number is gone from the store, and that no
// event holds it: after the store is closed (and its WAL checkpointed) no
// sealed card number is left in the database at all.
func TestDetachDestroysCard(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust, pm := env.CustomerWithCard("DE", "4242424242424242")
		_, otherPM := env.CustomerWithCard("DE", "5555555555554444")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		if stored := storedPM(t, env, pm.ID); len(stored.SealedPAN) == 0 || stored.DataKeyID == "" {
			t.Fatalf("a saved card has no sealed number")
		}

		// Another customer's card cannot be charged for this one.
		_, err := env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: otherPM.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "paymentMethodId" {
			t.Fatalf("another customer's card: %+v", ce)
		}

		det := Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, pm.ID))
		if det.ID != pm.ID || det.Card.Last4 != "4242" || det.Card.Fingerprint != pm.Card.Fingerprint {
			t.Fatalf("detach answer: %+v", det)
		}
		_, err = env.Client.PaymentMethod(ctx, pm.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.DetachPaymentMethod(ctx, pm.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: pm.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "paymentMethodId" {
			t.Fatalf("charge of a detached card: %+v", ce)
		}
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 0 {
			t.Fatalf("detached card still listed: %+v", l.Data)
		}
		stored := storedPM(t, env, pm.ID)
		if stored.SealedPAN != nil || stored.DataKeyID != "" || stored.DetachedAt == nil {
			t.Fatalf("detached card keeps its data: sealed %d bytes, key %q", len(stored.SealedPAN), stored.DataKeyID)
		}
		// The past payment still names the card.
		if got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID)); *got.PaymentMethodID != pm.ID || got.Status != "succeeded" {
			t.Fatalf("payment of a detached card: %+v", got)
		}

		// Detach the other customer's card too, so no card is left, then
		// close the store: SQLite checkpoints the WAL into the database and
		// secure_delete has overwritten what was deleted.
		Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, otherPM.ID))
		if env.Path() == "" {
			return
		}
		if err := env.Store.Close(); err != nil {
			t.Fatal(err)
		}
		if f := filesContaining(t, env, []byte(`"SealedPAN":"`)); len(f) > 0 {
			t.Fatalf("a sealed card number survives detaching every card, in %v", f)
		}
		if f := filesContaining(t, env, []byte(`"SealedPAN":null`)); len(f) == 0 {
			t.Fatalf("the scan finds no payment method at all; is it reading the database?")
		}
	})
}

// TestPaymentMethodEndpoints checks the edges of the payment-method routes:
// unknown customers and a token id where a method id is expected.
func TestPaymentMethodEndpoints(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		_, err := env.Client.AddPaymentMethod(ctx, "cus_nope", api.PaymentMethodCreate{Card: card("4242424242424242")})
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.PaymentMethods(ctx, "cus_nope")
		APIError(t, err, 404, "resource_missing")
		cust := env.Customer("DE")
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: "tok_nope"})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "token" {
			t.Fatalf("unknown token: %+v", ce)
		}
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Provider: "stripe", ProviderRef: "pm_123"})
		APIError(t, err, 400, "validation_error")
		tok := Must[*api.Token](t)(env.Client.CreateToken(ctx, api.TokenCreate{Card: card("4242424242424242")}))
		// A token is not a payment method: it cannot be read, detached or charged.
		_, err = env.Client.DetachPaymentMethod(ctx, tok.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: tok.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		APIError(t, err, 404, "resource_missing")
		// It still attaches once afterwards.
		pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok.ID}))
		if !pm.IsDefault {
			t.Fatalf("token as first card: %+v", pm)
		}
		// A token expires after an hour.
		tok2 := Must[*api.Token](t)(env.Client.CreateToken(ctx, api.TokenCreate{Card: card("4242424242424242")}))
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 3601))
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok2.ID})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "token" || !strings.Contains(ce.Message, "expired") {
			t.Fatalf("expired token: %+v", ce)
		}
	})
}

// base64Of returns s in standard base64.
func base64Of(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// chargeCard charges amount EUR to a fresh DE customer holding number.
func chargeCard(t *testing.T, env *Env, number string, amount int64) (*api.Payment, error) {
	t.Helper()
	cust := env.Customer("DE")
	pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(env.Ctx(), cust.ID, api.PaymentMethodCreate{Card: card(number), SetDefault: true}))
	p, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(amount), Currency: "EUR", Description: "test card " + number})
	if p != nil && (p.PaymentMethodID == nil || *p.PaymentMethodID != pm.ID) {
		t.Fatalf("charged method %v, want %s", p.PaymentMethodID, pm.ID)
	}
	return p, err
}

// declined asserts err is a 402 card_declined with the decline code and
// returns the stored payment it names.
func declined(t *testing.T, env *Env, err error, code string) (*client.Decline, *api.Payment) {
	t.Helper()
	ce := APIError(t, err, 402, "card_declined")
	d := ce.Decline()
	if ce.Type != "card_error" || d == nil || d.DeclineCode != code || !strings.HasPrefix(d.PaymentID, "pay_") {
		t.Fatalf("want decline %s: %+v %s", code, ce, ce.Details)
	}
	if ce.Param != "paymentMethodId" {
		t.Fatalf("decline param %q", ce.Param)
	}
	return d, Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), d.PaymentID))
}

// records returns the simulator's records for a payment.
func records(t *testing.T, env *Env, paymentID string) []api.ProcessorCharge {
	t.Helper()
	return Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", paymentID))
}

// statuses lists a payment's status history.
func statuses(p *api.Payment) string {
	var s []string
	for _, h := range p.StatusHistory {
		s = append(s, string(h.Status))
	}
	return strings.Join(s, ",")
}

// TestSimulatorCardsImmediate charges each test card whose outcome is known
// at once, and checks that no decline is retried off-session when it must
// not be.
func TestSimulatorCardsImmediate(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		for _, tc := range []struct{ number, brand string }{
			{"4242424242424242", "visa"}, {"5555555555554444", "mastercard"}, {"378282246310005", "amex"},
			{"4000000000000259", "visa"}, {"4000000000004004", "visa"}, {"4000056655665556", "visa"}, {"6011111111111117", "discover"},
		} {
			p := Must[*api.Payment](t)(chargeCard(t, env, tc.number, 1000))
			if p.Status != "succeeded" || p.AmountTotal != 1190 || p.AmountCaptured != 1190 || p.Failure != nil || p.NextAction != nil {
				t.Fatalf("%s: %+v", tc.number, p)
			}
			pm := Must[*api.PaymentMethod](t)(env.Client.PaymentMethod(ctx, *p.PaymentMethodID))
			if pm.Card.Brand != tc.brand {
				t.Fatalf("%s: brand %s", tc.number, pm.Card.Brand)
			}
			recs := records(t, env, p.ID)
			if len(recs) != 1 || recs[0].Outcome != "succeeded" || recs[0].Amount != 1190 || recs[0].Last4 == nil || *recs[0].Last4 != tc.number[len(tc.number)-4:] {
				t.Fatalf("%s: records %+v", tc.number, recs)
			}
			if p.Attempts[0].ProviderRef == nil || *p.Attempts[0].ProviderRef != recs[0].ProviderRef || p.Attempts[0].Reference != recs[0].Reference {
				t.Fatalf("%s: attempt %+v vs record %+v", tc.number, p.Attempts[0], recs[0])
			}
		}

		// Hard decline: failed, never retried.
		_, err := chargeCard(t, env, "4000000000000002", 1000)
		_, hard := declined(t, env, err, "generic_decline")
		if hard.Status != "failed" || hard.ScheduledAt != nil || hard.Failure == nil || hard.Failure.Code != "card_declined" ||
			hard.Failure.DeclineCode != "generic_decline" || hard.Failure.Message == "" || hard.AmountCaptured != 0 || statuses(hard) != "processing,failed" {
			t.Fatalf("hard decline: %+v", hard)
		}
		if len(hard.Attempts) != 1 || hard.Attempts[0].Outcome != "failed" || hard.Attempts[0].DeclineCode == nil || *hard.Attempts[0].DeclineCode != "generic_decline" {
			t.Fatalf("hard decline attempts: %+v", hard.Attempts)
		}
		if recs := records(t, env, hard.ID); len(recs) != 1 || recs[0].Outcome != "declined" || recs[0].DeclineCode == nil || *recs[0].DeclineCode != "generic_decline" {
			t.Fatalf("hard decline records: %+v", recs)
		}

		// Soft declines: retry_scheduled a day later (default policy).
		soft := map[string]*api.Payment{}
		for number, code := range map[string]string{"4000000000009995": "insufficient_funds", "4000000000000119": "processing_error"} {
			_, err := chargeCard(t, env, number, 1000)
			_, p := declined(t, env, err, code)
			if p.Status != "retry_scheduled" || p.ScheduledAt == nil || p.Failure == nil || p.Failure.DeclineCode != code || statuses(p) != "processing,failed,retry_scheduled" {
				t.Fatalf("%s: %+v", number, p)
			}
			if d := p.ScheduledAt.Sub(p.Attempts[0].At); d < 24*time.Hour || d > 24*time.Hour+time.Minute {
				t.Fatalf("%s: retry %s after the attempt, want a day", number, d)
			}
			soft[number] = p
		}

		// Authentication required: 402 with the URL, payment requires_action.
		_, err = chargeCard(t, env, "4000002760003184", 1000)
		d, auth := declined(t, env, err, "authentication_required")
		if auth.Status != "requires_action" || auth.NextAction == nil || auth.NextAction.Type != "authenticate" || auth.NextAction.URL == "" {
			t.Fatalf("requires_action: %+v", auth)
		}
		if d.NextActionURL != auth.NextAction.URL || !strings.HasPrefix(d.NextActionURL, env.URL+"/pay/") {
			t.Fatalf("nextActionUrl %q vs payment %q", d.NextActionURL, auth.NextAction.URL)
		}
		if auth.ScheduledAt != nil || len(auth.Attempts) != 1 || auth.Attempts[0].Outcome != "requires_action" {
			t.Fatalf("requires_action attempts: %+v", auth)
		}

		// A hold.
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		hold := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "hold", Capture: Bool(false)}))
		if hold.Status != "authorized" || hold.AmountCaptured != 0 || hold.AmountTotal != 1190 || hold.Capture || hold.Attempts[0].Outcome != "authorized" {
			t.Fatalf("hold: %+v", hold)
		}
		if recs := records(t, env, hold.ID); len(recs) != 1 || recs[0].Outcome != "authorized" || recs[0].Amount != 1190 {
			t.Fatalf("hold records: %+v", recs)
		}

		// Two days later: the soft declines were retried once (and declined
		// again, next try in three days); the hard decline and the
		// authentication were not retried.
		clock := Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 2*86400))
		for number, p := range soft {
			env.Eventually(10*time.Second, "the retry of "+number, func() bool {
				got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
				return len(got.Attempts) == 2 && got.Status == "retry_scheduled"
			})
			got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
			if d := got.ScheduledAt.Sub(got.Attempts[1].At); d < 72*time.Hour || d > 72*time.Hour+time.Minute {
				t.Fatalf("%s: second retry %s after the first, want three days", number, d)
			}
			if got.Attempts[1].At.Before(clock.Now.Add(-time.Minute)) {
				t.Fatalf("%s: retry at %s, before the clock moved (%s)", number, got.Attempts[1].At, clock.Now)
			}
			if recs := records(t, env, p.ID); len(recs) != 2 || recs[0].Reference == recs[1].Reference {
				t.Fatalf("%s: records %+v", number, recs)
			}
		}
		time.Sleep(200 * time.Millisecond)
		for _, id := range []string{hard.ID, auth.ID} {
			got := Must[*api.Payment](t)(env.Client.Payment(ctx, id))
			if len(got.Attempts) != 1 || got.Status == "retry_scheduled" || got.Status == "processing" || got.Status == "succeeded" {
				t.Fatalf("%s was retried: %s, %d attempts", id, got.Status, len(got.Attempts))
			}
			if recs := records(t, env, id); len(recs) != 1 {
				t.Fatalf("%s: %d processor records", id, len(recs))
			}
		}
	})
}

// TestSimulatorCardsAsync charges the cards whose outcome comes later: the
// answer is 200 processing, and the reconciler settles each without a
// second charge.
func TestSimulatorCardsAsync(t *testing.T) {
	t.Parallel()
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		pending := Must[*api.Payment](t)(chargeCard(t, env, "4000000000001000", 1000))
		pendingFails := Must[*api.Payment](t)(chargeCard(t, env, "4000000000002008", 1000))
		// The timeout card takes the money and never answers: the charge
		// answers when Till's processor timeout cuts the call.
		start := time.Now()
		timeout := Must[*api.Payment](t)(chargeCard(t, env, "4000000000003006", 1000))
		if took := time.Since(start); took < DefaultProcessorTimeout {
			t.Errorf("the timeout card's charge answered in %s, before the %s processor timeout", took, DefaultProcessorTimeout)
		}
		for _, p := range []*api.Payment{pending, pendingFails, timeout} {
			if p.Status != "processing" || p.AmountCaptured != 0 || len(p.Attempts) != 1 || p.Attempts[0].Outcome != "processing" || p.Failure != nil {
				t.Fatalf("%s: %+v", p.Description, p)
			}
		}
		settled := func(p *api.Payment, want ...string) *api.Payment {
			t.Helper()
			var got *api.Payment
			env.Eventually(12*time.Second, p.Description+" to settle", func() bool {
				got = Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
				for _, w := range want {
					if got.Status == w {
						return true
					}
				}
				return false
			})
			return got
		}
		got := settled(pending, "succeeded")
		if got.AmountCaptured != 1190 || got.Attempts[0].Outcome != "succeeded" || got.Attempts[0].ProviderRef == nil || statuses(got) != "processing,succeeded" {
			t.Fatalf("pending card settled: %+v", got)
		}
		if recs := records(t, env, pending.ID); len(recs) != 1 || recs[0].Outcome != "succeeded" {
			t.Fatalf("pending card records: %+v", recs)
		}
		got = settled(timeout, "succeeded")
		if got.AmountCaptured != 1190 || len(got.Attempts) != 1 || got.Attempts[0].Outcome != "succeeded" {
			t.Fatalf("timed-out card settled: %+v", got)
		}
		if recs := records(t, env, timeout.ID); len(recs) != 1 || recs[0].Outcome != "succeeded" || recs[0].Amount != 1190 {
			t.Fatalf("timed-out card charged other than once: %+v", recs)
		}
		got = settled(pendingFails, "failed", "retry_scheduled")
		if got.Failure == nil || got.Failure.DeclineCode != "insufficient_funds" || got.Attempts[0].Outcome != "failed" || got.AmountCaptured != 0 {
			t.Fatalf("pending decline settled: %+v", got)
		}
		// insufficient_funds is soft, so the default policy plans a retry.
		if !strings.HasPrefix(statuses(got), "processing,failed") || got.Status != "retry_scheduled" {
			t.Fatalf("pending decline history: %s (%s)", statuses(got), got.Status)
		}
		if recs := records(t, env, pendingFails.ID); len(recs) != 1 || recs[0].Outcome != "declined" {
			t.Fatalf("pending decline records: %+v", recs)
		}
		// Settled payments stay settled: nothing charges again.
		time.Sleep(1500 * time.Millisecond)
		for _, p := range []*api.Payment{pending, timeout} {
			if recs := records(t, env, p.ID); len(recs) != 1 {
				t.Fatalf("%s: %d processor records after settling", p.Description, len(recs))
			}
		}
	})
}

// TestRetryPolicy follows a soft decline through its retries: the retry
// runs when the clock reaches it, a changed payment method is used by the
// next retry, and a settled payment can no longer be rescheduled.
func TestRetryPolicy(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust, _ := env.CustomerWithCard("DE", "4000000000009995")
		_, err := env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "renewal"})
		_, p := declined(t, env, err, "insufficient_funds")
		if p.Status != "retry_scheduled" || !p.Active {
			t.Fatalf("after the decline: %+v", p)
		}
		first := *p.ScheduledAt

		// Not yet due: nothing happens.
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 3600))
		time.Sleep(200 * time.Millisecond)
		if got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID)); len(got.Attempts) != 1 {
			t.Fatalf("retried before its time: %+v", got.Attempts)
		}
		// A day later the retry runs, declines again, and the next is three
		// days after it.
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 86400+60-3600))
		var got *api.Payment
		env.Eventually(10*time.Second, "the first retry", func() bool {
			got = Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
			return len(got.Attempts) == 2 && got.Status == "retry_scheduled"
		})
		if got.Attempts[1].At.Before(first) || got.Attempts[1].Outcome != "failed" {
			t.Fatalf("first retry: %+v", got.Attempts[1])
		}
		if d := got.ScheduledAt.Sub(got.Attempts[1].At); d < 72*time.Hour || d > 72*time.Hour+time.Minute {
			t.Fatalf("second retry planned %s after the first", d)
		}
		if h := statuses(got); h != "processing,failed,retry_scheduled,processing,failed,retry_scheduled" {
			t.Fatalf("history: %s", h)
		}

		// Another customer's card cannot be swapped in; this customer's can.
		_, otherPM := env.CustomerWithCard("DE", "4242424242424242")
		_, err = env.Client.UpdatePayment(ctx, p.ID, api.PaymentUpdate{PaymentMethodID: Str(otherPM.ID)})
		wantFields(t, APIError(t, err, 400, "validation_error"), "paymentMethodId")
		good := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("5555555555554444")}))
		upd := Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, p.ID, api.PaymentUpdate{PaymentMethodID: Str(good.ID)}))
		if *upd.PaymentMethodID != good.ID || upd.Status != "retry_scheduled" || !upd.ScheduledAt.Equal(*got.ScheduledAt) {
			t.Fatalf("after PATCH: %+v", upd)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 3*86400+60))
		env.Eventually(10*time.Second, "the second retry to succeed", func() bool {
			got = Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
			return got.Status == "succeeded"
		})
		if len(got.Attempts) != 3 || got.AmountCaptured != 1190 || *got.PaymentMethodID != good.ID || got.Attempts[2].Outcome != "succeeded" {
			t.Fatalf("succeeded retry: %+v", got)
		}
		recs := records(t, env, p.ID)
		if len(recs) != 3 || recs[0].Outcome != "declined" || recs[1].Outcome != "declined" || recs[2].Outcome != "succeeded" || *recs[2].Last4 != "4444" {
			t.Fatalf("records: %+v", recs)
		}

		// Settled: scheduling fields are refused, metadata is fine.
		for _, in := range []api.PaymentUpdate{
			{ScheduledAt: ptrTime(time.Now().Add(100 * 24 * time.Hour))}, {Active: Bool(false)}, {PaymentMethodID: Str(good.ID)},
		} {
			_, err := env.Client.UpdatePayment(ctx, p.ID, in)
			if ce := APIError(t, err, 409, "state_conflict"); ce.Type != "invalid_request_error" {
				t.Fatalf("type %s", ce.Type)
			}
		}
		if m := Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, p.ID, api.PaymentUpdate{Metadata: map[string]string{"note": "paid late"}})); m.Status != "succeeded" || m.Metadata["note"] != "paid late" {
			t.Fatalf("metadata on a settled payment: %+v", m)
		}
		// Further clock moves do nothing more.
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 10*86400))
		time.Sleep(200 * time.Millisecond)
		if recs := records(t, env, p.ID); len(recs) != 3 {
			t.Fatalf("records after settling: %d", len(recs))
		}
	})
}

// TestRetryPolicyExhaustedAndDisabled checks that with retries disabled a
// soft decline stays failed, and that a policy's last retry ends failed.
func TestRetryPolicyExhaustedAndDisabled(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{RetryPolicy: &till.RetryPolicy{Enabled: false, DelaysDays: []int{1}}}))
		_, err := chargeCard(t, env, "4000000000009995", 1000)
		_, off := declined(t, env, err, "insufficient_funds")
		if off.Status != "failed" || off.ScheduledAt != nil || statuses(off) != "processing,failed" {
			t.Fatalf("retries disabled: %+v", off)
		}

		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{RetryPolicy: &till.RetryPolicy{Enabled: true, DelaysDays: []int{2}}}))
		_, err = chargeCard(t, env, "4000000000000119", 1000)
		_, p := declined(t, env, err, "processing_error")
		if d := p.ScheduledAt.Sub(p.Attempts[0].At); p.Status != "retry_scheduled" || d < 48*time.Hour || d > 48*time.Hour+time.Minute {
			t.Fatalf("two-day policy: %s in %s", p.Status, d)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 2*86400+60))
		env.Eventually(10*time.Second, "the only retry", func() bool {
			got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
			return len(got.Attempts) == 2 && got.Status == "failed"
		})
		got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
		if got.Failure == nil || got.Failure.DeclineCode != "processing_error" || statuses(got) != "processing,failed,retry_scheduled,processing,failed" {
			t.Fatalf("exhausted policy: %s %+v", statuses(got), got.Failure)
		}
		// The disabled-policy payment was never retried.
		if o := Must[*api.Payment](t)(env.Client.Payment(ctx, off.ID)); len(o.Attempts) != 1 || o.Status != "failed" {
			t.Fatalf("retried with retries off: %+v", o)
		}
		// A failed payment cannot be rescheduled by hand.
		_, err = env.Client.UpdatePayment(ctx, off.ID, api.PaymentUpdate{Active: Bool(true)})
		APIError(t, err, 409, "state_conflict")
	})
}

// TestScheduledCharge checks a future-dated charge: scheduled with no
// processor call, run exactly once when the clock passes it, and held back
// by active:false.
func TestScheduledCharge(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust, pm := env.CustomerWithCard("DE", "4242424242424242")
		at := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		req := api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "eur", Description: "later", ScheduledAt: &at}
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, req))
		if p.Status != "scheduled" || p.ScheduledAt == nil || !p.ScheduledAt.Equal(at) || len(p.Attempts) != 0 || p.AmountCaptured != 0 ||
			p.AmountTotal != 1190 || *p.PaymentMethodID != pm.ID || !p.Active || statuses(p) != "scheduled" {
			t.Fatalf("scheduled: %+v", p)
		}
		held := Must[*api.Payment](t)(env.Client.Charge(ctx, req))
		held = Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, held.ID, api.PaymentUpdate{Active: Bool(false)}))
		if held.Active || held.Status != "scheduled" {
			t.Fatalf("deactivated: %+v", held)
		}
		moved := Must[*api.Payment](t)(env.Client.Charge(ctx, req))
		later := at.Add(48 * time.Hour)
		moved = Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, moved.ID, api.PaymentUpdate{ScheduledAt: &later}))
		if !moved.ScheduledAt.Equal(later) {
			t.Fatalf("rescheduled: %+v", moved.ScheduledAt)
		}
		past := time.Now().Add(-time.Minute)
		_, err := env.Client.UpdatePayment(ctx, moved.ID, api.PaymentUpdate{ScheduledAt: &past})
		wantFields(t, APIError(t, err, 400, "validation_error"), "scheduledAt")
		if r := records(t, env, p.ID); len(r) != 0 {
			t.Fatalf("a scheduled charge called the processor: %+v", r)
		}
		// In the past, or too far ahead, is refused.
		for _, bad := range []time.Time{time.Now().Add(-time.Minute), time.Now().AddDate(3, 0, 0)} {
			req := req
			req.ScheduledAt = &bad
			_, err := env.Client.Charge(ctx, req)
			wantFields(t, APIError(t, err, 400, "validation_error"), "scheduledAt")
		}

		// Before its time nothing happens.
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 1800))
		time.Sleep(200 * time.Millisecond)
		if got := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID)); got.Status != "scheduled" {
			t.Fatalf("ran early: %s", got.Status)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 1800+60))
		var got *api.Payment
		env.Eventually(10*time.Second, "the scheduled charge", func() bool {
			got = Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID))
			return got.Status == "succeeded"
		})
		if len(got.Attempts) != 1 || got.AmountCaptured != 1190 || statuses(got) != "scheduled,processing,succeeded" {
			t.Fatalf("ran: %+v", got)
		}
		time.Sleep(300 * time.Millisecond)
		if r := records(t, env, p.ID); len(r) != 1 || r[0].Outcome != "succeeded" || r[0].Amount != 1190 {
			t.Fatalf("processor records: %+v", r)
		}
		if h := Must[*api.Payment](t)(env.Client.Payment(ctx, held.ID)); h.Status != "scheduled" || len(h.Attempts) != 0 {
			t.Fatalf("inactive charge ran: %+v", h)
		}
		if m := Must[*api.Payment](t)(env.Client.Payment(ctx, moved.ID)); m.Status != "scheduled" || len(m.Attempts) != 0 {
			t.Fatalf("rescheduled charge ran at its old time: %+v", m)
		}
		// Reactivated after its time: it runs at once.
		Must[*api.Payment](t)(env.Client.UpdatePayment(ctx, held.ID, api.PaymentUpdate{Active: Bool(true)}))
		env.Eventually(10*time.Second, "the reactivated charge", func() bool {
			return Must[*api.Payment](t)(env.Client.Payment(ctx, held.ID)).Status == "succeeded"
		})
		// The moved one runs at its new time.
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 48*3600))
		env.Eventually(10*time.Second, "the rescheduled charge", func() bool {
			return Must[*api.Payment](t)(env.Client.Payment(ctx, moved.ID)).Status == "succeeded"
		})
		for _, id := range []string{p.ID, held.ID, moved.ID} {
			if r := records(t, env, id); len(r) != 1 {
				t.Fatalf("%s: %d processor records", id, len(r))
			}
		}
		// A scheduled charge of a card that is detached meanwhile fails
		// without a processor call.
		clock := Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 1))
		gone := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "gone",
			ScheduledAt: ptrTime(clock.Now.Add(time.Hour))}))
		Must[*api.PaymentMethod](t)(env.Client.DetachPaymentMethod(ctx, pm.ID))
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 3700))
		env.Eventually(10*time.Second, "the charge of a detached card to fail", func() bool {
			return Must[*api.Payment](t)(env.Client.Payment(ctx, gone.ID)).Status == "failed"
		})
		if g := Must[*api.Payment](t)(env.Client.Payment(ctx, gone.ID)); g.Failure == nil || g.Failure.Code != "payment_method_unavailable" || statuses(g) != "scheduled,processing,failed" {
			t.Fatalf("charge of a detached card: %s %+v", statuses(g), g.Failure)
		}
		if r := records(t, env, gone.ID); len(r) != 0 {
			t.Fatalf("a detached card was charged: %+v", r)
		}
	})
}

func ptrTime(t time.Time) *time.Time { return &t }
