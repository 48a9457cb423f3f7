package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/internal/browser"
)

// TestScreenshots writes the pictures of the hosted checkout page that
// docs/ and the README show, at a phone's and a desktop's width, into the
// folder TILL_SCREENSHOTS names (scripts/screenshots.sh sets it to
// docs/screenshots): the form, a decline, the 3-D Secure challenge, the
// success page and the receipt email. Without TILL_SCREENSHOTS it skips.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("TILL_SCREENSHOTS")
	if dir == "" {
		t.Skip("TILL_SCREENSHOTS is not set: run scripts/screenshots.sh to refresh docs/screenshots")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := Start(t, SQLite)
	Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{
		Name: Str("Lotus Yoga Studio"), Branding: &till.Branding{DisplayName: "Lotus Yoga Studio", Color: "#0f766e"}}))
	shoot := func(tab *browser.Tab, name string) {
		for _, w := range [][2]int{{375, 812}, {1280, 900}} {
			tab.Screenshot(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w[0])), w[0], w[1])
		}
	}
	link := func() string {
		l := Must[*api.Payment](t)(env.Client.CreatePaymentLink(env.Ctx(), api.PaymentLinkRequest{Amount: Amount(12000), Currency: "EUR",
			Description: "Class pack, spring term", SuccessURL: "https://lotus.example/thanks",
			LineItems: []api.LineItemInput{{Description: "Yoga class", Quantity: Int64(10), UnitAmount: Int64(1100)},
				{Description: "Mat rental", Quantity: Int64(1), UnitAmount: Int64(1000)}}}))
		return *l.URL
	}

	tab := openCheckoutTab(t, link(), false)
	waitCheckoutForm(tab, true)
	shoot(tab, "checkout-form")
	fillCheckout(tab, "4000000000000002", checkoutExpiry())
	tab.Do(chromedp.Click(chromedp.ID("pay-button")))
	tab.WaitUntil("the decline", `document.readyState === "complete" && document.body.innerText.includes("Your card was declined")`)
	shoot(tab, "checkout-declined")

	tab = openCheckoutTab(t, link(), false)
	waitCheckoutForm(tab, true)
	fillCheckout(tab, "4000002760003184", checkoutExpiry())
	tab.Do(chromedp.Click(chromedp.ID("pay-button")))
	tab.WaitUntil("the challenge", `document.readyState === "complete" && document.body.innerText.includes("Authenticate payment")`)
	shoot(tab, "checkout-3ds")
	tab.Do(chromedp.Click(chromedp.CSS(`button[value=approve]`)))
	tab.WaitUntil("the success page", `document.readyState === "complete" && document.body.innerText.includes("Payment complete")`)
	shoot(tab, "checkout-success")

	var mail *api.Email
	env.Eventually(browserTimeout, "the receipt", func() bool {
		got := Must[*client.List[api.Email]](t)(env.Client.Emails(env.Ctx(), client.ListParams{Filters: map[string]string{"to": "jane@example.com"}}))
		if len(got.Data) > 0 {
			mail = &got.Data[0]
		}
		return mail != nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, mail.HTML)
	}))
	defer srv.Close()
	tab.Do(chromedp.Navigate(srv.URL + "/"))
	tab.WaitUntil("the receipt", `document.readyState === "complete"`)
	shoot(tab, "receipt")
}
