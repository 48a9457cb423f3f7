package api_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
)

// TestEventOf renders a stored event of every object type and checks that
// data.object is what the native API renders for the same object, with the
// event's envelope around it.
func TestEventOf(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pay := &till.Payment{ID: "pay_1", Status: till.StatusSucceeded, Amount: 1000, Currency: "EUR", URL: "http://x/pay/tok", CreatedAt: at}
	pm := &till.PaymentMethod{ID: "pm_1", CustomerID: "cus_1", SealedPAN: []byte("SEALEDCARD"), DataKeyID: "dk_1", CreatedAt: at}
	cases := []struct {
		kind string
		obj  any
		want any
	}{
		{"payment", pay, api.PaymentOf(pay)},
		{"customer", &till.Customer{ID: "cus_1", Email: "a@example.com", CreatedAt: at}, api.CustomerOf(&till.Customer{ID: "cus_1", Email: "a@example.com", CreatedAt: at})},
		{"payment_method", pm, api.PaymentMethodOf(pm, false)},
		{"refund", &till.Refund{ID: "re_1", PaymentID: "pay_1", Status: till.RefundSucceeded, Amount: 500, CreatedAt: at}, api.RefundOf(&till.Refund{ID: "re_1", PaymentID: "pay_1", Status: till.RefundSucceeded, Amount: 500, CreatedAt: at})},
		{"invoice", &till.Document{ID: "inv_1", Kind: till.DocInvoice, CreatedAt: at}, api.DocumentOf(&till.Document{ID: "inv_1", Kind: till.DocInvoice, CreatedAt: at})},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			data, err := json.Marshal(c.obj)
			if err != nil {
				t.Fatal(err)
			}
			e := &till.Event{ID: "evt_1", AccountID: "acct_1", Type: c.kind + ".x", ObjectType: c.kind, ObjectID: "o_1",
				ObjectVersion: 3, Data: data, CreatedAt: at.In(time.FixedZone("x", 3600))}
			got, err := api.EventOf(e)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "evt_1" || got.Object != "event" || got.Type != c.kind+".x" || got.APIVersion != api.APIVersion ||
				got.ObjectID != "o_1" || got.ObjectVersion != 3 || got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(at) {
				t.Errorf("envelope: %+v", got)
			}
			if !reflect.DeepEqual(got.Data.Object, c.want) {
				t.Errorf("data.object = %#v\nwant %#v", got.Data.Object, c.want)
			}
			body, _ := json.Marshal(got)
			for _, secret := range []string{"SEALEDCARD", "U0VBTEVEQ0FSRA", "dk_1", "acct_1"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("rendered event holds %q: %s", secret, body)
				}
			}
		})
	}
	if _, err := api.EventOf(&till.Event{ID: "evt_2", ObjectType: "spaceship", Data: []byte(`{}`)}); err == nil {
		t.Error("an unknown object type was rendered")
	}
	if _, err := api.EventOf(&till.Event{ID: "evt_3", ObjectType: "payment", Data: []byte(`{"Amount":"x"}`)}); err == nil {
		t.Error("a malformed snapshot was rendered")
	}
}
