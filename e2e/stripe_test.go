package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/internal/testenv"
	stripeproc "github.com/tillpay/till/processor/stripe"
	"github.com/tillpay/till/service"
)

// stripeScenario sits in front of stripe-mock: every request goes to
// stripe-mock, which validates it against Stripe's API description, and the
// canned answer gets the status a real Stripe would give the scenario
// (stripe-mock's PaymentIntents are always requires_payment_method): a
// confirmed intent succeeds, or is held with capture_method=manual; the
// method pm_card_chargeDeclinedInsufficientFunds is declined; with stallNext
// the next intent is made but answered only after its caller gave up. It remembers the
// intents by till_reference for the search the reconciler makes.
type stripeScenario struct {
	mock  string
	mu    sync.Mutex
	byRef map[string]map[string]any
	// creates counts the PaymentIntents created per Idempotency-Key.
	creates map[string]int
	// stallNext answers the next PaymentIntent only after its caller gave
	// up.
	stallNext bool
	// keys counts the Authorization headers Till sent.
	keys map[string]int
	// refundStatus, when set, is the status of the refunds Stripe makes
	// (stripe-mock's are succeeded); refunds holds them by till_reference.
	refundStatus string
	refunds      map[string]map[string]any
}

func (s *stripeScenario) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(r.Method, s.mock+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	// stripe-mock takes test-mode keys only; the live key Till sent is
	// recorded for the test to check.
	s.mu.Lock()
	s.keys[r.Header.Get("Authorization")]++
	s.mu.Unlock()
	req.Header.Set("Authorization", "Bearer sk_test_123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	form, _ := url.ParseQuery(string(body))
	if res.StatusCode == http.StatusOK && r.Method == http.MethodPost && r.URL.Path == "/v1/payment_intents" {
		var pi map[string]any
		json.Unmarshal(out, &pi)
		ref := form.Get("metadata[till_reference]")
		amount, _ := json.Number(form.Get("amount")).Int64()
		pi["metadata"] = map[string]string{"till_reference": ref}
		pi["amount"] = amount
		switch {
		case form.Get("payment_method") == "pm_card_chargeDeclinedInsufficientFunds":
			pi["status"] = "requires_payment_method"
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPaymentRequired)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": "card_error", "code": "card_declined",
				"decline_code": "insufficient_funds", "message": "Your card has insufficient funds.", "payment_intent": pi}})
			return
		case form.Get("payment_method") == "pm_card_asyncProcessing":
			pi["status"] = "processing"
		case form.Get("payment_method") == "pm_card_threeDSecureRequired":
			pi["status"] = "requires_action"
			pi["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{"url": stripeAuthURL, "return_url": nil}}
		case form.Get("capture_method") == "manual":
			pi["status"], pi["amount_capturable"] = "requires_capture", amount
		default:
			pi["status"], pi["amount_received"] = "succeeded", amount
		}
		s.mu.Lock()
		s.byRef[ref] = pi
		s.creates[r.Header.Get("Idempotency-Key")]++
		stall := s.stallNext
		s.stallNext = false
		s.mu.Unlock()
		if stall {
			<-r.Context().Done() // the caller gave up: its outcome is unknown to it
			return
		}
		out, _ = json.Marshal(pi)
	}
	if res.StatusCode == http.StatusOK && r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" {
		var re map[string]any
		json.Unmarshal(out, &re)
		ref := form.Get("metadata[till_reference]")
		amount, _ := json.Number(form.Get("amount")).Int64()
		re["metadata"], re["amount"], re["payment_intent"] = map[string]string{"till_reference": ref}, amount, form.Get("payment_intent")
		s.mu.Lock()
		if s.refundStatus != "" {
			re["status"] = s.refundStatus
		}
		if s.refunds != nil {
			s.refunds[ref] = re
		}
		s.mu.Unlock()
		out, _ = json.Marshal(re)
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/payment_intents/"); ok && r.Method == http.MethodGet && res.StatusCode == http.StatusOK && !strings.Contains(id, "/") {
		s.mu.Lock()
		for _, pi := range s.byRef {
			if pi["id"] == id {
				out, _ = json.Marshal(pi)
			}
		}
		s.mu.Unlock()
	}
	if res.StatusCode == http.StatusOK && r.URL.Path == "/v1/payment_intents/search" {
		q := r.URL.Query().Get("query")
		var data []any
		s.mu.Lock()
		for ref, pi := range s.byRef {
			if strings.Contains(q, "'"+ref+"'") {
				data = append(data, pi)
			}
		}
		s.mu.Unlock()
		out, _ = json.Marshal(map[string]any{"object": "search_result", "url": "/v1/payment_intents/search", "has_more": false, "data": data})
	}
	for k, v := range res.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(res.StatusCode)
	w.Write(out)
}

// stripeAuthURL is where the scenario's Stripe sends a payer to authenticate.
const stripeAuthURL = "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_x"

// TestStripeLive runs live-mode money through Till's HTTP API with the
// Stripe connector, every Stripe request validated by stripe-mock: a
// charge, a hold captured in part, a refund, a soft decline retried by
// policy, and a charge whose answer was lost, settled by the reconciler
// from Stripe's record without a second charge.
func TestStripeLive(t *testing.T) {
	mock := testenv.StripeMock(t)
	Each(t, func(t *testing.T, b Backend) {
		sc := &stripeScenario{mock: mock, byRef: map[string]map[string]any{}, creates: map[string]int{}, keys: map[string]int{}}
		proxy := httptest.NewServer(sc)
		defer proxy.Close()
		env := Start(t, b, Options{ProcessorTimeout: 500 * time.Millisecond, Connectors: map[string]service.Connector{
			stripeproc.Name: func(key string) till.Processor {
				return stripeproc.New(stripeproc.Config{SecretKey: key, APIURL: proxy.URL})
			},
		}})
		ctx := env.Ctx()
		live := env.Client.WithKey(env.Keys.LiveSecretKey)
		Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", SecretKey: "sk_live_51NvTillStripeMock1234"}}))
		cust := Must[*api.Customer](t)(live.CreateCustomer(ctx, api.CustomerCreate{Email: "stripe@example.com", Address: &api.Address{Country: "DE"}}))
		pm := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_card_visa"}))
		if pm.Provider != "stripe" || pm.Card.Brand != "visa" || pm.Card.Last4 == "" {
			t.Fatalf("method at Stripe: %+v", pm)
		}

		paid := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Pro plan"}))
		if paid.Status != "succeeded" || paid.AmountTotal != 1190 || paid.InvoiceID == nil || paid.Attempts[0].ProviderRef == nil ||
			!strings.HasPrefix(*paid.Attempts[0].ProviderRef, "pi_") || !paid.Livemode {
			t.Fatalf("charge: %+v", paid)
		}
		hold := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(5000), Currency: "EUR", Description: "Deposit", Capture: Bool(false)}))
		if hold.Status != "authorized" {
			t.Fatalf("hold: %+v", hold)
		}
		captured := Must[*api.Payment](t)(live.Capture(ctx, hold.ID, api.CaptureRequest{Amount: Amount(3000)}))
		if captured.Status != "succeeded" || captured.AmountCaptured != 3570 {
			t.Fatalf("capture: %+v", captured)
		}
		refund := Must[*api.Refund](t)(live.CreateRefund(ctx, paid.ID, api.RefundRequest{Amount: Amount(595)}))
		if refund.Status != "succeeded" || refund.CreditNoteID == nil {
			t.Fatalf("refund: %+v", refund)
		}

		soft := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_card_chargeDeclinedInsufficientFunds"}))
		_, err := live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: soft.ID, Amount: Amount(700), Currency: "EUR", Description: "declined"})
		d := APIError(t, err, 402, "card_declined").Decline()
		if d == nil || d.DeclineCode != "insufficient_funds" {
			t.Fatalf("decline: %+v", d)
		}
		if p := Must[*api.Payment](t)(live.Payment(ctx, d.PaymentID)); p.Status != "retry_scheduled" {
			t.Errorf("soft decline: %s", p.Status)
		}

		// Stripe asks for authentication: the payer is sent to Stripe's page,
		// and Till's simulated challenge is not offered.
		sca := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_card_threeDSecureRequired"}))
		_, err = live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: sca.ID, Amount: Amount(900), Currency: "EUR", Description: "sca"})
		d = APIError(t, err, 402, "card_declined").Decline()
		if d == nil || d.DeclineCode != "authentication_required" || d.NextActionURL != stripeAuthURL {
			t.Fatalf("authentication: %+v", d)
		}
		if p := Must[*api.Payment](t)(live.Payment(ctx, d.PaymentID)); p.Status != "requires_action" || p.NextAction == nil || p.NextAction.URL != stripeAuthURL {
			t.Errorf("requires_action: %+v", p)
		}

		// The answer of this charge is lost: Till leaves it processing, and
		// the reconciler finds Stripe's intent by its reference.
		sc.mu.Lock()
		sc.stallNext = true
		sc.mu.Unlock()
		lost, err := live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(2000), Currency: "EUR", Description: "lost answer",
			Metadata: map[string]string{"case": "lost"}})
		if err != nil || lost.Status != "processing" {
			t.Fatalf("lost answer: %+v %v", lost, err)
		}
		var settled *api.Payment
		env.Eventually(20*time.Second, "the reconciler", func() bool {
			settled = Must[*api.Payment](t)(live.Payment(ctx, lost.ID))
			return settled.Status == "succeeded"
		})
		ref := settled.Attempts[0].Reference
		sc.mu.Lock()
		if len(sc.keys) != 1 || sc.keys["Bearer sk_live_51NvTillStripeMock1234"] == 0 {
			t.Errorf("keys sent to Stripe: %v", sc.keys)
		}
		n := sc.creates[ref]
		sc.mu.Unlock()
		if len(settled.Attempts) != 1 || n != 1 {
			t.Errorf("lost answer settled with %d attempts, %d intents created for %s", len(settled.Attempts), n, ref)
		}
	})
}
