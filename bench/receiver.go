package bench

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tillpay/till/client"
)

// maxDeliveryBody bounds the body the receiver reads of one delivery.
const maxDeliveryBody = 1 << 20

// arrival is what the receiver recorded of one event's deliveries.
type arrival struct {
	// first is when the event's first verified delivery had been read.
	first time.Time
	// count is how many verified deliveries of the event arrived.
	count int
	// createdAt, typ and objectID are the delivered event's fields.
	createdAt time.Time
	typ       string
	objectID  string
}

// receiver is the webhook endpoint of the delivery bench: an HTTP server on
// 127.0.0.1 that verifies every delivery's Till-Signature with
// client.VerifySignature, records when each event arrived, and answers 200.
// A delivery whose signature does not verify is answered 400 and counted,
// not recorded as delivered.
type receiver struct {
	srv *http.Server
	url string

	ready  chan struct{} // closed once secret is set
	secret string
	now    func() time.Time

	mu         sync.Mutex
	arrivals   map[string]*arrival // by event id
	byObject   map[string]string   // object id → id of its first event that arrived
	requests   int64               // deliveries answered, verified or not
	badSig     int64
	badSigErr  string
	badBody    int64
	badBodyErr string
	changed    chan struct{} // signalled, without blocking, on each new event
}

func newReceiver() *receiver {
	return &receiver{ready: make(chan struct{}), now: time.Now, arrivals: map[string]*arrival{},
		byObject: map[string]string{}, changed: make(chan struct{}, 1)}
}

// start listens on a free port of 127.0.0.1 and serves until close.
func (r *receiver) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.url = "http://" + ln.Addr().String() + "/till-bench/webhooks"
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go r.srv.Serve(ln)
	return nil
}

// setSecret gives the receiver the endpoint's signing secret; deliveries
// that arrive before it wait for it.
func (r *receiver) setSecret(s string) {
	r.secret = s
	close(r.ready)
}

// close stops the receiver, waiting at most 10 s for deliveries in flight.
func (r *receiver) close() {
	if r.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r.srv.Shutdown(ctx) != nil {
		r.srv.Close()
	}
}

// deliveredEvent is the part of a delivered event the receiver reads.
type deliveredEvent struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"createdAt"`
	Data      struct {
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	} `json:"data"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxDeliveryBody))
	at := r.now()
	if err != nil {
		r.fail(&r.badBody, &r.badBodyErr, "reading the body: "+err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	select {
	case <-r.ready:
	case <-req.Context().Done():
		return
	}
	if err := client.VerifySignature(body, req.Header.Get("Till-Signature"), r.secret, 0); err != nil {
		r.fail(&r.badSig, &r.badSigErr, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev deliveredEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.CreatedAt.IsZero() {
		if err == nil {
			err = errors.New("no id or createdAt")
		}
		r.fail(&r.badBody, &r.badBodyErr, "decoding the event: "+err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if h := req.Header.Get("webhook-id"); h != ev.ID {
		r.fail(&r.badBody, &r.badBodyErr, "webhook-id "+h+" names another event than the body's "+ev.ID)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.record(ev, at)
	w.WriteHeader(http.StatusOK)
}

// record notes a verified delivery of ev that arrived at at.
func (r *receiver) record(ev deliveredEvent, at time.Time) {
	r.mu.Lock()
	r.requests++
	a, seen := r.arrivals[ev.ID]
	if !seen {
		a = &arrival{first: at, createdAt: ev.CreatedAt, typ: ev.Type, objectID: ev.Data.Object.ID}
		r.arrivals[ev.ID] = a
		if _, ok := r.byObject[a.objectID]; !ok && a.objectID != "" {
			r.byObject[a.objectID] = ev.ID
		}
	}
	a.count++
	r.mu.Unlock()
	if !seen {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

func (r *receiver) fail(n *int64, sample *string, msg string) {
	r.mu.Lock()
	r.requests++
	*n++
	if *sample == "" {
		*sample = msg
	}
	r.mu.Unlock()
}

// waitFor waits until done (called under the receiver's lock with the
// arrivals so far) returns true, ctx ends, or deadline passes; it reports
// whether done returned true.
func (r *receiver) waitFor(ctx context.Context, deadline time.Time, done func(arrivals map[string]*arrival, byObject map[string]string) bool) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		r.mu.Lock()
		ok := done(r.arrivals, r.byObject)
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-r.changed:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// snapshot copies what the receiver recorded.
func (r *receiver) snapshot() (arrivals map[string]arrival, requests, badSig, badBody int64, badSigErr, badBodyErr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	arrivals = make(map[string]arrival, len(r.arrivals))
	for id, a := range r.arrivals {
		arrivals[id] = *a
	}
	return arrivals, r.requests, r.badSig, r.badBody, r.badSigErr, r.badBodyErr
}
