package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// requestTimeout bounds one request of the load; a request that takes longer
// counts as a transport error.
const requestTimeout = 30 * time.Second

// maxPerWorker bounds the requests one closed-loop worker sends, so that the
// loop is bounded in count as well as in time (a server answering in 1 µs
// for a day would still stop).
const maxPerWorker = 1 << 24

// newTransport returns the one HTTP/1.1 transport every request of a run
// shares: keep-alive connections, idle connections kept for idle workers, no
// compression, no HTTP/2 and no proxy.
func newTransport(idle int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

// charger sends charges and health checks in the hot loop with plain
// net/http: request bodies built once per customer, a reused read buffer per
// goroutine, and the answer scanned for the few fields the bench needs
// instead of decoded.
type charger struct {
	rt        http.RoundTripper
	chargeURL *url.URL
	healthURL *url.URL
	auth      []string
	ctype     []string
	bodies    [][]byte
	keyPrefix string
	seq       atomic.Int64
}

func newCharger(rt http.RoundTripper, baseURL, key string, customers []string, runID string) (*charger, error) {
	cu, err := url.Parse(baseURL + "/v1/payments/charge")
	if err != nil {
		return nil, err
	}
	hu, err := url.Parse(baseURL + "/healthz")
	if err != nil {
		return nil, err
	}
	c := &charger{rt: rt, chargeURL: cu, healthURL: hu, auth: []string{"Bearer " + key},
		ctype: []string{"application/json"}, keyPrefix: "bench-" + runID + "-"}
	for i, id := range customers {
		c.bodies = append(c.bodies, fmt.Appendf(nil,
			`{"customerId":%q,"amount":%d,"currency":"EUR","taxBehavior":"exclusive","description":"till bench charge"}`,
			id, 1000+(i%10)*100))
	}
	return c, nil
}

// outcome is what one request came to.
type outcome struct {
	// kind is "" for a success, else the error kind: "http 500 internal_error",
	// "status processing", "transport timeout", "dropped", …
	kind string
	// detail is a message for the error's sample.
	detail string
	// paymentID is the charge's payment (successes only).
	paymentID string
}

// charge sends one charge with a fresh Idempotency-Key; buf is the caller's
// reusable read buffer.
func (c *charger) charge(ctx context.Context, n int64, buf *bytes.Buffer) outcome {
	body := c.bodies[int(n%int64(len(c.bodies)))]
	key := c.keyPrefix + strconv.FormatInt(c.seq.Add(1), 10)
	req := (&http.Request{
		Method: http.MethodPost, URL: c.chargeURL, Host: c.chargeURL.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Authorization":   c.auth,
			"Content-Type":    c.ctype,
			"Idempotency-Key": {key},
		},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}).WithContext(ctx)
	status, err := c.do(req, buf)
	if err != nil {
		return transportOutcome(err)
	}
	b := buf.Bytes()
	if status != http.StatusOK {
		code := jsonString(b, `"code":"`)
		if code == "" {
			code = "-"
		}
		detail := jsonString(b, `"message":"`)
		if detail == "" {
			detail = clip(b)
		}
		return outcome{kind: "http " + strconv.Itoa(status) + " " + code, detail: detail}
	}
	if st := jsonString(b, `"status":"`); st != "succeeded" {
		return outcome{kind: "status " + st, detail: clip(b)}
	}
	id := jsonString(b, `"id":"`)
	if id == "" {
		return outcome{kind: "bad response", detail: clip(b)}
	}
	return outcome{paymentID: id}
}

// health sends GET /healthz, the floor's trivial request.
func (c *charger) health(ctx context.Context, buf *bytes.Buffer) outcome {
	req := (&http.Request{
		Method: http.MethodGet, URL: c.healthURL, Host: c.healthURL.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
	}).WithContext(ctx)
	status, err := c.do(req, buf)
	if err != nil {
		return transportOutcome(err)
	}
	if status != http.StatusOK {
		return outcome{kind: "http " + strconv.Itoa(status), detail: clip(buf.Bytes())}
	}
	return outcome{}
}

// do sends req and reads the whole answer into buf, so that the connection
// goes back to the pool.
func (c *charger) do(req *http.Request, buf *bytes.Buffer) (int, error) {
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// jsonString returns the string value that follows the first occurrence of
// prefix (a key with its colon and opening quote) in b, or "". In a
// payment's answer the envelope's first "id" and "status" are the payment's:
// JSON strings cannot hold an unescaped quote, and the payment's own fields
// come before its attempts, history and metadata.
func jsonString(b []byte, prefix string) string {
	i := bytes.Index(b, []byte(prefix))
	if i < 0 {
		return ""
	}
	b = b[i+len(prefix):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return ""
	}
	return string(b[:j])
}

func clip(b []byte) string {
	const n = 300
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// transportOutcome classifies a failed round trip by cause, so that error
// kinds stay few.
func transportOutcome(err error) outcome {
	kind := "transport other"
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		kind = "transport timeout"
	case errors.Is(err, context.Canceled):
		kind = "transport cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "transport connection refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		kind = "transport connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		kind = "transport EOF"
	case errors.Is(err, syscall.EMFILE):
		kind = "transport too many open files"
	}
	return outcome{kind: kind, detail: err.Error()}
}

// tally is what one goroutine (closed loop) or one run (open loop, under a
// lock) recorded.
type tally struct {
	latency   Histogram
	lag       Histogram // open loop: how late requests were sent
	requests  int64     // measured requests, failed ones included
	succeeded int64     // measured successes
	errors    map[string]int64
	samples   map[string]string // one message per error kind
	last      time.Time         // when the last measured request finished
	// All requests, the warm-up's included, for verification.
	allRequests int64
	allErrors   int64
	paymentIDs  []string
}

func newTally() *tally {
	return &tally{errors: map[string]int64{}, samples: map[string]string{}}
}

// add records one request's outcome; measured says whether it counts in the
// figures (not the warm-up), latency is measured from its scheduled time.
func (t *tally) add(o outcome, measured bool, latency time.Duration, done time.Time, keepIDs bool) {
	t.allRequests++
	if o.kind != "" {
		t.allErrors++
		if _, ok := t.samples[o.kind]; !ok {
			t.samples[o.kind] = o.detail
		}
	} else if keepIDs {
		t.paymentIDs = append(t.paymentIDs, o.paymentID)
	}
	if !measured {
		if o.kind != "" {
			t.errors["warm-up "+o.kind]++
		}
		return
	}
	t.requests++
	if o.kind != "" {
		t.errors[o.kind]++
	} else {
		t.succeeded++
		t.latency.Record(latency)
	}
	if done.After(t.last) {
		t.last = done
	}
}

func (t *tally) merge(o *tally) {
	t.latency.Merge(&o.latency)
	t.lag.Merge(&o.lag)
	t.requests += o.requests
	t.succeeded += o.succeeded
	for k, v := range o.errors {
		t.errors[k] += v
	}
	for k, v := range o.samples {
		if _, ok := t.samples[k]; !ok {
			t.samples[k] = v
		}
	}
	if o.last.After(t.last) {
		t.last = o.last
	}
	t.allRequests += o.allRequests
	t.allErrors += o.allErrors
	t.paymentIDs = append(t.paymentIDs, o.paymentIDs...)
}

// measuredErrors counts the measured phase's failed requests.
func (t *tally) measuredErrors() int64 { return t.requests - t.succeeded }

// closedLoop runs workers that each send a request, wait for its answer and
// send the next, for warmup and then duration. A request counts as measured
// when it is sent after the warm-up; the phase's elapsed time runs until the
// last measured answer.
func closedLoop(ctx context.Context, workers int, warmup, duration time.Duration, keepIDs bool,
	send func(ctx context.Context, n int64, buf *bytes.Buffer) outcome) (*tally, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, warmup+duration+requestTimeout+5*time.Second)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(duration)
	tallies := make([]*tally, workers)
	var wg sync.WaitGroup
	for w := range workers {
		tallies[w] = newTally()
		wg.Go(func() {
			t := tallies[w]
			var buf bytes.Buffer
			buf.Grow(8 << 10)
			for i := int64(0); i < maxPerWorker && ctx.Err() == nil; i++ {
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				o := send(ctx, int64(w)+i*int64(workers), &buf)
				done := time.Now()
				t.add(o, !sent.Before(measureFrom), done.Sub(sent), done, keepIDs)
			}
		})
	}
	wg.Wait()
	total := newTally()
	for _, t := range tallies {
		total.merge(t)
	}
	elapsed := duration
	if !total.last.IsZero() && total.last.After(measureFrom) {
		elapsed = total.last.Sub(measureFrom)
	}
	return total, elapsed
}

// openLoop sends requests at a constant rate, whether or not earlier ones
// have been answered, for warmup and then duration: request i is due at
// start + i/rate and its latency is measured from that time, so a server
// that stalls is charged for the time its requests waited to be sent
// (no coordinated omission). At most maxInFlight requests are outstanding; a
// request due while that many are is not sent and counts as "dropped".
func openLoop(ctx context.Context, rate float64, maxInFlight int, warmup, duration time.Duration, keepIDs bool,
	send func(ctx context.Context, n int64, buf *bytes.Buffer) outcome) (*tally, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, warmup+duration+requestTimeout+5*time.Second)
	defer cancel()
	total := int64(rate * (warmup + duration).Seconds())
	warmupN := int64(rate * warmup.Seconds())
	interval := float64(time.Second) / rate
	var (
		mu    sync.Mutex
		t     = newTally()
		wg    sync.WaitGroup
		bufs  = sync.Pool{New: func() any { b := new(bytes.Buffer); b.Grow(8 << 10); return b }}
		slots = make(chan struct{}, maxInFlight)
		start = time.Now()
	)
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		// Sleep in slices of at most 5 ms so that an interrupt is seen.
		for wait := time.Until(due); wait > 0 && ctx.Err() == nil; wait = time.Until(due) {
			preciseSleep(min(wait, 5*time.Millisecond))
		}
		if ctx.Err() != nil {
			break
		}
		measured := i >= warmupN
		select {
		case slots <- struct{}{}:
		default:
			mu.Lock()
			t.add(outcome{kind: "dropped", detail: fmt.Sprintf("%d requests already in flight", maxInFlight)}, measured, 0, time.Now(), keepIDs)
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			lag := time.Since(due)
			buf := bufs.Get().(*bytes.Buffer)
			o := send(ctx, i, buf)
			bufs.Put(buf)
			done := time.Now()
			mu.Lock()
			t.add(o, measured, done.Sub(due), done, keepIDs)
			if measured {
				t.lag.Record(lag)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	measureFrom := start.Add(time.Duration(float64(warmupN) * interval))
	elapsed := duration
	if !t.last.IsZero() && t.last.After(measureFrom) {
		elapsed = max(t.last.Sub(measureFrom), duration)
	}
	return t, elapsed
}
