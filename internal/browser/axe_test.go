package browser

import (
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tillpay/till/internal/testenv"
)

// strictCSP is the policy of Till's hosted pages, which allows no script.
const strictCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// axePages serves, on 127.0.0.1 and under strictCSP, a page with two
// violations at /bad, a page with none at /clean, and a long one at /long.
func axePages(t *testing.T) *httptest.Server {
	t.Helper()
	pages := map[string]string{
		"/bad": `<!doctype html><html lang="en"><meta charset="utf-8"><title>Bad</title>` +
			`<main><h1>Bad</h1><input type="text" name="email"><img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"></main>`,
		"/clean": `<!doctype html><html lang="en"><meta charset="utf-8">` +
			`<meta name="viewport" content="width=device-width, initial-scale=1"><title>Clean</title>` +
			`<main><h1>Clean</h1><label for="email">Email</label><input id="email" type="email" name="email">` +
			`<button type="submit">Send</button></main>`,
		"/long": `<!doctype html><html lang="en"><meta charset="utf-8">` +
			`<meta name="viewport" content="width=device-width, initial-scale=1"><title>Long</title>` +
			`<main><h1>Long</h1>` + strings.Repeat("<p>Text.</p>", 200) + `</main>`,
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		if r.URL.Path == "/favicon.ico" { // a 404 would be a problem of the page's
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(body))
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// openAxePage opens path of srv in a new tab once the page has loaded.
func openAxePage(t *testing.T, b *Browser, srv *httptest.Server, path string) *Tab {
	t.Helper()
	tab := b.Tab(t, 30*time.Second)
	tab.Do(chromedp.Navigate(srv.URL + path))
	tab.WaitUntil("the page", `document.readyState === "complete"`)
	return tab
}

func TestAxe(t *testing.T) {
	source := testenv.AxeSource(t)
	srv := axePages(t)
	b := Start(t)

	t.Run("violations", func(t *testing.T) {
		tab := openAxePage(t, b, srv, "/bad")
		serious := SeriousViolations(tab.Axe(source))
		var ids []string
		for _, v := range serious {
			ids = append(ids, v.ID)
			if len(v.Nodes) == 0 || v.Help == "" || !strings.HasPrefix(v.HelpURL, "https://") {
				t.Errorf("incomplete violation: %+v", v)
			}
		}
		for _, want := range []string{"label", "image-alt"} {
			if !slices.Contains(ids, want) {
				t.Errorf("serious violations %v lack %s:\n%v", ids, want, serious)
			}
		}
		for _, v := range serious {
			if v.ID == "label" && !strings.Contains(strings.Join(v.Nodes, "\n"), "input") {
				t.Errorf("label violation does not name the input: %v", v.Nodes)
			}
		}
		// A second run reuses the injected axe and finds the same.
		if again := SeriousViolations(tab.Axe(source)); len(again) != len(serious) {
			t.Errorf("second run: %v, first %v", again, serious)
		}
		// Injecting and running axe under the strict CSP is no problem of the page's.
		if ps := tab.Problems(); len(ps) > 0 {
			t.Errorf("problems after the audit: %v", ps)
		}
		// The audit left the page's policy as it was: an inline script still may not run.
		tab.Do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.createElement("script");
			s.textContent = "document.body.dataset.ran = 1"; document.body.append(s); })()`))
		if Eval[bool](tab, `document.body.dataset.ran === "1"`) {
			t.Error("an inline script ran after the audit: the page's CSP is bypassed")
		}
	})

	t.Run("clean", func(t *testing.T) {
		tab := openAxePage(t, b, srv, "/clean")
		if vs := SeriousViolations(tab.Axe(source)); len(vs) > 0 {
			t.Errorf("serious violations on the clean page:\n%v", vs)
		}
		if ps := tab.Problems(); len(ps) > 0 {
			t.Errorf("problems after the audit: %v", ps)
		}
	})
}

func TestScreenshot(t *testing.T) {
	srv := axePages(t)
	tab := openAxePage(t, Start(t), srv, "/long")
	dir := t.TempDir()
	for _, size := range []struct{ w, h int }{{375, 667}, {1280, 800}} {
		path := filepath.Join(dir, "shots", fmt.Sprintf("long-%dx%d.png", size.w, size.h))
		tab.Screenshot(path, size.w, size.h)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%dx%d: %v", size.w, size.h, err)
		}
		// The whole page: taller than the viewport.
		if b := img.Bounds(); b.Dx() != size.w || b.Dy() <= size.h {
			t.Errorf("%dx%d: image %dx%d", size.w, size.h, b.Dx(), b.Dy())
		}
		if w := Eval[int](tab, `innerWidth`); w != 1280 {
			t.Errorf("after the %dx%d screenshot the viewport is %d wide, want 1280", size.w, size.h, w)
		}
	}
}
