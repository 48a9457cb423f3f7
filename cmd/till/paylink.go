package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
)

// The hidden fields of the hosted checkout form that a payer's browser
// posts back: the anti-forgery token and the total the page showed.
var (
	csrfInput  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	totalInput = regexp.MustCompile(`name="total"[^>]*value="([0-9]+)"`)
)

// payOnPage pays the payment link at pageURL as a payer's browser does: it
// opens the hosted page, fills in the checkout form with a test card and
// posts it (with the page's anti-forgery token and cookie, from the page's
// origin). It returns once the page has accepted the form.
func (r *triggerRun) payOnPage(ctx context.Context, pageURL, email, number string) error {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, err := url.Parse(pageURL)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return err
	}
	csrf, total := csrfInput.FindSubmatch(body), totalInput.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || csrf == nil || total == nil {
		return fmt.Errorf("the page %s shows no checkout form (HTTP %d)", pageURL, res.StatusCode)
	}
	form := url.Values{
		"action": {"pay"}, "csrf": {html.UnescapeString(string(csrf[1]))}, "total": {string(total[1])},
		"email": {email}, "name": {"Till Trigger"}, "country": {"DE"}, "postalCode": {"10115"},
		"cardNumber": {number}, "expiry": {"12 / " + strconv.Itoa(time.Now().Year()+3)}, "cvc": {"123"},
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, pageURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	res, err = hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("the page refused the checkout form: HTTP %d", res.StatusCode)
	}
	r.printf("paid on the hosted page with card %s…%s", number[:4], number[len(number)-4:])
	return nil
}

// linkPaidOnPage creates a payment link, pays it on its page with card
// number and waits until it is in status want.
func (r *triggerRun) linkPaidOnPage(ctx context.Context, number string, want till.Status) error {
	l, err := r.link(ctx, api.PaymentLinkRequest{})
	if err != nil {
		return err
	}
	if err := r.payOnPage(ctx, *l.URL, "trigger@example.com", number); err != nil {
		return err
	}
	p, err := r.waitPayment(ctx, l.ID, string(want), func(p *api.Payment) bool {
		return p.Status == string(want) && p.CustomerID != nil && len(p.Attempts) > 0
	})
	if err != nil {
		return err
	}
	r.printf("created customer %s (the payer, by email) and payment %s: %s", *p.CustomerID, p.ID, p.Status)
	return nil
}
