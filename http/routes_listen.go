package http

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// --- the test-mode event poll (till listen)

// pollEvents answers GET /v1/test/events/poll?after=&types=a,b&timeout=25s&limit=:
// the events after the cursor, oldest first, at once when there are any, or
// after waiting up to the timeout for the first. The answer always carries
// nextCursor, the cursor to poll with next.
func (s *Server) pollEvents(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "after", "types", "timeout", "limit")
	p := service.PollParams{After: q.Str("after"), Timeout: service.DefaultPollTimeout, Stop: shutdownOf(r)}
	for _, v := range q.Values("types") {
		for _, typ := range strings.Split(v, ",") {
			p.Types = append(p.Types, strings.TrimSpace(typ))
		}
	}
	if v := q.Str("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.ParseUint(v, 10, 64); nerr == nil {
			// Whole seconds; anything past an hour is as good as an hour (a
			// poll waits 30 s at most).
			d, err = time.Duration(min(n, 3600))*time.Second, nil
		}
		if err != nil {
			q.V.Add("timeout", "timeout must be a duration such as 25s or 500ms, or whole seconds; at most 30s is waited")
		} else {
			p.Timeout = d
		}
	}
	if v := q.Str("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			q.V.Add("limit", "limit must be an integer between 1 and 100")
		} else {
			p.Limit = n
		}
	}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.svc.PollEvents(r.Context(), callerOf(r).Caller, p)
	if err != nil {
		if r.Context().Err() != nil {
			// The client went away while the poll waited: nobody reads an
			// answer.
			return
		}
		s.fail(w, r, err)
		return
	}
	out := make([]api.Event, len(res.Events))
	for i, e := range res.Events {
		if out[i], err = api.EventOf(e); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeBody(w, http.StatusOK, encode(api.Envelope[any]{Success: true, Data: out, HasMore: &res.HasMore, NextCursor: &res.Cursor}))
}

// shutdowns holds, per http.Server that served a poll, a channel closed
// when it shuts down. An entry lives as long as the process (one per
// server, a handful in tests).
var shutdowns sync.Map // *http.Server → chan struct{}

// shutdownOf returns a channel that is closed when the http.Server serving
// r begins to shut down (http.Server.Shutdown waits for requests in flight,
// and a poll that waits would hold it up), or nil when r was not served by
// an http.Server. The hook is registered by the server's first poll; that
// one poll, if it arrives while Shutdown has already begun, waits out its
// timeout (30 s at most, as Shutdown's own deadline in till serve).
func shutdownOf(r *http.Request) <-chan struct{} {
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return nil
	}
	if ch, ok := shutdowns.Load(hs); ok {
		return ch.(chan struct{})
	}
	ch := make(chan struct{})
	if prev, loaded := shutdowns.LoadOrStore(hs, ch); loaded {
		return prev.(chan struct{})
	}
	hs.RegisterOnShutdown(func() { close(ch) })
	return ch
}
