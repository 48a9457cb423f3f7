package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tillpay/till"
	"github.com/tillpay/till/internal/testenv"
)

// TestMigrationScopesIdempotencyByAPI runs migration 0006 on keys as
// earlier versions stored them (method, path and body hash): they become
// the native API's, with the operation read from the path and the
// fingerprint the native API computes, and keep their rendered response.
func TestMigrationScopesIdempotencyByAPI(t *testing.T) {
	testenv.PostgresURL(t)
	url := testenv.FreshDatabase(t)
	st := openURL(t, url) // applies every migration
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	// The table as migration 0001 made it.
	initSQL, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	s := string(initSQL)
	start := strings.Index(s, "CREATE TABLE idempotency_keys (")
	create := s[start : start+strings.Index(s[start:], ";")]
	if _, err := db.Exec(ctx, "DROP TABLE idempotency_keys; "+create); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"amount":100}`)
	hash := sha256.Sum256(body)
	for _, r := range []struct {
		key, method, path, state, resource string
		status                             int
		response                           []byte
	}{
		{"charged", "POST", "/v1/payments/charge", "done", "pay_1", 402, []byte(`{"success":false}`)},
		{"refunding", "POST", "/v1/payments/pay_1/refunds", "in_progress", "re_1", 0, nil},
		{"deleted", "DELETE", "/v1/customers/cus_1", "done", "cus_1", 200, []byte(`{"success":true}`)},
	} {
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (account_id, livemode, key, method, path, request_hash, state,
			lease_owner, lease_until, resource_id, status_code, response_body, created_at, updated_at)
			VALUES ('acct_1', false, $1, $2, $3, $4, $5, 'me', 0, $6, $7, $8, 1, 2)`,
			r.key, r.method, r.path, hash[:], r.state, r.resource, r.status, r.response); err != nil {
			t.Fatal(err)
		}
	}
	migration, err := os.ReadFile("migrations/0006_idempotency_by_api.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, string(migration)); err != nil {
		t.Fatal(err)
	}
	hexHash := hex.EncodeToString(hash[:])
	scope := till.Scope{AccountID: "acct_1"}
	want := map[string]till.IdempotencyRecord{
		"charged":   {Operation: "charge", Fingerprint: "POST /v1/payments/charge " + hexHash, State: till.IdemDone, ResourceID: "pay_1", StatusCode: 402, ResponseBody: []byte(`{"success":false}`)},
		"refunding": {Operation: "refund", Fingerprint: "POST /v1/payments/pay_1/refunds " + hexHash, State: till.IdemInProgress, ResourceID: "re_1"},
		"deleted":   {Operation: "customer.delete", Fingerprint: "DELETE /v1/customers/cus_1 " + hexHash, State: till.IdemDone, ResourceID: "cus_1", StatusCode: 200, ResponseBody: []byte(`{"success":true}`)},
	}
	err = st.View(ctx, func(tx till.Tx) error {
		for key, w := range want {
			got, err := tx.IdempotencyRecord(ctx, scope, "native", key)
			if err != nil {
				return err
			}
			if got.API != "native" || got.Operation != w.Operation || got.Fingerprint != w.Fingerprint || got.State != w.State ||
				got.ResourceID != w.ResourceID || got.StatusCode != w.StatusCode || string(got.ResponseBody) != string(w.ResponseBody) ||
				got.Result != nil || got.LeaseOwner != "me" || got.CreatedAt.UnixMicro() != 1 {
				t.Errorf("%s after 0006: %+v", key, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
