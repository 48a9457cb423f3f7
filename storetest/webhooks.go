package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// webhookEndpoint returns an endpoint of a's scope (live or test mode)
// created at at, with every field set.
func webhookEndpoint(a *till.Account, live, enabled bool, at time.Time) *till.WebhookEndpoint {
	expires, failing := at.Add(24*time.Hour+time.Microsecond), at.Add(-time.Hour)
	return &till.WebhookEndpoint{ID: ids.NewID(till.PrefixWebhook), AccountID: a.ID, Livemode: live,
		URL: "https://hooks.example.com/till", Description: "orders", Events: []string{till.EventPaymentSucceeded, till.EventRefundSucceeded},
		Enabled: enabled, DisabledReason: "failing", Metadata: till.Metadata{"k": "v"},
		SealedSecret: []byte{1, 2, 0, 0xff}, DataKeyID: "dk_1", SealedPreviousSecret: []byte{3, 4}, PreviousDataKeyID: "dk_0",
		PreviousSecretExpiresAt: &expires, FailingSince: &failing, Version: 1, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
}

// webhookDelivery returns a delivery of event eventID to ep at at, with
// every field set.
func webhookDelivery(ep *till.WebhookEndpoint, eventID string, attempt int, at time.Time) *till.WebhookDelivery {
	next := at.Add(5*time.Minute + time.Microsecond)
	return &till.WebhookDelivery{ID: ids.NewID(till.PrefixDelivery), AccountID: ep.AccountID, Livemode: ep.Livemode,
		EventID: eventID, EndpointID: ep.ID, URL: ep.URL, Attempt: attempt, Resend: true, Succeeded: true, StatusCode: 503,
		Error: "timeout", ResponseExcerpt: "<html>busy</html>", Latency: 1500 * time.Millisecond, NextRetryAt: &next, CreatedAt: at}
}

// testWebhooks checks webhook endpoints and deliveries: read back as
// written, scoped to account and mode, unique ids, optimistic versions,
// newest-first pages without deleted endpoints, the oldest-first fan-out
// of enabled endpoints, and an event's delivery log.
func testWebhooks(t *testing.T, st till.Store) {
	a, b := account(t, st), account(t, st)
	scope := till.Scope{AccountID: a.ID}
	get := func(s till.Scope, id string) (*till.WebhookEndpoint, error) {
		var e *till.WebhookEndpoint
		err := st.View(ctx, func(tx till.Tx) (err error) {
			e, err = tx.WebhookEndpoint(ctx, s, id)
			return err
		})
		return e, err
	}

	// Created, read back field for field, in its scope only.
	e1 := webhookEndpoint(a, false, true, epoch)
	update(t, st, func(tx till.Tx) error { return tx.CreateWebhookEndpoint(ctx, e1) })
	if got, err := get(scope, e1.ID); err != nil || !reflect.DeepEqual(got, e1) {
		t.Fatalf("endpoint = %+v, %v; want %+v", got, err, e1)
	}
	for _, s := range []till.Scope{{AccountID: a.ID, Livemode: true}, {AccountID: b.ID}} {
		_, err := get(s, e1.ID)
		notFound(t, err)
	}
	_, err := get(scope, "we_nothing")
	notFound(t, err)
	dup := webhookEndpoint(b, true, true, epoch)
	dup.ID = e1.ID
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateWebhookEndpoint(ctx, dup) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate endpoint: %v", err)
	}

	// Updated as a whole when the version matches, refused when stale.
	e1.URL, e1.Events, e1.Metadata, e1.FailingSince, e1.PreviousSecretExpiresAt = "https://new.example.com/h", []string{"*"}, nil, nil, nil
	e1.Version, e1.UpdatedAt = 2, epoch.Add(time.Hour)
	update(t, st, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, e1, 1) })
	stale := *e1
	stale.Version, stale.URL = 3, "https://stale.example.com/h"
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, &stale, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale endpoint update: %v", err)
	}
	if got, err := get(scope, e1.ID); err != nil || !reflect.DeepEqual(got, e1) {
		t.Fatalf("updated endpoint = %+v, %v; want %+v", got, err, e1)
	}

	// e1 (enabled), e2 (disabled), e3 (enabled, then deleted), e4 and e5
	// (enabled) in the scope, created in this order; others elsewhere.
	e2 := webhookEndpoint(a, false, false, epoch.Add(time.Minute))
	e3 := webhookEndpoint(a, false, true, epoch.Add(2*time.Minute))
	e4 := webhookEndpoint(a, false, true, epoch.Add(3*time.Minute))
	e5 := webhookEndpoint(a, false, true, epoch.Add(4*time.Minute))
	live := webhookEndpoint(a, true, true, epoch)
	other := webhookEndpoint(b, false, true, epoch)
	for _, e := range []*till.WebhookEndpoint{e2, e3, e4, live, other, e5} {
		update(t, st, func(tx till.Tx) error { return tx.CreateWebhookEndpoint(ctx, e) })
	}
	e3.Deleted, e3.Enabled, e3.Version = true, false, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, e3, 1) })
	if got, err := get(scope, e3.ID); err != nil || !got.Deleted || !reflect.DeepEqual(got, e3) {
		t.Fatalf("deleted endpoint = %+v, %v; want %+v", got, err, e3)
	}
	// e4 is disabled, then enabled again: the column follows the document.
	e4.Enabled, e4.Version = false, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, e4, 1) })
	e4.Enabled, e4.Version = true, 3
	update(t, st, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, e4, 2) })

	endpointIDs := func(es []*till.WebhookEndpoint) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	list := func(p till.Page) ([]*till.WebhookEndpoint, bool) {
		t.Helper()
		var out []*till.WebhookEndpoint
		var more bool
		view(t, st, func(tx till.Tx) (err error) {
			out, more, err = tx.ListWebhookEndpoints(ctx, scope, p)
			return err
		})
		return out, more
	}
	all, more := list(till.Page{})
	if want := []*till.WebhookEndpoint{e5, e4, e2, e1}; !reflect.DeepEqual(all, want) || more {
		t.Fatalf("endpoints = %v (more %v), want %v", endpointIDs(all), more, endpointIDs(want))
	}
	first, more := list(till.Page{Limit: 2})
	rest, more2 := list(till.Page{Limit: 2, StartingAfter: first[len(first)-1].ID})
	if !reflect.DeepEqual(endpointIDs(first), []string{e5.ID, e4.ID}) || !more ||
		!reflect.DeepEqual(endpointIDs(rest), []string{e2.ID, e1.ID}) || more2 {
		t.Fatalf("pages: %v (more %v), %v (more %v)", endpointIDs(first), more, endpointIDs(rest), more2)
	}
	view(t, st, func(tx till.Tx) error {
		if _, _, err := tx.ListWebhookEndpoints(ctx, scope, till.Page{StartingAfter: other.ID}); till.ErrorCode(err) != till.EValidation {
			t.Fatalf("cursor of another scope: %v", err)
		}
		if got, _, err := tx.ListWebhookEndpoints(ctx, till.Scope{AccountID: a.ID, Livemode: true}, till.Page{}); err != nil ||
			!reflect.DeepEqual(endpointIDs(got), []string{live.ID}) {
			t.Fatalf("live endpoints: %v, %v", endpointIDs(got), err)
		}
		return nil
	})

	// The fan-out: enabled and not deleted, oldest first.
	view(t, st, func(tx till.Tx) error {
		got, err := tx.EnabledWebhookEndpoints(ctx, scope)
		if want := []*till.WebhookEndpoint{e1, e4, e5}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("enabled = %v, %v; want %v", endpointIDs(got), err, endpointIDs(want))
		}
		got, err = tx.EnabledWebhookEndpoints(ctx, till.Scope{AccountID: b.ID})
		if err != nil || !reflect.DeepEqual(endpointIDs(got), []string{other.ID}) {
			t.Fatalf("enabled of another account: %v, %v", endpointIDs(got), err)
		}
		got, err = tx.EnabledWebhookEndpoints(ctx, till.Scope{AccountID: "acct_nothing"})
		if err != nil || len(got) != 0 {
			t.Fatalf("enabled of an account without endpoints: %v, %v", endpointIDs(got), err)
		}
		return nil
	})

	// Endpoints bound to one object are left out of the scope's fan-out
	// and read by their object, enabled and not deleted, oldest first.
	bound := webhookEndpoint(a, false, true, epoch.Add(5*time.Minute))
	gone := webhookEndpoint(a, false, true, epoch.Add(6*time.Minute))
	elsewhere := webhookEndpoint(a, false, true, epoch.Add(7*time.Minute))
	bound.ObjectID, gone.ObjectID, elsewhere.ObjectID = "pay_bound", "pay_bound", "pay_other"
	for _, e := range []*till.WebhookEndpoint{bound, gone, elsewhere} {
		update(t, st, func(tx till.Tx) error { return tx.CreateWebhookEndpoint(ctx, e) })
	}
	gone.Deleted, gone.Enabled, gone.Version = true, false, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateWebhookEndpoint(ctx, gone, 1) })
	view(t, st, func(tx till.Tx) error {
		got, err := tx.EnabledWebhookEndpoints(ctx, scope)
		if want := []*till.WebhookEndpoint{e1, e4, e5}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("enabled with bound endpoints = %v, %v; want %v", endpointIDs(got), err, endpointIDs(want))
		}
		got, err = tx.BoundWebhookEndpoints(ctx, scope, "pay_bound")
		if want := []*till.WebhookEndpoint{bound}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("bound = %v, %v; want %v", endpointIDs(got), err, endpointIDs(want))
		}
		for _, tc := range []struct {
			scope  till.Scope
			object string
		}{{scope, ""}, {scope, "pay_nothing"}, {till.Scope{AccountID: a.ID, Livemode: true}, "pay_bound"}, {till.Scope{AccountID: b.ID}, "pay_bound"}} {
			if got, err := tx.BoundWebhookEndpoints(ctx, tc.scope, tc.object); err != nil || len(got) != 0 {
				t.Fatalf("bound to %q in %v: %v, %v", tc.object, tc.scope, endpointIDs(got), err)
			}
		}
		return nil
	})

	// Deliveries: an event's log, newest first, in its scope.
	evt, evt2 := ids.NewID(till.PrefixEvent), ids.NewID(till.PrefixEvent)
	d1 := webhookDelivery(e1, evt, 1, epoch)
	d2 := webhookDelivery(e4, evt, 1, epoch.Add(time.Second))
	d2.Succeeded, d2.Resend, d2.NextRetryAt = false, false, nil
	d3 := webhookDelivery(e1, evt, 2, epoch.Add(time.Minute))
	d4 := webhookDelivery(e1, evt2, 1, epoch.Add(time.Second))
	dLive := webhookDelivery(live, evt, 1, epoch)
	dOther := webhookDelivery(other, evt, 1, epoch)
	for _, d := range []*till.WebhookDelivery{d1, d2, dLive, d4, dOther, d3} {
		update(t, st, func(tx till.Tx) error { return tx.CreateWebhookDelivery(ctx, d) })
	}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateWebhookDelivery(ctx, d1) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate delivery: %v", err)
	}
	deliveryIDs := func(ds []*till.WebhookDelivery) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	deliveries := func(s till.Scope, eventID string, p till.Page) ([]*till.WebhookDelivery, bool) {
		t.Helper()
		var out []*till.WebhookDelivery
		var more bool
		view(t, st, func(tx till.Tx) (err error) {
			out, more, err = tx.ListWebhookDeliveries(ctx, s, eventID, p)
			return err
		})
		return out, more
	}
	if got, more := deliveries(scope, evt, till.Page{}); !reflect.DeepEqual(got, []*till.WebhookDelivery{d3, d2, d1}) || more {
		t.Fatalf("deliveries = %v (more %v), want %v", deliveryIDs(got), more, deliveryIDs([]*till.WebhookDelivery{d3, d2, d1}))
	}
	page1, more := deliveries(scope, evt, till.Page{Limit: 2})
	page2, more2 := deliveries(scope, evt, till.Page{Limit: 2, StartingAfter: page1[len(page1)-1].ID})
	if !reflect.DeepEqual(deliveryIDs(page1), []string{d3.ID, d2.ID}) || !more || !reflect.DeepEqual(deliveryIDs(page2), []string{d1.ID}) || more2 {
		t.Fatalf("delivery pages: %v (more %v), %v (more %v)", deliveryIDs(page1), more, deliveryIDs(page2), more2)
	}
	for _, c := range []struct {
		scope   till.Scope
		eventID string
		want    []*till.WebhookDelivery
	}{
		{scope, evt2, []*till.WebhookDelivery{d4}},
		{till.Scope{AccountID: a.ID, Livemode: true}, evt, []*till.WebhookDelivery{dLive}},
		{till.Scope{AccountID: b.ID}, evt, []*till.WebhookDelivery{dOther}},
		{till.Scope{AccountID: b.ID}, evt2, nil},
		{scope, "evt_nothing", nil},
	} {
		if got, more := deliveries(c.scope, c.eventID, till.Page{}); !reflect.DeepEqual(deliveryIDs(got), deliveryIDs(c.want)) ||
			len(got) > 0 && !reflect.DeepEqual(got, c.want) || more {
			t.Errorf("deliveries of %s in %+v = %v (more %v), want %v", c.eventID, c.scope, deliveryIDs(got), more, deliveryIDs(c.want))
		}
	}
	view(t, st, func(tx till.Tx) error {
		if _, _, err := tx.ListWebhookDeliveries(ctx, scope, evt, till.Page{StartingAfter: dOther.ID}); till.ErrorCode(err) != till.EValidation {
			t.Fatalf("delivery cursor of another scope: %v", err)
		}
		return nil
	})
}
