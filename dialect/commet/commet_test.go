package commet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// TestStatusesCoverEveryStatus checks that each of Till's statuses has a
// Commet status, one of Commet's six.
func TestStatusesCoverEveryStatus(t *testing.T) {
	six := []string{statusPending, statusProcessing, statusSucceeded, statusRequiresAction, statusFailed, statusCanceled}
	for _, st := range till.Statuses {
		got, ok := statuses[st]
		if !ok || !slices.Contains(six, got) {
			t.Errorf("status %s maps to %q", st, got)
		}
	}
}

// TestErrorKindsCoverEveryCode checks that each of Till's error codes has
// a row in the error table.
func TestErrorKindsCoverEveryCode(t *testing.T) {
	for _, c := range till.Codes {
		if _, ok := errorKinds[c]; !ok {
			t.Errorf("code %s has no Commet error", c)
		}
	}
}

func event(t *testing.T, typ, objType string, obj any) *till.Event {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &till.Event{ID: "evt_1", Type: typ, ObjectType: objType, Data: b}
}

// TestEventType checks the table from core events to Commet's.
func TestEventType(t *testing.T) {
	charge := &till.Payment{Kind: till.KindCharge}
	link := &till.Payment{Kind: till.KindLink}
	for _, tc := range []struct {
		ev   *till.Event
		want string
	}{
		{event(t, till.EventPaymentSucceeded, "payment", charge), eventPaymentReceived},
		{event(t, till.EventPaymentSucceeded, "payment", link), eventPaymentReceived},
		{event(t, till.EventPaymentCaptured, "payment", charge), eventPaymentReceived},
		{event(t, till.EventPaymentFailed, "payment", charge), eventPaymentFailed},
		{event(t, till.EventPaymentFailed, "payment", link), eventPaymentLinkFailed},
		{event(t, till.EventPaymentCreated, "payment", link), eventPaymentLinkCreated},
		{event(t, till.EventPaymentLinkPaid, "payment", link), eventPaymentLinkCompleted},
		{event(t, till.EventPaymentCanceled, "payment", link), eventPaymentLinkCanceled},
		{event(t, till.EventPaymentExpired, "payment", link), eventPaymentLinkCanceled},
		{event(t, till.EventPaymentCanceled, "payment", charge), ""},
		{event(t, till.EventPaymentRefunded, "payment", charge), ""},
		{event(t, till.EventInvoiceCreated, "invoice", &till.Document{}), eventInvoiceCreated},
		{event(t, till.EventCustomerCreated, "customer", &till.Customer{}), eventCustomerCreated},
		{event(t, till.EventCustomerUpdated, "customer", &till.Customer{}), eventCustomerUpdated},
		{event(t, till.EventCustomerDeleted, "customer", &till.Customer{}), ""},
	} {
		got := Format{}.EventType(tc.ev)
		if got != tc.want {
			t.Errorf("%s of a %s: %q, want %q", tc.ev.Type, tc.ev.Data, got, tc.want)
		}
		if got != "" && !slices.Contains(Format{}.EventTypes(), got) {
			t.Errorf("%s is not in EventTypes", got)
		}
	}
}

// TestSign checks the signature the SDK's webhooks.verify checks: the hex
// HMAC-SHA256 of the raw body under the secret.
func TestSign(t *testing.T) {
	body := []byte(`{"event":"payment.received","data":{}}`)
	h := Format{}.Sign(&till.WebhookEndpoint{}, []string{"whsec_a", "whsec_old"}, "evt_1", time.Unix(0, 0), body)
	m := hmac.New(sha256.New, []byte("whsec_a"))
	m.Write(body)
	if got := h["X-Commet-Signature"]; len(got) != 1 || got[0] != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("X-Commet-Signature = %v", got)
	}
	if h["X-Commet-Event"][0] != "payment.received" || h["Content-Type"][0] != "application/json" {
		t.Errorf("headers %v", h)
	}
}

// TestTillKey checks the ck_ rule: the same secret with sk_ written ck_.
func TestTillKey(t *testing.T) {
	for in, want := range map[string]string{"ck_test_abc": "sk_test_abc", "ck_live_abc": "sk_live_abc", "sk_test_abc": "sk_test_abc",
		"pk_test_abc": "pk_test_abc", "ck_": "sk_"} {
		if got := tillKey(in); got != want {
			t.Errorf("tillKey(%q) = %q, want %q", in, got, want)
		}
	}
}
