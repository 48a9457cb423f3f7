package e2e

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/service"
)

// keeper stands in for a processor that keeps payment methods of its own
// (Stripe's kind) at the processor boundary: it knows one method, pm_known,
// refuses card numbers, and records what it was asked.
type keeper struct {
	key     string
	mu      sync.Mutex
	sources []till.PaymentSource
}

func (k *keeper) Name() string { return "stripe" }
func (k *keeper) Method(_ context.Context, ref string) (till.CardDetails, error) {
	if ref != "pm_known" {
		return till.CardDetails{}, till.NotFound("payment method", ref)
	}
	return till.CardDetails{Brand: "visa", Last4: "4242", ExpMonth: 8, ExpYear: 2031, Fingerprint: "fpStripe"}, nil
}
func (k *keeper) ok(src till.PaymentSource, out till.ProcessorOutcome, amount int64) (*till.ProcessorResult, error) {
	k.mu.Lock()
	k.sources = append(k.sources, src)
	k.mu.Unlock()
	if src.Card != nil {
		return nil, till.Errorf(till.EValidation, "card numbers are refused")
	}
	return &till.ProcessorResult{Outcome: out, ProviderRef: "pi_" + till.RandomString(12), Amount: amount}, nil
}
func (k *keeper) Verify(_ context.Context, r till.VerifyRequest) (*till.ProcessorResult, error) {
	return k.ok(r.Source, till.ProcessorSucceeded, 0)
}
func (k *keeper) Charge(_ context.Context, r till.ChargeRequest) (*till.ProcessorResult, error) {
	if !r.Capture {
		return k.ok(r.Source, till.ProcessorAuthorized, r.Amount)
	}
	return k.ok(r.Source, till.ProcessorSucceeded, r.Amount)
}
func (k *keeper) Capture(_ context.Context, r till.CaptureRequest) (*till.ProcessorResult, error) {
	return k.ok(till.PaymentSource{}, till.ProcessorSucceeded, r.Amount)
}
func (k *keeper) Release(context.Context, till.ReleaseRequest) (*till.ProcessorResult, error) {
	return k.ok(till.PaymentSource{}, till.ProcessorSucceeded, 0)
}
func (k *keeper) Refund(_ context.Context, r till.RefundRequest) (*till.ProcessorResult, error) {
	return k.ok(till.PaymentSource{}, till.ProcessorSucceeded, r.Amount)
}
func (k *keeper) Lookup(_ context.Context, r till.LookupRequest) (*till.ProcessorResult, error) {
	return nil, till.NotFound("reference", r.Reference)
}

// TestProcessorConnector checks Till's side of a processor chosen in the
// account's settings (SPEC §4b) with a connector that keeps methods of its
// own: the secret key validated per mode, sealed, shown by its last 4 and
// handed to the connector; saved methods by providerRef with the
// processor's card details; card numbers and payment links refused; live
// charges, holds and refunds through it.
func TestProcessorConnector(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		var mu sync.Mutex
		made := map[string]*keeper{}
		env := Start(t, b, Options{Connectors: map[string]service.Connector{"stripe": func(key string) till.Processor {
			mu.Lock()
			defer mu.Unlock()
			if made[key] == nil {
				made[key] = &keeper{key: key}
			}
			return made[key]
		}}})
		ctx := env.Ctx()
		live := env.Client.WithKey(env.Keys.LiveSecretKey)
		const secret = "sk_live_51NvTillSecret0000abcd"

		for _, tc := range []struct {
			in    api.ProcessorSettings
			field string
		}{
			{api.ProcessorSettings{Name: "stripe"}, "processor.secretKey"},
			{api.ProcessorSettings{Name: "stripe", SecretKey: "sk_test_51NvTillSecret0000abcd"}, "processor.secretKey"},
			{api.ProcessorSettings{Name: "stripe", SecretKey: secret, WebhookSecret: "whsec_abc"}, "processor.webhookSecret"},
			{api.ProcessorSettings{Name: "adyen", SecretKey: secret}, "processor.name"},
			{api.ProcessorSettings{Name: "simulator"}, "processor.name"},
		} {
			_, err := live.UpdateAccount(ctx, api.AccountUpdate{Processor: &tc.in})
			if got := fieldsOf(t, err); len(got) != 1 || got[0] != tc.field {
				t.Errorf("%+v: fields %v, want %s", tc.in, got, tc.field)
			}
		}
		acct := Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", SecretKey: secret}}))
		if acct.Processor.Name != "stripe" || acct.Processor.SecretKeyLast4 == nil || *acct.Processor.SecretKeyLast4 != "abcd" {
			t.Fatalf("live processor: %+v", acct.Processor)
		}
		if test := Must[*api.Account](t)(env.Client.Account(ctx)); test.Processor.Name != "simulator" {
			t.Errorf("test mode changed: %+v", test.Processor)
		}
		var stored *till.Account
		env.Store.View(ctx, func(tx till.Tx) (err error) { stored, err = tx.Account(ctx, acct.ID); return err })
		if stored.LiveProcessor.SealedSecretKey == nil || bytes.Contains(stored.LiveProcessor.SealedSecretKey, []byte("TillSecret")) {
			t.Errorf("the key is not sealed: %q", stored.LiveProcessor.SealedSecretKey)
		}

		cust := Must[*api.Customer](t)(live.CreateCustomer(ctx, api.CustomerCreate{Email: "live@example.com", Address: &api.Address{Country: "DE"}}))
		_, err := live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242")})
		if got := fieldsOf(t, err); len(got) != 1 || got[0] != "card" {
			t.Errorf("a card number for a keeping processor: %v", got)
		}
		_, err = live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{ProviderRef: "pm_unknown"})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "providerRef" {
			t.Errorf("unknown providerRef: %+v", ce)
		}
		_, err = live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Provider: "simulator", ProviderRef: "pm_known"})
		APIError(t, err, 400, "validation_error")
		pm := Must[*api.PaymentMethod](t)(live.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Provider: "stripe", ProviderRef: "pm_known"}))
		if pm.Provider != "stripe" || pm.Card.Brand != "visa" || pm.Card.Last4 != "4242" || pm.Card.ExpYear != 2031 || !pm.IsDefault {
			t.Fatalf("kept method: %+v", pm)
		}

		paid := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "live"}))
		hold := Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(2000), Currency: "EUR", Description: "hold", Capture: Bool(false)}))
		captured := Must[*api.Payment](t)(live.Capture(ctx, hold.ID, api.CaptureRequest{Amount: Amount(1500)}))
		refund := Must[*api.Refund](t)(live.CreateRefund(ctx, paid.ID, api.RefundRequest{}))
		if paid.Status != "succeeded" || paid.Provider != "stripe" || paid.InvoiceID == nil || captured.Status != "succeeded" ||
			captured.AmountCaptured != 1785 || refund.Status != "succeeded" || !paid.Livemode {
			t.Errorf("live flow: %+v\n%+v\n%+v", paid, captured, refund)
		}
		_, err = live.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x"})
		APIError(t, err, 409, "state_conflict")

		mu.Lock()
		k := made[secret]
		if len(made) != 1 || k == nil {
			t.Fatalf("connectors made for %d keys, want the one set", len(made))
		}
		mu.Unlock()
		k.mu.Lock()
		for _, src := range k.sources {
			if src.Card != nil {
				t.Errorf("the connector was sent a card number")
			}
		}
		if k.sources[0].ProviderRef != "pm_known" {
			t.Errorf("charge source: %+v", k.sources[0])
		}
		k.mu.Unlock()

		// Without a key the one set stays; a new key makes a new processor.
		again := Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe"}}))
		if *again.Processor.SecretKeyLast4 != "abcd" {
			t.Errorf("kept key: %+v", again.Processor)
		}
		const rolled = "rk_live_51NvTillRolled000wxyz"
		Must[*api.Account](t)(live.UpdateAccount(ctx, api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", SecretKey: rolled}}))
		Must[*api.Payment](t)(live.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(300), Currency: "EUR", Description: "after the roll"}))
		mu.Lock()
		if made[rolled] == nil {
			t.Errorf("the rolled key made no processor: %v", len(made))
		}
		mu.Unlock()
		if body := String(Must[*api.Account](t)(live.Account(ctx))); strings.Contains(body, "TillSecret") || strings.Contains(body, "TillRolled") {
			t.Errorf("the account shows the key: %s", body)
		}
	})
}
