package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/testenv"
)

// hookReceiver is a local webhook receiver recording every request.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []receivedHook
	code int
}

type receivedHook struct {
	header http.Header
	body   []byte
	id     string
	typ    string
}

func newHookReceiver(t *testing.T, code int) *hookReceiver {
	rc := &hookReceiver{code: code}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ ID, Type string }
		json.Unmarshal(body, &ev)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedHook{header: r.Header.Clone(), body: body, id: ev.ID, typ: ev.Type})
		rc.mu.Unlock()
		w.WriteHeader(rc.code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) hooks() []receivedHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// waitType waits until the receiver holds at least n requests of event type
// typ and returns them.
func (rc *hookReceiver) waitType(t *testing.T, typ string, n int) []receivedHook {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var of []receivedHook
		for _, h := range rc.hooks() {
			if h.typ == typ {
				of = append(of, h)
			}
		}
		if len(of) >= n {
			return of
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d %s events in 30 s, want %d", len(of), typ, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listener is a running `till listen`.
type listener struct {
	cmd    *exec.Cmd
	out    syncBuffer
	secret string
	done   chan struct{}
	err    error
}

// startListen runs till listen with args and waits for its Ready! line.
func startListen(t *testing.T, env []string, args ...string) *listener {
	t.Helper()
	l := &listener{cmd: exec.Command(tillBinary, append([]string{"listen"}, args...)...), done: make(chan struct{})}
	l.cmd.Env = append(os.Environ(), env...)
	l.cmd.Stderr = &l.out
	pipe, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		io.Copy(&l.out, pipe)
		l.err = l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(func() {
		l.cmd.Process.Kill()
		<-l.done
	})
	ready := regexp.MustCompile(`Ready! Forwarding to \S+ with signing secret (whsec_[A-Za-z0-9+/=]+)\n`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := ready.FindStringSubmatch(l.out.String()); m != nil {
			l.secret = m[1]
			return l
		}
		select {
		case <-l.done:
			t.Fatalf("till listen exited: %v\n%s", l.err, l.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("till listen printed no Ready! line:\n%s", l.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop interrupts the listener as Ctrl-C does and checks it exits 0.
func (l *listener) stop(t *testing.T) {
	t.Helper()
	l.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatal("till listen did not stop within 10 s of SIGINT")
	}
	if l.err != nil || !strings.HasSuffix(l.out.String(), "Stopped.\n") {
		t.Fatalf("till listen after SIGINT: %v\n%s", l.err, l.out.String())
	}
}

// lineOf waits for the listener's line about event id and returns it.
func (l *listener) lineOf(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(l.out.String(), "\n") {
			if strings.Contains(line, id) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("till listen printed no line about %s:\n%s", id, l.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventData returns the raw data of GET /v1/events/{id}.
func eventData(t *testing.T, c *client.Client, id string) []byte {
	t.Helper()
	resp, err := c.Raw(ctx(t), "GET", "/v1/events/"+id, nil)
	if err != nil || resp.Status != 200 {
		t.Fatalf("GET /v1/events/%s: %v %v", id, resp, err)
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

// noKeyEnv clears the variables a developer's shell may hold that would
// change what listen and trigger do.
var noKeyEnv = []string{"TILL_KEY=", "TILL_WEBHOOK_SECRET="}

var listenLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (\S+) +(evt_\w+)  (\[\d+\] \d+ ms|\[\d+\].*|\[error\] .+)$`)

// TestListenAndTrigger runs till listen against a real till serve and a
// local receiver, and till trigger for every event it supports: each event
// reaches the receiver signed as a webhook delivery is (the signature
// verifies with client.VerifySignature under the printed secret, the
// Standard Webhooks headers are there), with the body GET /v1/events/{id}
// shows, and listen prints a line for it. A second listener, filtered to
// one type, with a fixed secret and a receiver that fails, forwards only
// that type and prints the failure. On PostgreSQL the listener polls one
// process while the triggers go to another.
func TestListenAndTrigger(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			data := t.TempDir()
			var env []string
			if engine == "postgres" {
				env = []string{"TILL_DATABASE_URL=" + testenv.FreshDatabase(t), testMasterKey}
			}
			listenTo := startTill(t, data, env...)
			triggerAt := listenTo
			if engine == "postgres" {
				triggerAt = startTill(t, t.TempDir(), env...)
			}
			keys := readKeys(t, data)
			rc := newHookReceiver(t, http.StatusOK)
			// The key comes from keys.json in --data, as when run beside
			// till serve.
			l := startListen(t, noKeyEnv, "--forward-to", rc.URL+"/hooks", "--api", listenTo.url, "--data", data)
			const fixed = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
			failing := newHookReceiver(t, http.StatusInternalServerError)
			only := startListen(t, []string{"TILL_KEY=" + keys.TestSecretKey, "TILL_API=" + listenTo.url},
				"--forward-to", failing.URL, "--events", "refund.succeeded", "--secret", fixed)
			if only.secret != fixed {
				t.Fatalf("--secret: printed %s", only.secret)
			}

			var fired []string
			for _, tr := range triggers() {
				before := len(rc.waitType(t, tr.event, 0))
				out, stderr, code := runTill(t, []string{"TILL_KEY=" + keys.TestSecretKey}, "trigger", tr.event, "--api", triggerAt.url)
				if code != 0 || !strings.HasSuffix(out, "Triggered "+tr.event+".\n") {
					t.Fatalf("till trigger %s: exit %d\n%s%s", tr.event, code, out, stderr)
				}
				if !strings.Contains(out, "created customer cus_") {
					t.Fatalf("till trigger %s printed no customer:\n%s", tr.event, out)
				}
				rc.waitType(t, tr.event, before+1)
				fired = append(fired, tr.event)
			}

			hooks := rc.hooks()
			seen := map[string]bool{}
			for _, h := range hooks {
				if seen[h.id] {
					t.Fatalf("event %s forwarded twice", h.id)
				}
				seen[h.id] = true
				if err := client.VerifySignature(h.body, h.header.Get("Till-Signature"), l.secret, 0); err != nil {
					t.Fatalf("%s %s: %v", h.typ, h.id, err)
				}
				if h.header.Get("webhook-id") != h.id || h.header.Get("webhook-timestamp") == "" ||
					!strings.HasPrefix(h.header.Get("webhook-signature"), "v1,") || h.header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: headers %v", h.id, h.header)
				}
				m := listenLine.FindStringSubmatch(l.lineOf(t, h.id))
				if m == nil || m[1] != h.typ || m[2] != h.id || !strings.HasPrefix(m[3], "[200] ") {
					t.Fatalf("line about %s: %q", h.id, l.lineOf(t, h.id))
				}
			}
			// Bodies are the events as the API renders them.
			for _, h := range hooks[:5] {
				if want := eventData(t, client.New(listenTo.url, keys.TestSecretKey), h.id); string(want) != string(h.body) {
					t.Fatalf("forwarded body\n%s\nGET /v1/events/%s\n%s", h.body, h.id, want)
				}
			}
			if len(fired) != len(triggers()) {
				t.Fatalf("fired %v", fired)
			}

			// The filtered listener forwarded refund.succeeded only, signed
			// with the fixed secret, and printed the receiver's 500.
			got := failing.waitType(t, "refund.succeeded", 1)
			for _, h := range failing.hooks() {
				if h.typ != "refund.succeeded" {
					t.Fatalf("--events refund.succeeded forwarded a %s", h.typ)
				}
				if err := client.VerifySignature(h.body, h.header.Get("Till-Signature"), fixed, 0); err != nil {
					t.Fatal(err)
				}
			}
			if line := only.lineOf(t, got[0].id); !strings.Contains(line, "refund.succeeded") || !strings.Contains(line, "[500]") {
				t.Fatalf("line of a failed forward: %q", line)
			}
			l.stop(t)
			only.stop(t)
		})
	}
}

// TestListenAndTriggerErrors: mistakes on the command line are usage errors
// (exit 2) that say what is wrong; a live key is refused.
func TestListenAndTriggerErrors(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data)
	keys := readKeys(t, data)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trigger"}, 2, "payment.succeeded, payment.failed"},
		{[]string{"trigger", "payment.exploded", "--api", p.url}, 2, `cannot trigger "payment.exploded"`},
		{[]string{"trigger", "--key", keys.LiveSecretKey, "--api", p.url, "payment.succeeded"}, 2, "test secret key"},
		{[]string{"trigger", "payment.succeeded", "--api", p.url, "--data", t.TempDir()}, 2, "no key"},
		{[]string{"listen", "--api", p.url, "--key", keys.TestSecretKey}, 2, "--forward-to is required"},
		{[]string{"listen", "--forward-to", "localhost:3000", "--key", keys.TestSecretKey}, 2, "not an http:// or https:// URL"},
		{[]string{"listen", "--forward-to", "http://localhost:3000", "--events", "payment.exploded", "--key", keys.TestSecretKey}, 2, `unknown event type "payment.exploded"`},
		{[]string{"listen", "--forward-to", "http://localhost:3000", "--secret", "hunter2", "--key", keys.TestSecretKey}, 2, "--secret must be whsec_"},
		{[]string{"listen", "--forward-to", "http://localhost:3000", "--api", p.url, "--key", keys.LiveSecretKey}, 2, "test secret key"},
		{[]string{"listen", "--forward-to", "http://localhost:3000", "--api", p.url, "--key", "sk_test_nope"}, 1, "api_key_invalid"},
	} {
		_, stderr, code := runTill(t, noKeyEnv, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("till %v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	_, stderr, code := runTill(t, nil, "trigger", "-h")
	if code != 0 {
		t.Fatalf("till trigger -h: exit %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	listed := 0
	for sc.Scan() {
		for _, tr := range triggers() {
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), tr.event+" ") {
				listed++
			}
		}
	}
	if listed != len(triggers()) {
		t.Fatalf("till trigger -h lists %d of %d events:\n%s", listed, len(triggers()), stderr)
	}
}

// docBlocks returns the ```sh blocks of a section of docs/webhooks.md, in
// order.
func docBlocks(t *testing.T, heading string) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/webhooks.md has no %q section", heading)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	var blocks []string
	for {
		var block string
		if _, section, ok = strings.Cut(section, "\n```sh\n"); !ok {
			return blocks
		}
		if block, section, ok = strings.Cut(section, "\n```"); !ok {
			t.Fatalf("docs/webhooks.md %q: a ```sh block is not closed", heading)
		}
		blocks = append(blocks, block)
	}
}

// TestListenDocs runs the shell examples of docs/webhooks.md's local
// development section as written, in a fresh folder with till on PATH:
// till serve, till listen, the triggers, and the poll with curl. Only the
// ports differ: TILL_ADDR (which till serve, listen and trigger all read)
// is a free port, 127.0.0.1:4000 in the curl lines is replaced by it, the
// receiver's http://localhost:3000 by a local receiver's URL, and the
// placeholder key by the real one.
func TestListenDocs(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH", tool)
		}
	}
	blocks := docBlocks(t, "## Local development: till listen and till trigger")
	if len(blocks) != 4 {
		t.Fatalf("want 4 sh blocks (serve, listen, trigger, poll), got %d", len(blocks))
	}
	dir, addr := t.TempDir(), freeAddr(t)
	env := []string{"PATH=" + filepath.Dir(tillBinary) + ":" + os.Getenv("PATH"), "TILL_ADDR=" + addr}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TILL_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	shell := func(script string) *exec.Cmd {
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
	// till serve and till listen run until stopped: exec, so that the
	// process is till itself.
	serve := shell("exec " + strings.TrimSpace(blocks[0]))
	var serveOut syncBuffer
	serve.Stdout, serve.Stderr = &serveOut, io.Discard
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(serveOut.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("till serve did not start:\n%s", serveOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	keys := readKeys(t, filepath.Join(dir, "till-data"))

	rc := newHookReceiver(t, http.StatusOK)
	listen := shell("exec " + strings.ReplaceAll(strings.TrimSpace(blocks[1]), "http://localhost:3000", rc.URL))
	var listenOut syncBuffer
	listen.Stdout, listen.Stderr = &listenOut, &listenOut
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listen.Process.Kill(); listen.Wait() })
	ready := regexp.MustCompile(`signing secret (whsec_\S+)\n`)
	var secret string
	for deadline = time.Now().Add(20 * time.Second); ; {
		if m := ready.FindStringSubmatch(listenOut.String()); m != nil {
			secret = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("till listen printed no secret:\n%s", listenOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	if out, err := shell(blocks[2]).CombinedOutput(); err != nil {
		t.Fatalf("the trigger block: %v\n%s", err, out)
	}
	for _, typ := range []string{"payment.succeeded", "refund.succeeded", "payment.disputed"} {
		h := rc.waitType(t, typ, 1)[0]
		if err := client.VerifySignature(h.body, h.header.Get("Till-Signature"), secret, 0); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		// The receiver has the event before till listen, which prints its
		// line once the receiver has answered: wait for the line.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(listenOut.String(), typ); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("till listen printed no %s line:\n%s", typ, listenOut.String())
			}
		}
	}

	// The poll waits for an event written after its cursor: trigger until
	// it answers.
	poll := shell(strings.ReplaceAll(strings.ReplaceAll(blocks[3], "127.0.0.1:4000", addr), "sk_test_…", keys.TestSecretKey))
	var pollOut syncBuffer
	poll.Stdout, poll.Stderr = &pollOut, &pollOut
	if err := poll.Start(); err != nil {
		t.Fatal(err)
	}
	polled := make(chan error, 1)
	go func() { polled <- poll.Wait() }()
	var err error
	for deadline = time.Now().Add(30 * time.Second); ; {
		select {
		case err = <-polled:
		default:
			if time.Now().After(deadline) {
				t.Fatalf("the poll example did not answer:\n%s", pollOut.String())
			}
			if out, code := runTillIn(t, dir, env, "trigger", "payment.succeeded"); code != 0 {
				t.Fatalf("till trigger: %s", out)
			}
			continue
		}
		break
	}
	var page struct {
		Success    bool
		Data       []struct{ Type string }
		NextCursor string
	}
	if err != nil || json.Unmarshal([]byte(pollOut.String()), &page) != nil || !page.Success || len(page.Data) == 0 ||
		page.Data[0].Type != "payment.succeeded" || page.NextCursor == "" {
		t.Fatalf("the poll example: %v\n%s", err, pollOut.String())
	}
}

// runTillIn runs the till binary in dir with exactly env and returns its
// combined output and exit code.
func runTillIn(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(tillBinary, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
