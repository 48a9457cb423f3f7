package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// TestHeadlineCharge is the outcome: a customer in Germany, the card
// 4242…, a charge of 1000 EUR cents → succeeded, 190 tax, 1190 total, and it
// can be fetched and listed.
func TestHeadlineCharge(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, pm := env.CustomerWithCard("DE", "4242 4242 4242 4242")
		if !pm.IsDefault || pm.Card.Brand != "visa" || pm.Card.Last4 != "4242" {
			t.Fatalf("payment method: %+v", pm)
		}
		p, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Pro plan, November"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != "succeeded" || p.AmountSubtotal != 1000 || p.TaxAmount != 190 || p.AmountTotal != 1190 || p.AmountCaptured != 1190 {
			t.Fatalf("charge: %+v", p)
		}
		if p.Currency != "EUR" || p.Kind != "charge" || *p.PaymentMethodID != pm.ID || *p.CustomerID != cust.ID || p.Livemode {
			t.Fatalf("charge fields: %+v", p)
		}
		if len(p.TaxBreakdown) != 1 || p.TaxBreakdown[0].Country != "DE" || p.TaxBreakdown[0].Rate != "19" || p.TaxBreakdown[0].Reason != "domestic" {
			t.Fatalf("breakdown: %+v", p.TaxBreakdown)
		}
		if len(p.Attempts) != 1 || p.Attempts[0].Outcome != "succeeded" || p.Attempts[0].ProviderRef == nil {
			t.Fatalf("attempts: %+v", p.Attempts)
		}
		if len(p.StatusHistory) != 2 || p.StatusHistory[0].Status != "processing" || p.StatusHistory[1].Status != "succeeded" {
			t.Fatalf("history: %+v", p.StatusHistory)
		}
		got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if got.ID != p.ID || got.Status != "succeeded" || got.AmountTotal != 1190 {
			t.Fatalf("fetched: %+v", got)
		}
		list := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{}))
		if len(list.Data) != 1 || list.Data[0].ID != p.ID || list.HasMore {
			t.Fatalf("list: %+v", list)
		}
		recs := Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", p.ID))
		if len(recs) != 1 || recs[0].Amount != 1190 || recs[0].Outcome != "succeeded" || recs[0].Currency != "EUR" {
			t.Fatalf("processor records: %+v", recs)
		}
	})
}

// TestDeclineIsStored checks that a decline answers 402 card_error naming
// the stored failed payment, which carries the failure and attempt.
func TestDeclineIsStored(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4000000000000002")
		_, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(500), Currency: "eur", Description: "x"})
		ce := APIError(t, err, 402, "card_declined")
		d := ce.Decline()
		if ce.Type != "card_error" || d == nil || d.DeclineCode != "generic_decline" || d.PaymentID == "" {
			t.Fatalf("decline: %+v %s", ce, ce.Details)
		}
		p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), d.PaymentID))
		if p.Status != "failed" || p.Failure == nil || p.Failure.DeclineCode != "generic_decline" || p.Attempts[0].Outcome != "failed" {
			t.Fatalf("failed payment: %+v", p)
		}
		failed := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Filters: map[string]string{"status": "failed"}}))
		if len(failed.Data) != 1 || failed.Data[0].ID != p.ID {
			t.Fatalf("status filter: %+v", failed.Data)
		}
	})
}

// TestIdempotentReplay checks that a repeat returns the first response byte
// for byte with Idempotent-Replayed, and that the key with another body is
// refused with 422.
func TestIdempotentReplay(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		body := fmt.Sprintf(`{"customerId":%q,"amount":2500,"currency":"EUR","description":"once"}`, cust.ID)
		first := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", []byte(body), client.IdempotencyKey("order-1")))
		second := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", []byte(body), client.IdempotencyKey("order-1")))
		if first.Status != 200 || second.Status != 200 || !bytes.Equal(first.Body, second.Body) {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, second.Body)
		}
		if first.Header.Get("Idempotent-Replayed") != "" || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("Idempotent-Replayed: %q %q", first.Header.Get("Idempotent-Replayed"), second.Header.Get("Idempotent-Replayed"))
		}
		other := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge",
			[]byte(fmt.Sprintf(`{"customerId":%q,"amount":2600,"currency":"EUR","description":"once"}`, cust.ID)), client.IdempotencyKey("order-1")))
		if other.Status != 422 || !bytes.Contains(other.Body, []byte(`"idempotency_key_reused"`)) {
			t.Fatalf("reused key: %d %s", other.Status, other.Body)
		}
		list := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{}))
		if len(list.Data) != 1 {
			t.Fatalf("want one payment, got %d", len(list.Data))
		}
		// A decline is stored too and replayed as the same 402.
		bad, _ := env.CustomerWithCard("DE", "4000000000009995")
		declBody := []byte(fmt.Sprintf(`{"customerId":%q,"amount":100,"currency":"EUR","description":"d"}`, bad.ID))
		d1 := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", declBody, client.IdempotencyKey("decl")))
		d2 := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", declBody, client.IdempotencyKey("decl")))
		if d1.Status != 402 || d2.Status != 402 || !bytes.Equal(d1.Body, d2.Body) {
			t.Fatalf("decline replay: %d %s / %d %s", d1.Status, d1.Body, d2.Status, d2.Body)
		}
		// A request that fails validation is not stored: the same key then works.
		v1 := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", []byte(`{"amount":1}`), client.IdempotencyKey("fix-me")))
		if v1.Status != 400 {
			t.Fatalf("validation: %d %s", v1.Status, v1.Body)
		}
		v2 := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", []byte(body), client.IdempotencyKey("fix-me")))
		if v2.Status != 200 {
			t.Fatalf("key after a validation failure: %d %s", v2.Status, v2.Body)
		}
	})
}

// TestConcurrentSameKey sends 24 concurrent charges with one key: exactly
// one payment and one processor charge, every answer either that payment or
// 409 request_in_progress.
func TestConcurrentSameKey(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		body := []byte(fmt.Sprintf(`{"customerId":%q,"amount":4200,"currency":"EUR","description":"race"}`, cust.ID))
		const n = 24
		var wg sync.WaitGroup
		responses := make([]*client.Response, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				responses[i], errs[i] = env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", body, client.IdempotencyKey("same-key"))
			})
		}
		close(start)
		wg.Wait()
		ids := map[string]bool{}
		for i, r := range responses {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch r.Status {
			case 200:
				var env struct{ Data api.Payment }
				if err := json.Unmarshal(r.Body, &env); err != nil {
					t.Fatal(err)
				}
				ids[env.Data.ID] = true
			case 409:
				if !bytes.Contains(r.Body, []byte(`"request_in_progress"`)) {
					t.Fatalf("409 body: %s", r.Body)
				}
			default:
				t.Fatalf("unexpected %d %s", r.Status, r.Body)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("want one payment id across answers, got %v", ids)
		}
		list := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{}))
		if len(list.Data) != 1 {
			t.Fatalf("want one payment, got %d", len(list.Data))
		}
		recs := Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", list.Data[0].ID))
		if len(recs) != 1 {
			t.Fatalf("want exactly one processor charge, got %d", len(recs))
		}
		// After the race the key replays.
		r := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "POST", "/v1/payments/charge", body, client.IdempotencyKey("same-key")))
		if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay after race: %d", r.Status)
		}
	})
}

// TestListPagination walks a payment list with cursors and filters.
func TestListPagination(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		c1, _ := env.CustomerWithCard("DE", "4242424242424242")
		c2, _ := env.CustomerWithCard("FR", "5555555555554444")
		var want []string
		for i := range 7 {
			cust := c1
			if i%2 == 1 {
				cust = c2
			}
			p := Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(int64(100 + i)), Currency: "EUR", Description: "p"}))
			want = append([]string{p.ID}, want...) // newest first
		}
		var got []string
		cursor := ""
		for range 10 {
			page := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Limit: 3, StartingAfter: cursor}))
			for _, p := range page.Data {
				got = append(got, p.ID)
			}
			if !page.HasMore {
				if page.NextCursor != "" {
					t.Fatalf("nextCursor without hasMore")
				}
				break
			}
			cursor = page.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages:\n got %v\nwant %v", got, want)
		}
		byCustomer := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Filters: map[string]string{"customerId": c2.ID}}))
		if len(byCustomer.Data) != 3 {
			t.Fatalf("customer filter: %d", len(byCustomer.Data))
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		none := Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Filters: map[string]string{"createdFrom": future}}))
		if len(none.Data) != 0 {
			t.Fatalf("createdFrom filter: %d", len(none.Data))
		}
		_, err := env.Client.Payments(env.Ctx(), client.ListParams{Limit: 101})
		APIError(t, err, http.StatusBadRequest, "validation_error")
		_, err = env.Client.Payments(env.Ctx(), client.ListParams{Filters: map[string]string{"colour": "red"}})
		APIError(t, err, http.StatusBadRequest, "parameter_unknown")
		_, err = env.Client.Payments(env.Ctx(), client.ListParams{StartingAfter: "pay_nope"})
		APIError(t, err, http.StatusBadRequest, "validation_error")
	})
}
