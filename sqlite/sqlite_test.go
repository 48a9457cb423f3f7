package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tillpay/till"
	"github.com/tillpay/till/sqlite"
	"github.com/tillpay/till/storetest"
)

func open(tb testing.TB) till.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "till.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestDurabilitySettings asserts the pragmas that make a returned Update
// durable: WAL with synchronous=FULL.
func TestDurabilitySettings(t *testing.T) {
	st := open(t).(*sqlite.Store)
	defer st.Close()
	got, err := st.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got["journal_mode"] != "wal" || got["synchronous"] != "2" || got["secure_delete"] != "1" || got["foreign_keys"] != "1" {
		t.Fatalf("settings: %v (want journal_mode=wal, synchronous=2 (FULL), secure_delete=1, foreign_keys=1)", got)
	}
}

// TestRefusesNewerSchema checks that start-up refuses a database migrated by
// a newer build.
func TestRefusesNewerSchema(t *testing.T) {
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
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)`, sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(context.Background(), path, sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("want refusal of a newer schema, got %v", err)
	}
}

// TestGroupCommit checks that concurrent units of work share commits.
func TestGroupCommit(t *testing.T) {
	st := open(t).(*sqlite.Store)
	defer st.Close()
	ctx := context.Background()
	a := &till.Account{ID: "acct_gc", Name: "gc"}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	w0 := st.WriterStats()
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := &till.Customer{ID: till.RandomIDs{}.NewID("cus_"), AccountID: a.ID, Email: "x", Version: 1}
			if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateCustomer(ctx, c) }); err != nil {
				t.Error(err, i)
			}
		})
	}
	wg.Wait()
	w1 := st.WriterStats()
	commits, units := w1.Commits-w0.Commits, w1.Units-w0.Units
	if units != n || commits >= units {
		t.Fatalf("%d units in %d commits: want all units and fewer commits", units, commits)
	}
	t.Logf("%d units in %d commits (%.1f per commit)", units, commits, float64(units)/float64(commits))
}
