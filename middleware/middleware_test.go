package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
)

// logLine is one JSON line of a captured log.
type logLine map[string]any

// capture is a logger whose JSON lines a test reads back.
type capture struct{ buf bytes.Buffer }

func (c *capture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&c.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the captured lines with message msg.
func (c *capture) lines(tb testing.TB, msg string) []logLine {
	tb.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(c.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m logLine
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// writtenErr records the calls of an ErrorWriter.
type writtenErr struct {
	calls int
	err   error
}

func (e *writtenErr) write(w http.ResponseWriter, r *http.Request, err error) {
	e.calls++
	e.err = err
	status := http.StatusInternalServerError
	if till.ErrorCode(err) == till.ENotFound {
		status = http.StatusNotFound
	}
	w.Header().Set("Content-Type", "text/x-api-error")
	w.WriteHeader(status)
	io.WriteString(w, "api error: "+string(till.ErrorCode(err)))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

var generatedID = regexp.MustCompile(`^req_[A-Za-z0-9]{20}$`)

func TestAssignRequestID(t *testing.T) {
	tests := []struct {
		name      string
		header    map[string]string
		want      string
		generated bool // a new id is expected instead of want
	}{
		{name: "none", generated: true},
		{name: "Request-Id", header: map[string]string{"Request-Id": "order-42.retry_1"}, want: "order-42.retry_1"},
		{name: "X-Request-Id", header: map[string]string{"X-Request-Id": "lb:7f3a"}, want: "lb:7f3a"},
		{name: "Request-Id wins", header: map[string]string{"Request-Id": "mine", "X-Request-Id": "theirs"}, want: "mine"},
		{name: "64 characters", header: map[string]string{"Request-Id": strings.Repeat("a", 64)}, want: strings.Repeat("a", 64)},
		{name: "65 characters", header: map[string]string{"Request-Id": strings.Repeat("a", 65)}, generated: true},
		{name: "space", header: map[string]string{"Request-Id": "bad id"}, generated: true},
		{name: "tab", header: map[string]string{"Request-Id": "bad\tid"}, generated: true},
		{name: "slash", header: map[string]string{"Request-Id": "a/b"}, generated: true},
		{name: "non-ASCII", header: map[string]string{"Request-Id": "müller"}, generated: true},
		{name: "bad Request-Id ignores X-Request-Id", header: map[string]string{"Request-Id": "bad id", "X-Request-Id": "ok"}, generated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inCtx string
			h := middleware.AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inCtx = middleware.RequestID(r.Context())
			}))
			r := httptest.NewRequest("GET", "/v1/account", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := serve(h, r)
			id := rec.Header().Get("Request-Id")
			if x := rec.Header().Get("X-Request-Id"); x != id {
				t.Fatalf("Request-Id %q, X-Request-Id %q", id, x)
			}
			if inCtx != id {
				t.Fatalf("RequestID in the handler %q, header %q", inCtx, id)
			}
			switch {
			case tt.generated && !generatedID.MatchString(id):
				t.Fatalf("want a generated id, got %q", id)
			case !tt.generated && id != tt.want:
				t.Fatalf("want %q, got %q", tt.want, id)
			}
		})
	}
	if middleware.RequestID(context.Background()) != "" {
		t.Fatal("RequestID outside the middleware is not empty")
	}
}

func TestLogRequests(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		status    int // 0: the handler writes nothing
		attrs     []slog.Attr
		wantPath  string
		wantLevel string
	}{
		{name: "native", method: "POST", path: "/v1/customers", status: 200, wantPath: "/v1/customers", wantLevel: "INFO",
			attrs: []slog.Attr{slog.String("account", "acct_1"), slog.Bool("livemode", false)}},
		{name: "page token", method: "GET", path: "/pay/tok_SECRET123", status: 200, wantPath: "/pay/{token}", wantLevel: "INFO"},
		{name: "below a page", method: "POST", path: "/pay/tok_SECRET123/confirm", status: 303, wantPath: "/pay/{token}/confirm", wantLevel: "INFO"},
		{name: "page root", method: "GET", path: "/pay/", status: 404, wantPath: "/pay/{token}", wantLevel: "INFO"},
		{name: "assets", method: "GET", path: "/pay/assets/checkout.css", status: 200, wantPath: "/pay/assets/checkout.css", wantLevel: "INFO"},
		{name: "not a page", method: "GET", path: "/payments/x", status: 404, wantPath: "/payments/x", wantLevel: "INFO"},
		{name: "server error", method: "GET", path: "/v1/payments", status: 503, wantPath: "/v1/payments", wantLevel: "ERROR"},
		{name: "nothing written", method: "GET", path: "/healthz", status: 0, wantPath: "/healthz", wantLevel: "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			h := middleware.AssignRequestID(middleware.LogRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				middleware.AddLogAttrs(r.Context(), tt.attrs...)
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
			}), c.logger()))
			r := httptest.NewRequest(tt.method, tt.path+"?key=sk_test_QUERY", strings.NewReader(`{"card":{"number":"4242424242424242"}}`))
			r.Header.Set("X-Api-Key", "sk_test_HEADER")
			r.Header.Set("Request-Id", "req-log-test")
			serve(h, r)
			lines := c.lines(t, "request")
			if len(lines) != 1 {
				t.Fatalf("want one request line, got %d:\n%s", len(lines), c.buf.String())
			}
			l := lines[0]
			wantStatus := tt.status
			if wantStatus == 0 {
				wantStatus = 200
			}
			if l["request_id"] != "req-log-test" || l["method"] != tt.method || l["path"] != tt.wantPath ||
				l["status"] != float64(wantStatus) || l["level"] != tt.wantLevel {
				t.Fatalf("log line: %v", l)
			}
			if _, ok := l["duration_ms"].(float64); !ok {
				t.Fatalf("no duration_ms: %v", l)
			}
			for _, a := range tt.attrs {
				if got := l[a.Key]; got != a.Value.Any() {
					t.Fatalf("attribute %s: %v, want %v", a.Key, got, a.Value.Any())
				}
			}
			for _, secret := range []string{"SECRET123", "sk_test_", "4242424242424242"} {
				if strings.Contains(c.buf.String(), secret) {
					t.Fatalf("the log holds %q:\n%s", secret, c.buf.String())
				}
			}
		})
	}
	// AddLogAttrs outside LogRequests is a no-op.
	middleware.AddLogAttrs(context.Background(), slog.String("account", "acct_1"))
}

func TestLogPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/pay/abc", "/pay/{token}"},
		{"/pay/abc/", "/pay/{token}/"},
		{"/pay/abc/def/ghi", "/pay/{token}/def/ghi"},
		{"/pay/", "/pay/{token}"},
		{"/pay/assets/checkout.css", "/pay/assets/checkout.css"},
		{"/pay", "/pay"},
		{"/v1/pay/abc", "/v1/pay/abc"},
		{"/v1/customers/cus_1", "/v1/customers/cus_1"},
		// A token moved down by a non-canonical path is still hidden.
		{"/pay/./Xy7_kP9qL2mN4vB8cD1eF3gH5jK6", "/pay/{token}/{token}"},
		{"/pay//Xy7_kP9qL2mN4vB8cD1eF3gH5jK6/authenticate", "/pay/{token}/{token}/authenticate"},
		{"/pay/../pay/Xy7_kP9qL2mN4vB8cD1eF3gH5jK6", "/pay/{token}/pay/{token}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := middleware.LogPath(tt.in); got != tt.want {
				t.Fatalf("LogPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantCalls  int
		wantStatus int
	}{
		{name: "panic", wantCalls: 1, wantStatus: 500,
			handler: func(w http.ResponseWriter, r *http.Request) { panic("boom") }},
		{name: "panic with an error", wantCalls: 1, wantStatus: 500,
			handler: func(w http.ResponseWriter, r *http.Request) { panic(till.Errorf(till.ENotFound, "not really")) }},
		{name: "panic after the header", wantCalls: 0, wantStatus: 202,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202); panic("boom") }},
		{name: "no panic", wantCalls: 0, wantStatus: 204,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			var ew writtenErr
			h := middleware.AssignRequestID(middleware.Recover(tt.handler, c.logger(), ew.write))
			r := httptest.NewRequest("GET", "/pay/tok_SECRET123", nil)
			r.Header.Set("Request-Id", "req-panic")
			rec := serve(h, r)
			if ew.calls != tt.wantCalls || rec.Code != tt.wantStatus {
				t.Fatalf("error writer called %d times, status %d; want %d, %d", ew.calls, rec.Code, tt.wantCalls, tt.wantStatus)
			}
			panics := c.lines(t, "panic serving request")
			if tt.name == "no panic" {
				if len(panics) != 0 {
					t.Fatalf("logged a panic: %v", panics)
				}
				return
			}
			if len(panics) != 1 {
				t.Fatalf("want one panic line, got:\n%s", c.buf.String())
			}
			p := panics[0]
			stack, _ := p["stack"].(string)
			if p["request_id"] != "req-panic" || p["level"] != "ERROR" || p["path"] != "/pay/{token}" ||
				!strings.Contains(stack, "middleware_test.TestRecover") {
				t.Fatalf("panic line: %v", p)
			}
			if tt.wantCalls == 1 {
				if till.ErrorCode(ew.err) != till.EInternal || !strings.Contains(ew.err.Error(), "panic: ") {
					t.Fatalf("error writer got %v, want an internal error", ew.err)
				}
				if rec.Header().Get("Request-Id") != "req-panic" {
					t.Fatalf("the error response lost its request id")
				}
			}
		})
	}
}

func TestRecoverAbortHandler(t *testing.T) {
	var ew writtenErr
	var c capture
	h := middleware.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}), c.logger(), ew.write)
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
		if ew.calls != 0 || c.buf.Len() != 0 {
			t.Fatalf("an aborted response was answered (%d) or logged:\n%s", ew.calls, c.buf.String())
		}
	}()
	serve(h, httptest.NewRequest("GET", "/v1/account", nil))
	t.Fatal("ErrAbortHandler did not panic again")
}

func TestRequireCanonicalPath(t *testing.T) {
	tests := []struct {
		path      string
		canonical bool
	}{
		{"/", true},
		{"/v1/customers", true},
		{"/v1/customers/", true},
		{"/pay/tok_1", true},
		{"/v1/customers//payment-methods", false},
		{"/v1/customers/./payment-methods", false},
		{"/v1/payments/../account", false},
		{"/v1/customers/.", false},
		{"/v1/customers/..", false},
		{"//", false},
		{"/pay/a/../b", false},
		{"/v1/customers//", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var ew writtenErr
			called := false
			h := middleware.RequireCanonicalPath(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
			}), ew.write)
			r := httptest.NewRequest("POST", "/", nil)
			r.URL.Path = tt.path
			rec := serve(h, r)
			if called != tt.canonical || (ew.calls == 1) == tt.canonical {
				t.Fatalf("handler called %v, error writer %d times", called, ew.calls)
			}
			if tt.canonical {
				return
			}
			e, ok := till.AsError(ew.err)
			if !ok || e.Code != till.ENotFound || e.Message != "Unrecognized request URL (POST "+tt.path+")." || rec.Code != 404 {
				t.Fatalf("error %v, status %d", ew.err, rec.Code)
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	const limit = 16
	readFailure := errors.New("connection reset")
	tests := []struct {
		name     string
		body     io.Reader // nil: no body
		want     string
		tooLarge bool
		readErr  error
	}{
		{name: "no body"},
		{name: "empty", body: strings.NewReader(""), want: ""},
		{name: "small", body: strings.NewReader(`{"a":1}`), want: `{"a":1}`},
		{name: "at the limit", body: strings.NewReader(strings.Repeat("x", limit)), want: strings.Repeat("x", limit)},
		{name: "one byte over", body: strings.NewReader(strings.Repeat("x", limit+1)), tooLarge: true},
		{name: "far over", body: strings.NewReader(strings.Repeat("x", 10*limit)), tooLarge: true},
		{name: "read error", body: iotest.ErrReader(readFailure), readErr: readFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/customers", tt.body)
			if tt.body == nil {
				r.Body = nil
			}
			b, err := middleware.ReadBody(r, limit)
			var be *middleware.BodyError
			switch {
			case tt.tooLarge:
				if !errors.As(err, &be) || !be.TooLarge || be.Limit != limit || b != nil {
					t.Fatalf("want a too-large BodyError, got %v (%d bytes)", err, len(b))
				}
			case tt.readErr != nil:
				if !errors.As(err, &be) || be.TooLarge || !errors.Is(err, tt.readErr) {
					t.Fatalf("want a BodyError wrapping the read error, got %v", err)
				}
			case err != nil || string(b) != tt.want:
				t.Fatalf("got %q, %v; want %q", b, err, tt.want)
			}
		})
	}
	t.Run("outer MaxBytesReader", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/customers", strings.NewReader(strings.Repeat("x", limit)))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 4)
		_, err := middleware.ReadBody(r, limit)
		var be *middleware.BodyError
		if !errors.As(err, &be) || !be.TooLarge || be.Limit != 4 {
			t.Fatalf("want too large at 4 bytes, got %v", err)
		}
	})
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		key   string
		after time.Duration // since t0
		want  bool
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{name: "burst then refill", rate: 1, burst: 2, steps: []step{
			{"k", 0, true}, {"k", 0, true}, {"k", 0, false},
			{"k", 500 * time.Millisecond, false}, // half a token
			{"k", time.Second, true}, {"k", time.Second, false},
			{"k", 10 * time.Second, true}, {"k", 10 * time.Second, true}, {"k", 10 * time.Second, false}, // capped at the burst
		}},
		{name: "keys are separate", rate: 1, burst: 1, steps: []step{
			{"a", 0, true}, {"a", 0, false}, {"b", 0, true}, {"b", 0, false}, {"a", time.Second, true},
		}},
		{name: "default burst is twice the rate", rate: 2, burst: 0, steps: []step{
			{"k", 0, true}, {"k", 0, true}, {"k", 0, true}, {"k", 0, true}, {"k", 0, false},
			{"k", 500 * time.Millisecond, true}, {"k", 500 * time.Millisecond, false},
		}},
		{name: "rate 0 allows everything", rate: 0, burst: 0, steps: []step{
			{"k", 0, true}, {"k", 0, true}, {"k", 0, true}, {"k", 0, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := middleware.NewLimiter(tt.rate, tt.burst)
			for i, s := range tt.steps {
				if got := l.Allow(s.key, t0.Add(s.after)); got != s.want {
					t.Fatalf("step %d (%s at +%v): Allow = %v, want %v", i, s.key, s.after, got, s.want)
				}
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Run("cancels the context", func(t *testing.T) {
		var err error
		var hasDeadline bool
		h := middleware.Timeout(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, hasDeadline = r.Context().Deadline()
			select {
			case <-r.Context().Done():
				err = r.Context().Err()
			case <-time.After(5 * time.Second):
			}
		}), 20*time.Millisecond)
		serve(h, httptest.NewRequest("GET", "/v1/payments", nil))
		if !hasDeadline || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline %v, context error %v", hasDeadline, err)
		}
	})
	t.Run("0 disables", func(t *testing.T) {
		var hasDeadline bool
		h := middleware.Timeout(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, hasDeadline = r.Context().Deadline()
		}), 0)
		serve(h, httptest.NewRequest("GET", "/v1/payments", nil))
		if hasDeadline {
			t.Fatal("a timeout of 0 set a deadline")
		}
	})
}

func TestServerTimeouts(t *testing.T) {
	var srv http.Server
	middleware.DefaultServerTimeouts().Apply(&srv)
	if srv.ReadHeaderTimeout != 10*time.Second || srv.IdleTimeout != 120*time.Second || srv.ReadTimeout != 0 || srv.WriteTimeout != 0 {
		t.Fatalf("timeouts: header %v, read %v, write %v, idle %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}

// TestStack checks the layers together: every answer has a request id and
// one log line, and the API's error writer answers panics and
// non-canonical paths.
func TestStack(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); !ok {
			t.Error("no deadline inside the stack")
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string
		wantErr    till.Code
	}{
		{"/ok", 200, "ok", ""},
		{"/panic", 500, "api error: internal_error", till.EInternal},
		{"/a/../ok", 404, "api error: resource_missing", till.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var c capture
			var ew writtenErr
			h := middleware.Stack(mux, middleware.Options{ErrorWriter: ew.write, Logger: c.logger(), Timeout: time.Minute})
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path = tt.path
			rec := serve(h, r)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody || till.ErrorCode(ew.err) != tt.wantErr {
				t.Fatalf("%d %q (error %v)", rec.Code, rec.Body.String(), ew.err)
			}
			id := rec.Header().Get("Request-Id")
			lines := c.lines(t, "request")
			if !generatedID.MatchString(id) || len(lines) != 1 || lines[0]["request_id"] != id || lines[0]["status"] != float64(tt.wantStatus) {
				t.Fatalf("request id %q, log lines %v", id, lines)
			}
		})
	}
	t.Run("default error writer", func(t *testing.T) {
		rec := serve(middleware.Stack(mux, middleware.Options{}), httptest.NewRequest("GET", "/panic", nil))
		if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

func TestByPrefix(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	h := middleware.ByPrefix(named("native"),
		middleware.Prefix{Path: "/pay/", Handler: named("pages")},
		middleware.Prefix{Path: "/pay/assets/", Handler: named("assets")},
		middleware.Prefix{Path: "/chip/v1/", Handler: named("chip")},
	)
	tests := []struct{ path, want string }{
		{"/v1/customers", "native"},
		{"/", "native"},
		{"/pay/tok_1", "pages"},
		{"/pay/", "pages"},
		{"/pay", "pages"},
		{"/pay/a/../b", "pages"},
		{"/pay//x", "pages"},
		{"/payments", "native"},
		{"/pay/assets/checkout.css", "assets"},
		{"/chip/v1/purchases/", "chip"},
		{"/chip/v1", "chip"},
		{"/chip/v2/x", "native"},
		{"/v1/../pay/x", "native"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL.Path = tt.path
			if got := serve(h, r).Body.String(); got != tt.want {
				t.Fatalf("%s went to %s, want %s", tt.path, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "/", "pay/", "/pay"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("ByPrefix accepted %q", bad)
				}
			}()
			middleware.ByPrefix(named("native"), middleware.Prefix{Path: bad, Handler: named("x")})
		})
	}
}

// TestObserveRequests checks that a Stack tells its Observer of every
// request once, by the route its mux names, with the status the client got:
// the handler's, 200 when it wrote nothing, 500 for a panic and 404 for a
// non-canonical path.
func TestObserveRequests(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	mux.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /v1/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	type seen struct {
		route, method string
		status        int
	}
	var got []seen
	obs := middleware.RouteObserver(func(route, method string, status int, elapsed time.Duration) {
		if elapsed < 0 {
			t.Errorf("negative elapsed %v", elapsed)
		}
		got = append(got, seen{route, method, status})
	})
	var c capture
	h := middleware.Stack(mux, middleware.Options{Logger: c.logger(), Observe: obs.By(func(r *http.Request) string { return middleware.MuxRoute(mux, r) })})
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/things/thing_123"}, {"POST", "/v1/things"}, {"GET", "/v1/boom"}, {"GET", "/nowhere"}, {"GET", "/v1//things"},
	} {
		serve(h, httptest.NewRequest(req.method, req.path, nil))
	}
	want := []seen{{"/v1/things/{id}", "GET", 201}, {"/v1/things", "POST", 200}, {"/v1/boom", "GET", 500}, {"", "GET", 404}, {"", "GET", 404}}
	if !slices.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	if middleware.RouteObserver(nil).By(nil) != nil {
		t.Fatal("a nil RouteObserver should give a nil Observer")
	}
}
