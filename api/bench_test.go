package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// samplePayment is a succeeded charge as the charge endpoint returns it.
func samplePayment() *till.Payment {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return &till.Payment{
		ID: "pay_0VbqGyD8W7oHVfovOC3jTP", AccountID: "acct_x", CustomerID: "cus_0VbqGyD8W7oHVfovOC3jTQ",
		PaymentMethodID: "pm_0VbqGyD8W7oHVfovOC3jTR", Kind: till.KindCharge, Status: till.StatusSucceeded, Provider: "simulator",
		Currency: "EUR", Amount: 1000, AmountSubtotal: 1000, TaxAmount: 190, AmountTotal: 1190, AmountCaptured: 1190,
		Description: "Pro plan", Metadata: till.Metadata{"order": "1001"}, TaxBehavior: till.TaxExclusive,
		TaxBreakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: "domestic"}},
		InvoiceID:    "in_0VbqGyD8W7oHVfovOC3jTS", Receipt: &till.Receipt{Email: "jane@example.com", Status: "pending"},
		Capture: true, Active: true, Version: 2, CreatedAt: now, UpdatedAt: now,
		Attempts: []till.Attempt{{ID: "att_1", Kind: till.AttemptCharge, At: now, Provider: "simulator", Amount: 1190,
			Outcome: "succeeded", ProviderRef: "sim_ch_1", Reference: "pay_x:att_1"}},
		StatusHistory: []till.StatusChange{{Status: till.StatusProcessing, At: now}, {Status: till.StatusSucceeded, At: now}},
	}
}

// BenchmarkPaymentJSON measures rendering a payment for a response.
func BenchmarkPaymentJSON(b *testing.B) {
	p := samplePayment()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(Envelope[any]{Success: true, Data: PaymentOf(p)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaymentDocument measures encoding the stored document of a
// payment (what the store writes on every change).
func BenchmarkPaymentDocument(b *testing.B) {
	p := samplePayment()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChargeRequestDecode measures decoding a charge body.
func BenchmarkChargeRequestDecode(b *testing.B) {
	body := []byte(`{"customerId":"cus_0VbqGyD8W7oHVfovOC3jTQ","amount":1000,"currency":"EUR","description":"Pro plan","metadata":{"order":"1001"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var in ChargeRequest
		if err := json.Unmarshal(body, &in); err != nil {
			b.Fatal(err)
		}
	}
}
