package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAccountDeliveries(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	written := []writtenEvent{
		{id: "evt_1", typ: "customer.created", objectID: "cus_1", createdAt: ms(0)},
		{id: "evt_2", typ: "customer.created", objectID: "cus_2", createdAt: ms(10)},
		{id: "evt_3", typ: "customer.created", objectID: "cus_3", createdAt: ms(20)},
		{id: "evt_4", typ: "customer.created", objectID: "cus_4", createdAt: ms(30)},
		{id: "evt_5", typ: "account.updated", objectID: "acct_1", createdAt: ms(40)},
	}
	arrivals := map[string]arrival{
		"evt_1": {first: ms(100), count: 1},
		"evt_2": {first: ms(60), count: 3}, // two duplicates
		"evt_3": {first: ms(25), count: 1}, // before its call's answer
		"evt_5": {first: ms(1040), count: 1},
		"evt_9": {first: ms(500), count: 2}, // not written
	}
	answered := map[string]time.Time{"cus_1": ms(5), "cus_2": ms(15), "cus_3": ms(26), "cus_4": ms(35)}
	s := accountDeliveries(written, arrivals, answered)

	if s.written != 5 || s.delivered != 4 || s.duplicates != 2 || s.missing != 1 || s.unexpected != 2 {
		t.Errorf("written %d delivered %d duplicates %d missing %d unexpected %d, want 5 4 2 1 2",
			s.written, s.delivered, s.duplicates, s.missing, s.unexpected)
	}
	if len(s.missingIDs) != 1 || s.missingIDs[0] != "evt_4" {
		t.Errorf("missing ids %v", s.missingIDs)
	}
	if !s.first.Equal(ms(0)) || !s.last.Equal(ms(1040)) || s.window() != 1040*time.Millisecond {
		t.Errorf("window %v from %v to %v", s.window(), s.first, s.last)
	}
	if got, want := s.perSecond(), 4/1.04; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("perSecond %v, want %v", got, want)
	}
	// Delays from createdAt: 100, 50, 5, 1000 ms.
	if s.delay.Count() != 4 || s.delay.Max() != time.Second || s.delay.Min() != 5*time.Millisecond {
		t.Errorf("delay: %d values, min %v max %v", s.delay.Count(), s.delay.Min(), s.delay.Max())
	}
	if p50 := s.delay.Percentile(0.5); p50 < 49*time.Millisecond || p50 > 51*time.Millisecond {
		t.Errorf("delay p50 %v, want 50 ms", p50)
	}
	// From the answers: 95, 45, and -1 ms (counted as 0); account.updated
	// has no call.
	if s.fromAnswer.Count() != 3 || s.beforeAnswer != 1 || s.fromAnswer.Min() != 0 || s.fromAnswer.Max() != 95*time.Millisecond {
		t.Errorf("from answer: %d values, %d before, min %v max %v", s.fromAnswer.Count(), s.beforeAnswer,
			s.fromAnswer.Min(), s.fromAnswer.Max())
	}

	empty := accountDeliveries(nil, nil, nil)
	if empty.window() != 0 || empty.perSecond() != 0 || empty.delivered != 0 {
		t.Errorf("nothing written: %+v", empty)
	}
}

// signed returns the Till-Signature header of body under secret at ts, as
// the server makes it.
func signed(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts.Unix())
	m.Write(body)
	return "t=" + strconv.FormatInt(ts.Unix(), 10) + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

func TestReceiver(t *testing.T) {
	const secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2U="
	r := newReceiver()
	at := time.Date(2026, 12, 1, 12, 0, 1, 0, time.UTC)
	r.now = func() time.Time { return at }
	srv := httptest.NewServer(r)
	defer srv.Close()
	r.setSecret(secret)

	post := func(id string, body []byte, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Till-Signature", sig)
		req.Header.Set("webhook-id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := []byte(`{"id":"evt_1","object":"event","type":"customer.created","createdAt":"2026-12-01T12:00:00.123456Z","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	now := time.Now()
	if code := post("evt_1", body, signed(secret, now, body)); code != 200 {
		t.Errorf("a signed delivery: %d", code)
	}
	if code := post("evt_1", body, signed(secret, now, body)); code != 200 {
		t.Errorf("the same delivery again: %d", code)
	}
	if code := post("evt_1", body, signed("whsec_other", now, body)); code != 400 {
		t.Errorf("another secret's signature: %d", code)
	}
	tampered := bytes.Replace(body, []byte("cus_1"), []byte("cus_2"), 1)
	if code := post("evt_1", tampered, signed(secret, now, body)); code != 400 {
		t.Errorf("a tampered body: %d", code)
	}
	if code := post("evt_2", body, signed(secret, now, body)); code != 400 {
		t.Errorf("webhook-id of another event: %d", code)
	}
	if code := post("evt_3", []byte(`{"id":"evt_3"}`), signed(secret, now, []byte(`{"id":"evt_3"}`))); code != 400 {
		t.Errorf("an event without createdAt: %d", code)
	}

	arrivals, requests, badSig, badBody, sigErr, _ := r.snapshot()
	a, ok := arrivals["evt_1"]
	if len(arrivals) != 1 || !ok || a.count != 2 || !a.first.Equal(at) || a.objectID != "cus_1" || a.typ != "customer.created" ||
		!a.createdAt.Equal(time.Date(2026, 12, 1, 12, 0, 0, 123456000, time.UTC)) {
		t.Errorf("arrivals %+v", arrivals)
	}
	if requests != 6 || badSig != 2 || badBody != 2 || !strings.Contains(sigErr, "no signature matches") {
		t.Errorf("requests %d, bad signatures %d (%s), bad bodies %d", requests, badSig, sigErr, badBody)
	}
	r.mu.Lock()
	byObject := r.byObject["cus_1"]
	r.mu.Unlock()
	if byObject != "evt_1" {
		t.Errorf("by object: %q", byObject)
	}
}

// TestReceiverWaitsForSecret: a delivery that arrives before the secret is
// known is verified once it is, not refused.
func TestReceiverWaitsForSecret(t *testing.T) {
	const secret = "whsec_late"
	r := newReceiver()
	srv := httptest.NewServer(r)
	defer srv.Close()
	body := []byte(`{"id":"evt_1","type":"customer.created","createdAt":"2026-12-01T12:00:00Z","data":{"object":{"id":"cus_1"}}}`)
	code := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Till-Signature", signed(secret, time.Now(), body))
		req.Header.Set("webhook-id", "evt_1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			code <- 0
			return
		}
		resp.Body.Close()
		code <- resp.StatusCode
	}()
	r.setSecret(secret)
	if c := <-code; c != 200 {
		t.Errorf("status %d", c)
	}
}

// fakeCustomers answers POST /v1/customers with a new customer id; every
// fail-th call is refused.
type fakeCustomers struct {
	fail int
	mu   sync.Mutex
	n    int
}

func (f *fakeCustomers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/customers" || r.Header.Get("Authorization") != "Bearer sk_test_k" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"success":false,"error":{"code":"bad","message":"bad request"}}`)
		return
	}
	if f.fail > 0 && n%f.fail == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"success":false,"error":{"code":"unavailable","message":"try again"}}`)
		return
	}
	fmt.Fprintf(w, `{"success":true,"data":{"id":"cus_%d","object":"customer","email":"x@example.com"}}`, n)
}

func TestProduce(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		n, workers, fail     int
		rate                 float64
		wantCreated, wantErr int
	}{
		{name: "closed", n: 100, workers: 8, wantCreated: 100},
		{name: "fewer calls than clients", n: 3, workers: 16, wantCreated: 3},
		{name: "failures are counted", n: 60, workers: 4, fail: 10, wantCreated: 54, wantErr: 6},
		{name: "paced", n: 40, workers: 4, rate: 2000, wantCreated: 40},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCustomers{fail: tt.fail}
			srv := httptest.NewServer(f)
			defer srv.Close()
			tr := newTransport(tt.workers)
			defer tr.CloseIdleConnections()
			p, err := newProducer(tr, srv.URL, "sk_test_k", "run")
			if err != nil {
				t.Fatal(err)
			}
			out := produce(context.Background(), tt.n, tt.workers, tt.rate, p.create)
			seen := map[string]bool{}
			for _, c := range out.created {
				if seen[c.objectID] || !strings.HasPrefix(c.objectID, "cus_") || c.answered.Before(c.sent) {
					t.Errorf("created %+v (seen %v)", c, seen[c.objectID])
				}
				seen[c.objectID] = true
			}
			errs := int64(0)
			for _, n := range out.errors {
				errs += n
			}
			if len(out.created) != tt.wantCreated || errs != int64(tt.wantErr) || out.requests != int64(tt.n) || f.n != tt.n {
				t.Errorf("created %d, errors %d %v, requests %d, server saw %d; want %d, %d, %d", len(out.created), errs, out.errors,
					out.requests, f.n, tt.wantCreated, tt.wantErr, tt.n)
			}
			if tt.wantErr > 0 && out.samples["http 503 unavailable"] == "" {
				t.Errorf("no sample of the failure: %v", out.samples)
			}
			if tt.rate > 0 && out.scheduledLag.Count() != uint64(tt.n) {
				t.Errorf("schedule lag recorded %d times", out.scheduledLag.Count())
			}
		})
	}
	// An ended context stops the calls early.
	f := &fakeCustomers{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p, _ := newProducer(newTransport(2), srv.URL, "sk_test_k", "run")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out := produce(ctx, 1000, 2, 0, p.create); out.requests != 0 {
		t.Errorf("a cancelled run made %d calls", out.requests)
	}
}

func TestWebhookConfigCheck(t *testing.T) {
	ok := WebhookConfig{Binary: "till", Events: 10, Concurrency: 4, Timeout: time.Minute}
	if err := ok.check(); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	for name, mod := range map[string]func(*WebhookConfig){
		"no binary":        func(c *WebhookConfig) { c.Binary = "" },
		"no events":        func(c *WebhookConfig) { c.Events = 0 },
		"too many events":  func(c *WebhookConfig) { c.Events = 10_000_001 },
		"no clients":       func(c *WebhookConfig) { c.Concurrency = 0 },
		"negative rate":    func(c *WebhookConfig) { c.Rate = -1 },
		"no timeout":       func(c *WebhookConfig) { c.Timeout = 0 },
		"too long timeout": func(c *WebhookConfig) { c.Timeout = 25 * time.Hour },
		"negative floor":   func(c *WebhookConfig) { c.FloorDuration = -time.Second },
	} {
		c := ok
		mod(&c)
		if c.check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
