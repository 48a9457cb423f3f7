package service

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tillpay/till"
)

// TestEventSnapshotHasNoSecrets: an event never holds a payment's link
// token, a card's sealed number or an account's sealed processor secrets
// and callback keys,
// and taking the snapshot leaves the object itself untouched.
func TestEventSnapshotHasNoSecrets(t *testing.T) {
	const token = "LINKTOKENlinktoken0123456789abcd"
	sealed := []byte("SEALED-SECRET-BYTES")
	p := &till.Payment{ID: "pay_1", LinkToken: token, URL: "http://till.test/pay/" + token}
	pm := &till.PaymentMethod{ID: "pm_1", SealedPAN: sealed, DataKeyID: "dk_secret"}
	a := &till.Account{ID: "acct_1",
		TestProcessor:   till.ProcessorSettings{Name: "stripe", SecretKeyLast4: "4242", SealedSecretKey: sealed, SealedWebhookSecret: sealed, DataKeyID: "dk_secret"},
		LiveProcessor:   till.ProcessorSettings{Name: "stripe", SealedSecretKey: sealed, DataKeyID: "dk_secret"},
		TestCallbackKey: till.CallbackKey{PublicKey: "PUBLIC-PEM", SealedPrivateKey: sealed, DataKeyID: "dk_secret"},
		LiveCallbackKey: till.CallbackKey{SealedPrivateKey: sealed, DataKeyID: "dk_secret"}}
	for _, tt := range []struct {
		name    string
		obj     any
		secrets [][]byte
		kept    []byte
	}{
		{"payment", p, [][]byte{[]byte(`"LinkToken":"` + token)}, []byte(`"pay_1"`)},
		{"payment method", pm, [][]byte{[]byte("dk_secret"), mustJSON(t, sealed)}, []byte(`"pm_1"`)},
		{"account", a, [][]byte{[]byte("dk_secret"), mustJSON(t, sealed)}, []byte(`"4242"`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := mustJSON(t, tt.obj)
			got := mustJSON(t, eventSnapshot(tt.obj))
			for _, s := range tt.secrets {
				if bytes.Contains(got, s) {
					t.Errorf("the event snapshot holds %s:\n%s", s, got)
				}
				if !bytes.Contains(before, s) {
					t.Fatalf("test setup: the object does not hold %s", s)
				}
			}
			if !bytes.Contains(got, tt.kept) {
				t.Errorf("the snapshot lost %s:\n%s", tt.kept, got)
			}
			if after := mustJSON(t, tt.obj); !bytes.Equal(before, after) {
				t.Errorf("taking the snapshot changed the object")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
