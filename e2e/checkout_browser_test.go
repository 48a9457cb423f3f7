package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/internal/browser"
)

// The hosted checkout page of a payment link (SPEC §6) in a real browser:
// paying, declines, the issuer's challenge, keyboard only, without
// JavaScript, the total for another country, and links that cannot be paid.

// checkoutLink creates a 10.00 EUR payment link (edit changes the request) and
// returns it with its page's URL.
func checkoutLink(t *testing.T, env *Env, edit ...func(*api.PaymentLinkRequest)) (*api.Payment, string) {
	t.Helper()
	req := api.PaymentLinkRequest{Amount: Amount(1000), Currency: "EUR", Description: "Annual plan"}
	for _, e := range edit {
		e(&req)
	}
	p := Must[*api.Payment](t)(env.Client.CreatePaymentLink(env.Ctx(), req))
	if p.URL == nil || !strings.HasPrefix(*p.URL, env.URL+"/pay/") || p.Status != "pending" {
		t.Fatalf("link: %+v", p)
	}
	return p, *p.URL
}

// openCheckoutTab opens link in a new tab of a new browser (noJS: with the
// page's scripts disabled) and waits for the page.
func openCheckoutTab(t *testing.T, link string, noJS bool) *browser.Tab {
	t.Helper()
	tab := browser.Start(t).Tab(t, browserTimeout)
	if noJS {
		if _, err := chromedp.Call(tab.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
	}
	tab.Do(chromedp.Navigate(link))
	tab.WaitUntil("the page", `document.readyState === "complete"`)
	return tab
}

// waitCheckoutForm waits for the checkout form; with JavaScript, for its script
// too (it removes the Update total button).
func waitCheckoutForm(tab *browser.Tab, js bool) {
	cond := `document.readyState === "complete" && !!document.getElementById("pay-form")`
	if js {
		cond += ` && !document.getElementById("requote")`
	}
	tab.WaitUntil("the checkout form", cond)
}

// fillCheckout types the payer's details and card into the form; expiry as
// typed ("1230" becomes "12 / 30" with the script).
func fillCheckout(tab *browser.Tab, number, expiry string) {
	tab.Do(
		chromedp.SendKeys(chromedp.ID("email"), "jane@example.com"),
		chromedp.SendKeys(chromedp.ID("cardNumber"), number),
		chromedp.SendKeys(chromedp.ID("expiry"), expiry),
		chromedp.SendKeys(chromedp.ID("cvc"), "123"),
		chromedp.SendKeys(chromedp.ID("name"), "Jane Doe"),
	)
}

// checkoutExpiry is an expiry two years ahead as digits "MMYY".
func checkoutExpiry() string { return "12" + strconv.Itoa(time.Now().Year() + 2)[2:] }

// auditCheckout runs axe-core on the page when it is installed (axeClean would
// skip the whole test otherwise).
func auditCheckout(t *testing.T, tab *browser.Tab) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("testdata", "node", "node_modules", "axe-core", "axe.min.js")); err != nil {
		return
	}
	axeClean(t, tab)
}

// auditCheckoutNoJS audits a page loaded with scripts disabled: axe-core needs them,
// and enabling them now runs none of the page's (its script tag was
// passed over when it loaded).
func auditCheckoutNoJS(t *testing.T, tab *browser.Tab) {
	t.Helper()
	setScripts := func(disabled bool) {
		if _, err := chromedp.Call(tab.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: disabled}); err != nil {
			t.Fatal(err)
		}
	}
	setScripts(false)
	auditCheckout(t, tab)
	setScripts(true)
}

// checkoutNonceCSP matches the policy of a page that loads the checkout script.
var checkoutNonceCSP = regexp.MustCompile(`^default-src 'none'; script-src 'nonce-[A-Za-z0-9_-]{20,}'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$`)

// checkCheckoutCSP checks that each checkout form document had its own
// nonce.
func checkCheckoutCSP(t *testing.T, tab *browser.Tab) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range tab.Documents() {
		csp := d.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src") {
			continue
		}
		if !checkoutNonceCSP.MatchString(csp) || seen[csp] {
			t.Errorf("%s: CSP %q (seen before: %v)", d.URL, csp, seen[csp])
		}
		seen[csp] = true
	}
	if len(seen) == 0 {
		t.Error("no checkout form was loaded with a script nonce")
	}
}

// checkPaidLink checks that link p was paid with a card on a customer with the
// payer's email, and that the card now works off-session (but the 3-D
// Secure test card, which always asks its cardholder).
func checkPaidLink(t *testing.T, env *Env, id string, total int64) {
	t.Helper()
	checkPaidLinkOnSession(t, env, id, total, true)
}

func checkPaidLinkOnSession(t *testing.T, env *Env, id string, total int64, offSession bool) {
	t.Helper()
	p := waitStatus(t, env, id, "succeeded")
	if p.InvoiceID == nil || *p.InvoiceID == "" || p.CustomerID == nil || p.AmountTotal != total {
		t.Fatalf("paid link: %s", String(p))
	}
	cust := Must[*api.Customer](t)(env.Client.Customer(env.Ctx(), *p.CustomerID))
	if cust.Email != "jane@example.com" {
		t.Fatalf("customer: %s", String(cust))
	}
	if n := simChargeOutcomes(t, env, id); n["succeeded"] != 1 {
		t.Fatalf("processor charges of the link: %v", n)
	}
	if !offSession {
		return
	}
	later, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(500), Currency: "EUR", Description: "Renewal"})
	if err != nil || later.Status != "succeeded" {
		t.Fatalf("off-session charge on the vaulted card: %v %s", err, String(later))
	}
}

// TestCheckoutBrowserPay pays a link with JavaScript on: brand, spacing
// and expiry formatting, then the success page.
func TestCheckoutBrowserPay(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		acct := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		p, link := checkoutLink(t, env, func(r *api.PaymentLinkRequest) { r.SuccessURL = "https://shop.example/thanks?order=7" })
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		text := bodyText(tab)
		for _, want := range []string{acct.Name, "Annual plan", "Subtotal", "10.00 EUR", "VAT (19 %)", "1.90 EUR", "11.90 EUR", "Pay 11.90 EUR"} {
			if !strings.Contains(text, want) {
				t.Fatalf("page lacks %q:\n%s", want, text)
			}
		}
		auditCheckout(t, tab)
		screenshots(t, tab, "checkout")
		fillCheckout(tab, "4242424242424242", checkoutExpiry())
		got := browser.Eval[string](tab, `[cardNumber.value, expiry.value, document.getElementById("card-brand").textContent].join("|")`)
		if want := "4242 4242 4242 4242|12 / " + checkoutExpiry()[2:] + "|Visa"; got != want {
			t.Fatalf("formatted: %q, want %q", got, want)
		}
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		if text := bodyText(tab); !strings.Contains(text, "You paid 11.90 EUR") {
			t.Fatalf("success page:\n%s", text)
		}
		if href := browser.Eval[string](tab, `document.querySelector("a.continue").href + "|" + document.querySelector("a.continue").textContent`); href != "https://shop.example/thanks?order=7|Continue" {
			t.Errorf("continue link: %q", href)
		}
		auditCheckout(t, tab)
		checkPaidLink(t, env, p.ID, 1190)
		checkClean(t, tab)
		checkCheckoutCSP(t, tab)
	})
}

// TestCheckoutBrowserFormatting checks the script's card brands and
// spacing, Amex's 4-6-5 included.
func TestCheckoutBrowserFormatting(t *testing.T) {
	env := Start(t, Backends[0])
	_, link := checkoutLink(t, env)
	tab := openCheckoutTab(t, link, false)
	waitCheckoutForm(tab, true)
	for _, tt := range []struct{ typed, value, brand string }{
		{"378282246310005", "3782 822463 10005", "American Express"},
		{"5555555555554444", "5555 5555 5555 4444", "Mastercard"},
		{"6011111111111117", "6011 1111 1111 1117", "Discover"},
		{"4242-4242 4242x4242", "4242 4242 4242 4242", "Visa"},
	} {
		browser.Eval[bool](tab, `(() => { cardNumber.value = ""; return true; })()`)
		tab.Do(chromedp.SendKeys(chromedp.ID("cardNumber"), tt.typed))
		got := browser.Eval[string](tab, `cardNumber.value + "|" + document.getElementById("card-brand").textContent`)
		if got != tt.value+"|"+tt.brand {
			t.Errorf("typed %s: %q, want %q", tt.typed, got, tt.value+"|"+tt.brand)
		}
	}
	tab.Do(chromedp.SendKeys(chromedp.ID("expiry"), "4"))
	if got := browser.Eval[string](tab, `expiry.value`); got != "04 / " {
		t.Errorf("expiry after 4: %q", got)
	}
	checkClean(t, tab)
}

// TestCheckoutBrowserDeclineThenPay is declined with one card and pays
// with another on the same page.
func TestCheckoutBrowserDeclineThenPay(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		fillCheckout(tab, "4000000000000002", checkoutExpiry())
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the decline", `document.readyState === "complete" && document.body.innerText.includes("Your card was declined. Try another card.") && !document.getElementById("requote")`)
		got := browser.Eval[string](tab, `["email", "name", "cardNumber", "expiry", "cvc"].map(id => document.getElementById(id).value).join("|")`)
		if got != "jane@example.com|Jane Doe|||" {
			t.Fatalf("fields after the decline: %q", got)
		}
		if html := browser.Eval[string](tab, `document.documentElement.outerHTML`); strings.Contains(html, "4000000000000002") || strings.Contains(html, "0002") {
			t.Fatal("the page echoes the card number")
		}
		auditCheckout(t, tab)
		screenshots(t, tab, "checkout-declined")
		if st := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID)); st.Status != "pending" {
			t.Fatalf("after the decline: %s", String(st))
		}
		tab.Do(
			chromedp.SendKeys(chromedp.ID("cardNumber"), "4242424242424242"),
			chromedp.SendKeys(chromedp.ID("expiry"), checkoutExpiry()),
			chromedp.SendKeys(chromedp.ID("cvc"), "123"),
		)
		// Two submissions in a row: the second is held back.
		got = browser.Eval[string](tab, `(() => { const f = document.getElementById("pay-form"), b = document.getElementById("pay-button");
			let sent = 0; f.addEventListener("submit", e => { if (!e.defaultPrevented) sent++; });
			f.requestSubmit(b); f.requestSubmit(b); return [sent, b.textContent, b.getAttribute("aria-disabled")].join("|"); })()`)
		if got != "1|Processing…|true" {
			t.Errorf("double submission: %q", got)
		}
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		checkPaidLink(t, env, p.ID, 1190)
		if n := simChargeOutcomes(t, env, p.ID); len(n) != 2 {
			t.Errorf("processor charges: %v", n)
		}
		checkClean(t, tab)
	})
}

// TestCheckoutBrowserChallenge pays with the 3-D Secure card: the same
// page shows the challenge; approving pays, cancelling returns to the form.
func TestCheckoutBrowserChallenge(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		for _, approve := range []bool{true, false} {
			p, link := checkoutLink(t, env)
			tab := openCheckoutTab(t, link, false)
			waitCheckoutForm(tab, true)
			fillCheckout(tab, "4000002760003184", checkoutExpiry())
			tab.Do(chromedp.Click(chromedp.ID("pay-button")))
			tab.WaitUntil("the challenge", `document.readyState === "complete" && document.body.innerText.includes("Authenticate payment")`)
			if loc := browser.Eval[string](tab, `location.href`); loc != link {
				t.Fatalf("challenge at %s, want %s", loc, link)
			}
			auditCheckout(t, tab)
			if approve {
				tab.Do(chromedp.Click(chromedp.CSS(`button[value=approve]`)))
				tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
				checkPaidLinkOnSession(t, env, p.ID, 1190, false)
			} else {
				tab.Do(chromedp.Click(chromedp.CSS(`button[value=decline]`)))
				tab.WaitUntil("the form again", `document.readyState === "complete" && !!document.getElementById("pay-form")`)
				if text := bodyText(tab); !strings.Contains(text, "The cardholder did not complete authentication.") {
					t.Fatalf("after cancelling:\n%s", text)
				}
				waitStatus(t, env, p.ID, "pending")
				auditCheckout(t, tab)
			}
			checkClean(t, tab)
		}
	})
}

// TestCheckoutBrowserKeyboard pays by keyboard only: Tab, typing, Enter.
func TestCheckoutBrowserKeyboard(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		for _, step := range []struct{ id, text string }{
			{"email", "jane@example.com"}, {"cardNumber", "4242424242424242"}, {"expiry", checkoutExpiry()}, {"cvc", "123"}, {"name", "Jane Doe"},
		} {
			tab.Do(chromedp.KeyEvent(kb.Tab))
			if got := browser.Eval[string](tab, `document.activeElement.id`); got != step.id {
				t.Fatalf("focus on %q, want %q", got, step.id)
			}
			if !browser.Eval[bool](tab, `document.activeElement.matches(":focus-visible") && getComputedStyle(document.activeElement).outlineStyle !== "none"`) {
				t.Errorf("%s: no visible focus", step.id)
			}
			tab.Do(chromedp.KeyEvent(step.text))
		}
		for _, id := range []string{"country", "postalCode", "vatNumber", "pay-button"} {
			tab.Do(chromedp.KeyEvent(kb.Tab))
			if got := browser.Eval[string](tab, `document.activeElement.id`); got != id {
				t.Fatalf("focus on %q, want %q", got, id)
			}
		}
		tab.Do(chromedp.KeyEvent(kb.Enter))
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		checkPaidLink(t, env, p.ID, 1190)
		checkClean(t, tab)
	})
}

// TestCheckoutBrowserNoJavaScript pays with scripts disabled, after
// "Update total" for another country.
func TestCheckoutBrowserNoJavaScript(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, true)
		waitCheckoutForm(tab, false)
		if !browser.Eval[bool](tab, `!!document.querySelector("button[value=quote]")`) {
			t.Fatal("no Update total button without JavaScript")
		}
		auditCheckoutNoJS(t, tab)
		// The DevTools protocol chooses the option; the page has no script.
		browser.Eval[bool](tab, `(() => { country.value = "US"; return true; })()`)
		tab.Do(chromedp.SendKeys(chromedp.ID("email"), "jane@example.com"), chromedp.Click(chromedp.CSS(`button[value=quote]`)))
		tab.WaitUntil("the total for the US", `document.readyState === "complete" && document.getElementById("amount-total").textContent === "10.00 EUR"`)
		got := browser.Eval[string](tab, `[country.value, email.value, document.getElementById("total-minor").value, document.getElementById("pay-button").textContent].join("|")`)
		if got != "US|jane@example.com|1000|Pay 10.00 EUR" {
			t.Fatalf("after Update total: %q", got)
		}
		tab.Do(
			chromedp.SendKeys(chromedp.ID("cardNumber"), "4242 4242 4242 4242"),
			chromedp.SendKeys(chromedp.ID("expiry"), checkoutExpiry()[:2]+" / "+checkoutExpiry()[2:]),
			chromedp.SendKeys(chromedp.ID("cvc"), "123"),
			chromedp.SendKeys(chromedp.ID("name"), "Jane Doe"),
			chromedp.Click(chromedp.ID("pay-button")),
		)
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		checkPaidLink(t, env, p.ID, 1000)
		checkClean(t, tab)
	})
}

// TestCheckoutBrowserCountryChange updates the total live: another
// country, a VAT number with reverse charge, an invalid VAT number.
func TestCheckoutBrowserCountryChange(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		choose := func(code string) {
			browser.Eval[bool](tab, `(() => { country.value = "`+code+`"; country.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
		}
		shown := `[document.getElementById("amount-total").textContent, document.getElementById("total-minor").value,
			document.getElementById("pay-button").textContent, document.getElementById("amount-tax-label").textContent,
			document.getElementById("reverse-charge").hidden].join("|")`
		choose("US")
		tab.WaitUntil("the US total", `document.getElementById("amount-total").textContent === "10.00 EUR"`)
		if got := browser.Eval[string](tab, shown); got != "10.00 EUR|1000|Pay 10.00 EUR|Tax|true" {
			t.Fatalf("US: %q", got)
		}
		choose("DE")
		tab.WaitUntil("the German total", `document.getElementById("amount-total").textContent === "11.90 EUR"`)
		choose("FR")
		tab.Do(chromedp.SendKeys(chromedp.ID("vatNumber"), "DE123"))
		tab.WaitUntil("the VAT number's error", `!!document.getElementById("vatNumber-error") && vatNumber.getAttribute("aria-invalid") === "true" &&
			vatNumber.getAttribute("aria-describedby").includes("vatNumber-error")`)
		browser.Eval[bool](tab, `(() => { vatNumber.value = ""; return true; })()`)
		tab.Do(chromedp.SendKeys(chromedp.ID("vatNumber"), "FR12345678901"))
		tab.WaitUntil("the reverse charge", `!document.getElementById("reverse-charge").hidden && !document.getElementById("vatNumber-error")`)
		if got := browser.Eval[string](tab, shown); got != "10.00 EUR|1000|Pay 10.00 EUR|VAT (reverse charge)|false" {
			t.Fatalf("reverse charge: %q", got)
		}
		auditCheckout(t, tab)
		fillCheckout(tab, "4242424242424242", checkoutExpiry())
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		checkPaidLink(t, env, p.ID, 1000)
		checkClean(t, tab)
	})
}

// TestCheckoutBrowserTwoTabs submits the form in two tabs at once: one
// charge, and both tabs show the outcome.
func TestCheckoutBrowserTwoTabs(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		br := browser.Start(t)
		var tabs []*browser.Tab
		for range 2 {
			tab := br.Tab(t, browserTimeout)
			tab.Do(chromedp.Navigate(link))
			waitCheckoutForm(tab, true)
			fillCheckout(tab, "4242424242424242", checkoutExpiry())
			tabs = append(tabs, tab)
		}
		for _, tab := range tabs {
			browser.Eval[bool](tab, `(() => { document.getElementById("pay-form").requestSubmit(document.getElementById("pay-button")); return true; })()`)
		}
		for _, tab := range tabs {
			tab.WaitUntil("the outcome", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
			checkClean(t, tab)
		}
		checkPaidLink(t, env, p.ID, 1190)
	})
}

// TestCheckoutBrowserClosedLinks shows canceled and expired links.
func TestCheckoutBrowserClosedLinks(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		canceled, link := checkoutLink(t, env)
		Must[*api.Payment](t)(env.Client.CancelPaymentLink(env.Ctx(), canceled.ID))
		tab := openCheckoutTab(t, link, false)
		tab.WaitUntil("the canceled page", `document.body.innerText.includes("Payment canceled")`)
		if browser.Eval[bool](tab, `!!document.querySelector("form, script")`) {
			t.Fatal("a canceled link offers a form")
		}
		auditCheckout(t, tab)
		checkClean(t, tab)

		expiring, link := checkoutLink(t, env)
		tab = openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 25*3600))
		// Paying a link that expired meanwhile shows its state, not an error.
		fillCheckout(tab, "4242424242424242", checkoutExpiry())
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the expired page", `document.readyState === "complete" && document.body.innerText.includes("Payment link expired")`)
		waitStatus(t, env, expiring.ID, "expired")
		tab.Do(chromedp.Reload())
		tab.WaitUntil("the expired page", `document.readyState === "complete" && document.body.innerText.includes("Payment link expired")`)
		auditCheckout(t, tab)
		checkClean(t, tab)
		if n := simChargeOutcomes(t, env, expiring.ID); len(n) != 0 {
			t.Fatalf("an expired link was charged: %v", n)
		}
	})
}

// TestCheckoutBrowserLayout checks the form from 320px to a desktop: no
// sideways scrolling, every control named, text contrast.
func TestCheckoutBrowserLayout(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{Branding: &till.Branding{Color: "#ffd400"}}))
		_, link := checkoutLink(t, env, func(r *api.PaymentLinkRequest) {
			r.Amount = Amount(9500)
			r.LineItems = []api.LineItemInput{
				{Description: "Seat licence with a rather long name that must wrap on a phone", Quantity: Int64(3), UnitAmount: Amount(1500)},
				{Description: "Setup", Quantity: Int64(1), UnitAmount: Amount(5000)},
			}
		})
		tab := openCheckoutTab(t, link, false)
		for _, vp := range []struct{ w, h int64 }{{320, 640}, {375, 667}, {1280, 800}} {
			tab.Do(chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(link))
			waitCheckoutForm(tab, true)
			if text := bodyText(tab); !strings.Contains(text, "× 3") || !strings.Contains(text, "45.00 EUR") || !strings.Contains(text, "Pay 113.05 EUR") {
				t.Errorf("line items:\n%.600s", text)
			}
			f := tab.Facts()
			if f.ScrollWidth > f.ClientWidth || f.ClientWidth != int(vp.w) {
				t.Errorf("%dx%d: scrollWidth %d clientWidth %d", vp.w, vp.h, f.ScrollWidth, f.ClientWidth)
			}
			if f.Lang == "" || f.Mains != 1 || len(f.H1s) != 1 || len(f.Controls) != f.DOMControls || len(f.Controls) < 9 {
				t.Errorf("facts: %+v", f)
			}
			for _, c := range f.Controls {
				if c.Name == "" {
					t.Errorf("control without a name: %+v", c)
				}
			}
			for _, sel := range []string{"body", "button.primary", "label", ".hint", "#amount-total", "input#email"} {
				c := tab.Colors(sel)
				r, err := c.Contrast()
				if err != nil || r < 4.5 {
					t.Errorf("%dpx %s: contrast %.2f (%+v) %v", vp.w, sel, r, c, err)
				}
			}
		}
		screenshots(t, tab, "checkout-lines")
		checkClean(t, tab)
	})
}

// TestCheckoutBrowserErrors submits an empty form and then a card refused
// when it is verified: each error is next to its field and in a summary.
func TestCheckoutBrowserErrors(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the errors", `document.readyState === "complete" && !!document.querySelector(".error-summary")`)
		for _, id := range []string{"email", "cardNumber", "expiry", "cvc", "name"} {
			ok := browser.Eval[bool](tab, `(() => { const e = document.getElementById("`+id+`"), m = document.getElementById("`+id+`-error");
				return e.getAttribute("aria-invalid") === "true" && !!m && e.getAttribute("aria-describedby").split(" ").includes(m.id) &&
					!!document.querySelector('.error-summary a[href="#`+id+`"]'); })()`)
			if !ok {
				t.Errorf("%s: error not tied to the field or missing from the summary", id)
			}
		}
		if got := browser.Eval[string](tab, `document.querySelector(".error-summary").getAttribute("role") + "|" + document.activeElement.className`); got != "alert|error-summary" {
			t.Errorf("summary role and focus: %q", got)
		}
		auditCheckout(t, tab)
		fillCheckout(tab, "4000000000000127", checkoutExpiry())
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the CVC error", `document.readyState === "complete" && !!document.getElementById("cvc-error") &&
			document.body.innerText.includes("security code is incorrect")`)
		if text := browser.Eval[string](tab, `document.getElementById("cvc-error").textContent`); !strings.Contains(text, "security code is incorrect") {
			t.Errorf("CVC error: %q", text)
		}
		if html := browser.Eval[string](tab, `document.documentElement.outerHTML`); strings.Contains(html, "0127") {
			t.Error("the page echoes the card number")
		}
		if st := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), p.ID)); st.Status != "pending" {
			t.Fatalf("after the refused card: %s", String(st))
		}
		// The two 422 answers are the only problems the tab saw.
		for _, pr := range tab.Problems() {
			if !strings.Contains(pr.Text, "status of 422") {
				t.Errorf("page problem: %v", pr)
			}
		}
		for _, d := range tab.Documents() {
			if d.Status != 200 && d.Status != 422 {
				t.Errorf("%s: status %d", d.URL, d.Status)
			}
		}
	})
}

// TestCheckoutBrowserProcessing pays with a card whose processor answers
// later: the page says so and reloads itself until the payment completes.
func TestCheckoutBrowserProcessing(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		p, link := checkoutLink(t, env)
		tab := openCheckoutTab(t, link, false)
		waitCheckoutForm(tab, true)
		fillCheckout(tab, "4000000000001000", checkoutExpiry())
		tab.Do(chromedp.Click(chromedp.ID("pay-button")))
		tab.WaitUntil("the processing page", `document.readyState === "complete" && document.body.innerText.includes("Payment processing")`)
		auditCheckout(t, tab)
		Must[*api.Clock](t)(env.Client.AdvanceClock(env.Ctx(), 10))
		tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
		checkPaidLinkOnSession(t, env, p.ID, 1190, false) // the card answers "pending" off-session too
		checkClean(t, tab)
	})
}
