package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// TestCheckoutLogsNoCardData pays links on the hosted page of a real till
// serve at log level debug — a decline, a form with errors, a payment — and
// checks that its log never shows a card number, in any spacing.
func TestCheckoutLogsNoCardData(t *testing.T) {
	data := t.TempDir()
	p := startTill(t, data, "TILL_LOG_LEVEL=debug")
	keys := readKeys(t, data)
	c := client.New(p.url, keys.TestSecretKey)
	ctx := context.Background()
	var out bytes.Buffer
	r := &triggerRun{c: c, out: &out}
	numbers := []string{"4000000000000002", "4242424242424242"}
	for _, n := range numbers {
		l, err := r.link(ctx, api.PaymentLinkRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.payOnPage(ctx, *l.URL, "logs@example.com", n); err != nil {
			t.Fatal(err)
		}
	}
	// A form the page refuses (422) and a quote carrying a card number the
	// quote endpoint refuses.
	l, err := r.link(ctx, api.PaymentLinkRequest{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.PostForm(*l.URL, url.Values{"action": {"pay"}, "cardNumber": {"5555 5555 5555 4444"}, "expiry": {"13/99"}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	res, err = http.Get(*l.URL + "/quote?country=DE&cardNumber=5555555555554444")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("quote with card data: %d", res.StatusCode)
	}
	if got, err := c.Payment(ctx, l.ID); err != nil || got.Status != "pending" || len(got.Attempts) != 0 {
		t.Errorf("refused form changed the link: %+v %v", got, err)
	}
	logs := p.log()
	if !strings.Contains(logs, "/pay/") {
		t.Fatalf("the log shows no request of the pages:\n%s", logs)
	}
	squeezed := strings.NewReplacer(" ", "", "-", "", "+", "", "%20", "").Replace(logs)
	for _, n := range append(numbers, "5555555555554444") {
		if strings.Contains(squeezed, n) || strings.Contains(logs, n[len(n)-8:]) {
			t.Errorf("the log shows card number %s", n)
		}
	}
}
