package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// producer writes events for the delivery bench: each POST /v1/customers
// (without an Idempotency-Key, so the unit of work is the customer and its
// one customer.created event) writes exactly one event.
type producer struct {
	rt    http.RoundTripper
	url   *url.URL
	auth  []string
	ctype []string
	runID string
}

func newProducer(rt http.RoundTripper, baseURL, key, runID string) (*producer, error) {
	u, err := url.Parse(baseURL + "/v1/customers")
	if err != nil {
		return nil, err
	}
	return &producer{rt: rt, url: u, auth: []string{"Bearer " + key}, ctype: []string{"application/json"}, runID: runID}, nil
}

// create creates customer n; the outcome's paymentID field holds the
// customer's id.
func (p *producer) create(ctx context.Context, n int64, buf *bytes.Buffer) outcome {
	body := fmt.Appendf(nil, `{"email":"bench-%s-%d@example.com","name":"Bench Webhook Customer %d"}`, p.runID, n, n)
	req := (&http.Request{
		Method: http.MethodPost, URL: p.url, Host: p.url.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Authorization": p.auth, "Content-Type": p.ctype},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}).WithContext(ctx)
	resp, err := p.rt.RoundTrip(req)
	if err != nil {
		return transportOutcome(err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return transportOutcome(err)
	}
	b := buf.Bytes()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		code := jsonString(b, `"code":"`)
		if code == "" {
			code = "-"
		}
		return outcome{kind: "http " + strconv.Itoa(resp.StatusCode) + " " + code, detail: clip(b)}
	}
	id := jsonString(b, `"id":"`)
	if id == "" {
		return outcome{kind: "bad response", detail: clip(b)}
	}
	return outcome{paymentID: id}
}

// created is one event the bench caused: the customer's id and when the
// call that created it was sent and answered.
type created struct {
	objectID       string
	sent, answered time.Time
}

// production is what produce did.
type production struct {
	created []created
	// requests counts the calls made, failed ones included.
	requests     int64
	errors       map[string]int64
	samples      map[string]string
	first, last  time.Time // first call sent, last answered
	latency      Histogram
	scheduledLag Histogram // paced runs: how late calls left after their scheduled time
}

// produce makes n calls of send, at most workers at a time; with rate above
// 0 call i is sent no earlier than start + i/rate (a worker that falls
// behind sends at once, so the rate reached is reported, not assumed). It
// stops early when ctx ends; every call is bounded by the transport's
// timeouts.
func produce(ctx context.Context, n, workers int, rate float64, send func(ctx context.Context, n int64, buf *bytes.Buffer) outcome) *production {
	var (
		next  atomic.Int64
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = time.Now()
		out   = &production{errors: map[string]int64{}, samples: map[string]string{}, first: start}
	)
	for range min(workers, n) {
		wg.Go(func() {
			var buf bytes.Buffer
			buf.Grow(4 << 10)
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				var due time.Time
				if rate > 0 {
					due = start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
					for wait := time.Until(due); wait > 0 && ctx.Err() == nil; wait = time.Until(due) {
						preciseSleep(min(wait, 5*time.Millisecond))
					}
					if ctx.Err() != nil {
						return
					}
				}
				sent := time.Now()
				o := send(ctx, i, &buf)
				done := time.Now()
				mu.Lock()
				out.requests++
				if o.kind != "" {
					out.errors[o.kind]++
					if _, ok := out.samples[o.kind]; !ok {
						out.samples[o.kind] = o.detail
					}
				} else {
					out.created = append(out.created, created{objectID: o.paymentID, sent: sent, answered: done})
					out.latency.Record(done.Sub(sent))
				}
				if rate > 0 {
					out.scheduledLag.Record(sent.Sub(due))
				}
				if done.After(out.last) {
					out.last = done
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}
