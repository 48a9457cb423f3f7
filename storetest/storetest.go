// Package storetest is the conformance suite every till.Store must pass:
// scoping, uniqueness, optimistic versions, list order and cursors, atomic
// units of work under concurrency, and the task leases background work
// relies on. Each store's tests call Run with a function opening a fresh,
// empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// Open returns a fresh, empty store; the suite closes it.
type Open func(tb testing.TB) till.Store

// Run runs the suite.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st till.Store)
	}{
		{"Accounts", testAccounts},
		{"CustomersScopedAndVersioned", testCustomers},
		{"ListOrderAndCursor", testListOrder},
		{"PaymentsAndFilters", testPayments},
		{"PaymentMethods", testPaymentMethods},
		{"Idempotency", testIdempotency},
		{"UpdateIsAtomic", testAtomic},
		{"ConcurrentUpdatesIsolated", testConcurrentUpdates},
		{"StaleRetried", testStaleRetried},
		{"TaskLeases", testTaskLeases},
		{"ProcessorRecords", testProcessorRecords},
		{"ProcessorRecordUnits", testProcessorRecordUnits},
		{"EveryFieldRoundTrips", testRoundTrip},
		{"DataKeys", testDataKeys},
		{"DocumentNumbersGapFree", testDocumentNumbers},
		{"Refunds", testRefunds},
		{"Journal", testJournal},
		{"Mailbox", testMailbox},
		{"Events", testEvents},
		{"EventCursor", testEventCursor},
		{"Webhooks", testWebhooks},
		{"CustomerSessions", testCustomerSessions},
		{"Catalog", testCatalog},
		{"OrdersAndSubscriptions", testOrders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			tc.fn(t, st)
		})
	}
}

var (
	ctx   = context.Background()
	epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ids   = till.RandomIDs{}
)

func update(t *testing.T, st till.Store, fn func(tx till.Tx) error) {
	t.Helper()
	if err := st.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, st till.Store, fn func(tx till.Tx) error) {
	t.Helper()
	if err := st.View(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func account(t *testing.T, st till.Store) *till.Account {
	t.Helper()
	a := &till.Account{ID: ids.NewID(till.PrefixAccount), Name: "Acme", OriginCountry: "DE", Version: 1, CreatedAt: epoch, UpdatedAt: epoch}
	update(t, st, func(tx till.Tx) error { return tx.CreateAccount(ctx, a) })
	return a
}

func notFound(t *testing.T, err error) {
	t.Helper()
	if till.ErrorCode(err) != till.ENotFound {
		t.Fatalf("want resource_missing, got %v", err)
	}
}

func testAccounts(t *testing.T, st till.Store) {
	a := account(t, st)
	a.CustomTaxRates = []till.CustomTaxRate{{Country: "US", Region: "NY", Rate: 88750, Name: "NY sales tax"}}
	a.TestClockOffset = 90 * time.Second
	a.Version = 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateAccount(ctx, a, 1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateAccount(ctx, a, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale account update: %v", err)
	}
	key := &till.APIKey{ID: ids.NewID(till.PrefixKey), AccountID: a.ID, Kind: till.KeySecret, Hash: []byte("hash-1"), Prefix: "sk_test_", Last4: "abcd", CreatedAt: epoch}
	update(t, st, func(tx till.Tx) error { return tx.CreateAPIKey(ctx, key) })
	dup := *key
	dup.ID = ids.NewID(till.PrefixKey)
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateAPIKey(ctx, &dup) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate key hash: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		got, err := tx.Account(ctx, a.ID)
		if err != nil {
			return err
		}
		if got.CustomTaxRates[0].Rate != 88750 || got.TestClockOffset != 90*time.Second || got.Name != "Acme" {
			t.Fatalf("account round trip: %+v", got)
		}
		k, err := tx.APIKeyByHash(ctx, []byte("hash-1"))
		if err != nil || k.ID != key.ID || k.RevokedAt != nil || k.CreatedAt != epoch {
			t.Fatalf("key by hash: %+v %v", k, err)
		}
		_, err = tx.APIKeyByHash(ctx, []byte("nope"))
		notFound(t, err)
		n, err := tx.CountAccounts(ctx)
		if n != 1 {
			t.Fatalf("count %d", n)
		}
		return err
	})
	revoked := epoch.Add(time.Hour)
	key.RevokedAt = &revoked
	update(t, st, func(tx till.Tx) error { return tx.UpdateAPIKey(ctx, key) })
	view(t, st, func(tx till.Tx) error {
		k, err := tx.APIKey(ctx, key.ID)
		if err != nil || k.RevokedAt == nil || !k.RevokedAt.Equal(revoked) {
			t.Fatalf("revoked: %+v %v", k, err)
		}
		return nil
	})
}

func customer(a *till.Account, live bool, email string, at time.Time) *till.Customer {
	return &till.Customer{ID: ids.NewID(till.PrefixCustomer), AccountID: a.ID, Livemode: live, Email: email, Version: 1,
		Metadata: till.Metadata{"k": "v"}, CreatedAt: at, UpdatedAt: at}
}

func testCustomers(t *testing.T, st till.Store) {
	a, b := account(t, st), account(t, st)
	c := customer(a, false, "Jane@Example.com", epoch)
	update(t, st, func(tx till.Tx) error { return tx.CreateCustomer(ctx, c) })
	view(t, st, func(tx till.Tx) error {
		got, err := tx.Customer(ctx, till.Scope{AccountID: a.ID}, c.ID)
		if err != nil || got.Email != "Jane@Example.com" || got.Metadata["k"] != "v" {
			t.Fatalf("get: %+v %v", got, err)
		}
		_, err = tx.Customer(ctx, till.Scope{AccountID: a.ID, Livemode: true}, c.ID)
		notFound(t, err)
		_, err = tx.Customer(ctx, till.Scope{AccountID: b.ID}, c.ID)
		notFound(t, err)
		// Email filters ignore case.
		list, _, err := tx.ListCustomers(ctx, till.Scope{AccountID: a.ID}, till.CustomerFilter{Email: "jane@example.COM"})
		if err != nil || len(list) != 1 {
			t.Fatalf("email filter: %d %v", len(list), err)
		}
		return nil
	})
	c.Name = "Jane"
	c.Version = 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateCustomer(ctx, c, 1) })
	stale := *c
	stale.Version = 3
	err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateCustomer(ctx, &stale, 1) })
	if !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
}

func testListOrder(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	var want []string
	for i := range 25 {
		c := customer(a, false, fmt.Sprintf("c%d@example.com", i), epoch.Add(time.Duration(i%3)*time.Minute))
		update(t, st, func(tx till.Tx) error { return tx.CreateCustomer(ctx, c) })
		want = append([]string{c.ID}, want...)
	}
	other := customer(a, true, "live@example.com", epoch)
	update(t, st, func(tx till.Tx) error { return tx.CreateCustomer(ctx, other) })
	var got []string
	cursor := ""
	for {
		var page []*till.Customer
		var more bool
		view(t, st, func(tx till.Tx) (err error) {
			page, more, err = tx.ListCustomers(ctx, scope, till.CustomerFilter{Page: till.Page{Limit: 10, StartingAfter: cursor}})
			return err
		})
		for _, c := range page {
			got = append(got, c.ID)
		}
		if !more {
			break
		}
		cursor = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order:\n got %v\nwant %v", got, want)
	}
	from, to := epoch.Add(time.Minute), epoch.Add(time.Minute)
	view(t, st, func(tx till.Tx) error {
		list, _, err := tx.ListCustomers(ctx, scope, till.CustomerFilter{Page: till.Page{Limit: 100}, CreatedFrom: &from, CreatedTo: &to})
		if err != nil || len(list) != 8 {
			t.Fatalf("created range: %d %v", len(list), err)
		}
		_, _, err = tx.ListCustomers(ctx, scope, till.CustomerFilter{Page: till.Page{StartingAfter: other.ID}})
		if till.ErrorCode(err) != till.EValidation {
			t.Fatalf("cursor of another scope: %v", err)
		}
		return nil
	})
}

func payment(a *till.Account, cust string, status till.Status, kind till.PaymentKind) *till.Payment {
	return &till.Payment{ID: ids.NewID(till.PrefixPayment), AccountID: a.ID, CustomerID: cust, Status: status, Kind: kind,
		Currency: "EUR", AmountTotal: 1190, Version: 1, CreatedAt: epoch, UpdatedAt: epoch,
		TaxBreakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: "domestic"}}}
}

func testPayments(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	p1 := payment(a, "cus_1", till.StatusSucceeded, till.KindCharge)
	p2 := payment(a, "cus_2", till.StatusFailed, till.KindCharge)
	p3 := payment(a, "cus_1", till.StatusPending, till.KindLink)
	p3.LinkToken = "tok-abc"
	for _, p := range []*till.Payment{p1, p2, p3} {
		update(t, st, func(tx till.Tx) error { return tx.CreatePayment(ctx, p) })
	}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreatePayment(ctx, p1) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate payment: %v", err)
	}
	count := func(f till.PaymentFilter) int {
		var n int
		view(t, st, func(tx till.Tx) error {
			list, _, err := tx.ListPayments(ctx, scope, f)
			n = len(list)
			return err
		})
		return n
	}
	if n := count(till.PaymentFilter{CustomerID: "cus_1"}); n != 2 {
		t.Fatalf("customer filter %d", n)
	}
	if n := count(till.PaymentFilter{Status: till.StatusFailed}); n != 1 {
		t.Fatalf("status filter %d", n)
	}
	if n := count(till.PaymentFilter{Kind: till.KindLink, CustomerID: "cus_1"}); n != 1 {
		t.Fatalf("kind filter %d", n)
	}
	view(t, st, func(tx till.Tx) error {
		got, err := tx.PaymentByLinkToken(ctx, "tok-abc")
		if err != nil || got.ID != p3.ID {
			t.Fatalf("by token: %v", err)
		}
		got, err = tx.Payment(ctx, scope, p1.ID)
		if err != nil || got.TaxBreakdown[0].Rate != 190000 {
			t.Fatalf("round trip: %+v %v", got, err)
		}
		return nil
	})
	// A link token set by an update is found.
	p1.LinkToken = "tok-set-later"
	p1.Version = 2
	update(t, st, func(tx till.Tx) error { return tx.UpdatePayment(ctx, p1, 1) })
	view(t, st, func(tx till.Tx) error {
		got, err := tx.PaymentByLinkToken(ctx, "tok-set-later")
		if err != nil || got.ID != p1.ID {
			t.Fatalf("token set by update: %v", err)
		}
		return nil
	})
	// Status changes are visible to filters.
	p2.Status = till.StatusRetryScheduled
	p2.Version = 2
	update(t, st, func(tx till.Tx) error { return tx.UpdatePayment(ctx, p2, 1) })
	if n := count(till.PaymentFilter{Status: till.StatusFailed}); n != 0 {
		t.Fatalf("after update, failed: %d", n)
	}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdatePayment(ctx, p2, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale payment update: %v", err)
	}
}

func testPaymentMethods(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	pm1 := &till.PaymentMethod{ID: ids.NewID(till.PrefixPaymentMethod), AccountID: a.ID, CustomerID: "cus_1", Type: "card",
		SealedPAN: []byte{1, 2, 3}, Version: 1, CreatedAt: epoch}
	pm2 := &till.PaymentMethod{ID: ids.NewID(till.PrefixPaymentMethod), AccountID: a.ID, CustomerID: "cus_1", Type: "card", CreatedAt: epoch}
	for _, pm := range []*till.PaymentMethod{pm1, pm2} {
		update(t, st, func(tx till.Tx) error { return tx.CreatePaymentMethod(ctx, pm) })
	}
	now := epoch
	pm1.DetachedAt, pm1.SealedPAN, pm1.Version = &now, nil, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdatePaymentMethod(ctx, pm1, 1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdatePaymentMethod(ctx, pm1, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale payment method update: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		list, err := tx.ListPaymentMethods(ctx, scope, "cus_1")
		if err != nil || len(list) != 1 || list[0].ID != pm2.ID {
			t.Fatalf("attached list: %v", err)
		}
		got, err := tx.PaymentMethod(ctx, scope, pm1.ID)
		if err != nil || got.SealedPAN != nil || got.DetachedAt == nil {
			t.Fatalf("detached: %+v %v", got, err)
		}
		return nil
	})
}

func testIdempotency(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	rec := &till.IdempotencyRecord{AccountID: a.ID, API: "native", Key: "k1", Operation: "charge", Fingerprint: "POST /v1/x 00",
		State: till.IdemInProgress, LeaseOwner: "me", LeaseUntil: epoch.Add(time.Minute), ResourceID: "pay_1", CreatedAt: epoch, UpdatedAt: epoch}
	update(t, st, func(tx till.Tx) error { return tx.CreateIdempotencyRecord(ctx, rec) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateIdempotencyRecord(ctx, rec) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate key: %v", err)
	}
	// The same key in live mode is another record.
	live := *rec
	live.Livemode = true
	update(t, st, func(tx till.Tx) error { return tx.CreateIdempotencyRecord(ctx, &live) })
	// So is the same key of another API.
	other := *rec
	other.API, other.Operation = "commet", "refund"
	update(t, st, func(tx till.Tx) error { return tx.CreateIdempotencyRecord(ctx, &other) })
	rec.State, rec.Result = till.IdemDone, []byte(`{"value":{"ok":true}}`)
	update(t, st, func(tx till.Tx) error { return tx.UpdateIdempotencyRecord(ctx, rec) })
	view(t, st, func(tx till.Tx) error {
		got, err := tx.IdempotencyRecord(ctx, scope, "native", "k1")
		if err != nil || got.State != till.IdemDone || string(got.Result) != `{"value":{"ok":true}}` || !got.LeaseUntil.Equal(rec.LeaseUntil) ||
			got.Operation != "charge" || got.Fingerprint != "POST /v1/x 00" {
			t.Fatalf("record: %+v %v", got, err)
		}
		got, err = tx.IdempotencyRecord(ctx, scope, "commet", "k1")
		if err != nil || got.State != till.IdemInProgress || got.Operation != "refund" {
			t.Fatalf("the other API's record: %+v %v", got, err)
		}
		if _, err := tx.IdempotencyRecord(ctx, scope, "chip", "k1"); till.ErrorCode(err) != till.ENotFound {
			t.Fatalf("a key of an API that never used it: %v", err)
		}
		return nil
	})
	var n int
	update(t, st, func(tx till.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecords(ctx, epoch.Add(time.Second))
		return err
	})
	if n != 1 {
		t.Fatalf("purged %d, want only the done record", n)
	}
}

func testAtomic(t *testing.T, st till.Store) {
	a := account(t, st)
	c := customer(a, false, "x@example.com", epoch)
	boom := errors.New("boom")
	err := st.Update(ctx, func(tx till.Tx) error {
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		_, err := tx.Customer(ctx, till.Scope{AccountID: a.ID}, c.ID)
		notFound(t, err)
		return nil
	})
}

// testConcurrentUpdates runs many units of work at once, every third of
// which fails after writing: exactly the others' writes survive, and each
// caller sees its own outcome (group commit must isolate them).
func testConcurrentUpdates(t *testing.T, st till.Store) {
	a := account(t, st)
	const n = 90
	errs := make([]error, n)
	custs := make([]*till.Customer, n)
	var wg sync.WaitGroup
	for i := range n {
		custs[i] = customer(a, false, fmt.Sprintf("c%d@example.com", i), epoch)
		wg.Go(func() {
			errs[i] = st.Update(ctx, func(tx till.Tx) error {
				if err := tx.CreateCustomer(ctx, custs[i]); err != nil {
					return err
				}
				if i%3 == 0 {
					return fmt.Errorf("unit %d fails", i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	view(t, st, func(tx till.Tx) error {
		for i := range n {
			_, err := tx.Customer(ctx, till.Scope{AccountID: a.ID}, custs[i].ID)
			if i%3 == 0 {
				if errs[i] == nil || err == nil {
					t.Errorf("unit %d should have failed and left nothing (err %v, found %v)", i, errs[i], err == nil)
				}
			} else if errs[i] != nil || err != nil {
				t.Errorf("unit %d: %v / %v", i, errs[i], err)
			}
		}
		return nil
	})
}

func testStaleRetried(t *testing.T, st till.Store) {
	runs := 0
	err := st.Update(ctx, func(tx till.Tx) error {
		runs++
		if runs < 3 {
			return fmt.Errorf("conflict: %w", till.ErrStale)
		}
		return nil
	})
	if err != nil || runs != 3 {
		t.Fatalf("stale retry: runs %d, err %v", runs, err)
	}
}

func testTaskLeases(t *testing.T, st till.Store) {
	a := account(t, st)
	mk := func(kind, ref string, runAt time.Time) *till.Task {
		return &till.Task{ID: ids.NewID(till.PrefixTask), Kind: kind, AccountID: a.ID, Ref: ref, RunAt: runAt, CreatedAt: epoch}
	}
	due := mk("k.one", "pay_1", epoch)
	later := mk("k.one", "pay_2", epoch.Add(time.Hour))
	other := mk("k.two", "pay_3", epoch)
	for _, tk := range []*till.Task{due, later, other} {
		update(t, st, func(tx till.Tx) error { return tx.CreateTask(ctx, tk) })
	}
	claim := func(owner string, now time.Time, kinds ...string) []*till.Task {
		var got []*till.Task
		update(t, st, func(tx till.Tx) (err error) {
			got, err = tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: kinds, Now: now, Limit: 10, Owner: owner, Lease: time.Minute})
			return err
		})
		return got
	}
	got := claim("A", epoch, "k.one")
	if len(got) != 1 || got[0].ID != due.ID || got[0].LeaseOwner != "A" {
		t.Fatalf("claim A: %+v", got)
	}
	if got := claim("B", epoch.Add(30*time.Second), "k.one"); len(got) != 0 {
		t.Fatalf("B claimed a leased task: %+v", got)
	}
	// The lease expires; B takes it over.
	if got := claim("B", epoch.Add(61*time.Second), "k.one"); len(got) != 1 || got[0].ID != due.ID {
		t.Fatalf("takeover: %+v", got)
	}
	// A finished late: its delete must not remove B's lease.
	update(t, st, func(tx till.Tx) error { return tx.DeleteTask(ctx, due.ID, "A") })
	if got := claim("C", epoch.Add(200*time.Second)); len(got) != 2 {
		t.Fatalf("after expiry C should claim due and other: %+v", got)
	}
	// Concurrent claimers never get the same task.
	for i := range 20 {
		tk := mk("k.many", fmt.Sprint("r", i), epoch)
		update(t, st, func(tx till.Tx) error { return tx.CreateTask(ctx, tk) })
	}
	seen := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Go(func() {
			for range 4 {
				var got []*till.Task
				err := st.Update(ctx, func(tx till.Tx) (err error) {
					got, err = tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: []string{"k.many"}, Now: epoch, Limit: 2, Owner: fmt.Sprint("w", w), Lease: time.Minute})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, g := range got {
					if prev, dup := seen[g.ID]; dup {
						t.Errorf("task %s claimed by %s and w%d", g.ID, prev, w)
					}
					seen[g.ID] = fmt.Sprint("w", w)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("claimed %d of 20", len(seen))
	}
	// A claim by ref ignores the run time but not a live lease.
	update(t, st, func(tx till.Tx) error {
		got, err := tx.ClaimTasks(ctx, till.ClaimRequest{Ref: "pay_2", Now: epoch, Limit: 1, Owner: "D", Lease: time.Minute})
		if err != nil || len(got) != 1 || got[0].ID != later.ID {
			t.Fatalf("claim by ref: %+v %v", got, err)
		}
		got, err = tx.ClaimTasks(ctx, till.ClaimRequest{Ref: "pay_2", Now: epoch, Limit: 1, Owner: "E", Lease: time.Minute})
		if err != nil || len(got) != 0 {
			t.Fatalf("claim by ref of a leased task: %+v %v", got, err)
		}
		return nil
	})
	// Reschedule frees the lease; ShiftTasks brings it earlier; ReleaseLeases frees others'.
	later.RunAt, later.Attempts, later.LastError = epoch.Add(2*time.Hour), 1, "try again"
	update(t, st, func(tx till.Tx) error { return tx.RescheduleTask(ctx, later) })
	update(t, st, func(tx till.Tx) error { return tx.ShiftTasks(ctx, till.Scope{AccountID: a.ID}, 2*time.Hour) })
	got = claim("F", epoch, "k.one")
	if len(got) != 1 || got[0].ID != later.ID || got[0].Attempts != 1 || got[0].LastError != "try again" {
		t.Fatalf("after reschedule and shift: %+v", got)
	}
	// ReleaseLeases frees every lease but its owner's: both k.one tasks
	// (C's and F's) are claimable again.
	update(t, st, func(tx till.Tx) error { return tx.ReleaseLeases(ctx, "nobody") })
	if got := claim("G", epoch, "k.one"); len(got) != 2 {
		t.Fatalf("after ReleaseLeases: %d tasks", len(got))
	}
	update(t, st, func(tx till.Tx) error { return tx.DeleteTasks(ctx, "k.one", "pay_2") })
	if got := claim("H", epoch.Add(24*time.Hour), "k.one"); len(got) != 1 || got[0].Ref != "pay_1" {
		t.Fatalf("after DeleteTasks of pay_2 only pay_1 is left: %+v", got)
	}
}

func testProcessorRecords(t *testing.T, st till.Store) {
	a := account(t, st)
	rs := recordStore(t, st)
	scope := till.Scope{AccountID: a.ID}
	settle := epoch.Add(5 * time.Second)
	ch := &till.ProcessorRecord{Reference: "pay_1:att_1", Kind: till.AttemptCharge, AccountID: a.ID, Amount: 1190, Currency: "EUR",
		Outcome: till.ProcessorPending, SettleAt: &settle, FinalOutcome: till.ProcessorSucceeded, CreatedAt: epoch}
	re := &till.ProcessorRecord{Reference: "re_1", Kind: till.AttemptRefund, AccountID: a.ID, ParentRef: ch.Reference, Amount: 100, CreatedAt: epoch.Add(time.Second)}
	for _, r := range []*till.ProcessorRecord{ch, re} {
		updateRecords(t, rs, func(tx till.RecordTx) error { return tx.CreateProcessorRecord(ctx, r) })
	}
	if err := rs.UpdateRecords(ctx, func(tx till.RecordTx) error { return tx.CreateProcessorRecord(ctx, ch) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate reference: %v", err)
	}
	ch.Outcome, ch.SettleAt = till.ProcessorSucceeded, nil
	updateRecords(t, rs, func(tx till.RecordTx) error { return tx.UpdateProcessorRecord(ctx, ch) })
	viewRecords(t, rs, func(tx till.RecordTx) error {
		got, err := tx.ProcessorRecord(ctx, ch.Reference)
		if err != nil || got.Outcome != till.ProcessorSucceeded || got.SettleAt != nil {
			t.Fatalf("record: %+v %v", got, err)
		}
		kids, err := tx.ProcessorRecords(ctx, scope, "", ch.Reference)
		if err != nil || len(kids) != 1 || kids[0].Reference != "re_1" {
			t.Fatalf("children: %+v %v", kids, err)
		}
		mine, err := tx.ProcessorRecords(ctx, till.Scope{AccountID: "acct_other"}, ch.Reference, "")
		if err != nil || len(mine) != 0 {
			t.Fatalf("another scope sees records: %+v %v", mine, err)
		}
		return nil
	})
}

func testDataKeys(t *testing.T, st till.Store) {
	k := &till.DataKey{ID: ids.NewID(till.PrefixDataKey), MasterKeyID: "mk_1", Wrapped: []byte{9, 9}, Purpose: till.DataKeyCard, Active: true, CreatedAt: epoch}
	update(t, st, func(tx till.Tx) error { return tx.CreateDataKey(ctx, k) })
	k.Active, k.MasterKeyID = false, "mk_2"
	update(t, st, func(tx till.Tx) error { return tx.UpdateDataKey(ctx, k) })
	view(t, st, func(tx till.Tx) error {
		keys, err := tx.DataKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Active || keys[0].MasterKeyID != "mk_2" || string(keys[0].Wrapped) != "\x09\x09" {
			t.Fatalf("data keys: %+v %v", keys, err)
		}
		return nil
	})
}

// testDocumentNumbers allocates numbers from 60 concurrent units of work, a
// third of which fail after allocating: the committed numbers are exactly
// 1..40, each once, and the series of another kind, year or mode is apart.
func testDocumentNumbers(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st.Update(ctx, func(tx till.Tx) error {
				seq, err := tx.NextDocumentNumber(ctx, scope, till.DocInvoice, 2026)
				if err != nil {
					return err
				}
				d := &till.Document{ID: ids.NewID(till.PrefixInvoice), AccountID: a.ID, Kind: till.DocInvoice,
					Number: fmt.Sprintf("INV-2026-%06d", seq), Year: 2026, Sequence: seq, PaymentID: fmt.Sprint("pay_", i), CreatedAt: epoch}
				if err := tx.CreateDocument(ctx, d); err != nil {
					return err
				}
				if i%3 == 0 {
					return errors.New("rolled back")
				}
				return nil
			})
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	cursor := ""
	for {
		var page []*till.Document
		var more bool
		view(t, st, func(tx till.Tx) (err error) {
			page, more, err = tx.ListDocuments(ctx, scope, till.DocumentFilter{Kind: till.DocInvoice, Page: till.Page{Limit: 100, StartingAfter: cursor}})
			return err
		})
		for _, d := range page {
			if seen[d.Sequence] {
				t.Fatalf("number %d issued twice", d.Sequence)
			}
			seen[d.Sequence] = true
		}
		if !more {
			break
		}
		cursor = page[len(page)-1].ID
	}
	for i := int64(1); i <= 40; i++ {
		if !seen[i] {
			t.Fatalf("gap: number %d missing (%d issued)", i, len(seen))
		}
	}
	if len(seen) != 40 {
		t.Fatalf("%d numbers issued, want 40", len(seen))
	}
	update(t, st, func(tx till.Tx) error {
		for _, c := range []struct {
			kind till.DocumentKind
			year int
			live bool
		}{{till.DocCreditNote, 2026, false}, {till.DocInvoice, 2027, false}, {till.DocInvoice, 2026, true}} {
			n, err := tx.NextDocumentNumber(ctx, till.Scope{AccountID: a.ID, Livemode: c.live}, c.kind, c.year)
			if err != nil || n != 1 {
				t.Fatalf("series %v starts at %d (%v)", c, n, err)
			}
		}
		return nil
	})
	dup := &till.Document{ID: ids.NewID(till.PrefixInvoice), AccountID: a.ID, Kind: till.DocInvoice, Number: "INV-2026-000001", CreatedAt: epoch}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateDocument(ctx, dup) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate number: %v", err)
	}
}

func testRefunds(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	r1 := &till.Refund{ID: ids.NewID(till.PrefixRefund), AccountID: a.ID, PaymentID: "pay_1", Status: till.RefundPending, Amount: 500, Version: 1, CreatedAt: epoch}
	r2 := &till.Refund{ID: ids.NewID(till.PrefixRefund), AccountID: a.ID, PaymentID: "pay_1", Status: till.RefundPending, Amount: 100, Version: 1, CreatedAt: epoch}
	for _, r := range []*till.Refund{r1, r2} {
		update(t, st, func(tx till.Tx) error { return tx.CreateRefund(ctx, r) })
	}
	r1.Status, r1.Version = till.RefundSucceeded, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateRefund(ctx, r1, 1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateRefund(ctx, r1, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale refund: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		list, err := tx.ListRefunds(ctx, scope, "pay_1")
		if err != nil || len(list) != 2 || list[0].ID != r2.ID || list[1].Status != till.RefundSucceeded {
			t.Fatalf("refund list: %v", err)
		}
		_, err = tx.Refund(ctx, till.Scope{AccountID: "acct_other"}, r1.ID)
		notFound(t, err)
		return nil
	})
}

func testJournal(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	entry := func(cur string, postings ...till.Posting) *till.JournalEntry {
		return &till.JournalEntry{ID: ids.NewID(till.PrefixLedgerEntry), AccountID: a.ID, Currency: cur, Kind: "capture", PaymentID: "pay_1", Postings: postings, CreatedAt: epoch}
	}
	update(t, st, func(tx till.Tx) error {
		return tx.CreateJournalEntry(ctx, entry("EUR", till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Debit: 1190},
			till.Posting{LedgerAccount: till.LedgerRevenue, Credit: 1000}, till.Posting{LedgerAccount: till.LedgerTaxPayable, Credit: 190}))
	})
	update(t, st, func(tx till.Tx) error {
		return tx.CreateJournalEntry(ctx, entry("EUR", till.Posting{LedgerAccount: till.LedgerRevenue, Debit: 100},
			till.Posting{LedgerAccount: till.LedgerTaxPayable, Debit: 19}, till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Credit: 119}))
	})
	update(t, st, func(tx till.Tx) error {
		return tx.CreateJournalEntry(ctx, entry("JPY", till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Debit: 500}, till.Posting{LedgerAccount: till.LedgerRevenue, Credit: 500}))
	})
	if err := st.Update(ctx, func(tx till.Tx) error {
		return tx.CreateJournalEntry(ctx, entry("EUR", till.Posting{LedgerAccount: till.LedgerRevenue, Debit: 1}, till.Posting{LedgerAccount: till.LedgerTaxPayable, Credit: 2}))
	}); err == nil {
		t.Fatal("an unbalanced entry was stored")
	}
	view(t, st, func(tx till.Tx) error {
		bal, err := tx.LedgerBalances(ctx, scope)
		if err != nil {
			return err
		}
		got := map[string]till.LedgerBalance{}
		for _, b := range bal {
			got[b.Currency+"/"+b.LedgerAccount] = b
		}
		if r := got["EUR/processor_receivable"]; r.Debits != 1190 || r.Credits != 119 {
			t.Fatalf("receivable: %+v", r)
		}
		if r := got["EUR/tax_payable"]; r.Debits != 19 || r.Credits != 190 {
			t.Fatalf("tax: %+v", r)
		}
		if r := got["JPY/revenue"]; r.Credits != 500 || len(bal) != 5 {
			t.Fatalf("balances: %+v", bal)
		}
		list, more, err := tx.ListJournalEntries(ctx, scope, till.LedgerFilter{PaymentID: "pay_1", Page: till.Page{Limit: 2}})
		if err != nil || len(list) != 2 || !more || list[0].Currency != "JPY" || len(list[1].Postings) != 3 {
			t.Fatalf("entries: %d %v %v", len(list), more, err)
		}
		return nil
	})
}

func testMailbox(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	for i, to := range []string{"Jane@Example.com", "bob@example.com"} {
		e := &till.Email{ID: ids.NewID(till.PrefixEmail), AccountID: a.ID, To: to, Subject: fmt.Sprint("s", i), PaymentID: "pay_1",
			Attachments: []till.Attachment{{Name: "x.pdf", ContentType: "application/pdf", Data: []byte("%PDF")}}, CreatedAt: epoch}
		update(t, st, func(tx till.Tx) error { return tx.CreateEmail(ctx, e) })
	}
	view(t, st, func(tx till.Tx) error {
		list, _, err := tx.ListEmails(ctx, scope, till.EmailFilter{To: "jane@example.com"})
		if err != nil || len(list) != 1 || string(list[0].Attachments[0].Data) != "%PDF" {
			t.Fatalf("mailbox: %v %v", list, err)
		}
		accts, err := tx.ListAccounts(ctx)
		if err != nil || len(accts) != 1 || accts[0].ID != a.ID {
			t.Fatalf("accounts: %v", err)
		}
		return nil
	})
}
