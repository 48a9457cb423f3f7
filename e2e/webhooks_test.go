package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// hook is one request a receiver got.
type hook struct {
	Header http.Header
	Body   []byte
	Event  api.Event
}

// receiver is a webhook receiver on 127.0.0.1 that records every request
// and answers with the status its status function gives (200 unless set).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hook
	status func(h hook) int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hook{Header: r.Header.Clone(), Body: body}
		json.Unmarshal(body, &h.Event)
		rc.mu.Lock()
		rc.got = append(rc.got, h)
		status := rc.status
		rc.mu.Unlock()
		code := 200
		if status != nil {
			code = status(h)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answered %d", code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setStatus(f func(h hook) int) {
	rc.mu.Lock()
	rc.status = f
	rc.mu.Unlock()
}

func (rc *receiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// ofEvent returns the requests about one event.
func (rc *receiver) ofEvent(id string) []hook {
	var out []hook
	for _, h := range rc.hooks() {
		if h.Event.ID == id {
			out = append(out, h)
		}
	}
	return out
}

func (e *Env) endpoint(t *testing.T, c *client.Client, url string, events ...string) *api.WebhookEndpointWithSecret {
	t.Helper()
	return Must[*api.WebhookEndpointWithSecret](t)(c.CreateWebhookEndpoint(e.Ctx(), api.WebhookEndpointCreate{URL: url, Events: events}))
}

// deliveries returns an event's delivery log, oldest first.
func (e *Env) deliveries(t *testing.T, eventID string) []api.WebhookDelivery {
	t.Helper()
	l := Must[*client.List[api.WebhookDelivery]](t)(e.Client.EventDeliveries(e.Ctx(), eventID, client.ListParams{Limit: 100}))
	out := slices.Clone(l.Data)
	slices.Reverse(out)
	return out
}

// TestWebhookEndpoints covers the endpoint resource: the secret shown once,
// reads, lists, updates, deletion, and clear errors for what is refused.
func TestWebhookEndpoints(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		c := env.Client
		ep := Must[*api.WebhookEndpointWithSecret](t)(c.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{
			URL: "http://localhost:3000/hooks", Events: []string{"payment.succeeded", "refund.succeeded"}, Description: "Orders",
			Metadata: map[string]string{"team": "billing"}}))
		if !strings.HasPrefix(ep.ID, "we_") || !strings.HasPrefix(ep.Secret, "whsec_") || !ep.Enabled || ep.Status != "enabled" ||
			ep.Object != "webhook_endpoint" || ep.Livemode || ep.Metadata["team"] != "billing" {
			t.Fatalf("created: %+v", ep)
		}
		raw := Must[*client.Response](t)(c.Raw(ctx, "GET", "/v1/webhook-endpoints/"+ep.ID, nil))
		if raw.Status != 200 || strings.Contains(string(raw.Body), "secret\"") || strings.Contains(string(raw.Body), ep.Secret) {
			t.Fatalf("retrieved endpoint shows its secret: %d %s", raw.Status, raw.Body)
		}
		listed := Must[*client.List[api.WebhookEndpoint]](t)(c.WebhookEndpoints(ctx, client.ListParams{}))
		if len(listed.Data) != 1 || listed.Data[0].ID != ep.ID || strings.Contains(String(listed.Data), ep.Secret) {
			t.Fatalf("listed: %+v", listed.Data)
		}
		up := Must[*api.WebhookEndpoint](t)(c.UpdateWebhookEndpoint(ctx, ep.ID, api.WebhookEndpointUpdate{Events: &[]string{"*"}, Enabled: Bool(false)}))
		if fmt.Sprint(up.Events) != "[*]" || up.Enabled || up.Status != "disabled" || up.DisabledReason != nil || up.Description != "Orders" {
			t.Fatalf("updated: %+v", up)
		}

		// Refused, each with a 400 naming the field.
		for _, bad := range []struct {
			body  string
			param string
		}{
			{`{"url":"ftp://example.com/x","events":["*"]}`, "url"},
			{`{"url":"not a url","events":["*"]}`, "url"},
			{`{"url":"https://example.com/x"}`, "events"},
			{`{"url":"https://example.com/x","events":[]}`, "events"},
			{`{"url":"https://example.com/x","events":["payment.exploded"]}`, "events"},
			{`{"url":"https://example.com/x","events":["*","payment.succeeded"]}`, "events"},
			{`{"url":"https://example.com/x","events":["*"],"secret":"whsec_mine"}`, "secret"},
		} {
			r := Must[*client.Response](t)(c.Raw(ctx, "POST", "/v1/webhook-endpoints", []byte(bad.body)))
			if r.Status != 400 || !strings.Contains(string(r.Body), `"`+bad.param+`"`) {
				t.Errorf("%s: %d %s", bad.body, r.Status, r.Body)
			}
		}
		// Live mode: https to public hosts only.
		live := c.WithKey(env.Keys.LiveSecretKey)
		for _, u := range []string{"http://example.com/hooks", "https://localhost/hooks", "https://127.0.0.1/hooks",
			"https://10.1.2.3/hooks", "https://169.254.169.254/latest", "https://[::1]/hooks", "https://[fd00:ec2::254]/"} {
			_, err := live.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{URL: u, Events: []string{"*"}})
			if e := APIError(t, err, 400, "validation_error"); e.Param != "url" {
				t.Errorf("live %s: param %q", u, e.Param)
			}
		}
		liveEP := Must[*api.WebhookEndpointWithSecret](t)(live.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{URL: "https://hooks.example.com/till", Events: []string{"*"}}))
		if !liveEP.Livemode {
			t.Errorf("live endpoint: %+v", liveEP)
		}
		// Modes and accounts do not see each other's endpoints.
		if _, err := c.WebhookEndpoint(ctx, liveEP.ID); err == nil {
			t.Error("test mode reads a live endpoint")
		}

		// At most 16 per account and mode.
		for i := 1; i < 16; i++ {
			env.endpoint(t, c, fmt.Sprintf("http://localhost:3000/hooks/%d", i), "*")
		}
		_, err := c.CreateWebhookEndpoint(ctx, api.WebhookEndpointCreate{URL: "http://localhost:3000/17", Events: []string{"*"}})
		APIError(t, err, 409, "state_conflict")

		del := Must[*api.DeletedObject](t)(c.DeleteWebhookEndpoint(ctx, ep.ID))
		if !del.Deleted || del.ID != ep.ID || del.Object != "webhook_endpoint" {
			t.Errorf("deleted: %+v", del)
		}
		_, err = c.WebhookEndpoint(ctx, ep.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = c.DeleteWebhookEndpoint(ctx, ep.ID)
		APIError(t, err, 404, "resource_missing")
	})
}

// TestWebhookDelivery follows a charge and a refund to a receiver: each event
// it subscribed to arrives once, signed both ways, with the body
// GET /v1/events/{id} shows, and the delivery log records it.
func TestWebhookDelivery(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		rc := newReceiver(t)
		ep := env.endpoint(t, env.Client, rc.URL+"/hooks", "payment.succeeded", "refund.succeeded")
		other := newReceiver(t)
		env.endpoint(t, env.Client, other.URL+"/all", "*")

		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Hooks"}))
		Must[*api.Refund](t)(env.Client.CreateRefund(ctx, p.ID, api.RefundRequest{Amount: Amount(300)}))
		env.Eventually(10*time.Second, "two deliveries", func() bool { return len(rc.hooks()) >= 2 })

		got := rc.hooks()
		if len(got) != 2 || got[0].Event.Type != "payment.succeeded" && got[1].Event.Type != "payment.succeeded" {
			t.Fatalf("receiver got %d: %v", len(got), got)
		}
		for _, h := range got {
			if err := client.VerifySignature(h.Body, h.Header.Get("Till-Signature"), ep.Secret, 0); err != nil {
				t.Errorf("Till-Signature of %s: %v", h.Event.Type, err)
			}
			if h.Header.Get("webhook-id") != h.Event.ID || h.Header.Get("webhook-timestamp") == "" ||
				!strings.HasPrefix(h.Header.Get("webhook-signature"), "v1,") || h.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Standard Webhooks headers of %s: %v", h.Event.Type, h.Header)
			}
			if err := client.VerifySignature(h.Body, h.Header.Get("Till-Signature"), "whsec_wrong", 0); err == nil {
				t.Error("a wrong secret verifies")
			}
			// The body is the event as the API shows it.
			one := Must[*client.Response](t)(env.Client.Raw(ctx, "GET", "/v1/events/"+h.Event.ID, nil))
			var env2 struct{ Data json.RawMessage }
			json.Unmarshal(one.Body, &env2)
			if !jsonEqual(t, env2.Data, h.Body) {
				t.Errorf("delivered body\n%s\nevent\n%s", h.Body, env2.Data)
			}
			env.Eventually(10*time.Second, "the delivery log of "+h.Event.ID, func() bool { return len(env.deliveries(t, h.Event.ID)) >= 2 })
			log := env.deliveries(t, h.Event.ID)
			var mine []api.WebhookDelivery
			for _, d := range log {
				if d.EndpointID == ep.ID {
					mine = append(mine, d)
				}
			}
			if len(mine) != 1 || mine[0].Status != "succeeded" || mine[0].HTTPStatus == nil || *mine[0].HTTPStatus != 200 ||
				mine[0].Attempt != 1 || mine[0].NextRetryAt != nil || mine[0].ResponseExcerpt != "answered 200" || mine[0].URL != rc.URL+"/hooks" {
				t.Errorf("delivery log of %s: %+v", h.Event.ID, log)
			}
		}
		// The "*" endpoint got every event of the flow, each once.
		events := Must[*client.List[api.Event]](t)(env.Client.Events(ctx, client.ListParams{Limit: 100}))
		env.Eventually(10*time.Second, "every event at the * endpoint", func() bool { return len(other.hooks()) >= len(events.Data) })
		seen := map[string]int{}
		for _, h := range other.hooks() {
			seen[h.Event.ID]++
		}
		for _, e := range events.Data {
			if seen[e.ID] != 1 {
				t.Errorf("event %s (%s) delivered %d times to *", e.ID, e.Type, seen[e.ID])
			}
		}
	})
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestWebhookRetries: a receiver that fails gets the event again on the
// backoff schedule of the account clock; one down for two days of test clock
// gets every event once it is back, and the log shows each attempt.
func TestWebhookRetries(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		rc := newReceiver(t)
		rc.setStatus(func(hook) int { return 503 })
		ep := env.endpoint(t, env.Client, rc.URL, "payment.succeeded")

		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		for range 3 {
			Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(500), Currency: "EUR", Description: "Retries"}))
		}
		events := Must[*client.List[api.Event]](t)(env.Client.Events(ctx, client.ListParams{Filters: map[string]string{"type": "payment.succeeded"}}))
		if len(events.Data) != 3 {
			t.Fatalf("events: %d", len(events.Data))
		}
		first := events.Data[0].ID
		env.Eventually(10*time.Second, "the first tries", func() bool { return pendingDue(t, env, events.Data, time.Now()) == 0 })
		log := env.deliveries(t, first)
		if len(log) != 1 || log[0].Status != "failed" || *log[0].HTTPStatus != 503 || log[0].NextRetryAt == nil || log[0].Error == nil {
			t.Fatalf("log after the first try: %+v", log)
		}
		clock := Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 1))
		if wait := log[0].NextRetryAt.Sub(clock.Now); wait < 50*time.Second || wait > 70*time.Second {
			t.Errorf("first retry in %v, want about a minute", wait)
		}

		// Two days down: every retry that comes due fails.
		for step := range 48 {
			now := Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 3600)).Now
			env.Eventually(10*time.Second, fmt.Sprintf("the retries due after %d h", step+1), func() bool {
				return pendingDue(t, env, events.Data, now) == 0
			})
		}
		// The first try and retries after 1 m, 5 m, 30 m, 2 h, 6 h and 12 h
		// (±10 %) fall within two days; the one 24 h later may not.
		if tries := len(rc.hooks()); tries < 3*7 {
			t.Errorf("%d tries in two days, want at least 7 per event", tries)
		}
		epNow := Must[*api.WebhookEndpoint](t)(env.Client.WebhookEndpoint(ctx, ep.ID))
		if epNow.Status != "failing" || !epNow.Enabled || epNow.FailingSince == nil {
			t.Errorf("endpoint after two days of failures: %+v", epNow)
		}

		// Back up: the next retries deliver every event, once each.
		rc.setStatus(nil)
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 25*3600))
		env.Eventually(10*time.Second, "every event delivered", func() bool {
			for _, e := range events.Data {
				log := env.deliveries(t, e.ID)
				if len(log) == 0 || log[len(log)-1].Status != "succeeded" {
					return false
				}
			}
			return true
		})
		for _, e := range events.Data {
			log := env.deliveries(t, e.ID)
			for i, d := range log {
				if d.Attempt != i+1 || (i < len(log)-1) != (d.Status == "failed") {
					t.Errorf("log of %s: %+v", e.ID, log)
					break
				}
			}
		}
		epNow = Must[*api.WebhookEndpoint](t)(env.Client.WebhookEndpoint(ctx, ep.ID))
		if epNow.Status != "enabled" || epNow.FailingSince != nil {
			t.Errorf("endpoint after a success: %+v", epNow)
		}
	})
}

// pendingDue counts the deliveries of events whose last attempt failed with
// a retry now due (on the test clock) that has not been made yet.
func pendingDue(t *testing.T, env *Env, events []api.Event, now time.Time) int {
	n := 0
	for _, e := range events {
		log := env.deliveries(t, e.ID)
		if len(log) == 0 {
			n++
			continue
		}
		last := log[len(log)-1]
		if last.NextRetryAt != nil && !last.NextRetryAt.After(now) {
			n++
		}
	}
	return n
}

// TestWebhookDisabled: an endpoint whose every delivery fails for three days
// of the account clock is disabled, with an event that other endpoints get;
// enabled again, it receives new events.
func TestWebhookDisabled(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		dead := newReceiver(t)
		dead.setStatus(func(hook) int { return 500 })
		ep := env.endpoint(t, env.Client, dead.URL, "customer.created")
		watcher := newReceiver(t)
		env.endpoint(t, env.Client, watcher.URL, "webhook_endpoint.disabled")

		Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "a@example.com"}))
		env.Eventually(10*time.Second, "the first failure", func() bool { return len(dead.hooks()) == 1 })
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 72*3600))
		// A new event after three days of failures: its failure disables
		// the endpoint.
		Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "b@example.com"}))
		env.Eventually(10*time.Second, "the endpoint disabled", func() bool {
			e := Must[*api.WebhookEndpoint](t)(env.Client.WebhookEndpoint(ctx, ep.ID))
			return !e.Enabled
		})
		e := Must[*api.WebhookEndpoint](t)(env.Client.WebhookEndpoint(ctx, ep.ID))
		if e.Status != "disabled" || e.DisabledReason == nil || *e.DisabledReason != "failing" {
			t.Errorf("disabled endpoint: %+v", e)
		}
		env.Eventually(10*time.Second, "the disabled event delivered", func() bool { return len(watcher.hooks()) == 1 })
		h := watcher.hooks()[0]
		obj, _ := json.Marshal(h.Event.Data.Object)
		if h.Event.Type != "webhook_endpoint.disabled" || h.Event.ObjectID != ep.ID || strings.Contains(string(obj), "ealed") {
			t.Errorf("disabled event: %s %s %s", h.Event.Type, h.Event.ObjectID, obj)
		}
		var shown api.WebhookEndpoint
		if json.Unmarshal(obj, &shown) != nil || shown.Enabled || shown.URL != dead.URL {
			t.Errorf("the event's endpoint: %s", obj)
		}
		// Disabled, it receives nothing.
		before := len(dead.hooks())
		Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "c@example.com"}))
		// Enabled again (and fixed), it gets new events.
		dead.setStatus(nil)
		Must[*api.WebhookEndpoint](t)(env.Client.UpdateWebhookEndpoint(ctx, ep.ID, api.WebhookEndpointUpdate{Enabled: Bool(true)}))
		d := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "d@example.com"}))
		env.Eventually(10*time.Second, "a delivery after enabling", func() bool {
			for _, h := range dead.hooks() {
				if strings.Contains(string(h.Body), d.ID) {
					return true
				}
			}
			return false
		})
		for _, h := range dead.hooks()[before:] {
			if strings.Contains(string(h.Body), "c@example.com") {
				t.Errorf("a disabled endpoint got %s", h.Body)
			}
		}
		if e := Must[*api.WebhookEndpoint](t)(env.Client.WebhookEndpoint(ctx, ep.ID)); e.Status != "enabled" || e.DisabledReason != nil {
			t.Errorf("enabled again: %+v", e)
		}
	})
}

// TestWebhookRollAndResend: a rolled secret signs beside the new one for the
// overlap, then alone; a resend delivers an event once more and shows in the
// log.
func TestWebhookRollAndResend(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		rc := newReceiver(t)
		ep := env.endpoint(t, env.Client, rc.URL, "customer.created")
		rolled := Must[*api.WebhookEndpointWithSecret](t)(env.Client.RollWebhookSecret(ctx, ep.ID, nil))
		if rolled.Secret == ep.Secret || !strings.HasPrefix(rolled.Secret, "whsec_") || rolled.PreviousSecretExpiresAt == nil ||
			rolled.PreviousSecretExpiresAt.Sub(time.Now()) < 23*time.Hour {
			t.Fatalf("rolled: %+v", rolled)
		}
		cust := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "roll@example.com"}))
		env.Eventually(10*time.Second, "a delivery", func() bool { return len(rc.hooks()) == 1 })
		h := rc.hooks()[0]
		for _, secret := range []string{ep.Secret, rolled.Secret} {
			if err := client.VerifySignature(h.Body, h.Header.Get("Till-Signature"), secret, 0); err != nil {
				t.Errorf("in the overlap, %s…: %v", secret[:10], err)
			}
		}
		if n := strings.Count(h.Header.Get("Till-Signature"), "v1="); n != 2 {
			t.Errorf("Till-Signature %q: want two v1", h.Header.Get("Till-Signature"))
		}
		if n := len(strings.Fields(h.Header.Get("webhook-signature"))); n != 2 {
			t.Errorf("webhook-signature %q: want two", h.Header.Get("webhook-signature"))
		}

		// Rolled with no overlap: only the newest secret signs.
		again := Must[*api.WebhookEndpointWithSecret](t)(env.Client.RollWebhookSecret(ctx, ep.ID, Int64(0)))
		if again.PreviousSecretExpiresAt != nil {
			t.Errorf("no overlap: %+v", again)
		}
		evs := Must[*client.List[api.Event]](t)(env.Client.Events(ctx, client.ListParams{Filters: map[string]string{"objectId": cust.ID}}))
		resent := Must[*api.Resend](t)(env.Client.ResendEvent(ctx, evs.Data[0].ID, ""))
		if fmt.Sprint(resent.EndpointIDs) != "["+ep.ID+"]" {
			t.Errorf("resend: %+v", resent)
		}
		env.Eventually(10*time.Second, "the resend", func() bool { return len(rc.hooks()) == 2 })
		h = rc.hooks()[1]
		if h.Event.ID != evs.Data[0].ID || h.Header.Get("webhook-id") != h.Event.ID {
			t.Errorf("resent %s (webhook-id %s), want %s", h.Event.ID, h.Header.Get("webhook-id"), evs.Data[0].ID)
		}
		if client.VerifySignature(h.Body, h.Header.Get("Till-Signature"), again.Secret, 0) != nil ||
			client.VerifySignature(h.Body, h.Header.Get("Till-Signature"), rolled.Secret, 0) == nil {
			t.Errorf("after a roll without overlap: %q", h.Header.Get("Till-Signature"))
		}
		env.Eventually(10*time.Second, "the resend in the log", func() bool { return len(env.deliveries(t, h.Event.ID)) == 2 })
		log := env.deliveries(t, h.Event.ID)
		if !log[1].Resend || log[1].Status != "succeeded" || log[0].Resend {
			t.Errorf("log: %+v", log)
		}

		// Refused: an unknown event, an unknown or disabled endpoint, bad
		// overlaps.
		_, err := env.Client.ResendEvent(ctx, "evt_nope", "")
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.ResendEvent(ctx, h.Event.ID, "we_nope")
		APIError(t, err, 400, "validation_error")
		Must[*api.WebhookEndpoint](t)(env.Client.UpdateWebhookEndpoint(ctx, ep.ID, api.WebhookEndpointUpdate{Enabled: Bool(false)}))
		_, err = env.Client.ResendEvent(ctx, h.Event.ID, ep.ID)
		APIError(t, err, 409, "state_conflict")
		_, err = env.Client.ResendEvent(ctx, h.Event.ID, "")
		APIError(t, err, 409, "state_conflict")
		for _, n := range []int64{-1, 7*86400 + 1} {
			_, err = env.Client.RollWebhookSecret(ctx, ep.ID, Int64(n))
			if e := APIError(t, err, 400, "validation_error"); e.Param != "expiresInSeconds" {
				t.Errorf("overlap %d: %+v", n, e)
			}
		}
	})
}
