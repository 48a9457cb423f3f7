package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/service"
)

type eventPage struct {
	Data       []api.Event `json:"data"`
	HasMore    bool        `json:"hasMore"`
	NextCursor *string     `json:"nextCursor"`
}

// events lists events with query q through the API, oldest first.
func events(t *testing.T, env *Env, c *client.Client, q url.Values) eventPage {
	t.Helper()
	r := Must[*client.Response](t)(c.Raw(env.Ctx(), "GET", "/v1/events?"+q.Encode(), nil))
	if r.Status != 200 {
		t.Fatalf("list events %s: %d %s", q.Encode(), r.Status, r.Body)
	}
	var p eventPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(p.Data)-1; i < j; i, j = i+1, j-1 {
		p.Data[i], p.Data[j] = p.Data[j], p.Data[i]
	}
	return p
}

func eventTypes(es []api.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// TestEvents follows a charge and a refund through GET /v1/events: each
// transition emits its event once, about its object, with the object as it
// was and a version that rises; filters and pages work; another account
// sees none of them.
func TestEvents(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Events"}))
		if p.Status != "succeeded" {
			t.Fatalf("charge: %s", p.Status)
		}
		env.Eventually(10*time.Second, "the receipt of "+p.ID, func() bool {
			got := events(t, env, env.Client, url.Values{"objectId": {p.ID}, "type": {"receipt.sent"}})
			return len(got.Data) == 1
		})
		r := Must[*api.Refund](t)(env.Client.CreateRefund(ctx, p.ID, api.RefundRequest{Amount: Amount(400)}))
		if r.Status != "succeeded" {
			t.Fatalf("refund: %s", r.Status)
		}

		// The refund's receipt goes out in the background too; every event
		// of the flow is written once it has.
		env.Eventually(10*time.Second, "the receipt of "+r.ID, func() bool {
			got := events(t, env, env.Client, url.Values{"objectId": {r.ID}, "type": {"receipt.sent"}})
			return len(got.Data) == 1
		})

		ofPayment := events(t, env, env.Client, url.Values{"objectId": {p.ID}, "limit": {"100"}}).Data
		if got, want := fmt.Sprint(eventTypes(ofPayment)), "[payment.succeeded receipt.sent payment.refunded]"; got != want {
			t.Fatalf("events of the payment: %s, want %s", got, want)
		}
		var last int64
		for _, e := range ofPayment {
			if e.Object != "event" || e.ObjectID != p.ID || e.APIVersion != api.APIVersion || e.Livemode || e.ObjectVersion <= last {
				t.Errorf("event %+v (previous version %d)", e, last)
			}
			last = e.ObjectVersion
			obj, _ := json.Marshal(e.Data.Object)
			var pay api.Payment
			if err := json.Unmarshal(obj, &pay); err != nil || pay.ID != p.ID {
				t.Errorf("data.object of %s: %s (%v)", e.Type, obj, err)
			}
			if e.Type == "payment.refunded" && (pay.Status != "partially_refunded" || pay.AmountRefunded != 400) {
				t.Errorf("the refunded payment as the event shows it: %s, refunded %d", pay.Status, pay.AmountRefunded)
			}
		}
		ofRefund := events(t, env, env.Client, url.Values{"objectId": {r.ID}}).Data
		if fmt.Sprint(eventTypes(ofRefund)) != "[refund.succeeded receipt.sent]" {
			t.Errorf("events of the refund: %v", eventTypes(ofRefund))
		}
		created := events(t, env, env.Client, url.Values{"type": {"customer.created"}}).Data
		if len(created) != 1 || created[0].ObjectID != cust.ID {
			t.Errorf("customer.created: %+v", created)
		}

		// One event by id, as listed.
		one := Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/events/"+ofPayment[0].ID, nil))
		var got struct{ Data api.Event }
		if one.Status != 200 || json.Unmarshal(one.Body, &got) != nil || got.Data.ID != ofPayment[0].ID || got.Data.Type != "payment.succeeded" {
			t.Fatalf("get event: %d %s", one.Status, one.Body)
		}

		// Pages, newest first, that together list every event once.
		seen := map[string]bool{}
		q := url.Values{"limit": {"2"}}
		for pages := 0; ; pages++ {
			if pages > 50 {
				t.Fatal("paging does not end")
			}
			page := events(t, env, env.Client, q)
			for _, e := range page.Data {
				if seen[e.ID] {
					t.Fatalf("event %s listed twice", e.ID)
				}
				seen[e.ID] = true
			}
			if !page.HasMore {
				break
			}
			q.Set("startingAfter", *page.NextCursor)
		}
		all := events(t, env, env.Client, url.Values{"limit": {"100"}}).Data
		if len(seen) != len(all) || len(all) < 6 {
			t.Errorf("paged %d events, listed %d at once", len(seen), len(all))
		}

		// Another account sees none of them.
		keys := Must[*service.AccountKeys](t)(env.Service.CreateAccount(ctx, nil, service.NewAccountParams{Name: "Other"}))
		other := env.Client.WithKey(keys.TestSecretKey)
		if got := events(t, env, other, url.Values{}).Data; len(got) != 0 {
			t.Errorf("another account lists %d events", len(got))
		}
		if r := Must[*client.Response](t)(other.Raw(ctx, "GET", "/v1/events/"+ofPayment[0].ID, nil)); r.Status != 404 {
			t.Errorf("another account's event: %d %s", r.Status, r.Body)
		}
		// Nor does the live mode of the same account.
		live := env.Client.WithKey(env.Keys.LiveSecretKey)
		if got := events(t, env, live, url.Values{}).Data; len(got) != 0 {
			t.Errorf("live mode lists %d test events", len(got))
		}
	})
}
