package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/internal/browser"
)

// browserTimeout bounds each browser test's tab.
const browserTimeout = 30 * time.Second

// openAuthPage starts a browser tab on the 3-D Secure page of a fresh
// payment; noJS disables the page's scripts first.
func openAuthPage(t *testing.T, env *Env, noJS bool) (*browser.Tab, string, string) {
	t.Helper()
	tab := browser.Start(t).Tab(t, browserTimeout)
	id, link := chargeNeedingAuth(t, env)
	if noJS {
		if _, err := chromedp.Call(tab.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	tab.Do(chromedp.Navigate(link))
	return tab, id, link
}

// bodyText is the page's visible text.
func bodyText(tab *browser.Tab) string { return browser.Eval[string](tab, `document.body.innerText`) }

// pressOn tabs n times, checks the focused element's text, and presses Enter.
func pressOn(t *testing.T, tab *browser.Tab, n int, want string) {
	t.Helper()
	for range n {
		tab.Do(chromedp.KeyEvent(kb.Tab))
	}
	if got := browser.Eval[string](tab, `document.activeElement.tagName + ":" + document.activeElement.textContent.trim()`); got != "BUTTON:"+want {
		t.Fatalf("focus after %d Tab: %q, want button %q", n, got, want)
	}
	tab.Do(chromedp.KeyEvent(kb.Enter))
}

// waitStatus polls the payment until it has status.
func waitStatus(t *testing.T, env *Env, id, status string) *api.Payment {
	t.Helper()
	var p *api.Payment
	env.Eventually(browserTimeout, "payment "+status, func() bool {
		p = Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id))
		return string(p.Status) == status
	})
	return p
}

// checkClean fails on any console error or CSP violation and checks each
// document's CSP header.
func checkClean(t *testing.T, tab *browser.Tab) {
	t.Helper()
	if ps := tab.Problems(); len(ps) > 0 {
		t.Errorf("page problems: %v", ps)
	}
	docs := tab.Documents()
	if len(docs) == 0 {
		t.Error("no document loaded")
	}
	for _, d := range docs {
		if !strings.Contains(d.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: CSP %q", d.URL, d.Header.Get("Content-Security-Policy"))
		}
	}
}

func testBrowserApprove(t *testing.T, noJS bool) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		acct := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		tab, id, link := openAuthPage(t, env, noJS)
		tab.WaitUntil("the page", `document.readyState === "complete"`)
		text := bodyText(tab)
		for _, want := range []string{acct.Name, "11.90 EUR", "Visa ending in 3184", "Authenticate payment"} {
			if !strings.Contains(text, want) {
				t.Fatalf("page lacks %q:\n%s", want, text)
			}
		}
		pressOn(t, tab, 1, "Authenticate payment")
		tab.WaitUntil("the success page", `document.body.innerText.includes("Payment complete")`)
		p := waitStatus(t, env, id, "succeeded")
		if p.InvoiceID == nil || *p.InvoiceID == "" {
			t.Fatalf("no invoice: %+v", p)
		}
		checkClean(t, tab)
		// Resubmitting: back to the form page and post it again.
		tab.Do(chromedp.NavigateBack())
		tab.Do(chromedp.Navigate(link))
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 1 {
			t.Fatalf("processor charges: %v", n)
		}
		checkClean(t, tab)
	})
}

// TestBrowserAuthenticate completes the 3-D Secure challenge by keyboard.
func TestBrowserAuthenticate(t *testing.T) { testBrowserApprove(t, false) }

// TestBrowserAuthenticateNoJavaScript does the same with scripts disabled.
func TestBrowserAuthenticateNoJavaScript(t *testing.T) { testBrowserApprove(t, true) }

// TestBrowserAuthenticateCancel takes the Cancel button.
func TestBrowserAuthenticateCancel(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		tab, id, _ := openAuthPage(t, env, false)
		tab.WaitUntil("the page", `document.readyState === "complete"`)
		pressOn(t, tab, 2, "Cancel")
		tab.WaitUntil("the failure page", `document.body.innerText.includes("Payment failed")`)
		if text := bodyText(tab); !strings.Contains(text, "The cardholder did not complete authentication.") {
			t.Fatalf("failure page:\n%s", text)
		}
		p := waitStatus(t, env, id, "failed")
		if p.Failure == nil || p.Failure.DeclineCode != "authentication_required" {
			t.Fatalf("failure: %+v", p.Failure)
		}
		checkClean(t, tab)
	})
}

// TestBrowserLayoutAndAccessibility checks viewports, names and contrast.
func TestBrowserLayoutAndAccessibility(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		tab, _, link := openAuthPage(t, env, false)
		for _, vp := range []struct{ w, h int64 }{{375, 667}, {1280, 800}} {
			tab.Do(chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(link))
			f := tab.Facts()
			if f.ScrollWidth > f.ClientWidth || f.ClientWidth != int(vp.w) {
				t.Errorf("%dx%d: scrollWidth %d clientWidth %d", vp.w, vp.h, f.ScrollWidth, f.ClientWidth)
			}
			if !browser.Eval[bool](tab, `(() => { const r = document.querySelector("button.primary").getBoundingClientRect();
				return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight; })()`) {
				t.Errorf("%dx%d: primary button not visible", vp.w, vp.h)
			}
			if f.Lang == "" || f.Mains != 1 || len(f.H1s) != 1 || len(f.Controls) != f.DOMControls || len(f.Controls) == 0 {
				t.Errorf("facts: %+v", f)
			}
			for _, c := range f.Controls {
				if c.Name == "" {
					t.Errorf("control without a name: %+v", c)
				}
			}
			for _, sel := range []string{"body", "button.primary", "main p"} {
				c := tab.Colors(sel)
				r, err := c.Contrast()
				if err != nil || r < 4.5 {
					t.Errorf("%s: contrast %.2f (%+v) %v", sel, r, c, err)
				}
			}
		}
		checkClean(t, tab)
	})
}
