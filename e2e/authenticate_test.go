package e2e

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tillpay/till/api"
)

// payBrowser is a payer's payBrowser: it keeps cookies and does not follow
// redirects, so tests see the 303 of a form post.
type payBrowser struct {
	tb     testing.TB
	client *http.Client
	origin string
}

func newPayBrowser(tb testing.TB, env *Env) *payBrowser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &payBrowser{tb: tb, origin: env.URL, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// payPage is a response read whole.
type payPage struct {
	status int
	header http.Header
	body   string
}

func (b *payBrowser) do(req *http.Request) payPage {
	b.tb.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.tb.Fatal(err)
	}
	return payPage{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *payBrowser) get(u string) payPage {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.do(req)
}

// post submits a form as the page's own form would (with its Origin);
// origin "" sends none.
func (b *payBrowser) post(u string, form url.Values, origin string) payPage {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return b.do(req)
}

var formTokenPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken returns the anti-forgery token of a page's form.
func formToken(tb testing.TB, p payPage) string {
	tb.Helper()
	m := formTokenPattern.FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no anti-forgery token in the page:\n%s", p.body)
	}
	return m[1]
}

// chargeNeedingAuth charges the 3-D Secure test card off-session and returns the
// payment's id and its authentication URL, checking the 402.
func chargeNeedingAuth(t *testing.T, env *Env) (string, string) {
	t.Helper()
	cust, _ := env.CustomerWithCard("DE", "4000002760003184")
	_, err := env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR",
		Description: "Annual plan"})
	ce := APIError(t, err, 402, "card_declined")
	d := ce.Decline()
	if d == nil || d.DeclineCode != "authentication_required" || d.PaymentID == "" ||
		!strings.HasPrefix(d.NextActionURL, env.URL+"/pay/") {
		t.Fatalf("decline: %+v %s", ce, ce.Details)
	}
	p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), d.PaymentID))
	if p.Status != "requires_action" || p.NextAction == nil || p.NextAction.URL != d.NextActionURL || p.NextAction.Type != "authenticate" {
		t.Fatalf("payment: %+v", p)
	}
	return d.PaymentID, d.NextActionURL
}

// simChargeOutcomes returns the simulator's charge records of a payment by outcome.
func simChargeOutcomes(t *testing.T, env *Env, paymentID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range Must[[]api.ProcessorCharge](t)(env.Client.ProcessorCharges(env.Ctx(), "", paymentID)) {
		if r.Kind == "charge" {
			out[r.Outcome]++
		}
	}
	return out
}

// checkPayHeaders asserts the hosted pages' security headers.
func checkPayHeaders(t *testing.T, p payPage) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

// TestAuthenticateOnSession is the 3-D Secure flow of SPEC §4a: an
// off-session charge of 4000002760003184 needs the payer, who authenticates
// on the hosted page; the payment then succeeds with a second attempt and
// exactly one charge at the processor.
func TestAuthenticateOnSession(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		acct := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		id, link := chargeNeedingAuth(t, env)
		br := newPayBrowser(t, env)

		pg := br.get(link)
		if pg.status != http.StatusOK || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s\n%s", link, pg.status, pg.header.Get("Content-Type"), pg.body)
		}
		checkPayHeaders(t, pg)
		for _, want := range []string{`<html lang="en">`, "11.90 EUR", "1.90 EUR", acct.Name, "Annual plan",
			"Visa ending in 3184", "Authenticate payment", "Cancel", "Test mode"} {
			if !strings.Contains(pg.body, want) {
				t.Errorf("page lacks %q:\n%s", want, pg.body)
			}
		}
		css := br.get(env.URL + "/pay/assets/checkout.css")
		if css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") ||
			!strings.Contains(pg.body, `href="/pay/assets/checkout.css"`) || !strings.Contains(css.body, ":focus-visible") {
			t.Fatalf("stylesheet: %d %s", css.status, css.header.Get("Content-Type"))
		}
		token := formToken(t, pg)

		// Forged posts: no token, a token without the payBrowser's cookie, a
		// token for another link, another site's origin.
		refused := []struct {
			name   string
			br     *payBrowser
			url    string
			form   url.Values
			origin string
		}{
			{"no token", br, link, url.Values{"action": {"approve"}}, env.URL},
			{"bad token", br, link, url.Values{"action": {"approve"}, "csrf": {token + "x"}}, env.URL},
			{"other browser", newPayBrowser(t, env), link, url.Values{"action": {"approve"}, "csrf": {token}}, env.URL},
			{"cross-site", br, link, url.Values{"action": {"approve"}, "csrf": {token}}, "https://evil.example"},
		}
		for _, c := range refused {
			got := c.br.post(c.url, c.form, c.origin)
			if got.status != http.StatusForbidden {
				t.Fatalf("%s: POST got %d, want 403\n%s", c.name, got.status, got.body)
			}
			checkPayHeaders(t, got)
		}
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 0 || n["requires_action"] != 1 {
			t.Fatalf("forged posts reached the processor: %v", n)
		}

		res := br.post(link, url.Values{"action": {"approve"}, "csrf": {token}}, env.URL)
		if res.status != http.StatusSeeOther || res.header.Get("Location") != strings.TrimPrefix(link, env.URL) {
			t.Fatalf("approve: %d Location %q\n%s", res.status, res.header.Get("Location"), res.body)
		}
		p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id))
		if p.Status != "succeeded" || p.AmountCaptured != 1190 || p.NextAction != nil || len(p.Attempts) != 2 {
			t.Fatalf("after approval: %+v", p)
		}
		if p.Attempts[0].Outcome != "requires_action" || p.Attempts[1].Outcome != "succeeded" ||
			p.Attempts[0].Reference == p.Attempts[1].Reference {
			t.Fatalf("attempts: %+v", p.Attempts)
		}
		var history []string
		for _, h := range p.StatusHistory {
			history = append(history, string(h.Status))
		}
		if strings.Join(history, ",") != "processing,requires_action,processing,succeeded" {
			t.Fatalf("history: %v", history)
		}
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 1 || n["requires_action"] != 1 || len(n) != 2 {
			t.Fatalf("processor charges: %v", n)
		}

		done := br.get(env.URL + res.header.Get("Location"))
		if done.status != http.StatusOK || !strings.Contains(done.body, "Payment complete") || strings.Contains(done.body, "<form") {
			t.Fatalf("result page: %d\n%s", done.status, done.body)
		}
		checkPayHeaders(t, done)

		// A second submission of the same form charges nothing more.
		again := br.post(link, url.Values{"action": {"approve"}, "csrf": {token}}, env.URL)
		if again.status != http.StatusSeeOther {
			t.Fatalf("second POST: %d\n%s", again.status, again.body)
		}
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 1 {
			t.Fatalf("second POST charged again: %v", n)
		}
		// (The receipt worker may bump the version meanwhile; the attempts and
		// the status history are what a second charge would change.)
		if p2 := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id)); len(p2.StatusHistory) != len(p.StatusHistory) || len(p2.Attempts) != 2 {
			t.Fatalf("second POST changed the payment: %+v", p2)
		}
		if types := storedEventTypes(t, env, id); types != nil && strings.Count(strings.Join(types, ","), "payment.succeeded") != 1 {
			t.Fatalf("events: %v", types)
		}
	})
}

// TestAuthenticateConcurrentSubmissions posts the approval many times at
// once: the payment leaves requires_action once and is charged once.
func TestAuthenticateConcurrentSubmissions(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		id, link := chargeNeedingAuth(t, env)
		br := newPayBrowser(t, env)
		token := formToken(t, br.get(link))
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Go(func() {
				statuses[i] = br.post(link, url.Values{"action": {"approve"}, "csrf": {token}}, env.URL).status
			})
		}
		wg.Wait()
		for _, s := range statuses {
			if s != http.StatusSeeOther {
				t.Fatalf("statuses: %v", statuses)
			}
		}
		p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id))
		if p.Status != "succeeded" || len(p.Attempts) != 2 {
			t.Fatalf("payment: %+v", p)
		}
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 1 {
			t.Fatalf("processor charges: %v", n)
		}
	})
}

// TestAuthenticateDecline is the payer refusing the challenge: the payment
// fails with authentication_required, is not retried, and nothing reaches
// the processor again.
func TestAuthenticateDecline(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		id, link := chargeNeedingAuth(t, env)
		br := newPayBrowser(t, env)
		token := formToken(t, br.get(link))
		res := br.post(link, url.Values{"action": {"decline"}, "csrf": {token}}, env.URL)
		if res.status != http.StatusSeeOther {
			t.Fatalf("decline: %d\n%s", res.status, res.body)
		}
		p := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id))
		if p.Status != "failed" || p.Failure == nil || p.Failure.Code != "card_declined" ||
			p.Failure.DeclineCode != "authentication_required" || p.Failure.Message != "The cardholder did not complete authentication." {
			t.Fatalf("after decline: %+v %+v", p, p.Failure)
		}
		if p.ScheduledAt != nil || len(p.Attempts) != 2 || p.Attempts[1].Outcome != "failed" ||
			p.Attempts[1].DeclineCode == nil || *p.Attempts[1].DeclineCode != "authentication_required" {
			t.Fatalf("attempts: %+v", p.Attempts)
		}
		if n := simChargeOutcomes(t, env, id); n["requires_action"] != 1 || len(n) != 1 {
			t.Fatalf("processor charges: %v", n)
		}
		shown := br.get(link)
		if shown.status != http.StatusOK || !strings.Contains(shown.body, "Payment failed") ||
			!strings.Contains(shown.body, "The cardholder did not complete authentication.") || strings.Contains(shown.body, "<form") {
			t.Fatalf("failed page: %d\n%s", shown.status, shown.body)
		}
		// The form of the old page can no longer do anything.
		if again := br.post(link, url.Values{"action": {"approve"}, "csrf": {token}}, env.URL); again.status != http.StatusSeeOther {
			t.Fatalf("approve after decline: %d", again.status)
		}
		p2 := Must[*api.Payment](t)(env.Client.Payment(env.Ctx(), id))
		if p2.Status != "failed" || p2.ObjectVersion != p.ObjectVersion {
			t.Fatalf("approve after decline changed the payment: %+v", p2)
		}
		if n := simChargeOutcomes(t, env, id); len(n) != 1 {
			t.Fatalf("processor charges: %v", n)
		}
	})
}

// TestAuthenticationPageNotFound checks the pages of unknown links.
func TestAuthenticationPageNotFound(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		br := newPayBrowser(t, env)
		for _, path := range []string{"/pay/NoSuchToken123", "/pay/not-a-token!", "/pay/", "/pay/a/b", "/pay/assets/nope.css"} {
			pg := br.get(env.URL + path)
			if pg.status != http.StatusNotFound || !strings.Contains(pg.body, "Payment not found") {
				t.Fatalf("GET %s: %d\n%s", path, pg.status, pg.body)
			}
			checkPayHeaders(t, pg)
		}
		pg := br.post(env.URL+"/pay/NoSuchToken123", url.Values{"action": {"approve"}}, env.URL)
		if pg.status != http.StatusForbidden && pg.status != http.StatusNotFound {
			t.Fatalf("POST unknown: %d", pg.status)
		}
	})
}

// storedEventTypes returns the types of the events about an object, oldest first,
// read from the SQLite file; nil for stores that are no file.
func storedEventTypes(t *testing.T, env *Env, objectID string) []string {
	t.Helper()
	path := env.Path()
	if path == "" {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT type FROM events WHERE object_id = ? ORDER BY seq`, objectID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
