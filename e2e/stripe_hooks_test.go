package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
	stripeproc "github.com/tillpay/till/processor/stripe"
	"github.com/tillpay/till/service"
)

// stripeHook sends Till a Stripe event the way Stripe sends it: an event
// object whose data.object is obj, signed with secret.
type stripeHook struct {
	t       *testing.T
	url     string
	secret  string
	live    bool
	counter int
}

// send posts event type typ about obj and returns the status and body.
func (h *stripeHook) send(typ string, obj map[string]any) (int, string) {
	h.t.Helper()
	h.counter++
	ev := map[string]any{"id": fmt.Sprintf("evt_till%d_%d", time.Now().UnixNano(), h.counter),
		"object": "event", "api_version": "2025-03-31.basil", "created": time.Now().Unix(), "livemode": h.live,
		"pending_webhooks": 1, "type": typ, "data": map[string]any{"object": obj}}
	body, _ := json.Marshal(ev)
	return h.post(body, h.secret)
}

// post posts a raw body signed with secret.
func (h *stripeHook) post(body []byte, secret string) (int, string) {
	h.t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()})
	req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(sp.Payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sp.Header)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// intentAs returns the scenario's PaymentIntent of reference ref with its
// status changed as Stripe would change it, and remembers the change (the
// reconciler's lookups see what the webhook said).
func (s *stripeScenario) intentAs(t *testing.T, ref, status string) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pi := s.byRef[ref]
	if pi == nil {
		t.Fatalf("no PaymentIntent for %s", ref)
	}
	pi["status"], pi["next_action"] = status, nil
	if status == "succeeded" {
		pi["amount_received"] = pi["amount"]
	}
	out := map[string]any{}
	for k, v := range pi {
		out[k] = v
	}
	return out
}

// eventCount counts the events of type typ about object id.
func eventCount(t *testing.T, ctx context.Context, c *client.Client, typ, id string) int {
	t.Helper()
	f := map[string]string{"type": typ}
	if id != "" {
		f["objectId"] = id
	}
	l := Must[*client.List[api.Event]](t)(c.Events(ctx, client.ListParams{Limit: 100, Filters: f}))
	return len(l.Data)
}

// TestStripeWebhooks settles through Stripe's webhooks, at POST
// /hooks/stripe/{accountId}, what Stripe decides after Till's call: an
// asynchronous charge, a charge the payer authenticated at Stripe,
// pending refunds, and a chargeback; replayed and stale events change
// nothing, and what is not signed with the account's secret is refused.
func TestStripeWebhooks(t *testing.T) {
	mock := testenv.StripeMock(t)
	Each(t, func(t *testing.T, b Backend) {
		sc := &stripeScenario{mock: mock, byRef: map[string]map[string]any{}, creates: map[string]int{}, keys: map[string]int{},
			refunds: map[string]map[string]any{}}
		proxy := httptest.NewServer(sc)
		defer proxy.Close()
		env := Start(t, b, Options{ProcessorTimeout: 2 * time.Second, Connectors: map[string]service.Connector{
			stripeproc.Name: func(key string) till.Processor {
				return stripeproc.New(stripeproc.Config{SecretKey: key, APIURL: proxy.URL})
			},
		}})
		ctx := env.Ctx()
		live := env.Client.WithKey(env.Keys.LiveSecretKey)
		const secret = "whsec_tillLiveHooks0123456789abcdef"
		Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", SecretKey: "sk_live_51NvTillStripeMock1234"}}))
		_, err := live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", WebhookSecret: "sk_live_notASigningSecret"}})
		if e := APIError(t, err, 400, "validation_error"); !strings.Contains(e.Message, "whsec_") {
			t.Errorf("a webhook secret that is no signing secret: %v", e.Message)
		}
		// The secret is set on its own: the key stays.
		acct := Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", WebhookSecret: secret}}))
		if acct.Processor.WebhookSecretLast4 == nil || *acct.Processor.WebhookSecretLast4 != "cdef" ||
			acct.Processor.SecretKeyLast4 == nil || *acct.Processor.SecretKeyLast4 != "1234" {
			t.Fatalf("processor after setting the webhook secret: %+v", acct.Processor)
		}
		var stored *till.Account
		env.Store.View(ctx, func(tx till.Tx) (err error) { stored, err = tx.Account(ctx, acct.ID); return err })
		if ps := stored.LiveProcessor; ps.SealedWebhookSecret == nil || bytes.Contains(ps.SealedWebhookSecret, []byte("tillLiveHooks")) || ps.WebhookDataKeyID == "" {
			t.Errorf("the webhook secret is not sealed: %+v", ps)
		}
		hook := &stripeHook{t: t, url: env.URL + "/hooks/stripe/" + acct.ID, secret: secret, live: true}

		cust := Must[*api.Customer](t)(live.CreateCustomer(ctx, api.CustomerCreate{Email: "hooks@example.com", Address: &api.Address{Country: "DE"}}))
		async := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_card_asyncProcessing"}))

		// An asynchronous charge: processing until Stripe's webhook.
		p := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: async.ID, Amount: Amount(1000), Currency: "EUR", Description: "async"}))
		if p.Status != "processing" {
			t.Fatalf("async charge: %s", p.Status)
		}
		ref := p.Attempts[0].Reference
		if code, body := hook.send("payment_intent.processing", sc.intentAs(t, ref, "processing")); code != 200 || !strings.Contains(body, `"received":true`) {
			t.Fatalf("processing event: %d %s", code, body)
		}
		if got := Must[*api.Payment](t)(live.Payment(ctx, p.ID)); got.Status != "processing" {
			t.Fatalf("after payment_intent.processing: %s", got.Status)
		}
		succeeded := sc.intentAs(t, ref, "succeeded")
		if code, body := hook.send("payment_intent.succeeded", succeeded); code != 200 {
			t.Fatalf("succeeded event: %d %s", code, body)
		}
		paid := Must[*api.Payment](t)(live.Payment(ctx, p.ID))
		if paid.Status != "succeeded" || paid.InvoiceID == nil || paid.AmountCaptured != 1190 {
			t.Fatalf("after payment_intent.succeeded: %+v", paid)
		}
		// Replayed, and overtaken by a stale failure: nothing changes.
		hook.send("payment_intent.succeeded", succeeded)
		stale := sc.intentAs(t, ref, "requires_payment_method")
		hook.send("payment_intent.payment_failed", stale)
		sc.intentAs(t, ref, "succeeded")
		// (The receipt worker may bump the payment's version meanwhile: the
		// payment's own facts are compared.)
		if again := Must[*api.Payment](t)(live.Payment(ctx, p.ID)); again.Status != "succeeded" || len(again.Attempts) != 1 ||
			again.Attempts[0].Outcome != "succeeded" || *again.InvoiceID != *paid.InvoiceID || again.AmountCaptured != paid.AmountCaptured ||
			statuses(again) != "processing,succeeded" {
			t.Errorf("replayed events changed the payment: %+v", again)
		}
		if n := eventCount(t, ctx, live, "payment.succeeded", p.ID); n != 1 {
			t.Errorf("%d payment.succeeded events", n)
		}
		if n := eventCount(t, ctx, live, "invoice.created", ""); n != 1 {
			t.Errorf("%d invoice.created events", n)
		}

		// The payer authenticated at Stripe: the payment that required
		// action is charged by the same intent.
		sca := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_card_threeDSecureRequired"}))
		_, err = live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: sca.ID, Amount: Amount(900), Currency: "EUR", Description: "sca"})
		d := APIError(t, err, 402, "card_declined").Decline()
		action := Must[*api.Payment](t)(live.Payment(ctx, d.PaymentID))
		if action.Status != "requires_action" || action.ExpiresAt == nil {
			t.Fatalf("3-D Secure: %+v", action)
		}
		scaRef := action.Attempts[0].Reference
		hook.send("payment_intent.requires_action", sc.intentAs(t, scaRef, "requires_action"))
		hook.send("payment_intent.succeeded", sc.intentAs(t, scaRef, "succeeded"))
		authed := Must[*api.Payment](t)(live.Payment(ctx, action.ID))
		var history []string
		for _, h := range authed.StatusHistory {
			history = append(history, string(h.Status))
		}
		if authed.Status != "succeeded" || authed.NextAction != nil || authed.ExpiresAt != nil || len(authed.Attempts) != 1 ||
			authed.Attempts[0].Outcome != "succeeded" || strings.Join(history, ",") != "processing,requires_action,processing,succeeded" {
			t.Fatalf("authenticated at Stripe: %s %v %+v", authed.Status, history, authed.Attempts)
		}

		// Refunds Stripe answers pending: refund.updated settles one, and
		// charge.refunded makes Till ask about the other.
		sc.mu.Lock()
		sc.refundStatus = "pending"
		sc.mu.Unlock()
		r1 := Must[*api.Refund](t)(live.CreateRefund(ctx, paid.ID, api.RefundRequest{Amount: Amount(119)}))
		r2 := Must[*api.Refund](t)(live.CreateRefund(ctx, paid.ID, api.RefundRequest{Amount: Amount(238)}))
		if r1.Status != "pending" || r2.Status != "pending" {
			t.Fatalf("refunds: %s %s", r1.Status, r2.Status)
		}
		sc.mu.Lock()
		re := map[string]any{}
		for k, v := range sc.refunds[r1.Attempt.Reference] {
			re[k] = v
		}
		sc.refundStatus = ""
		sc.mu.Unlock()
		re["status"] = "succeeded"
		if code, body := hook.send("refund.updated", re); code != 200 {
			t.Fatalf("refund.updated: %d %s", code, body)
		}
		if got := Must[*api.Refund](t)(live.Refund(ctx, r1.ID)); got.Status != "succeeded" || got.CreditNoteID == nil {
			t.Fatalf("after refund.updated: %+v", got)
		}
		hook.send("refund.updated", re)
		hook.send("charge.refunded", map[string]any{"id": "ch_tillhooks", "object": "charge", "amount": 1190, "amount_refunded": 357,
			"currency": "eur", "metadata": map[string]string{"till_reference": ref}, "payment_intent": succeeded["id"], "status": "succeeded"})
		env.Eventually(10*time.Second, "the second refund", func() bool {
			return Must[*api.Refund](t)(live.Refund(ctx, r2.ID)).Status == "succeeded"
		})
		afterRefunds := Must[*api.Payment](t)(live.Payment(ctx, paid.ID))
		if afterRefunds.Status != "partially_refunded" || afterRefunds.AmountRefunded != 357 {
			t.Fatalf("after the refunds: %s %d", afterRefunds.Status, afterRefunds.AmountRefunded)
		}
		if n := eventCount(t, ctx, live, "refund.succeeded", r1.ID); n != 1 {
			t.Errorf("%d refund.succeeded events for the replayed refund", n)
		}

		// A chargeback names the intent by id: Till reads its reference
		// from Stripe. Replayed, it is taken once.
		dispute := map[string]any{"id": "dp_tillhooks", "object": "dispute", "amount": 833, "currency": "eur", "charge": "ch_tillhooks",
			"payment_intent": succeeded["id"], "reason": "fraudulent", "status": "needs_response", "metadata": map[string]string{}}
		if code, body := hook.send("charge.dispute.created", dispute); code != 200 {
			t.Fatalf("dispute: %d %s", code, body)
		}
		hook.send("charge.dispute.created", dispute)
		disputed := Must[*api.Payment](t)(live.Payment(ctx, paid.ID))
		if disputed.Status != "disputed" || eventCount(t, ctx, live, "payment.disputed", paid.ID) != 1 {
			t.Fatalf("after the dispute: %s", disputed.Status)
		}

		// A dispute before its charge settled is refused, for Stripe to send
		// again; an event about an intent Till did not make is ignored.
		early := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: async.ID, Amount: Amount(400), Currency: "EUR", Description: "early"}))
		earlyPI := sc.intentAs(t, early.Attempts[0].Reference, "processing")
		if code, body := hook.send("charge.dispute.created", map[string]any{"id": "dp_early", "object": "dispute", "amount": 476, "currency": "eur",
			"payment_intent": earlyPI["id"], "reason": "general", "status": "needs_response"}); code != 409 || !strings.Contains(body, "state_conflict") {
			t.Errorf("dispute before the charge settled: %d %s", code, body)
		}
		if code, _ := hook.send("payment_intent.succeeded", map[string]any{"id": "pi_notTills", "object": "payment_intent", "status": "succeeded",
			"amount": 100, "metadata": map[string]string{}}); code != 200 {
			t.Errorf("foreign intent: %d", code)
		}
		if code, _ := hook.send("customer.created", map[string]any{"id": "cus_x", "object": "customer"}); code != 200 {
			t.Errorf("an event Till ignores: %d", code)
		}

		// Refused: another secret, a test-mode event on the live secret, an
		// unknown account, no signature.
		body, _ := json.Marshal(map[string]any{"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded", "livemode": true,
			"data": map[string]any{"object": sc.intentAs(t, early.Attempts[0].Reference, "succeeded")}})
		if code, out := hook.post(body, "whsec_someoneElse0123456789"); code != 400 || !strings.Contains(out, "signature") {
			t.Errorf("forged event: %d %s", code, out)
		}
		testEvent := *hook
		testEvent.live = false
		if code, out := testEvent.send("payment_intent.succeeded", earlyPI); code != 400 || !strings.Contains(out, "test-mode event") {
			t.Errorf("a test-mode event signed with the live secret: %d %s", code, out)
		}
		unknown := *hook
		unknown.url = env.URL + "/hooks/stripe/acct_nobody"
		if code, out := unknown.send("payment_intent.succeeded", earlyPI); code != 400 || !strings.Contains(out, "signature") {
			t.Errorf("unknown account: %d %s", code, out)
		}
		res, err := http.Post(hook.url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Errorf("unsigned event: %d", res.StatusCode)
		}
		if got := Must[*api.Payment](t)(live.Payment(ctx, early.ID)); got.Status != "processing" {
			t.Errorf("a refused event changed the payment: %s", got.Status)
		}
	})
}
