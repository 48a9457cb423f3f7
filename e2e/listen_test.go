package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	tillhttp "github.com/tillpay/till/http"
	"github.com/tillpay/till/service"
)

// poller reads the test-mode event poll from cursor to cursor.
type poller struct {
	t      *testing.T
	c      *client.Client
	cursor string
	types  []string
}

// startPoller returns a poller whose cursor is "now".
func startPoller(t *testing.T, c *client.Client, types ...string) *poller {
	t.Helper()
	first, err := c.PollEvents(context.Background(), client.PollParams{Types: types})
	if err == nil && len(first.Data) > 0 {
		err = fmt.Errorf("a poll without after gave %d events written before it", len(first.Data))
	}
	if err != nil {
		t.Fatal(err)
	}
	if first.NextCursor == "" {
		t.Fatal("a poll answer without nextCursor")
	}
	return &poller{t: t, c: c, cursor: first.NextCursor, types: types}
}

// poll asks for one page and moves the cursor.
func (p *poller) poll(ctx context.Context, timeout time.Duration, limit int) (*client.List[client.PolledEvent], error) {
	page, err := p.c.PollEvents(ctx, client.PollParams{After: p.cursor, Types: p.types, Timeout: timeout, Limit: limit})
	if err != nil {
		return nil, err
	}
	if page.NextCursor == "" {
		return nil, errors.New("a poll answer without nextCursor")
	}
	p.cursor = page.NextCursor
	return page, nil
}

// collect polls pages of limit until want events arrived or the deadline
// passed, and returns every event given, in order.
func (p *poller) collect(want, limit int, deadline time.Duration) []client.PolledEvent {
	p.t.Helper()
	var got []client.PolledEvent
	end := time.Now().Add(deadline)
	for len(got) < want {
		if time.Now().After(end) {
			p.t.Fatalf("%d of %d events after %s", len(got), want, deadline)
		}
		page, err := p.poll(context.Background(), 2*time.Second, limit)
		if err != nil {
			p.t.Fatal(err)
		}
		if len(page.Data) > limit {
			p.t.Fatalf("a page of %d events, limit %d", len(page.Data), limit)
		}
		got = append(got, page.Data...)
	}
	return got
}

func polledIDs(es []client.PolledEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestEventPollWaits: a poll with nothing to give waits for the timeout and
// answers an empty page; one that is waiting when an event is written
// answers with it at once, rendered byte for byte as GET /v1/events/{id}
// renders it.
func TestEventPollWaits(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p := startPoller(t, env.Client)

		start := time.Now()
		empty := Must[*client.List[client.PolledEvent]](t)(p.poll(env.Ctx(), 400*time.Millisecond, 0))
		if len(empty.Data) != 0 || empty.HasMore || time.Since(start) < 400*time.Millisecond {
			t.Fatalf("with nothing written: %d events, hasMore %v, after %s (want none, after the 400ms timeout)", len(empty.Data), empty.HasMore, time.Since(start))
		}

		type answer struct {
			page *client.List[client.PolledEvent]
			err  error
			took time.Duration
		}
		res := make(chan answer, 1)
		start = time.Now()
		go func() {
			page, err := p.poll(context.Background(), 20*time.Second, 0)
			res <- answer{page, err, time.Since(start)}
		}()
		select {
		case a := <-res:
			t.Fatalf("the poll answered before anything was written: %+v", a)
		default:
		}
		cust := env.Customer("DE")
		var a answer
		select {
		case a = <-res:
		case <-time.After(15 * time.Second):
			t.Fatal("the waiting poll did not answer when the event was written")
		}
		if a.err != nil {
			t.Fatal(a.err)
		}
		if len(a.page.Data) != 1 || a.page.Data[0].Type != "customer.created" || a.page.Data[0].ObjectID != cust.ID {
			t.Fatalf("the waiting poll gave %+v", a.page.Data)
		}
		if a.took >= 15*time.Second {
			t.Fatalf("the poll answered after %s, at its timeout rather than with the event", a.took)
		}
		// The body is what GET /v1/events/{id} shows in data (and what a
		// webhook delivery carries).
		one := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/events/"+a.page.Data[0].ID, nil))
		var envl struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(one.Body, &envl); err != nil {
			t.Fatal(err)
		}
		if string(envl.Data) != string(a.page.Data[0].Raw) {
			t.Fatalf("polled event\n%s\nGET /v1/events/{id}\n%s", a.page.Data[0].Raw, envl.Data)
		}
	})
}

// TestEventPollPages: from cursor to cursor, in small pages, the poll gives
// every event once — written one after the other (in the order written,
// which is GET /v1/events reversed) and by concurrent writers while it
// reads (on PostgreSQL their commits interleave) — and the types filter
// gives only its types.
func TestEventPollPages(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		all := startPoller(t, env.Client)
		updated := startPoller(t, env.Client, "customer.updated")

		const sequential = 12
		for i := range sequential {
			c := env.Customer("")
			if i%3 == 0 {
				Must[*api.Customer](t)(env.Client.UpdateCustomer(env.Ctx(), c.ID, api.CustomerUpdate{Name: Str(fmt.Sprintf("Renamed %d", i))}))
			}
		}
		listed := Must[*client.List[api.Event]](t)(env.Client.Events(env.Ctx(), client.ListParams{Limit: 100}))
		var want []string
		for _, e := range slices.Backward(listed.Data) {
			want = append(want, e.ID)
		}
		got := all.collect(len(want), 5, 30*time.Second)
		if !slices.Equal(polledIDs(got), want) {
			t.Fatalf("pages of 5 gave\n%v\nwant (GET /v1/events reversed)\n%v", polledIDs(got), want)
		}
		gotUpdated := updated.collect(sequential/3, 2, 30*time.Second)
		for _, e := range gotUpdated {
			if e.Type != "customer.updated" {
				t.Fatalf("types=customer.updated gave a %s", e.Type)
			}
		}

		// Concurrent writers, read meanwhile in pages of 3.
		const writers, each = 6, 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := map[string]bool{}
		for range writers {
			wg.Go(func() {
				for range each {
					c, err := env.Client.CreateCustomer(context.Background(), api.CustomerCreate{Email: "many@example.com"})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					created[c.ID] = true
					mu.Unlock()
				}
			})
		}
		seen := map[string]int{}
		var order []string
		for _, e := range all.collect(writers*each, 3, 60*time.Second) {
			seen[e.ObjectID]++
			order = append(order, e.ID)
			if e.Type != "customer.created" {
				t.Fatalf("unexpected %s", e.Type)
			}
		}
		wg.Wait()
		for id := range created {
			if seen[id] != 1 {
				t.Fatalf("customer %s: its event given %d times", id, seen[id])
			}
		}
		if len(seen) != len(created) {
			t.Fatalf("%d events given for %d customers: %v", len(seen), len(created), order)
		}
		// Nothing more is left, and nothing is given twice later.
		if rest := Must[*client.List[client.PolledEvent]](t)(all.poll(env.Ctx(), 300*time.Millisecond, 0)); len(rest.Data) != 0 {
			t.Fatalf("after every event: %v", polledIDs(rest.Data))
		}
	})
}

// TestEventPollRefusals: live keys, another account's cursor and bad
// parameters get a 4xx in the error envelope.
func TestEventPollRefusals(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		_, err := env.Client.WithKey(env.Keys.LiveSecretKey).PollEvents(env.Ctx(), client.PollParams{})
		APIError(t, err, http.StatusForbidden, "live_mode_forbidden")

		other, err := env.Service.CreateAccount(env.Ctx(), nil, service.NewAccountParams{Name: "Other GmbH", Country: "AT"})
		if err != nil {
			t.Fatal(err)
		}
		theirs := startPoller(t, client.New(env.URL, tillhttp.AccountKeysOf(other).TestSecretKey))
		ours := startPoller(t, env.Client)
		for _, tc := range []struct {
			query string
			code  string
			param string
		}{
			{"after=" + url.QueryEscape(theirs.cursor), "validation_error", "after"},
			{"after=" + url.QueryEscape(ours.cursor[:len(ours.cursor)-2]), "validation_error", "after"},
			{"after=not-a-cursor", "validation_error", "after"},
			{"after=" + url.QueryEscape(ours.cursor) + "x", "validation_error", "after"},
			{"types=payment.exploded", "validation_error", "types"},
			{"types=payment.succeeded,,refund.succeeded", "validation_error", "types"},
			{"types=refund.succeeded,refund.succeeded", "validation_error", "types"},
			{"timeout=soon", "validation_error", "timeout"},
			{"timeout=-1s", "validation_error", "timeout"},
			{"limit=0", "validation_error", "limit"},
			{"limit=101", "validation_error", "limit"},
			{"startingAfter=evt_1", "parameter_unknown", "startingAfter"},
		} {
			query := tc.query
			if tc.param != "timeout" {
				query += "&timeout=0"
			}
			resp := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/test/events/poll?"+query, nil))
			var e struct {
				Success bool
				Error   api.Error
			}
			if err := json.Unmarshal(resp.Body, &e); err != nil || resp.Status != http.StatusBadRequest || e.Success ||
				e.Error.Type != "invalid_request_error" || e.Error.Code != tc.code || e.Error.Param != tc.param {
				t.Errorf("%s: %d %s, want 400 %s naming %s", tc.query, resp.Status, resp.Body, tc.code, tc.param)
			}
		}
		// The document describes the answers, successes and refusals.
		sc := newSpecChecker(t, env)
		sc.do(call{method: "GET", path: "/v1/test/events/poll?timeout=0", status: 200})
		sc.do(call{method: "GET", path: "/v1/test/events/poll?timeout=100ms&limit=5&types=customer.created,payment.succeeded&after=" + url.QueryEscape(ours.cursor), status: 200})
		env.Customer("")
		sc.do(call{method: "GET", path: "/v1/test/events/poll?timeout=5&after=" + url.QueryEscape(ours.cursor), status: 200})
		sc.do(call{method: "GET", path: "/v1/test/events/poll", key: env.Keys.LiveSecretKey, status: 403})
		sc.do(call{method: "GET", path: "/v1/test/events/poll?types=payment.exploded", status: 400, badRequest: true})
		sc.do(call{method: "GET", path: "/v1/test/events/poll?timeout=soon", status: 400, badRequest: true})
		sc.do(call{method: "GET", path: "/v1/test/events/poll?after=nope", status: 400})
	})
}

// TestEventPollEnds: a waiting poll ends when its client goes away, and
// answers an empty page with its cursor at once when the server shuts down,
// so neither holds the server.
func TestEventPollEnds(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		// A server of its own around the same service, to watch its
		// handler return and to shut it down.
		finished := make(chan struct{}, 10)
		native := tillhttp.New(env.Service, tillhttp.Options{PublicBaseURL: env.URL})
		active := make(chan struct{}, 10)
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			native.ServeHTTP(w, r)
			finished <- struct{}{}
		}), ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateActive {
				active <- struct{}{}
			}
		}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })
		c := client.New("http://"+ln.Addr().String(), env.Keys.TestSecretKey)
		p := startPoller(t, c)
		<-finished
		<-active

		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := p.c.PollEvents(ctx, client.PollParams{After: p.cursor, Timeout: 30 * time.Second})
			errc <- err
		}()
		select {
		case <-active:
		case <-time.After(10 * time.Second):
			t.Fatal("the poll never reached the server")
		}
		select {
		case <-finished:
			t.Fatal("the poll answered with nothing written")
		case <-errc:
			t.Fatal("the poll answered with nothing written")
		default:
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("client: %v", err)
		}
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Fatal("the handler still waits 5 s after its client went away")
		}

		type answer struct {
			page *client.List[client.PolledEvent]
			err  error
		}
		res := make(chan answer, 1)
		go func() {
			page, err := p.c.PollEvents(context.Background(), client.PollParams{After: p.cursor, Timeout: 30 * time.Second})
			res <- answer{page, err}
		}()
		// Shutdown waits for requests in flight, so the poll must be in
		// first: its connection turns active.
		select {
		case <-active:
		case <-time.After(10 * time.Second):
			t.Fatal("the poll never reached the server")
		}
		shutCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		start := time.Now()
		if err := hs.Shutdown(shutCtx); err != nil {
			t.Fatalf("shutdown: %v after %s", err, time.Since(start))
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("shutdown took %s with a poll waiting", took)
		}
		a := <-res
		if a.err != nil {
			t.Fatalf("the poll cut by the shutdown: %v", a.err)
		}
		if len(a.page.Data) != 0 || a.page.NextCursor == "" {
			t.Fatalf("the poll cut by the shutdown answered %+v", a.page)
		}
	})
}
