package chip

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// TestFormatEventTypes: each core payment event of a purchase has the CHIP
// event of README.md's table; other objects, and payments that are not
// purchases, have none.
func TestFormatEventTypes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payment := func(kind till.PaymentKind, history []till.Status, attempts ...till.Attempt) []byte {
		p := till.Payment{Kind: kind, Status: history[len(history)-1], Attempts: attempts}
		for _, s := range history {
			p.StatusHistory = append(p.StatusHistory, till.StatusChange{Status: s, At: at})
		}
		b, _ := json.Marshal(p)
		return b
	}
	link := func(history ...till.Status) []byte { return payment(till.KindLink, history) }
	offSession := till.Attempt{Kind: till.AttemptCharge, At: at, Outcome: till.OutcomeProcessing, OffSession: true}
	onPage := till.Attempt{Kind: till.AttemptCharge, At: at, Outcome: till.OutcomeProcessing}
	for _, tc := range []struct {
		name, typ, object string
		data              []byte
		want              string
	}{
		{"created", till.EventPaymentCreated, "payment", link(till.StatusPending), eventCreated},
		{"paid", till.EventPaymentSucceeded, "payment", link(till.StatusPending, till.StatusProcessing, till.StatusSucceeded), eventPaid},
		{"pending charge", till.EventPaymentProcessing, "payment",
			payment(till.KindLink, []till.Status{till.StatusPending, till.StatusProcessing}, offSession), eventPendingCharge},
		{"payer on the page", till.EventPaymentProcessing, "payment",
			payment(till.KindLink, []till.Status{till.StatusPending, till.StatusProcessing}, onPage), ""},
		{"failure", till.EventPaymentFailed, "payment", link(till.StatusPending, till.StatusProcessing, till.StatusFailed), eventPaymentFailure},
		{"back to pending", till.EventPaymentPending, "payment", link(till.StatusFailed, till.StatusPending), ""},
		{"hold", till.EventPaymentAuthorized, "payment", link(till.StatusProcessing, till.StatusAuthorized), eventHold},
		{"captured", till.EventPaymentCaptured, "payment", link(till.StatusAuthorized, till.StatusSucceeded), eventCaptured},
		{"released", till.EventPaymentCanceled, "payment", link(till.StatusAuthorized, till.StatusCanceled), eventReleased},
		{"cancelled", till.EventPaymentCanceled, "payment", link(till.StatusPending, till.StatusCanceled), eventCancelled},
		{"a charge", till.EventPaymentSucceeded, "payment", payment(till.KindCharge, []till.Status{till.StatusProcessing, till.StatusSucceeded}), ""},
		{"a customer", till.EventCustomerCreated, "customer", []byte(`{}`), ""},
	} {
		got := Format{}.EventType(&till.Event{Type: tc.typ, ObjectType: tc.object, Data: tc.data})
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if got != "" && !slices.Contains(Format{}.EventTypes(), got) {
			t.Errorf("%s: %q is not among EventTypes", tc.name, got)
		}
	}
}

// TestFormatSign: X-Signature verifies with the key's public half as
// CHIP's SDKs verify it, and not for another body; without a usable key
// there is no X-Signature.
func TestFormatSign(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	body := []byte(`{"id":"x","status":"paid","event_type":"purchase.paid"}`)
	h := Format{}.Sign(&till.WebhookEndpoint{}, []string{keyPEM}, "evt_1", time.Unix(0, 0), body)
	if h["Content-Type"][0] != "application/json" || len(h["X-Signature"]) != 1 {
		t.Fatalf("headers: %v", h)
	}
	sig, err := base64.StdEncoding.DecodeString(h["X-Signature"][0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body []byte
		ok   bool
	}{{body, true}, {append([]byte(" "), body...), false}} {
		sum := sha256.Sum256(tc.body)
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig); (err == nil) != tc.ok {
			t.Errorf("verify %q: %v", tc.body, err)
		}
	}
	for _, secrets := range [][]string{nil, {"whsec_not_a_key"}} {
		if h := (Format{}).Sign(&till.WebhookEndpoint{}, secrets, "evt_1", time.Unix(0, 0), body); h["X-Signature"] != nil {
			t.Errorf("signed with %q", secrets)
		}
	}
}
