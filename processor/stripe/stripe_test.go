package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/tillpay/till"
	"github.com/tillpay/till/internal/testenv"
)

// intent decodes a PaymentIntent as Stripe sends it.
func intent(t *testing.T, body string) *stripe.PaymentIntent {
	t.Helper()
	var pi stripe.PaymentIntent
	if err := json.Unmarshal([]byte(body), &pi); err != nil {
		t.Fatal(err)
	}
	return &pi
}

// TestIntentResult maps PaymentIntents (as Stripe's API returns them) to
// Till's outcomes.
func TestIntentResult(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       till.ProcessorResult
	}{
		{"succeeded", `{"id":"pi_1","status":"succeeded","amount":1190,"amount_received":1190}`,
			till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: "pi_1", Amount: 1190}},
		{"held", `{"id":"pi_2","status":"requires_capture","amount":500,"amount_capturable":500}`,
			till.ProcessorResult{Outcome: till.ProcessorAuthorized, ProviderRef: "pi_2", Amount: 500}},
		{"processing", `{"id":"pi_3","status":"processing","amount":700}`,
			till.ProcessorResult{Outcome: till.ProcessorPending, ProviderRef: "pi_3", Amount: 700}},
		{"3-D Secure", `{"id":"pi_4","status":"requires_action","amount":100,"next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://hooks.stripe.com/3ds"}}}`,
			till.ProcessorResult{Outcome: till.ProcessorRequiresAction, ProviderRef: "pi_4", Amount: 100, DeclineCode: till.DeclineAuthenticationRequired,
				Message: "The card issuer requires the cardholder to authenticate this payment.", NextActionURL: "https://hooks.stripe.com/3ds"}},
		{"soft decline", `{"id":"pi_5","status":"requires_payment_method","amount":100,"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			till.ProcessorResult{Outcome: till.ProcessorDeclined, ProviderRef: "pi_5", Amount: 100, DeclineCode: till.DeclineInsufficientFunds,
				Message: "Your card has insufficient funds.", SoftDecline: true}},
		{"hard decline", `{"id":"pi_6","status":"requires_payment_method","amount":100,"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"do_not_honor","message":"Your card was declined."}}`,
			till.ProcessorResult{Outcome: till.ProcessorDeclined, ProviderRef: "pi_6", Amount: 100, DeclineCode: till.DeclineGeneric, Message: "Your card was declined."}},
		{"expired card by code", `{"id":"pi_7","status":"requires_payment_method","amount":100,"last_payment_error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`,
			till.ProcessorResult{Outcome: till.ProcessorDeclined, ProviderRef: "pi_7", Amount: 100, DeclineCode: till.DeclineExpiredCard, Message: "Your card has expired."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := *intentResult(intent(t, tc.body)); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDeclineOrError sorts Stripe's errors: card errors are declines (or a
// request for authentication), refused requests till errors, the rest
// unknown outcomes.
func TestDeclineOrError(t *testing.T) {
	card := func(code, decline string) error {
		return &stripe.Error{Type: stripe.ErrorTypeCard, Code: stripe.ErrorCode(code), DeclineCode: stripe.DeclineCode(decline),
			HTTPStatusCode: 402, Msg: "declined", PaymentIntent: &stripe.PaymentIntent{ID: "pi_x"}}
	}
	res, err := declineOrError(card("card_declined", "stolen_card"))
	if err != nil || res.Outcome != till.ProcessorDeclined || res.DeclineCode != till.DeclineStolenCard || res.SoftDecline || res.ProviderRef != "pi_x" {
		t.Errorf("stolen card: %+v %v", res, err)
	}
	res, err = declineOrError(card("card_declined", "try_again_later"))
	if err != nil || res.DeclineCode != till.DeclineTryAgainLater || !res.SoftDecline {
		t.Errorf("try again later: %+v %v", res, err)
	}
	res, err = declineOrError(card("authentication_required", "authentication_required"))
	if err != nil || res.Outcome != till.ProcessorRequiresAction {
		t.Errorf("authentication: %+v %v", res, err)
	}
	res, err = declineOrError(&stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: 400, Msg: "No such payment_method"})
	if e, ok := till.AsError(err); res != nil || !ok || e.Code != till.EValidation || !strings.Contains(e.Message, "No such payment_method") {
		t.Errorf("invalid request: %+v %v", res, err)
	}
	for _, unknown := range []error{&stripe.Error{Type: stripe.ErrorTypeAPI, HTTPStatusCode: 500}, &stripe.Error{HTTPStatusCode: 429},
		errors.New("connection reset")} {
		if res, err := declineOrError(unknown); res != nil || err == nil {
			t.Errorf("%v: %+v %v", unknown, res, err)
		} else if _, ok := till.AsError(err); ok {
			t.Errorf("%v is a till error, want an unknown outcome", unknown)
		}
	}
}

// TestAgainstStripeMock sends every call to stripe-mock, which validates
// each request against Stripe's API description and answers with its
// fixtures (whose statuses are canned: a PaymentIntent comes back
// requires_payment_method, a refund succeeded).
func TestAgainstStripeMock(t *testing.T) {
	p := New(Config{SecretKey: "sk_test_123", APIURL: testenv.StripeMock(t)})
	ctx := context.Background()
	card, err := p.Method(ctx, "pm_card_visa")
	if err != nil || card.Brand != "visa" || card.Last4 == "" || card.ExpYear == 0 {
		t.Fatalf("method: %+v %v", card, err)
	}
	if _, err := p.Verify(ctx, till.VerifyRequest{Source: till.PaymentSource{ProviderRef: "pm_card_visa"}}); err != nil {
		t.Errorf("verify: %v", err)
	}
	for _, capture := range []bool{true, false} {
		res, err := p.Charge(ctx, till.ChargeRequest{Reference: "pay_1:att_1", Amount: 1190, Currency: "EUR", Capture: capture, OffSession: true,
			Source: till.PaymentSource{ProviderRef: "pm_card_visa"}, Description: "Pro plan"})
		if err != nil || !strings.HasPrefix(res.ProviderRef, "pi_") || res.Outcome == "" {
			t.Fatalf("charge (capture %v): %+v %v", capture, res, err)
		}
	}
	if res, err := p.Capture(ctx, till.CaptureRequest{Reference: "pay_1:att_2", ProviderRef: "pi_123", Amount: 500, Currency: "EUR"}); err != nil || res.Outcome != till.ProcessorSucceeded {
		t.Errorf("capture: %+v %v", res, err)
	}
	if res, err := p.Release(ctx, till.ReleaseRequest{Reference: "pay_1:att_3", ProviderRef: "pi_123"}); err != nil || res.Outcome != till.ProcessorSucceeded {
		t.Errorf("release: %+v %v", res, err)
	}
	if res, err := p.Refund(ctx, till.RefundRequest{Reference: "ref_1:att_4", ProviderRef: "pi_123", Amount: 300, Currency: "EUR"}); err != nil || res.Outcome != till.ProcessorSucceeded || !strings.HasPrefix(res.ProviderRef, "re_") {
		t.Errorf("refund: %+v %v", res, err)
	}
	// stripe-mock's search answers fixtures that carry no till_reference.
	if _, err := p.Lookup(ctx, till.LookupRequest{Reference: "pay_1:att_9"}); till.ErrorCode(err) != till.ENotFound {
		t.Errorf("lookup: %v", err)
	}
	_, err = p.Charge(ctx, till.ChargeRequest{Reference: "pay_2:att_1", Amount: 100, Currency: "EUR", Capture: true,
		Source: till.PaymentSource{Card: &till.Card{Number: "4242424242424242"}}})
	if till.ErrorCode(err) != till.EValidation {
		t.Errorf("a card number: %v", err)
	}
}

// TestTimeout leaves the outcome unknown when Stripe does not answer.
func TestTimeout(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer stall.Close()
	p := New(Config{SecretKey: "sk_test_123", APIURL: stall.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
	res, err := p.Charge(context.Background(), till.ChargeRequest{Reference: "pay_1:att_1", Amount: 100, Currency: "EUR", Capture: true,
		Source: till.PaymentSource{ProviderRef: "pm_card_visa"}})
	if res != nil || err == nil {
		t.Fatalf("got %+v %v, want an unknown outcome", res, err)
	}
	if _, ok := till.AsError(err); ok {
		t.Errorf("a timeout is a till error: %v", err)
	}
}
