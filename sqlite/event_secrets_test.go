package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tillpay/till/sqlite"
)

// TestMigrationDropsEventSecrets runs migration 0005 on events as earlier
// versions stored them: the payment's LinkToken and the card's sealed number
// are removed, everything else is kept, and other events are untouched.
func TestMigrationDropsEventSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := map[string][2]string{
		"evt_pay":   {"payment", `{"ID":"pay_1","LinkToken":"SECRETTOKEN","URL":"http://x/pay/SECRETTOKEN","Amount":100}`},
		"evt_pm":    {"payment_method", `{"ID":"pm_1","SealedPAN":"c2VhbGVk","DataKeyID":"dk_1","Card":{"last4":"4242"}}`},
		"evt_other": {"customer", `{"ID":"cus_1","LinkToken":"not a payment"}`},
	}
	for id, r := range rows {
		if _, err := db.Exec(`INSERT INTO events (id, account_id, livemode, type, object_type, object_id, object_version, data, created_at)
			VALUES (?, 'acct_1', 0, 'x', ?, 'o', 1, ?, 0)`, id, r[0], []byte(r[1])); err != nil {
			t.Fatal(err)
		}
	}
	migration, err := os.ReadFile("migrations/0005_event_secrets.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(migration)); err != nil {
		t.Fatal(err)
	}
	got := func(id string) string {
		var data []byte
		if err := db.QueryRow(`SELECT data FROM events WHERE id = ?`, id).Scan(&data); err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if d := got("evt_pay"); strings.Contains(d, `"LinkToken"`) || !strings.Contains(d, `"URL":"http://x/pay/SECRETTOKEN"`) || !strings.Contains(d, `"Amount":100`) {
		t.Errorf("payment event after 0005: %s", d)
	}
	if d := got("evt_pm"); strings.Contains(d, "SealedPAN") || strings.Contains(d, "DataKeyID") || !strings.Contains(d, `"last4":"4242"`) {
		t.Errorf("payment method event after 0005: %s", d)
	}
	if d := got("evt_other"); d != rows["evt_other"][1] {
		t.Errorf("customer event changed: %s", d)
	}
}
