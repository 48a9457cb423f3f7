package browser

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// AxeViolation is one rule of axe-core that elements of a page break.
type AxeViolation struct {
	ID      string // the rule, such as "label" or "image-alt"
	Impact  string // "minor", "moderate", "serious" or "critical"
	Help    string // what the rule asks for, in a sentence
	HelpURL string // Deque's page on the rule
	// Nodes are the elements that break the rule, each as its CSS selector
	// (frames and shadow roots joined with " >>> "), a colon, and axe's
	// summary of how to fix it.
	Nodes []string
}

func (v AxeViolation) String() string {
	return v.ID + " (" + v.Impact + "): " + v.Help + "\n\t" + strings.Join(v.Nodes, "\n\t")
}

// axeTags are the rules Axe runs: WCAG 2.0 and 2.1 levels A and AA, and
// axe's best practices.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// Axe runs axe-core, whose axe.min.js is source (testenv.AxeSource reads
// it), on the page the tab shows and returns the rules the page breaks. It
// fails the test when axe cannot be injected or its run fails.
//
// The script goes in by DevTools' Runtime.evaluate, which the page's
// Content-Security-Policy does not govern: axe runs under a CSP of
// default-src 'none' without the policy being bypassed or weakened, and
// without a CSP violation or console error that Problems would report.
// axe stays in the page until it navigates; later calls reuse it. The tab
// must run scripts: with emulation.SetScriptExecutionDisabled axe's run
// never settles and Axe fails when the tab's deadline passes.
func (t *Tab) Axe(source string) []AxeViolation {
	t.tb.Helper()
	if !Eval[bool](t, `typeof window.axe === "object" && typeof window.axe.run === "function"`) {
		if _, err := chromedp.Run(t.Ctx, chromedp.Evaluate[chromedp.Void](source)); err != nil {
			t.tb.Fatalf("browser: injecting axe-core: %v", err)
		}
	}
	tags, _ := json.Marshal(axeTags)
	raw, err := chromedp.Run(t.Ctx, chromedp.Evaluate[string](`axe.run(document, {
		runOnly: {type: "tag", values: `+string(tags)+`},
		resultTypes: ["violations"],
	}).then(r => JSON.stringify(r.violations.map(v => ({
		id: v.id,
		impact: v.impact || "",
		help: v.help,
		helpUrl: v.helpUrl,
		nodes: v.nodes.map(n =>
			n.target.map(s => Array.isArray(s) ? s.join(" >>> ") : s).join(" >>> ") + ": " +
			(n.failureSummary || "").replace(/:\s*\n\s*/g, ": ").replace(/\s*\n\s*/g, "; ")),
	}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.tb.Fatalf("browser: running axe-core: %v", err)
	}
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.tb.Fatalf("browser: axe-core's results %.200s: %v", raw, err)
	}
	return vs
}

// SeriousViolations returns the violations of impact "serious" or
// "critical", the ones a page must not have.
func SeriousViolations(vs []AxeViolation) []AxeViolation {
	var out []AxeViolation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}

// Screenshot writes a PNG of the whole page, not only of the viewport, at a
// viewport of width by height CSS pixels to path, creating its folder. A
// width under 600 emulates a mobile device (the viewport meta tag applies).
// The viewport is 1280×800, Start's, afterwards. It fails the test on an
// error.
func (t *Tab) Screenshot(path string, width, height int) {
	t.tb.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateLandscape}
	if width < height {
		opts[0] = chromedp.EmulatePortrait
	}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	t.Do(chromedp.EmulateViewport(int64(width), int64(height), opts...))
	png, err := chromedp.Run(t.Ctx, func(ctx context.Context, target *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, target, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		h := float64(height)
		if m.CSSContentSize != nil {
			h = max(h, math.Ceil(m.CSSContentSize.Height))
		}
		// The clip keeps the image as wide as the viewport; a page that
		// scrolls sideways is Facts' to report.
		r, err := cdp.Call(ctx, target, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: float64(width), Height: h, Scale: 1},
			CaptureBeyondViewport: new(true),
			FromSurface:           new(true),
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	if err != nil {
		t.tb.Fatalf("browser: screenshot at %dx%d: %v", width, height, err)
	}
	t.Do(chromedp.EmulateViewport(1280, 800))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.tb.Fatalf("browser: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.tb.Fatalf("browser: %v", err)
	}
}
