package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpay/till/internal/browser"
	"github.com/tillpay/till/internal/testenv"
)

// axeClean audits the page tab shows with axe-core and fails the test,
// listing them all, when it breaks rules of impact serious or critical. It
// skips the test when axe-core is not installed.
func axeClean(t *testing.T, tab *browser.Tab) {
	t.Helper()
	serious := browser.SeriousViolations(tab.Axe(testenv.AxeSource(t)))
	if len(serious) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range serious {
		fmt.Fprintf(&b, "\n%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			b.WriteString("\n\t" + n)
		}
	}
	t.Errorf("axe-core: %d serious violations on %s:%s", len(serious), browser.Eval[string](tab, `location.href`), b.String())
}

// screenshots saves the page tab shows, at a phone's and a desktop's width,
// as name-WIDTH.png in the test's artifact directory: kept under the output
// directory with go test -artifacts, for a person to look at.
func screenshots(t *testing.T, tab *browser.Tab, name string) {
	t.Helper()
	for _, w := range [][2]int{{375, 667}, {1280, 800}} {
		tab.Screenshot(filepath.Join(t.ArtifactDir(), fmt.Sprintf("%s-%d.png", name, w[0])), w[0], w[1])
	}
}

// TestBrowserAxeAuthenticationPage audits each state of the 3-D Secure page:
// the challenge (at a phone's width too), the success page after approving,
// the failure page after cancelling, and the page of an unknown link.
func TestBrowserAxeAuthenticationPage(t *testing.T) {
	testenv.AxeSource(t) // skip before starting anything when axe-core is missing
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)

		tab, _, link := openAuthPage(t, env, false)
		tab.WaitUntil("the challenge", `document.readyState === "complete" && !!document.querySelector("button.primary")`)
		axeClean(t, tab)
		screenshots(t, tab, "challenge")
		tab.Do(chromedp.EmulateViewport(375, 667, chromedp.EmulatePortrait, chromedp.EmulateMobile), chromedp.Navigate(link))
		tab.WaitUntil("the challenge at 375px", `document.readyState === "complete" && innerWidth === 375`)
		axeClean(t, tab)
		tab.Do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(link))
		tab.WaitUntil("the challenge at 1280px", `document.readyState === "complete" && innerWidth === 1280`)
		pressOn(t, tab, 1, "Authenticate payment")
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		axeClean(t, tab)
		screenshots(t, tab, "success")
		checkClean(t, tab) // the audits themselves are no problem of the pages'

		tab, _, _ = openAuthPage(t, env, false)
		tab.WaitUntil("the challenge", `document.readyState === "complete" && !!document.querySelector("button.primary")`)
		pressOn(t, tab, 2, "Cancel")
		tab.WaitUntil("the failure page", `document.readyState === "complete" && document.body.innerText.includes("Payment failed")`)
		axeClean(t, tab)
		screenshots(t, tab, "failed")
		checkClean(t, tab)

		// The 404 of an unknown link is a problem of the tab's (a failed load),
		// so this tab is not checkClean's.
		tab.Do(chromedp.Navigate(env.URL + "/pay/NoSuchToken123"))
		tab.WaitUntil("the not-found page", `document.readyState === "complete" && document.body.innerText.includes("Payment not found")`)
		axeClean(t, tab)
		screenshots(t, tab, "not-found")
	})
}
