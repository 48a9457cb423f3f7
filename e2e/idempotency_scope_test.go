package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
)

// TestIdempotencyStoredResponses checks the two kinds of finished keys: a
// response the native API rendered and stored before the service stored
// outcomes (migration 6 keeps them) is replayed byte for byte, and a key
// is refused for another operation even with the same body.
func TestIdempotencyStoredResponses(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		body := []byte(`{"customerId":"cus_legacy","amount":100,"currency":"EUR","description":"x"}`)
		h := sha256.Sum256(body)
		stored := []byte("{\"success\":true,\"data\":{\"id\":\"pay_legacy\"}}\n")
		now := time.Now()
		err := env.Store.Update(ctx, func(tx till.Tx) error {
			return tx.CreateIdempotencyRecord(ctx, &till.IdempotencyRecord{AccountID: env.Keys.ID, API: tillhttp.APIName,
				Key: "legacy", Operation: "charge", Fingerprint: "POST /v1/payments/charge " + hex.EncodeToString(h[:]),
				State: till.IdemDone, ResourceID: "pay_legacy", StatusCode: 200, ResponseBody: stored, CreatedAt: now, UpdatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		r := Must[*client.Response](t)(env.Client.Raw(ctx, "POST", "/v1/payments/charge", body, client.IdempotencyKey("legacy")))
		if r.Status != 200 || !bytes.Equal(r.Body, stored) || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("legacy replay: %d %q (replayed %q)", r.Status, r.Body, r.Header.Get("Idempotent-Replayed"))
		}
		// The same key and body on another path is another request.
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		first := Must[*client.Response](t)(env.Client.Raw(ctx, "POST", "/v1/customers", []byte(`{"email":"a@example.com"}`), client.IdempotencyKey("k")))
		if first.Status != 200 {
			t.Fatalf("create: %d %s", first.Status, first.Body)
		}
		other := Must[*client.Response](t)(env.Client.Raw(ctx, "PATCH", "/v1/customers/"+cust.ID, []byte(`{"email":"a@example.com"}`), client.IdempotencyKey("k")))
		if other.Status != 422 || !bytes.Contains(other.Body, []byte(`"idempotency_key_reused"`)) {
			t.Fatalf("key reused for another operation: %d %s", other.Status, other.Body)
		}
	})
}
