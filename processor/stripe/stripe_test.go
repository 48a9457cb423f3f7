package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
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
// each request (parameter names, types and enumerations) against Stripe's
// API description and answers with its fixtures. They are canned: a new
// PaymentIntent comes back requires_payment_method with a last_payment_error
// (so Till reads it as a decline), whatever the card; a capture answers the
// fixture pi_123; a cancel an object without an id; a refund succeeded; a
// search a fixture without Till's metadata; any pm_… a Visa 4242.
func TestAgainstStripeMock(t *testing.T) {
	p := New(Config{SecretKey: "sk_test_123", APIURL: testenv.StripeMock(t)})
	ctx := context.Background()
	t.Run("method", func(t *testing.T) {
		for _, ref := range []string{"pm_card_visa", "cus_123/pm_card_visa"} {
			card, err := p.Method(ctx, ref)
			want := till.CardDetails{Brand: "visa", Last4: "4242", ExpMonth: 8, ExpYear: 2030, Fingerprint: card.Fingerprint, Country: "US"}
			if err != nil || card != want || card.Fingerprint == "" {
				t.Errorf("%s: %+v %v", ref, card, err)
			}
		}
		if res, err := p.Verify(ctx, till.VerifyRequest{Source: till.PaymentSource{ProviderRef: "pm_card_visa"}}); err != nil ||
			res.Outcome != till.ProcessorSucceeded || res.ProviderRef != "pm_card_visa" {
			t.Errorf("verify: %+v %v", res, err)
		}
	})
	for _, tc := range []struct {
		name    string
		capture bool
		ref     string
	}{{"charge", true, "pm_card_visa"}, {"hold", false, "pm_card_visa"}, {"customer's method", true, "cus_123/pm_card_visa"}} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Charge(ctx, till.ChargeRequest{Reference: "pay_1:att_1", Amount: 1190, Currency: "EUR", Capture: tc.capture, OffSession: true,
				Source: till.PaymentSource{ProviderRef: tc.ref}, Description: "Pro plan"})
			// Accepted against the API description; the canned intent is a decline.
			if err != nil || !strings.HasPrefix(res.ProviderRef, "pi_") || res.Outcome != till.ProcessorDeclined ||
				res.DeclineCode != till.DeclineGeneric || res.Amount != 1190 || res.SoftDecline {
				t.Fatalf("%+v %v", res, err)
			}
		})
	}
	t.Run("capture", func(t *testing.T) {
		res, err := p.Capture(ctx, till.CaptureRequest{Reference: "pay_1:att_2", ProviderRef: "pi_123", Amount: 500, Currency: "EUR"})
		if err != nil || *res != (till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: "pi_123", Amount: 500}) {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("release", func(t *testing.T) {
		res, err := p.Release(ctx, till.ReleaseRequest{Reference: "pay_1:att_3", ProviderRef: "pi_123"})
		if err != nil || *res != (till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: "pi_123"}) {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("refund", func(t *testing.T) {
		res, err := p.Refund(ctx, till.RefundRequest{Reference: "ref_1:att_4", ProviderRef: "pi_123", Amount: 300, Currency: "EUR"})
		if err != nil || res.Outcome != till.ProcessorSucceeded || !strings.HasPrefix(res.ProviderRef, "re_") || res.Amount != 300 {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("lookup", func(t *testing.T) {
		// stripe-mock's search answers a fixture that carries no till_reference.
		if res, err := p.Lookup(ctx, till.LookupRequest{Reference: "pay_1:att_9"}); till.ErrorCode(err) != till.ENotFound {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("card number", func(t *testing.T) {
		for _, src := range []till.PaymentSource{{Card: &till.Card{Number: "4242424242424242"}}, {}} {
			_, err := p.Charge(ctx, till.ChargeRequest{Reference: "pay_2:att_1", Amount: 100, Currency: "EUR", Capture: true, Source: src})
			if till.ErrorCode(err) != till.EValidation {
				t.Errorf("charge %+v: %v", src, err)
			}
			if _, err := p.Verify(ctx, till.VerifyRequest{Source: src}); till.ErrorCode(err) != till.EValidation {
				t.Errorf("verify %+v: %v", src, err)
			}
		}
	})
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
	if _, ok := till.AsError(err); ok || !errors.Is(err, till.ErrProcessorTimeout) {
		t.Errorf("got %v, want an unknown outcome wrapping till.ErrProcessorTimeout", err)
	}
}

// TestLookup finds an attempt by its reference in Stripe's search results,
// and only by its own reference.
func TestLookup(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query().Get("query")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"search_result","url":"/v1/payment_intents/search","has_more":false,"data":[` +
			`{"id":"pi_1","object":"payment_intent","amount":1190,"amount_received":1190,"status":"succeeded","metadata":{"till_reference":"pay_1:att_1"}}]}`))
	}))
	defer srv.Close()
	p := New(Config{SecretKey: "sk_test_123", APIURL: srv.URL})
	res, err := p.Lookup(context.Background(), till.LookupRequest{Reference: "pay_1:att_1"})
	if err != nil || *res != (till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: "pi_1", Amount: 1190}) {
		t.Errorf("%+v %v", res, err)
	}
	if want := "metadata['till_reference']:'pay_1:att_1'"; query != want {
		t.Errorf("query %q, want %q", query, want)
	}
	if res, err := p.Lookup(context.Background(), till.LookupRequest{Reference: "pay_1:att_2"}); till.ErrorCode(err) != till.ENotFound {
		t.Errorf("another reference: %+v %v", res, err)
	}
}

// cardError is Stripe's answer (HTTP 402) to a declined confirmation, as
// Stripe's API sends it, with the PaymentIntent left behind.
func cardError(code, decline, message string) string {
	d := ""
	if decline != "" {
		d = `"decline_code":"` + decline + `",`
	}
	return `{"error":{"charge":"ch_3Q1","code":"` + code + `",` + d + `"doc_url":"https://stripe.com/docs/error-codes/` + code + `",` +
		`"message":"` + message + `","payment_intent":{"id":"pi_3Q1","object":"payment_intent","amount":1190,"currency":"eur",` +
		`"status":"requires_payment_method","metadata":{"till_reference":"pay_1:att_1"}},` +
		`"payment_method":{"id":"pm_1","object":"payment_method","type":"card"},` +
		`"request_log_url":"https://dashboard.stripe.com/test/logs/req_1","type":"card_error"}}`
}

// TestStripeAnswers sends a charge to a server that answers with Stripe's
// recorded payloads, through stripe-go, and maps each to Till's result or
// error: card errors to declines with Till's codes and soft/hard,
// authentication to requires_action with its URL, refused requests to till
// errors, and the rest to errors of unknown outcome.
func TestStripeAnswers(t *testing.T) {
	const (
		unknown till.Code = "unknown" // an error that is not a till error
	)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   till.ProcessorResult // when no error
		err    till.Code            // till error code, or unknown
	}{
		{"insufficient funds", 402, cardError("card_declined", "insufficient_funds", "Your card has insufficient funds."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineInsufficientFunds, Message: "Your card has insufficient funds.", SoftDecline: true}, ""},
		{"generic decline", 402, cardError("card_declined", "generic_decline", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineGeneric, Message: "Your card was declined."}, ""},
		{"do not honor", 402, cardError("card_declined", "do_not_honor", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineGeneric, Message: "Your card was declined."}, ""},
		{"fraudulent", 402, cardError("card_declined", "fraudulent", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineGeneric, Message: "Your card was declined."}, ""},
		{"expired card", 402, cardError("expired_card", "expired_card", "Your card has expired."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineExpiredCard, Message: "Your card has expired."}, ""},
		{"incorrect cvc", 402, cardError("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineIncorrectCVC, Message: "Your card's security code is incorrect."}, ""},
		{"lost card", 402, cardError("card_declined", "lost_card", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineLostCard, Message: "Your card was declined."}, ""},
		{"stolen card", 402, cardError("card_declined", "stolen_card", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineStolenCard, Message: "Your card was declined."}, ""},
		{"processing error", 402, cardError("processing_error", "", "An error occurred while processing your card. Try again in a little bit."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineProcessingError,
			Message: "An error occurred while processing your card. Try again in a little bit.", SoftDecline: true}, ""},
		{"try again later", 402, cardError("card_declined", "try_again_later", "Your card was declined."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineTryAgainLater, Message: "Your card was declined.", SoftDecline: true}, ""},
		{"incorrect number", 402, cardError("incorrect_number", "", "Your card number is incorrect."), till.ProcessorResult{
			Outcome: till.ProcessorDeclined, ProviderRef: "pi_3Q1", DeclineCode: till.DeclineIncorrectNumber, Message: "Your card number is incorrect."}, ""},
		{"authentication required", 402, `{"error":{"code":"authentication_required","decline_code":"authentication_required",` +
			`"message":"Your card was declined. This transaction requires authentication.","payment_intent":{"id":"pi_3Q2","object":"payment_intent",` +
			`"status":"requires_action","next_action":{"type":"redirect_to_url","redirect_to_url":{"return_url":"https://till.example/return","url":"https://hooks.stripe.com/3d_secure_2/hosted?x=1"}}},` +
			`"type":"card_error"}}`, till.ProcessorResult{Outcome: till.ProcessorRequiresAction, ProviderRef: "pi_3Q2", DeclineCode: till.DeclineAuthenticationRequired,
			Message: "Your card was declined. This transaction requires authentication.", NextActionURL: "https://hooks.stripe.com/3d_secure_2/hosted?x=1"}, ""},
		{"succeeded", 200, `{"id":"pi_3Q3","object":"payment_intent","amount":1190,"amount_received":1190,"currency":"eur","status":"succeeded","metadata":{"till_reference":"pay_1:att_1"}}`,
			till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: "pi_3Q3", Amount: 1190}, ""},
		{"no such method", 400, `{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing",` +
			`"message":"No such PaymentMethod: 'pm_gone'","param":"payment_method","type":"invalid_request_error"}}`, till.ProcessorResult{}, till.EValidation},
		{"key reused", 400, `{"error":{"message":"Keys for idempotent requests can only be used with the same parameters they were first used with.",` +
			`"type":"idempotency_error"}}`, till.ProcessorResult{}, till.EValidation},
		{"revoked key", 401, `{"error":{"message":"Invalid API Key provided: sk_test_****1234","type":"invalid_request_error"}}`, till.ProcessorResult{}, till.EConflict},
		{"concurrent request", 409, `{"error":{"code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key.",` +
			`"type":"invalid_request_error"}}`, till.ProcessorResult{}, unknown},
		{"rate limited", 429, `{"error":{"code":"rate_limit","message":"Too many requests hit the API too quickly.","type":"invalid_request_error"}}`, till.ProcessorResult{}, unknown},
		{"stripe failed", 500, `{"error":{"message":"An unknown error occurred","type":"api_error"}}`, till.ProcessorResult{}, unknown},
		{"not json", 502, `<html>Bad gateway</html>`, till.ProcessorResult{}, unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Stripe-Should-Retry", "false") // one request per case
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			p := New(Config{SecretKey: "sk_test_123", APIURL: srv.URL})
			res, err := p.Charge(context.Background(), till.ChargeRequest{Reference: "pay_1:att_1", Amount: 1190, Currency: "EUR", Capture: true,
				OffSession: true, Source: till.PaymentSource{ProviderRef: "pm_1"}})
			switch e, isTill := till.AsError(err); {
			case tc.err == "":
				if err != nil || *res != tc.want {
					t.Errorf("got  %+v %v\nwant %+v", res, err, tc.want)
				}
			case tc.err == unknown:
				if res != nil || err == nil || isTill {
					t.Errorf("got %+v %v, want an unknown outcome", res, err)
				}
			default:
				if res != nil || !isTill || e.Code != tc.err {
					t.Errorf("got %+v %v, want a till error %s", res, err, tc.err)
				}
			}
		})
	}
}

// TestChargeParams checks what Charge sends Stripe: the reference as
// Idempotency-Key and metadata, the method (and its customer), confirm,
// off_session and capture_method.
func TestChargeParams(t *testing.T) {
	var (
		form url.Values
		key  string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form, key = r.PostForm, r.Header.Get("Idempotency-Key")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"pi_1","object":"payment_intent","amount":500,"amount_capturable":500,"status":"requires_capture"}`))
	}))
	defer srv.Close()
	p := New(Config{SecretKey: "sk_test_123", APIURL: srv.URL})
	res, err := p.Charge(context.Background(), till.ChargeRequest{Reference: "pay_1:att_1", Amount: 500, Currency: "EUR", Capture: false,
		OffSession: true, Source: till.PaymentSource{ProviderRef: "cus_9/pm_1"}, Description: "Pro plan"})
	if err != nil || *res != (till.ProcessorResult{Outcome: till.ProcessorAuthorized, ProviderRef: "pi_1", Amount: 500}) {
		t.Fatalf("%+v %v", res, err)
	}
	want := map[string]string{"amount": "500", "currency": "eur", "payment_method": "pm_1", "customer": "cus_9", "confirm": "true",
		"off_session": "true", "capture_method": "manual", "metadata[till_reference]": "pay_1:att_1", "description": "Pro plan",
		"payment_method_types[0]": "card"}
	for k, v := range want {
		if got := form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if key != "pay_1:att_1" {
		t.Errorf("Idempotency-Key %q", key)
	}
}

// TestSplitRef reads a saved method's reference.
func TestSplitRef(t *testing.T) {
	for _, tc := range []struct{ ref, customer, method string }{
		{"pm_1", "", "pm_1"}, {"cus_9/pm_1", "cus_9", "pm_1"}, {"pm_1/x", "", "pm_1/x"},
	} {
		if c, m := splitRef(tc.ref); c != tc.customer || m != tc.method {
			t.Errorf("splitRef(%q) = %q, %q", tc.ref, c, m)
		}
	}
}
