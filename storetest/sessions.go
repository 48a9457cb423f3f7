package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testCustomerSessions stores sessions, finds them by hash in any account
// and by id only in their scope, refuses a second session with a taken
// hash, and stores a revocation.
func testCustomerSessions(t *testing.T, st till.Store) {
	a := account(t, st)
	cs := &till.CustomerSession{ID: ids.NewID(till.PrefixSession), AccountID: a.ID, Livemode: true, CustomerID: "cus_1",
		Hash: []byte("session-hash-1"), Last4: "wxyz", CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
	update(t, st, func(tx till.Tx) error { return tx.CreateCustomerSession(ctx, cs) })
	dup := *cs
	dup.ID = ids.NewID(till.PrefixSession)
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateCustomerSession(ctx, &dup) }); !errors.Is(err, till.ErrDuplicate) {
		t.Fatalf("duplicate session hash: %v", err)
	}
	live := till.Scope{AccountID: a.ID, Livemode: true}
	view(t, st, func(tx till.Tx) error {
		got, err := tx.CustomerSessionByHash(ctx, []byte("session-hash-1"))
		if err != nil || !reflect.DeepEqual(got, cs) {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if got, err = tx.CustomerSession(ctx, live, cs.ID); err != nil || got.CustomerID != "cus_1" {
			t.Fatalf("by id: %+v %v", got, err)
		}
		_, err = tx.CustomerSession(ctx, till.Scope{AccountID: a.ID}, cs.ID)
		notFound(t, err)
		_, err = tx.CustomerSession(ctx, till.Scope{AccountID: "acct_other", Livemode: true}, cs.ID)
		notFound(t, err)
		_, err = tx.CustomerSessionByHash(ctx, []byte("nope"))
		notFound(t, err)
		return nil
	})
	revoked := epoch.Add(time.Minute)
	cs.RevokedAt = &revoked
	update(t, st, func(tx till.Tx) error { return tx.UpdateCustomerSession(ctx, cs) })
	view(t, st, func(tx till.Tx) error {
		got, err := tx.CustomerSession(ctx, live, cs.ID)
		if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) || got.Active(epoch) {
			t.Fatalf("revoked: %+v %v", got, err)
		}
		return nil
	})
}
