package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till/api"
)

// disputeCount returns how often a payment's history records disputed.
func disputeCount(p *api.Payment) int {
	n := 0
	for _, h := range p.StatusHistory {
		if h.Status == "disputed" {
			n++
		}
	}
	return n
}

// simDisputes returns how many dispute records the simulator keeps for a
// payment's charges.
func simDisputes(t *testing.T, env *Env, paymentID string) int {
	t.Helper()
	n := 0
	for _, r := range Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", paymentID)) {
		if r.Kind == "dispute" {
			n++
		}
	}
	return n
}

// checkDisputedOnce asserts that p is disputed once: its history ends with
// the one disputed entry, the simulator holds one dispute record, and one
// payment.disputed event was emitted.
func checkDisputedOnce(t *testing.T, env *Env, p *api.Payment) {
	t.Helper()
	if p.Status != "disputed" || disputeCount(p) != 1 || p.StatusHistory[len(p.StatusHistory)-1].Status != "disputed" {
		t.Fatalf("payment: %s %+v", p.Status, p.StatusHistory)
	}
	if n := simDisputes(t, env, p.ID); n != 1 {
		t.Fatalf("simulator dispute records: %d", n)
	}
	if types := storedEventTypes(t, env, p.ID); types != nil && strings.Count(strings.Join(types, ","), "payment.disputed") != 1 {
		t.Fatalf("events: %v", types)
	}
}

// TestDisputeArrives is SPEC §4a's dispute card: the charge succeeds, and
// when the test clock has moved past the chargeback (60 s later) the
// background workers move the payment to disputed, exactly once.
func TestDisputeArrives(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		cust, _ := env.CustomerWithCard("DE", "4000000000000259")
		p, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(2500), Currency: "EUR", Description: "Gadget"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != "succeeded" {
			t.Fatalf("charge: %+v", p)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 61))
		var got *api.Payment
		env.Eventually(15*time.Second, "the payment to be disputed", func() bool {
			got = Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
			// The receipt settles too: its delivery is a write to the
			// payment, and the check below wants a quiet payment.
			return got.Status == "disputed" && (got.Receipt == nil || got.Receipt.Status != "pending")
		})
		checkDisputedOnce(t, env, got)

		// Time passing again reports nothing new.
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 61))
		time.Sleep(500 * time.Millisecond)
		again := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if again.ObjectVersion != got.ObjectVersion {
			t.Fatalf("payment changed again: %+v", again.StatusHistory)
		}
		checkDisputedOnce(t, env, again)
	})
}

// TestDisputeExactlyOnce runs the background work step by step: nothing is
// disputed before the chargeback's time, the dispute card's payment is
// disputed once after it, and an ordinary card's payment never is.
func TestDisputeExactlyOnce(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{NoWorkers: true})
		runAll := func() int {
			t.Helper()
			total := 0
			for range 20 {
				n, err := env.Service.RunDue(context.Background(), nil, 16)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return total
				}
				total += n
			}
			t.Fatal("background tasks keep coming")
			return total
		}
		disputed, _ := env.CustomerWithCard("DE", "4000000000000259")
		plain, _ := env.CustomerWithCard("DE", "4242424242424242")
		charge := func(customerID string) *api.Payment {
			t.Helper()
			p, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: customerID, Amount: Amount(1000), Currency: "EUR", Description: "x"})
			if err != nil || p.Status != "succeeded" {
				t.Fatalf("charge: %+v %v", p, err)
			}
			return p
		}
		p, q := charge(disputed.ID), charge(plain.ID)

		runAll()
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 30))
		runAll()
		if got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID)); got.Status != "succeeded" {
			t.Fatalf("disputed before its time: %+v", got.StatusHistory)
		}

		// Past the chargeback, and past the watch's next poll however it
		// backed off after finding nothing.
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 120))
		runAll()
		got := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		checkDisputedOnce(t, env, got)

		for range 3 {
			Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 3600))
			runAll()
		}
		again := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID))
		if again.ObjectVersion != got.ObjectVersion {
			t.Fatalf("payment changed again: %+v", again.StatusHistory)
		}
		checkDisputedOnce(t, env, again)
		if other := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), q.ID)); other.Status != "succeeded" || disputeCount(other) != 0 {
			t.Fatalf("ordinary card disputed: %+v", other.StatusHistory)
		}
	})
}
