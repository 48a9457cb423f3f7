package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tillpay/till/internal/testenv"
)

// TestMigrationDropsEventSecrets runs migration 0005 on events as earlier
// versions stored them: the payment's LinkToken and the card's sealed number
// are removed, everything else is kept, and other events are untouched.
func TestMigrationDropsEventSecrets(t *testing.T) {
	testenv.PostgresURL(t)
	url := testenv.FreshDatabase(t)
	openURL(t, url) // applies every migration
	ctx := context.Background()
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	rows := map[string][2]string{
		"evt_pay":   {"payment", `{"ID":"pay_1","LinkToken":"SECRETTOKEN","URL":"http://x/pay/SECRETTOKEN","Amount":100}`},
		"evt_pm":    {"payment_method", `{"ID":"pm_1","SealedPAN":"c2VhbGVk","DataKeyID":"dk_1","Card":{"last4":"4242"}}`},
		"evt_other": {"customer", `{"ID":"cus_1","LinkToken":"not a payment"}`},
	}
	for id, r := range rows {
		if _, err := db.Exec(ctx, `INSERT INTO events (id, account_id, livemode, type, object_type, object_id, object_version, data, created_at)
			VALUES ($1, 'acct_1', false, 'x', $2, 'o', 1, $3, 0)`, id, r[0], []byte(r[1])); err != nil {
			t.Fatal(err)
		}
	}
	migration, err := os.ReadFile("migrations/0005_event_secrets.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, string(migration)); err != nil {
		t.Fatal(err)
	}
	got := func(id string) string {
		var data []byte
		if err := db.QueryRow(ctx, `SELECT data FROM events WHERE id = $1`, id).Scan(&data); err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(data), " ", "")
	}
	if d := got("evt_pay"); strings.Contains(d, `"LinkToken"`) || !strings.Contains(d, `"URL":"http://x/pay/SECRETTOKEN"`) || !strings.Contains(d, `"Amount":100`) {
		t.Errorf("payment event after 0005: %s", d)
	}
	if d := got("evt_pm"); strings.Contains(d, "SealedPAN") || strings.Contains(d, "DataKeyID") || !strings.Contains(d, `"last4":"4242"`) {
		t.Errorf("payment method event after 0005: %s", d)
	}
	if d := got("evt_other"); d != strings.ReplaceAll(rows["evt_other"][1], " ", "") {
		t.Errorf("customer event changed: %s", d)
	}
}
