package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// recordStore returns st as the simulator's record store, which every store
// must also be.
func recordStore(t *testing.T, st till.Store) till.RecordStore {
	t.Helper()
	rs, ok := st.(till.RecordStore)
	if !ok {
		t.Fatalf("%T does not implement till.RecordStore", st)
	}
	return rs
}

func updateRecords(t *testing.T, rs till.RecordStore, fn func(tx till.RecordTx) error) {
	t.Helper()
	if err := rs.UpdateRecords(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func viewRecords(t *testing.T, rs till.RecordStore, fn func(tx till.RecordTx) error) {
	t.Helper()
	if err := rs.ViewRecords(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// testProcessorRecordUnits checks what the simulator relies on of a
// RecordStore's units of work: a duplicate reference leaves the unit usable
// (the simulator reads the existing record in the same unit), a failed unit
// stores nothing, missing records are resource_missing, and a list by an
// empty parent returns the charges, oldest first.
func testProcessorRecordUnits(t *testing.T, st till.Store) {
	rs := recordStore(t, st)
	scope := till.Scope{AccountID: "acct_records"}
	rec := func(ref, parent string, at time.Time) *till.ProcessorRecord {
		kind := till.AttemptCharge
		if parent != "" {
			kind = till.AttemptRefund
		}
		return &till.ProcessorRecord{Reference: ref, Kind: kind, AccountID: scope.AccountID, ParentRef: parent,
			Amount: 100, Currency: "EUR", Outcome: till.ProcessorSucceeded, CreatedAt: at}
	}
	ch1, ch2 := rec("ch_1", "", epoch.Add(time.Second)), rec("ch_2", "", epoch)
	re1 := rec("re_1", ch1.Reference, epoch.Add(2*time.Second))
	for _, r := range []*till.ProcessorRecord{ch1, ch2, re1} {
		updateRecords(t, rs, func(tx till.RecordTx) error { return tx.CreateProcessorRecord(ctx, r) })
	}

	updateRecords(t, rs, func(tx till.RecordTx) error {
		again := *ch1
		again.Amount = 999
		if err := tx.CreateProcessorRecord(ctx, &again); !errors.Is(err, till.ErrDuplicate) {
			t.Errorf("duplicate reference: %v, want an error wrapping ErrDuplicate", err)
		}
		old, err := tx.ProcessorRecord(ctx, ch1.Reference)
		if err != nil || old.Amount != 100 {
			t.Errorf("read after a duplicate in the same unit: %+v, %v", old, err)
		}
		return nil
	})

	failed := errors.New("unit fails")
	if err := rs.UpdateRecords(ctx, func(tx till.RecordTx) error {
		if err := tx.CreateProcessorRecord(ctx, rec("ch_rolled_back", "", epoch)); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("failing unit: %v", err)
	}
	if err := rs.UpdateRecords(ctx, func(tx till.RecordTx) error {
		return tx.UpdateProcessorRecord(ctx, rec("ch_unknown", "", epoch))
	}); till.ErrorCode(err) != till.ENotFound {
		t.Fatalf("update of an unknown reference: %v, want resource_missing", err)
	}

	viewRecords(t, rs, func(tx till.RecordTx) error {
		_, err := tx.ProcessorRecord(ctx, "ch_rolled_back")
		notFound(t, err)
		charges, err := tx.ProcessorRecords(ctx, scope, "", "")
		if err != nil || len(charges) != 2 || charges[0].Reference != ch2.Reference || charges[1].Reference != ch1.Reference {
			t.Fatalf("charges (no parent), oldest first: %+v %v", charges, err)
		}
		live, err := tx.ProcessorRecords(ctx, till.Scope{AccountID: scope.AccountID, Livemode: true}, "", "")
		if err != nil || len(live) != 0 {
			t.Fatalf("the live scope sees test records: %+v %v", live, err)
		}
		return nil
	})
}
