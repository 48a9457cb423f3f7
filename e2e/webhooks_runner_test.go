package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// gatedReceiver counts deliveries by event and the most requests it held at
// once. While gated, each request waits until the gate opens (or a few
// seconds pass, well inside the sender's timeout).
type gatedReceiver struct {
	*httptest.Server
	gate chan struct{}

	mu       sync.Mutex
	inFlight int
	maxIn    int
	answered int
	byEvent  map[string]int
}

func newGatedReceiver(t *testing.T, gated bool) *gatedReceiver {
	g := &gatedReceiver{gate: make(chan struct{}), byEvent: map[string]int{}}
	if !gated {
		close(g.gate)
	}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev api.Event
		json.Unmarshal(body, &ev)
		g.mu.Lock()
		g.inFlight++
		g.maxIn = max(g.maxIn, g.inFlight)
		g.mu.Unlock()
		select {
		case <-g.gate:
		case <-time.After(5 * time.Second):
		}
		g.mu.Lock()
		g.inFlight--
		g.answered++
		g.byEvent[ev.ID]++
		g.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gatedReceiver) open() {
	select {
	case <-g.gate:
	default:
		close(g.gate)
	}
}

// counts returns the distinct events answered, the requests answered and
// the most requests held at once.
func (g *gatedReceiver) counts() (events, answered, maxIn int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byEvent), g.answered, g.maxIn
}

// TestWebhookRunnerBounds: with one endpoint that holds every request and
// one that answers at once, the fast one gets every event while the slow
// one is still held, the slow one never has more than PerEndpoint (8)
// requests at once, and once released it gets every event too; each event
// reaches each endpoint once and is logged once per endpoint.
func TestWebhookRunnerBounds(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		slow := newGatedReceiver(t, true)
		fast := newGatedReceiver(t, false)
		slowEP := env.endpoint(t, env.Client, slow.URL+"/slow", "*")
		fastEP := env.endpoint(t, env.Client, fast.URL+"/fast", "*")

		const n = 120
		for i := range n {
			Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{
				Email: fmt.Sprintf("runner-%d@example.com", i), Name: "Runner Test"}))
		}
		env.Eventually(30*time.Second, "every event at the fast endpoint", func() bool {
			events, _, _ := fast.counts()
			return events >= n
		})
		if _, answered, held := slow.counts(); answered >= n || held > 8 || held < 1 {
			t.Errorf("while the fast endpoint got all %d events, the slow one answered %d and held %d at once (want < %d and 1..8)",
				n, answered, held, n)
		}
		slow.open()
		env.Eventually(60*time.Second, "every event at the slow endpoint", func() bool {
			events, _, _ := slow.counts()
			return events >= n
		})

		for name, rc := range map[string]*gatedReceiver{"slow": slow, "fast": fast} {
			events, answered, held := rc.counts()
			if events != n || answered != n || held > 8 {
				t.Errorf("%s endpoint: %d events, %d requests, at most %d at once (want %d, %d, ≤ 8)", name, events, answered, held, n, n)
			}
		}
		// Every event is logged once per endpoint, as succeeded.
		list := Must[*client.List[api.Event]](t)(env.Client.Events(ctx, client.ListParams{Limit: 100}))
		for _, e := range list.Data[:10] {
			env.Eventually(10*time.Second, "the delivery log of "+e.ID, func() bool { return len(env.deliveries(t, e.ID)) >= 2 })
			per := map[string]int{}
			for _, d := range env.deliveries(t, e.ID) {
				if d.Status != "succeeded" || d.Attempt != 1 {
					t.Errorf("event %s: delivery %+v", e.ID, d)
				}
				per[d.EndpointID]++
			}
			if per[slowEP.ID] != 1 || per[fastEP.ID] != 1 || len(per) != 2 {
				t.Errorf("event %s logged %v", e.ID, per)
			}
		}
	})
}
