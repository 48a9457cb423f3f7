package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// TestClaimPlan checks how SQLite runs the claim of due tasks: in run_at
// order on tasks_due, stopping at the limit. Led by the kind to tasks_ref,
// it read and sorted every pending task of the kinds on each claim, and a
// backlog of receipts under load made every claim slower (1,460 → 1,840
// charges/s in `till bench` once fixed). The claim of one ref keeps its
// index.
func TestClaimPlan(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "till.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plan := func(r till.ClaimRequest) string {
		q, args := claimQuery(r)
		rows, err := st.rdb.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	now := time.Now()
	due := plan(till.ClaimRequest{Kinds: []string{"receipt.send", "payment.reconcile"}, Now: now, Limit: 8, Owner: "w", Lease: time.Minute})
	if !strings.Contains(due, "USING INDEX tasks_due") || strings.Contains(due, "TEMP B-TREE") {
		t.Fatalf("claim of due tasks: %s", due)
	}
	one := plan(till.ClaimRequest{Kinds: []string{"payment.reconcile"}, Ref: "pay_1", Now: now, Limit: 1, Owner: "w", Lease: time.Minute})
	if !strings.Contains(one, "USING INDEX tasks_ref (kind=? AND ref=?)") {
		t.Fatalf("claim of one ref: %s", one)
	}
}
