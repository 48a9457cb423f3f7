package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// tillBinary is the till command built once for the tests that run it as a
// real process.
var tillBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "till-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tillBinary = filepath.Join(dir, "till")
	out, err := exec.Command("go", "build", "-o", tillBinary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building till: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `till serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	lines  chan string
	done   chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startTill runs `till serve` on dataDir with extra environment and waits
// until it answers /healthz.
func startTill(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(tillBinary, "serve", "--data", dataDir, "--addr", addr)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, lines: make(chan string, 1000), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("till did not start: %v\n%s", err, p.log())
		}
		select {
		case <-p.done:
			t.Fatalf("till exited at start:\n%s", p.log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// waitFor waits for a stderr line containing s.
func (p *proc) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line := <-p.lines:
			if strings.Contains(line, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q in till's log:\n%s", s, p.log())
		}
	}
}

func readKeys(t *testing.T, dataDir string) api.NewAccountKeys {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k api.NewAccountKeys
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dataDir, "keys.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keys.json mode: %v %v", info.Mode(), err)
	}
	return k
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestCrashMidCharge kills the real till process (SIGKILL) at each point of
// a charge (after the attempt is committed but before the processor is
// called; after the processor charged but before the outcome is committed),
// restarts it, and retries the request with its Idempotency-Key: the payment
// converges to one terminal state and the processor charged exactly once.
func TestCrashMidCharge(t *testing.T) {
	for _, point := range []string{"charge.before-call", "charge.after-call"} {
		t.Run(point, func(t *testing.T) {
			data := t.TempDir()
			p := startTill(t, data, "TILL_FAILPOINT="+point)
			keys := readKeys(t, data)
			c := client.New(p.url, keys.TestSecretKey)
			cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: "a@example.com", Address: &api.Address{Country: "DE"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: "4242424242424242", ExpMonth: 1, ExpYear: 2040}}); err != nil {
				t.Fatal(err)
			}
			body := []byte(fmt.Sprintf(`{"customerId":%q,"amount":1000,"currency":"EUR","description":"crash"}`, cust.ID))
			go c.Raw(context.Background(), "POST", "/v1/payments/charge", body, client.IdempotencyKey("crash-key"))
			p.waitFor(t, "failpoint reached")
			p.kill()

			p2 := startTill(t, data)
			c2 := client.New(p2.url, keys.TestSecretKey)
			r, err := c2.Raw(ctx(t), "POST", "/v1/payments/charge", body, client.IdempotencyKey("crash-key"))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 {
				t.Fatalf("retry after crash: %d %s\n%s", r.Status, r.Body, p2.log())
			}
			var env struct{ Data api.Payment }
			json.Unmarshal(r.Body, &env)
			if env.Data.Status != "succeeded" {
				t.Fatalf("payment after crash: %s", r.Body)
			}
			recs, err := c2.ProcessorCharges(ctx(t), "", env.Data.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].Outcome != "succeeded" {
				t.Fatalf("processor charged %d times: %+v", len(recs), recs)
			}
			list, err := c2.Payments(ctx(t), client.ListParams{})
			if err != nil || len(list.Data) != 1 {
				t.Fatalf("payments after crash: %v %+v", err, list)
			}
			again, _ := c2.Raw(ctx(t), "POST", "/v1/payments/charge", body, client.IdempotencyKey("crash-key"))
			if again.Status != 200 || !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("second retry: %d %s", again.Status, again.Body)
			}
		})
	}
}

// TestCrashUnderLoad kills the process while many charges are in flight at
// whatever point they happen to be, restarts it, retries every request with
// its key, and checks that each key has one payment, in a terminal state,
// charged at most once — exactly once if it succeeded.
func TestCrashUnderLoad(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)
	var custs []string
	for i := range 4 {
		cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: fmt.Sprintf("c%d@example.com", i), Address: &api.Address{Country: "DE"}})
		if err != nil {
			t.Fatal(err)
		}
		card := []string{"4242424242424242", "5555555555554444", "4000000000001000", "4000000000000002"}[i]
		if _, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: card, ExpMonth: 1, ExpYear: 2040}}); err != nil {
			t.Fatal(err)
		}
		custs = append(custs, cust.ID)
	}
	const n = 60
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i] = []byte(fmt.Sprintf(`{"customerId":%q,"amount":%d,"currency":"EUR","description":"load %d"}`, custs[i%4], 100+i, i))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * time.Millisecond)
			c.Raw(context.Background(), "POST", "/v1/payments/charge", bodies[i], client.IdempotencyKey(fmt.Sprintf("load-%d", i)))
		})
	}
	// Kill once about a quarter of the charges are stored: some are then
	// done, some mid-flight, some not yet sent.
	for {
		list, err := c.Payments(ctx(t), client.ListParams{Limit: 100})
		if err == nil && len(list.Data) >= n/4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.kill()
	wg.Wait()

	p2 := startTill(t, data)
	c2 := client.New(p2.url, keys.TestSecretKey)
	ids := map[string]bool{}
	replayed := 0
	for i := range n {
		r, err := c2.Raw(ctx(t), "POST", "/v1/payments/charge", bodies[i], client.IdempotencyKey(fmt.Sprintf("load-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
		var env struct {
			Data  api.Payment
			Error *client.Error
		}
		json.Unmarshal(r.Body, &env)
		id := env.Data.ID
		switch r.Status {
		case 200:
		case 402:
			id = env.Error.Decline().PaymentID
		default:
			t.Fatalf("retry %d: %d %s", i, r.Status, r.Body)
		}
		if id == "" || ids[id] {
			t.Fatalf("retry %d: payment id %q missing or shared", i, id)
		}
		ids[id] = true
	}
	// Replayed retries were stored (finished, or finished by the retry)
	// before or across the crash; the others never reached the database.
	t.Logf("%d of %d retries answered from the idempotency store", replayed, n)
	// Pending charges settle in the background; wait until none is processing.
	deadline := time.Now().Add(30 * time.Second)
	for id := range ids {
		for {
			pay, err := c2.Payment(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if pay.Status != "processing" {
				recs, err := c2.ProcessorCharges(ctx(t), "", id)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) > 1 || (pay.Status == "succeeded" && len(recs) != 1) {
					t.Fatalf("payment %s (%s) has %d processor charges", id, pay.Status, len(recs))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("payment %s still processing", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	list, err := c2.Payments(ctx(t), client.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != n {
		t.Fatalf("want %d payments, got %d", n, len(list.Data))
	}
}
