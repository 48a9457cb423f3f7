package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
	"github.com/tillpay/till/smtp/smtptest"
)

// TestMultiProcess runs three `till serve` processes on one PostgreSQL
// database and one SMTP server, spreads charges over them — with every
// charge's same-key retry deliberately sent to another process, at once —
// and kills one process in the middle of a second wave. It then checks that
// every key made exactly one payment, charged once at the processor, that
// invoice numbers run 1..n without gap or duplicate, and that every receipt
// was sent: exactly once in the wave without a crash, at least once (any
// duplicate recognisable by its Message-ID) in the wave with one. A webhook
// receiver counts the payment.succeeded events it gets: every one arrives,
// exactly once in the wave without a crash, duplicates only for deliveries
// the kill cut off.
func TestMultiProcess(t *testing.T) {
	url := testenv.FreshDatabase(t)
	mail := smtptest.Start(t)
	if out, stderr, code := runTill(t, nil, "migrate", "--data", t.TempDir(), "--database-url", url); code != 0 {
		t.Fatalf("migrate: %s %s", out, stderr)
	}
	out, stderr, code := runTill(t, nil, "accounts", "create", "--name", "Multi GmbH", "--json", "--data", t.TempDir(), "--database-url", url)
	if code != 0 {
		t.Fatalf("accounts create: %s %s", out, stderr)
	}
	var keys api.NewAccountKeys
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatal(err)
	}
	env := []string{"TILL_DATABASE_URL=" + url, testMasterKey, "TILL_DB_MAX_CONNS=8", "TILL_SMTP_URL=" + mail.URL,
		"TILL_LEASE=3s", "TILL_PROCESSOR_TIMEOUT=2s", "TILL_RATE_LIMIT=0"}
	procs := make([]*proc, 3)
	clients := make([]*client.Client, 3)
	for i := range procs {
		procs[i] = startTill(t, t.TempDir(), env...)
		clients[i] = client.New(procs[i].url, keys.TestSecretKey)
	}
	hooks := newHookCounter(t)
	if _, err := clients[0].CreateWebhookEndpoint(ctx(t), api.WebhookEndpointCreate{URL: hooks.URL, Events: []string{"payment.succeeded"}}); err != nil {
		t.Fatal(err)
	}
	var custs []string
	for i, card := range []string{"4242424242424242", "5555555555554444", "378282246310005"} {
		c := clients[i]
		cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: fmt.Sprintf("buyer%d@example.com", i), Name: "Buyer", Address: &api.Address{Country: "DE"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clients[(i+1)%3].AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: card, ExpMonth: 1, ExpYear: 2040}}); err != nil {
			t.Fatal(err)
		}
		custs = append(custs, cust.ID)
	}
	body := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"customerId":%q,"amount":%d,"currency":"EUR","description":"multi %d"}`, custs[i%3], 1000+i, i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var cutOff, waited atomicCount // requests cut off by the kill; keys that waited out a lease
	// wave sends charges first..first+n, each to one process and its retry
	// to another at the same moment, from up to 24 clients at once.
	wave := func(first, n int, alive func() []int, onDone func()) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 24)
		for i := first; i < first+n; i++ {
			live := alive()
			a := live[rng.IntN(len(live))]
			b := live[(indexOf(live, a)+1)%len(live)]
			for _, p := range []int{a, b} {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					if _, err := clients[p].Raw(context.Background(), "POST", "/v1/payments/charge", body(i), client.IdempotencyKey(fmt.Sprint("mp-", i))); err != nil {
						cutOff.add()
					}
					onDone()
				})
			}
		}
		wg.Wait()
	}
	all := func() []int { return []int{0, 1, 2} }
	const waveA, waveB = 45, 45
	wave(0, waveA, all, func() {})
	msgs := mail.Wait(t, waveA, 30*time.Second)
	for _, m := range msgs {
		if n := mail.Count(m.MessageID); n != 1 {
			t.Fatalf("receipt %s sent %d times without any crash", m.MessageID, n)
		}
	}
	hooks.wait(t, waveA, 30*time.Second)
	if d := hooks.duplicates(); d != 0 {
		t.Fatalf("%d webhook deliveries made twice without any crash", d)
	}

	// Wave B: process 2 dies once 20 of its requests are answered, with
	// others in flight; the rest of the wave goes to the other two.
	var killed sync.Once
	var answered atomicCount
	wave(waveA, waveB, func() []int {
		select {
		case <-procs[2].done:
			return []int{0, 1}
		default:
			return all()
		}
	}, func() {
		if answered.add(); answered.get() == 20 {
			go killed.Do(procs[2].kill)
		}
	})
	killed.Do(procs[2].kill)

	// Every key, retried on a surviving process, answers one payment: keys
	// the dead process held answer 409 until its lease expires.
	ids := map[string]string{}
	deadline := time.Now().Add(30 * time.Second)
	for i := range waveA + waveB {
		for {
			r, err := clients[i%2].Raw(ctx(t), "POST", "/v1/payments/charge", body(i), client.IdempotencyKey(fmt.Sprint("mp-", i)))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == 409 && time.Now().Before(deadline) {
				waited.add()
				time.Sleep(200 * time.Millisecond)
				continue
			}
			var env struct{ Data api.Payment }
			if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil || env.Data.ID == "" {
				t.Fatalf("key mp-%d: %d %s", i, r.Status, r.Body)
			}
			if other, dup := ids[env.Data.ID]; dup {
				t.Fatalf("keys %s and mp-%d made the same payment", other, i)
			}
			ids[env.Data.ID] = fmt.Sprint("mp-", i)
			break
		}
	}
	c := clients[0]
	var payments []api.Payment
	cursor := ""
	for {
		page, err := c.Payments(ctx(t), client.ListParams{Limit: 100, StartingAfter: cursor})
		if err != nil {
			t.Fatal(err)
		}
		payments = append(payments, page.Data...)
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	if len(payments) != waveA+waveB {
		t.Fatalf("%d payments for %d keys", len(payments), waveA+waveB)
	}
	// Settled everywhere: the dead process's unsettled attempts were taken
	// over by the others' reconcilers.
	for _, p := range payments {
		for p.Status == "processing" && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			got, err := c.Payment(ctx(t), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			p = *got
		}
		if p.Status != "succeeded" {
			t.Fatalf("payment %s is %s", p.ID, p.Status)
		}
		recs, err := c.ProcessorCharges(ctx(t), "", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("payment %s charged %d times at the processor", p.ID, len(recs))
		}
	}
	var seqs []int
	cursor = ""
	for {
		page, err := c.Invoices(ctx(t), client.ListParams{Limit: 100, StartingAfter: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Data {
			parts := strings.Split(d.Number, "-")
			var seq int
			fmt.Sscanf(parts[len(parts)-1], "%d", &seq)
			seqs = append(seqs, seq)
		}
		if !page.HasMore {
			break
		}
		cursor = page.NextCursor
	}
	sort.Ints(seqs)
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("invoice numbers are not 1..%d without gaps: %v", len(payments), seqs)
		}
	}
	if len(seqs) != len(payments) {
		t.Fatalf("%d invoices for %d payments", len(seqs), len(payments))
	}
	// Every receipt arrives, including those the dead process had leased.
	unique := map[string]bool{}
	for time.Now().Before(deadline) {
		unique = map[string]bool{}
		for _, m := range mail.Messages() {
			unique[m.MessageID] = true
		}
		if len(unique) == len(payments) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(unique) != len(payments) {
		t.Fatalf("%d distinct receipts for %d payments", len(unique), len(payments))
	}
	dups := len(mail.Messages()) - len(unique)
	// Every payment.succeeded event reaches the receiver; a delivery the
	// dead process had in flight may come twice (at least once), no more
	// than it could hold at once.
	hooks.wait(t, len(payments), 30*time.Second)
	if d := hooks.duplicates(); d > 64 {
		t.Fatalf("%d duplicate webhook deliveries, more than the killed process could have had in flight", d)
	}
	t.Logf("%d payments over 3 processes (one killed, cutting off %d requests; %d retries waited for its leases): one processor charge each, invoices 1..%d, %d receipts (%d resent after the crash), %d webhook events delivered (%d twice)",
		len(payments), cutOff.get(), waited.get(), len(seqs), len(unique), dups, hooks.unique(), hooks.duplicates())
	if cutOff.get() == 0 {
		t.Fatalf("the kill landed after wave B: nothing was cut off")
	}
	// The books agree.
	out, stderr, code = runTill(t, nil, "reconcile", "--data", t.TempDir(), "--database-url", url)
	if code != 0 || !strings.Contains(out, "clean") {
		t.Fatalf("reconcile: %d %s %s", code, out, stderr)
	}
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return 0
}

// hookCounter is a webhook receiver that counts deliveries by webhook-id,
// answering after a short pause so deliveries are in flight when a process
// dies.
type hookCounter struct {
	*httptest.Server
	mu sync.Mutex
	n  map[string]int
}

func newHookCounter(t *testing.T) *hookCounter {
	h := &hookCounter{n: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		h.mu.Lock()
		h.n[r.Header.Get("webhook-id")]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookCounter) unique() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.n)
}

func (h *hookCounter) duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := 0
	for _, n := range h.n {
		d += n - 1
	}
	return d
}

// wait polls until n distinct events have arrived.
func (h *hookCounter) wait(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for h.unique() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct webhook events arrived, want %d", h.unique(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
