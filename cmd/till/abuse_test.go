package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// TestRateLimitPerKey drives the real server past its per-key limit: the
// key's requests beyond its bucket answer 429 rate_limited with
// Retry-After, another key of the same account is not slowed, and the key
// works again once its bucket refills.
func TestRateLimitPerKey(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data, "TILL_RATE_LIMIT=5")
	keys := readKeys(t, data)
	test, live := client.New(p.url, keys.TestSecretKey), client.New(p.url, keys.LiveSecretKey)
	ok, limited := 0, 0
	for range 40 {
		res, err := test.Raw(ctx(t), "GET", "/v1/account", nil)
		if err != nil {
			t.Fatal(err)
		}
		switch res.Status {
		case 200:
			ok++
		case 429:
			limited++
			if res.Header.Get("Retry-After") == "" || !strings.Contains(string(res.Body), `"code":"rate_limited"`) {
				t.Fatalf("429 without Retry-After or code: %v %s", res.Header, res.Body)
			}
		default:
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
	}
	// A burst of 10, refilled at 5/s while the loop ran.
	if ok < 10 || ok > 25 || limited < 15 {
		t.Fatalf("40 quick requests: %d answered, %d limited", ok, limited)
	}
	if res, err := live.Raw(ctx(t), "GET", "/v1/account", nil); err != nil || res.Status != 200 {
		t.Fatalf("another key while the first is limited: %v %v", res, err)
	}
	// The budget is the key's, whatever API it calls: the dialects refuse
	// it too, each in its own shape.
	for _, path := range []string{"/api/v1/customers", "/api/v1/purchases/" + "00000000-0000-7000-8000-000000000000/", "/os/v1/payments"} {
		res, err := test.Raw(ctx(t), "GET", path, nil, client.Header("x-api-key", keys.TestSecretKey))
		if err != nil || res.Status != 429 {
			t.Errorf("%s with the limited key: %v %v", path, res, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := test.Raw(ctx(t), "GET", "/v1/account", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key stayed limited")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlowClientsDoNotBlock holds 200 connections that send half a request
// header and stop: other clients are answered meanwhile, and the server
// closes the slow connections once its header timeout (10 s) passes. A
// header larger than the server takes is refused with 431.
func TestSlowClientsDoNotBlock(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	addr := strings.TrimPrefix(p.url, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: till\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)
	for range 20 {
		start := time.Now()
		if _, err := c.Account(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a request took %s beside 200 slow connections", took)
		}
	}
	// The server gives up on each slow connection after its header
	// timeout: reads end (EOF or a 408), within the timeout and a margin.
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := 0
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				open++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if open > 0 {
		t.Fatalf("%d slow connections still open after 20 s", open)
	}
	req, _ := http.NewRequest("GET", p.url+"/healthz", nil)
	req.Header.Set("X-Huge", strings.Repeat("x", 2<<20))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a 2 MiB header: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 2 MiB header: %d", res.StatusCode)
	}
}

// TestGracefulShutdown sends SIGTERM while a charge is in flight (the
// simulator's timeout card holds it until the processor timeout): the
// request still gets its whole answer, new connections are refused, the
// process exits cleanly, and after a restart the reconciler settles the
// charge, charged once.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data, "TILL_PROCESSOR_TIMEOUT=2s")
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)
	cust, err := c.CreateCustomer(ctx(t), api.CustomerCreate{Email: "term@example.com", Address: &api.Address{Country: "DE"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPaymentMethod(ctx(t), cust.ID, api.PaymentMethodCreate{Card: &api.CardInput{Number: "4000000000003006", ExpMonth: 1, ExpYear: 2040}, SetDefault: true}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res *client.Response
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Raw(context.Background(), "POST", "/v1/payments/charge",
			fmt.Sprintf(`{"customerId":%q,"amount":1000,"currency":"EUR","description":"in flight"}`, cust.ID), client.IdempotencyKey("term-1"))
		done <- answer{res, err}
	}()
	// The charge is in flight once its payment is recorded (before the
	// processor call).
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := c.Payments(ctx(t), client.ListParams{Limit: 1})
		if err == nil && len(l.Data) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the charge never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	got := <-done
	if got.err != nil || got.res.Status != 200 || !strings.Contains(string(got.res.Body), `"status":"processing"`) {
		t.Fatalf("the in-flight charge after SIGTERM: %+v", got)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("till did not exit after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", p.log())
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Error("the stopped server still answers")
	}

	p2 := startTill(t, data, "TILL_PROCESSOR_TIMEOUT=2s")
	c2 := client.New(p2.url, keys.TestSecretKey)
	var pay *api.Payment
	deadline = time.Now().Add(30 * time.Second)
	for {
		l, err := c2.Payments(ctx(t), client.ListParams{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		pay = &l.Data[0]
		if pay.Status == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the charge was not settled after the restart: %s", pay.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recs, err := c2.ProcessorCharges(ctx(t), "", pay.ID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("processor records: %v %v", recs, err)
	}
}
