package browser

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestContrastRatio(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Colors
		want float64
	}{
		{"black on white", Colors{Text: "rgb(0, 0, 0)", Backgrounds: []string{"rgb(255, 255, 255)"}}, 21},
		{"white on white", Colors{Text: "rgb(255, 255, 255)", Backgrounds: []string{"rgba(0, 0, 0, 0)"}}, 1},
		{"#767676 on white, the AA threshold", Colors{Text: "rgb(118, 118, 118)", Backgrounds: []string{"rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"}}, 4.54},
		{"white on #1d4ed8", Colors{Text: "rgb(255, 255, 255)", Backgrounds: []string{"rgb(29, 78, 216)", "rgb(243, 245, 249)"}}, 6.70},
		{"half-transparent black text on white", Colors{Text: "rgba(0, 0, 0, 0.5)", Backgrounds: []string{"rgb(255, 255, 255)"}}, 3.98},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.in.Contrast()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 0.01 {
				t.Fatalf("contrast %.3f, want %.2f", got, c.want)
			}
		})
	}
	if _, err := (Colors{Text: "color(srgb 1 0 0)"}).Contrast(); err == nil {
		t.Fatal("an unknown colour syntax parsed")
	}
}

// TestTabReportsProblems checks that the harness sees what the end-to-end
// tests assert the absence of: a CSP violation, a console error, and the
// document's headers.
func TestTabReportsProblems(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(`console.error("boom");`))
			return
		}
		w.Write([]byte(`<!doctype html><html lang="de"><style>body{color:red}</style><script src="/app.js"></script>` +
			`<main><h1>Hi</h1><button>Go</button><input aria-label="Email"><input id="x"></main>`))
	}))
	defer srv.Close()
	tab := Start(t).Tab(t, 30*time.Second)
	tab.Do(chromedp.Navigate(srv.URL))
	tab.WaitUntil("the script's error", `document.readyState === "complete"`)
	deadline := time.Now().Add(5 * time.Second)
	for len(tab.CSPViolations()) == 0 || len(tab.Problems()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("problems: %v", tab.Problems())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var console bool
	for _, p := range tab.Problems() {
		console = console || (p.Kind == "console" && p.Text == "boom")
	}
	if !console || !strings.Contains(tab.CSPViolations()[0].Text, "Content Security Policy") {
		t.Fatalf("problems: %v", tab.Problems())
	}
	docs := tab.Documents()
	if len(docs) != 1 || docs[0].Status != 200 || !strings.Contains(docs[0].Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("documents: %+v", docs)
	}
	f := tab.Facts()
	if f.Lang != "de" || f.Mains != 1 || len(f.H1s) != 1 || f.DOMControls != 3 || len(f.Controls) != 3 {
		t.Fatalf("facts: %+v", f)
	}
	var unnamed int
	for _, c := range f.Controls {
		if c.Name == "" {
			unnamed++
		}
	}
	if unnamed != 1 {
		t.Fatalf("want the one unlabelled input without a name: %+v", f.Controls)
	}
}
