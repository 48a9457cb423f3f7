package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
)

// crashLease is the --lease of the crash tests' processes: short, so that on
// PostgreSQL (where a restarted process cannot release the dead one's leases
// and must wait them out) the retry takes over within seconds. The lease must
// be longer than the processor timeout.
var crashLease = []string{"TILL_LEASE=3s", "TILL_PROCESSOR_TIMEOUT=2s"}

// crashStore is where a crash test keeps its data: the environment of its
// `till serve` processes and the storage flags of `till reconcile`.
type crashStore struct {
	env       []string
	reconcile func(data string) []string
}

// newCrashStore returns a fresh store of the named engine for one test. The
// PostgreSQL store is a database of its own on TILL_TEST_DATABASE_URL.
func newCrashStore(t *testing.T, engine string) crashStore {
	t.Helper()
	if engine == "sqlite" {
		return crashStore{env: crashLease, reconcile: func(data string) []string { return []string{"--data", data} }}
	}
	url := testenv.FreshDatabase(t)
	env := append([]string{"TILL_DATABASE_URL=" + url, testMasterKey, "TILL_DB_MAX_CONNS=4"}, crashLease...)
	return crashStore{env: env, reconcile: func(string) []string { return []string{"--data", t.TempDir(), "--database-url", url} }}
}

// TestCrashMidOperation kills the real till process (SIGKILL) in the middle
// of a refund, a capture and a release — after the operation's attempt is
// committed but before the processor is called, and after the processor
// acted but before the outcome is committed — restarts it without the
// failpoint on the same data, and retries the request with its
// Idempotency-Key until the dead process's lease runs out. The request must
// converge: one terminal outcome, answered 200 and replayed byte for byte,
// exactly one processor operation of its kind for the payment's charge, and
// books that `till reconcile` finds clean. It runs on SQLite and, when
// TILL_TEST_DATABASE_URL is set, on PostgreSQL.
func TestCrashMidOperation(t *testing.T) {
	cases := []struct {
		op    string // the failpoints' prefix and the processor record's kind
		point string // before-call or after-call
		body  string // the operation's request body
		// status is the payment's status afterwards; captured and refunded
		// its amounts; moved is the amount of the processor's record of the
		// operation.
		status             string
		captured, refunded int64
		moved              int64
	}{
		{op: "refund", point: "before-call", body: `{"amount":500}`, status: "partially_refunded", captured: 1190, refunded: 500, moved: 500},
		{op: "refund", point: "after-call", body: `{}`, status: "refunded", captured: 1190, refunded: 1190, moved: 1190},
		{op: "capture", point: "before-call", body: `{"amount":600}`, status: "succeeded", captured: 714, moved: 714},
		{op: "capture", point: "after-call", body: `{}`, status: "succeeded", captured: 1190, moved: 1190},
		{op: "release", point: "before-call", status: "canceled", moved: 1190},
		{op: "release", point: "after-call", status: "canceled", moved: 1190},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				testenv.PostgresURL(t) // skips the whole group, once, without a server
			}
			for _, tc := range cases {
				point := tc.op + "." + tc.point
				t.Run(point, func(t *testing.T) {
					// The processes mostly wait (on the failpoint, on a
					// lease), so the cases overlap well even on 2 cores.
					t.Parallel()
					st := newCrashStore(t, engine)
					data := t.TempDir()
					p := startTill(t, data, append([]string{"TILL_FAILPOINT=" + point}, st.env...)...)
					keys := readKeys(t, data)
					c := client.New(p.url, keys.TestSecretKey)

					// The charge calls the processor too; the failpoint
					// names another operation and lets it through.
					pay := mustChargeForCrash(t, c, tc.op != "refund")
					chargeRef := pay.Attempts[0].Reference
					path := "/v1/payments/" + pay.ID + map[string]string{"refund": "/refunds", "capture": "/capture", "release": "/release"}[tc.op]
					body := []byte(tc.body)
					key := "crash-" + point

					// The request stops at the failpoint and is cut off by
					// the kill: it is never answered.
					cutOff := make(chan error, 1)
					go func() {
						_, err := c.Raw(context.Background(), "POST", path, body, client.IdempotencyKey(key))
						cutOff <- err
					}()
					p.waitFor(t, `"point":"`+point+`"`)
					p.kill()
					// (net/http re-sends a request with an Idempotency-Key on a
					// new connection when its connection is lost, so the error
					// may be a refused connection as well as an EOF.)
					if err := <-cutOff; err == nil {
						t.Fatal("the request at the failpoint was answered")
					}

					p2 := startTill(t, data, st.env...)
					c2 := client.New(p2.url, keys.TestSecretKey)
					r := retryWhileInProgress(t, c2, path, body, key, p2)
					if r.Status != http.StatusOK {
						t.Fatalf("retry after the crash: %d %s\n%s", r.Status, r.Body, p2.log())
					}

					// The operation's own reference at the processor, from
					// the answer, and the payment as it now stands.
					var ref string
					var got *api.Payment
					if tc.op == "refund" {
						var env struct{ Data api.Refund }
						if err := json.Unmarshal(r.Body, &env); err != nil {
							t.Fatal(err)
						}
						rf := env.Data
						if rf.Status != "succeeded" || rf.Amount != tc.moved || rf.PaymentID != pay.ID {
							t.Fatalf("refund after the crash: %s", r.Body)
						}
						ref = rf.Attempt.Reference
						list, err := c2.Refunds(ctx(t), pay.ID)
						if err != nil {
							t.Fatal(err)
						}
						if len(list.Data) != 1 || list.Data[0].ID != rf.ID || list.Data[0].Status != "succeeded" {
							t.Fatalf("payment %s has refunds %+v; want only %s, succeeded", pay.ID, list.Data, rf.ID)
						}
						if got, err = c2.Payment(ctx(t), pay.ID); err != nil {
							t.Fatal(err)
						}
					} else {
						var env struct{ Data api.Payment }
						if err := json.Unmarshal(r.Body, &env); err != nil {
							t.Fatal(err)
						}
						got = &env.Data
						var atts []api.Attempt
						for _, a := range got.Attempts {
							if a.Kind == tc.op {
								atts = append(atts, a)
							}
						}
						if len(atts) != 1 || atts[0].Outcome != "succeeded" {
							t.Fatalf("payment after the crash has %s attempts %+v; want one, succeeded", tc.op, atts)
						}
						ref = atts[0].Reference
					}
					if got.Status != tc.status || got.AmountCaptured != tc.captured || got.AmountRefunded != tc.refunded {
						t.Fatalf("payment after the crash: %s, captured %d, refunded %d; want %s, %d, %d",
							got.Status, got.AmountCaptured, got.AmountRefunded, tc.status, tc.captured, tc.refunded)
					}

					// The processor acted once: one record under the
					// operation's reference, and no other operation of its
					// kind under the charge (a retry sent under a new
					// reference would show there).
					recs, err := c2.ProcessorCharges(ctx(t), ref, "")
					if err != nil {
						t.Fatal(err)
					}
					if len(recs) != 1 || recs[0].Kind != tc.op || recs[0].Outcome != "succeeded" || recs[0].Amount != tc.moved ||
						recs[0].ParentRef == nil || *recs[0].ParentRef != chargeRef {
						t.Fatalf("processor records of %s: %+v; want one %s of %d, succeeded, under %s", ref, recs, tc.op, tc.moved, chargeRef)
					}
					under, err := c2.ProcessorCharges(ctx(t), chargeRef, "")
					if err != nil {
						t.Fatal(err)
					}
					if n := countKind(under, tc.op); n != 1 {
						t.Fatalf("the processor made %d %ss of charge %s: %+v", n, tc.op, chargeRef, under)
					}

					again, err := c2.Raw(ctx(t), "POST", path, body, client.IdempotencyKey(key))
					if err != nil {
						t.Fatal(err)
					}
					if again.Status != r.Status || !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
						t.Fatalf("second retry: %d (replayed %q) %s\nfirst: %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body, r.Body)
					}

					p2.kill()
					out, stderr, code := runTill(t, nil, append([]string{"reconcile"}, st.reconcile(data)...)...)
					if code != 0 || !strings.Contains(out, "clean") {
						t.Fatalf("reconcile: exit %d\n%s%s", code, out, stderr)
					}
				})
			}
		})
	}
}

// mustChargeForCrash creates a customer in Germany with a saved card and
// charges it 1000 EUR net (1190 with VAT): captured, or held (capture:false)
// when hold is set. It fails the test unless the charge succeeded or, as a
// hold, was authorized.
func mustChargeForCrash(tb testing.TB, c *client.Client, hold bool) *api.Payment {
	tb.Helper()
	cust, err := c.CreateCustomer(context.Background(), api.CustomerCreate{Email: "crash@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.AddPaymentMethod(context.Background(), cust.ID, api.PaymentMethodCreate{
		Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2040}}); err != nil {
		tb.Fatal(err)
	}
	amount, capture := int64(1000), !hold
	pay, err := c.Charge(context.Background(), api.ChargeRequest{CustomerID: cust.ID, Amount: &amount, Currency: "EUR",
		Description: "crash", Capture: &capture})
	if err != nil {
		tb.Fatal(err)
	}
	want := "succeeded"
	if hold {
		want = "authorized"
	}
	if pay.Status != want || pay.AmountTotal != 1190 || len(pay.Attempts) != 1 || pay.Attempts[0].Kind != "charge" {
		tb.Fatalf("charge before the crash: %s, total %d, attempts %+v; want %s, 1190, one charge", pay.Status, pay.AmountTotal, pay.Attempts, want)
	}
	return pay
}

// retryWhileInProgress sends the request with its Idempotency-Key until the
// answer is no longer 409 request_in_progress — the key and the operation's
// reconcile task stay leased to the killed process until its lease runs out
// (on SQLite the restarted server releases them at start) — and returns that
// answer. It fails the test if the request is still in progress after 30 s.
func retryWhileInProgress(t *testing.T, c *client.Client, path string, body []byte, key string, p *proc) *client.Response {
	t.Helper()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for tries := 1; ; tries++ {
		r, err := c.Raw(ctx(t), "POST", path, body, client.IdempotencyKey(key))
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Error *client.Error }
		if r.Status != http.StatusConflict || json.Unmarshal(r.Body, &env) != nil || env.Error == nil || env.Error.Code != "request_in_progress" {
			if tries > 1 {
				t.Logf("in progress for %v (%d tries) until the killed process's lease ran out", time.Since(start).Round(10*time.Millisecond), tries)
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("still in progress after %d tries: %s\n%s", tries, r.Body, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countKind counts the processor records of one kind.
func countKind(recs []api.ProcessorCharge, kind string) int {
	n := 0
	for _, r := range recs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}
