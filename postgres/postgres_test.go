package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tillpay/till"
	"github.com/tillpay/till/internal/testenv"
	"github.com/tillpay/till/postgres"
	"github.com/tillpay/till/storetest"
)

var ctx = context.Background()

// openURL opens a store on url, closed when the test ends.
func openURL(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	st, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// open opens a store on a fresh database of the test server; it skips the
// test when there is none.
func open(tb testing.TB) till.Store {
	tb.Helper()
	return openURL(tb, testenv.FreshDatabase(tb))
}

func TestConformance(t *testing.T) {
	testenv.PostgresURL(t)
	storetest.Run(t, open)
}

// exec runs SQL on url outside the store.
func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, url, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSettings asserts what a returned Update's durability and the
// statement timeout depend on.
func TestSettings(t *testing.T) {
	st := open(t).(*postgres.Store)
	got, err := st.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["synchronous_commit"] != "on" || got["application_name"] != "till" || got["statement_timeout"] != "10s" {
		t.Fatalf("settings: %v (want synchronous_commit=on, application_name=till, statement_timeout=10s)", got)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestURLParameters checks that pgx parameters in the URL win over Options
// and that synchronous_commit=off is refused.
func TestURLParameters(t *testing.T) {
	url := testenv.FreshDatabase(t)
	st, err := postgres.Open(ctx, withParams(url, "pool_max_conns=3&statement_timeout=2500&application_name=till-a"), postgres.Options{MaxConns: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["statement_timeout"] != "2500ms" || got["application_name"] != "till-a" || st.Stats().MaxConns() != 3 {
		t.Fatalf("settings %v, max conns %d", got, st.Stats().MaxConns())
	}
	_, err = postgres.Open(ctx, withParams(url, "synchronous_commit=off"), postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Fatalf("want refusal of synchronous_commit=off, got %v", err)
	}
}

// withParams adds URL query parameters.
func withParams(url, params string) string {
	if strings.Contains(url, "?") {
		return url + "&" + params
	}
	return url + "?" + params
}

// TestMigratesOnceUnderConcurrency opens one fresh database from five
// goroutines at once: every Open succeeds and each migration is applied once.
func TestMigratesOnceUnderConcurrency(t *testing.T) {
	url := testenv.FreshDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			st, err := postgres.Open(ctx, url, postgres.Options{})
			if err == nil {
				err = st.Update(ctx, func(tx till.Tx) error { _, err := tx.CountAccounts(ctx); return err })
				st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	if n := count(t, url, `SELECT count(*) FROM schema_migrations`); n != postgres.SchemaVersion() {
		t.Fatalf("%d migrations recorded, want %d", n, postgres.SchemaVersion())
	}
}

// TestRefusesNewerSchema checks that start-up refuses a database migrated by
// a newer build.
func TestRefusesNewerSchema(t *testing.T) {
	url := testenv.FreshDatabase(t)
	openURL(t, url).Close()
	exec(t, url, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')`, postgres.SchemaVersion()+1)
	_, err := postgres.Open(ctx, url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("want refusal of a newer schema, got %v", err)
	}
}

// TestNoPasswordInErrors checks that a URL's password appears in no error.
func TestNoPasswordInErrors(t *testing.T) {
	for _, url := range []string{
		"postgres://till:s3cret-pw@127.0.0.1:1/till?sslmode=disable&connect_timeout=2",
		"postgres://till:s3cret-pw@127.0.0.1:1/till?sslmode=bogus",
		"postgres://till:s3cret-pw@[::1/till",
	} {
		_, err := postgres.Open(ctx, url, postgres.Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("Open(%s): %v", url, err)
		}
	}
	if d := postgres.Describe("postgres://till:s3cret-pw@db.example.com:6432/shop?sslmode=verify-full"); d != "db.example.com:6432/shop" {
		t.Errorf("Describe: %q", d)
	}
}

// TestConcurrentProcessorRecord creates one reference from 50 goroutines at
// once: exactly one row is stored, every other call gets ErrDuplicate, and
// its transaction can go on after it.
func TestConcurrentProcessorRecord(t *testing.T) {
	url := testenv.FreshDatabase(t)
	st := openURL(t, url)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			errs[i] = st.UpdateRecords(ctx, func(tx till.RecordTx) error {
				err := tx.CreateProcessorRecord(ctx, &till.ProcessorRecord{Reference: "pay_1:att_1", Kind: till.AttemptCharge,
					AccountID: "acct_1", Amount: int64(i), CreatedAt: time.Now()})
				if errors.Is(err, till.ErrDuplicate) {
					// The transaction is still usable.
					if _, err := tx.ProcessorRecord(ctx, "pay_1:att_1"); err != nil {
						return fmt.Errorf("after duplicate: %w", err)
					}
					return till.ErrDuplicate
				}
				return err
			})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, till.ErrDuplicate):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d goroutines created the record, want 1", created)
	}
	if n := count(t, url, `SELECT count(*) FROM processor_records`); n != 1 {
		t.Fatalf("%d rows", n)
	}
}

// TestClaimAcrossProcesses claims tasks from five stores (five pools, as
// five processes would have) at once: no task is claimed twice, and all are
// claimed.
func TestClaimAcrossProcesses(t *testing.T) {
	url := testenv.FreshDatabase(t)
	stores := make([]*postgres.Store, 5)
	for i := range stores {
		stores[i] = openURL(t, url)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const n = 200
	if err := stores[0].Update(ctx, func(tx till.Tx) error {
		for i := range n {
			if err := tx.CreateTask(ctx, &till.Task{ID: fmt.Sprintf("task_%03d", i), Kind: "k", AccountID: "acct_1",
				Ref: fmt.Sprint("pay_", i), RunAt: now.Add(-time.Duration(i) * time.Millisecond), CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	owner := map[string]int{}
	var wg sync.WaitGroup
	for w, st := range stores {
		wg.Go(func() {
			for {
				var got []*till.Task
				err := st.Update(ctx, func(tx till.Tx) (err error) {
					got, err = tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: []string{"k"}, Now: now, Limit: 7,
						Owner: fmt.Sprint("p", w), Lease: time.Minute})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, k := range got {
					if prev, dup := owner[k.ID]; dup {
						t.Errorf("task %s claimed by p%d and p%d", k.ID, prev, w)
					}
					owner[k.ID] = w
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != n {
		t.Fatalf("claimed %d of %d tasks", len(owner), n)
	}
	per := make([]int, len(stores))
	for _, w := range owner {
		per[w]++
	}
	t.Logf("tasks per claimer: %v", per)
	if n := count(t, url, `SELECT count(*) FROM tasks WHERE lease_owner = ''`); n != 0 {
		t.Fatalf("%d tasks left unleased", n)
	}
}

// TestIdempotencyRecordLockedInUpdate checks that reading a key's record in
// an Update makes a second Update reading it wait for the first to commit,
// and that a View does not wait.
func TestIdempotencyRecordLockedInUpdate(t *testing.T) {
	st := open(t)
	scope := till.Scope{AccountID: "acct_1"}
	rec := &till.IdempotencyRecord{AccountID: "acct_1", API: "native", Key: "k", Operation: "charge", Fingerprint: "POST /v1/x 00",
		State: till.IdemInProgress, LeaseOwner: "a"}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateIdempotencyRecord(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- st.Update(ctx, func(tx till.Tx) error {
			r, err := tx.IdempotencyRecord(ctx, scope, "native", "k")
			if err != nil {
				return err
			}
			close(locked)
			<-release
			r.LeaseOwner = "first"
			return tx.UpdateIdempotencyRecord(ctx, r)
		})
	}()
	<-locked
	// A View reads the committed state at once.
	if err := st.View(ctx, func(tx till.Tx) error {
		r, err := tx.IdempotencyRecord(ctx, scope, "native", "k")
		if err == nil && r.LeaseOwner != "a" {
			err = fmt.Errorf("view saw lease owner %q", r.LeaseOwner)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	second := make(chan string, 1)
	go func() {
		var owner string
		err := st.Update(ctx, func(tx till.Tx) error {
			r, err := tx.IdempotencyRecord(ctx, scope, "native", "k")
			if err == nil {
				owner = r.LeaseOwner
			}
			return err
		})
		if err != nil {
			owner = err.Error()
		}
		second <- owner
	}()
	select {
	case got := <-second:
		t.Fatalf("the second Update did not wait for the lock (saw %q)", got)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := <-second; got != "first" {
		t.Fatalf("the second Update saw lease owner %q, want the first's commit", got)
	}
}

// TestConflictRetried checks that Update runs a function again after a
// deadlock, which PostgreSQL resolves by aborting one of the transactions.
func TestConflictRetried(t *testing.T) {
	st := open(t)
	a := &till.Account{ID: "acct_1", Name: "a"}
	b := &till.Account{ID: "acct_2", Name: "b"}
	if err := st.Update(ctx, func(tx till.Tx) error {
		return errors.Join(tx.CreateAccount(ctx, a), tx.CreateAccount(ctx, b))
	}); err != nil {
		t.Fatal(err)
	}
	// Two units update the same two rows in opposite orders, meeting in the
	// middle: one of them deadlocks the first time it runs.
	var mu sync.Mutex
	runs := 0
	var barrier sync.WaitGroup
	barrier.Add(2)
	bump := func(tx till.Tx, id string) error {
		cur, err := tx.Account(ctx, id)
		if err != nil {
			return err
		}
		cur.Version++
		return tx.UpdateAccount(ctx, cur, cur.Version-1)
	}
	unit := func(first, second *till.Account) error {
		once := sync.OnceFunc(barrier.Done)
		return st.Update(ctx, func(tx till.Tx) error {
			mu.Lock()
			runs++
			mu.Unlock()
			if err := bump(tx, first.ID); err != nil {
				return err
			}
			once()
			barrier.Wait()
			return bump(tx, second.ID)
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- unit(a, b) }()
	go func() { errs <- unit(b, a) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if runs < 3 {
		t.Fatalf("%d runs: want a deadlock and a retry", runs)
	}
}

// TestOddText checks that text PostgreSQL cannot hold (a NUL byte, invalid
// UTF-8) in a lookup finds nothing instead of failing.
func TestOddText(t *testing.T) {
	st := open(t)
	scope := till.Scope{AccountID: "acct_1"}
	if err := st.View(ctx, func(tx till.Tx) error {
		for _, id := range []string{"cus_\x00", "cus_\xff"} {
			if _, err := tx.Customer(ctx, scope, id); till.ErrorCode(err) != till.ENotFound {
				return fmt.Errorf("customer %q: %v", id, err)
			}
			if list, _, err := tx.ListCustomers(ctx, scope, till.CustomerFilter{Email: id}); err != nil || len(list) != 0 {
				return fmt.Errorf("list by email %q: %v", id, err)
			}
			if _, _, err := tx.ListPayments(ctx, scope, till.PaymentFilter{Page: till.Page{StartingAfter: id}}); till.ErrorCode(err) != till.EValidation {
				return fmt.Errorf("cursor %q: %v", id, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDataKeysCreatedOnce starts five "processes" (stores with pools of
// their own) on an empty database at once, each creating the vault's data
// keys when it finds none, as start-up does: one set is created, and every
// process ends up with it.
func TestDataKeysCreatedOnce(t *testing.T) {
	url := testenv.FreshDatabase(t)
	stores := make([]*postgres.Store, 5)
	for i := range stores {
		stores[i] = openURL(t, url)
	}
	seen := make([]string, len(stores))
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, st := range stores {
		wg.Go(func() {
			start.Wait()
			err := st.Update(ctx, func(tx till.Tx) error {
				keys, err := tx.DataKeys(ctx)
				if err != nil {
					return err
				}
				if len(keys) == 0 {
					keys = []*till.DataKey{
						{ID: fmt.Sprintf("dk_card_%d", i), MasterKeyID: "mk", Wrapped: []byte{1}, Purpose: till.DataKeyCard, Active: true},
						{ID: fmt.Sprintf("dk_fp_%d", i), MasterKeyID: "mk", Wrapped: []byte{2}, Purpose: till.DataKeyFingerprint, Active: true},
					}
					for _, k := range keys {
						if err := tx.CreateDataKey(ctx, k); err != nil {
							return err
						}
					}
				}
				seen[i] = keys[0].ID + "," + keys[1].ID
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	start.Done()
	wg.Wait()
	if n := count(t, url, `SELECT count(*) FROM data_keys`); n != 2 {
		t.Fatalf("%d data keys stored, want one set of 2", n)
	}
	for i := range seen {
		if seen[i] != seen[0] {
			t.Fatalf("processes hold different keys: %v", seen)
		}
	}
}

// TestDocumentNumbersAcrossProcesses issues invoice numbers from five stores
// (five pools, as five processes) at once, every third unit rolling back
// after taking its number: the committed numbers are 1..n without a gap or a
// duplicate.
func TestDocumentNumbersAcrossProcesses(t *testing.T) {
	url := testenv.FreshDatabase(t)
	stores := make([]*postgres.Store, 5)
	for i := range stores {
		stores[i] = openURL(t, url)
	}
	scope := till.Scope{AccountID: "acct_1"}
	const perStore = 30
	var wg sync.WaitGroup
	for w, st := range stores {
		for i := range perStore {
			wg.Go(func() {
				err := st.Update(ctx, func(tx till.Tx) error {
					seq, err := tx.NextDocumentNumber(ctx, scope, till.DocInvoice, 2026)
					if err != nil {
						return err
					}
					if err := tx.CreateDocument(ctx, &till.Document{ID: fmt.Sprintf("in_%d_%d", w, i), AccountID: "acct_1",
						Kind: till.DocInvoice, Number: fmt.Sprintf("INV-2026-%06d", seq), Year: 2026, Sequence: seq}); err != nil {
						return err
					}
					if i%3 == 0 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	want := len(stores) * perStore * 2 / 3
	if n := count(t, url, `SELECT count(DISTINCT number) FROM documents`); n != want {
		t.Fatalf("%d distinct numbers, want %d", n, want)
	}
	if n := count(t, url, `SELECT count(*) FROM documents WHERE number <> 'INV-2026-' || lpad(((doc->>'Sequence')::int)::text, 6, '0')
		OR (doc->>'Sequence')::int NOT BETWEEN 1 AND $1`, want); n != 0 {
		t.Fatalf("%d documents numbered outside 1..%d", n, want)
	}
}

var errRollback = errors.New("rolled back")
