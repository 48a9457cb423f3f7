package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCharges answers charges as Till does, with a payment whose id is
// taken from the Idempotency-Key; a key ending in a multiple of fail gets a
// card decline instead. It records the keys it saw.
type fakeCharges struct {
	fail  int
	delay time.Duration
	mu    sync.Mutex
	keys  map[string]int
	calls atomic.Int64
}

func (f *fakeCharges) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.URL.Path == "/healthz" {
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer sk_test_k" || !bytes.HasPrefix(body, []byte(`{"customerId":"cus_`)) || key == "" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"success":false,"error":{"type":"invalid_request_error","code":"bad","message":"bad request"}}`)
		return
	}
	f.mu.Lock()
	f.keys[key]++
	f.mu.Unlock()
	time.Sleep(f.delay)
	var n int
	fmt.Sscanf(key[strings.LastIndexByte(key, '-')+1:], "%d", &n)
	if f.fail > 0 && n%f.fail == 0 {
		w.WriteHeader(http.StatusPaymentRequired)
		io.WriteString(w, `{"success":false,"error":{"type":"card_error","code":"card_declined","message":"The card was declined.","details":{"paymentId":"pay_x"}}}`)
		return
	}
	fmt.Fprintf(w, `{"success":true,"data":{"id":"pay_%d","object":"payment","customerId":"cus_1","status":"succeeded","metadata":{"status":"x"},"statusHistory":[{"status":"processing"}]}}`, n)
}

func newFake(t *testing.T, f *fakeCharges) (*charger, *httptest.Server) {
	t.Helper()
	f.keys = map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	tr := newTransport(8)
	t.Cleanup(tr.CloseIdleConnections)
	ch, err := newCharger(tr, srv.URL, "sk_test_k", []string{"cus_1", "cus_2", "cus_3"}, "run")
	if err != nil {
		t.Fatal(err)
	}
	return ch, srv
}

func TestClosedLoopCountsEveryAnswer(t *testing.T) {
	f := &fakeCharges{fail: 10}
	ch, _ := newFake(t, f)
	got, elapsed := closedLoop(context.Background(), 4, 100*time.Millisecond, 300*time.Millisecond, true, ch.charge)
	if got.allRequests != f.calls.Load() || int(got.allRequests) != len(f.keys) {
		t.Fatalf("%d requests recorded, %d served, %d distinct keys", got.allRequests, f.calls.Load(), len(f.keys))
	}
	if got.requests == 0 || got.requests >= got.allRequests {
		t.Fatalf("%d measured of %d: the warm-up must be sent and left out", got.requests, got.allRequests)
	}
	declined := got.errors["http 402 card_declined"]
	if declined == 0 || got.measuredErrors() != declined || got.samples["http 402 card_declined"] != "The card was declined." {
		t.Fatalf("errors %v, samples %v", got.errors, got.samples)
	}
	if int64(len(got.paymentIDs)) != got.allRequests-got.allErrors || !strings.HasPrefix(got.paymentIDs[0], "pay_") {
		t.Fatalf("%d payment ids for %d successes: %.3v", len(got.paymentIDs), got.allRequests-got.allErrors, got.paymentIDs)
	}
	if got.latency.Count() != uint64(got.succeeded) || elapsed < 300*time.Millisecond || elapsed > time.Second {
		t.Fatalf("latency count %d for %d successes, elapsed %v", got.latency.Count(), got.succeeded, elapsed)
	}
}

func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	f := &fakeCharges{delay: 20 * time.Millisecond}
	ch, _ := newFake(t, f)
	start := time.Now()
	got, _ := openLoop(context.Background(), 200, 100, 100*time.Millisecond, 500*time.Millisecond, false, ch.charge)
	took := time.Since(start)
	// 200/s for 0.6 s: 120 requests, 100 of them measured, each answered
	// after at least the server's 20 ms, sent without waiting for answers.
	if got.allRequests != 120 || got.requests != 100 || got.allErrors != 0 || f.calls.Load() != 120 {
		t.Fatalf("sent %d (%d measured, %d errors), served %d", got.allRequests, got.requests, got.allErrors, f.calls.Load())
	}
	if took > 900*time.Millisecond || got.latency.Min() < 20*time.Millisecond {
		t.Fatalf("took %v, min latency %v", took, got.latency.Min())
	}
	if got.lag.Count() != 100 || got.lag.Percentile(0.5) > 5*time.Millisecond {
		t.Fatalf("send lag: %d recorded, p50 %v", got.lag.Count(), got.lag.Percentile(0.5))
	}
}

func TestOpenLoopDropsBeyondMaxInFlight(t *testing.T) {
	f := &fakeCharges{delay: 200 * time.Millisecond}
	ch, _ := newFake(t, f)
	// 100/s with answers after 200 ms needs 20 in flight; 5 are allowed.
	got, _ := openLoop(context.Background(), 100, 5, 0, 300*time.Millisecond, false, ch.charge)
	dropped := got.errors["dropped"]
	if got.requests != 30 || dropped < 15 || got.succeeded+dropped != 30 || f.calls.Load() != got.succeeded {
		t.Fatalf("%d requests, %d succeeded, %d dropped, %d served", got.requests, got.succeeded, dropped, f.calls.Load())
	}
}

func TestFloorAndTransportErrors(t *testing.T) {
	f := &fakeCharges{}
	ch, srv := newFake(t, f)
	health := func(ctx context.Context, _ int64, buf *bytes.Buffer) outcome { return ch.health(ctx, buf) }
	got, _ := closedLoop(context.Background(), 2, 0, 100*time.Millisecond, false, health)
	if got.succeeded == 0 || got.measuredErrors() != 0 {
		t.Fatalf("floor: %d ok, errors %v", got.succeeded, got.errors)
	}
	srv.Close()
	var buf bytes.Buffer
	if o := ch.charge(context.Background(), 0, &buf); !strings.HasPrefix(o.kind, "transport") {
		t.Fatalf("a closed server gave %+v", o)
	}
}

func TestJSONString(t *testing.T) {
	tests := []struct{ body, key, want string }{
		{`{"success":true,"data":{"id":"pay_1","status":"succeeded","metadata":{"status":"x"}}}`, `"status":"`, "succeeded"},
		{`{"success":true,"data":{"id":"pay_1","description":"say \"status\":\"no\"","status":"failed"}}`, `"status":"`, "failed"},
		{`{"success":true,"data":{"id":"pay_1"}}`, `"id":"`, "pay_1"},
		{`{"success":true}`, `"id":"`, ""},
		{`{"id":"unterminated`, `"id":"`, ""},
	}
	for _, tc := range tests {
		if got := jsonString([]byte(tc.body), tc.key); got != tc.want {
			t.Errorf("jsonString(%s, %s) = %q, want %q", tc.body, tc.key, got, tc.want)
		}
	}
}
