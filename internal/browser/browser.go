// Package browser is a small harness for tests that drive a real, headless
// Chromium (Debian's, found by testenv.Chromium; never a downloaded one)
// through github.com/chromedp/chromedp.
//
// Start launches one browser for a test; Browser.Tab opens a tab bounded by
// a deadline that records, from the moment it opens, every console error,
// uncaught exception and Content-Security-Policy violation ("Refused to …")
// the pages report, and the response headers of each document loaded. Facts
// reads the accessibility-relevant facts of the page shown, and Contrast
// computes WCAG contrast ratios from the CSS colours the browser computed.
package browser

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tillpay/till/internal/testenv"
)

// Browser is one running headless Chromium.
type Browser struct {
	ctx context.Context // the browser's chromedp context, without a deadline
}

// Start launches headless Chromium for tb and stops it when tb ends. It skips
// tb, with testenv's one-line reason, when there is no Chromium, and fails tb
// when Chromium does not start. Running as root, as CI does, it passes
// --no-sandbox, without which Chromium refuses to run.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	path := testenv.Chromium(tb)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do starts the browser. Its bound must not be ctx's own
	// deadline: a deadline on the browser's context would kill the browser.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			tb.Fatalf("browser: starting %s: %v", path, err)
		}
	case <-time.After(30 * time.Second):
		tb.Fatalf("browser: %s did not start within 30s", path)
	}
	return &Browser{ctx: ctx}
}

// Problem is something a page reported that a well-behaved page never does:
// a console error, an uncaught exception, or a browser log entry of level
// error (CSP violations and failed loads among them).
type Problem struct {
	Kind string // "console", "exception" or "log"
	Text string
	URL  string
}

func (p Problem) String() string {
	if p.URL != "" {
		return p.Kind + ": " + p.Text + " (" + p.URL + ")"
	}
	return p.Kind + ": " + p.Text
}

// CSPViolation reports whether p is the browser refusing something under the
// page's Content-Security-Policy.
func (p Problem) CSPViolation() bool {
	// Chromium words them "Refused to …" or, in newer versions, "… violates the
	// following Content Security Policy directive …".
	return strings.Contains(p.Text, "Refused to") || strings.Contains(p.Text, "Content Security Policy")
}

// Tab is one browser tab with a deadline. Its methods fail the test on any
// error, the deadline passing included.
type Tab struct {
	tb  testing.TB
	Ctx context.Context // the tab's chromedp context, bounded by its deadline

	mu        sync.Mutex
	problems  []Problem
	documents []Document
}

// Document is the response to one document (page) load of a tab.
type Document struct {
	URL    string
	Status int64
	Header http.Header
}

// Tab opens a new tab that closes when tb ends and whose every action must
// finish within timeout of its opening.
func (b *Browser) Tab(tb testing.TB, timeout time.Duration) *Tab {
	tb.Helper()
	tabCtx, closeTab := chromedp.NewContext(b.ctx)
	ctx, cancel := context.WithTimeout(tabCtx, timeout)
	tb.Cleanup(func() {
		cancel()
		closeTab()
	})
	t := &Tab{tb: tb, Ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the target
		tb.Fatalf("browser: opening a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, t.record); err != nil {
		tb.Fatalf("browser: listening to the tab: %v", err)
	}
	return t
}

// record keeps the events Problems and Documents report. It runs on the
// tab's reading goroutine and must return fast.
func (t *Tab) record(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, strings.Trim(string(a.Value), `"`))
				} else {
					parts = append(parts, a.Description)
				}
			}
			t.problems = append(t.problems, Problem{Kind: "console", Text: strings.Join(parts, " ")})
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		t.problems = append(t.problems, Problem{Kind: "exception", Text: text, URL: d.URL})
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level == log.EntryLevelError || (Problem{Text: e.Text}).CSPViolation() {
			t.problems = append(t.problems, Problem{Kind: "log", Text: e.Text, URL: e.URL})
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.Response != nil {
			h := http.Header{}
			for k, v := range ev.Response.Headers {
				// Chromium joins repeated headers with newlines.
				for _, s := range strings.Split(fmt.Sprint(v), "\n") {
					h.Add(k, s)
				}
			}
			t.documents = append(t.documents, Document{URL: ev.Response.URL, Status: ev.Response.Status, Header: h})
		}
	}
}

// Problems returns what the tab's pages reported so far, oldest first.
func (t *Tab) Problems() []Problem {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Problem(nil), t.problems...)
}

// CSPViolations returns the problems that are CSP violations.
func (t *Tab) CSPViolations() []Problem {
	var out []Problem
	for _, p := range t.Problems() {
		if p.CSPViolation() {
			out = append(out, p)
		}
	}
	return out
}

// Documents returns the responses of the documents the tab loaded so far,
// oldest first (a redirect's target included, the redirect itself not).
func (t *Tab) Documents() []Document {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Document(nil), t.documents...)
}

// Do runs actions in the tab, failing the test on an error.
func (t *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	t.tb.Helper()
	if err := chromedp.Do(t.Ctx, actions...); err != nil {
		t.tb.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression in the page (through DevTools, so
// also when the page's own scripts are disabled) and decodes its value.
func Eval[T any](t *Tab, expression string) T {
	t.tb.Helper()
	v, err := chromedp.Run(t.Ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.tb.Fatalf("browser: evaluating %s: %v", expression, err)
	}
	return v
}

// WaitUntil polls the JavaScript condition every 20 ms until it is true,
// failing the test when the tab's deadline passes first.
func (t *Tab) WaitUntil(what, condition string) {
	t.tb.Helper()
	for {
		ok, err := chromedp.Run(t.Ctx, chromedp.Evaluate[bool](condition))
		if err == nil && ok {
			return
		}
		select {
		case <-t.Ctx.Done():
			t.tb.Fatalf("browser: waiting for %s (%s): %v (last error %v)", what, condition, t.Ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
