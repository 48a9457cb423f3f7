package checkout

import (
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// newTestHandler is a Handler without a service: enough to render pages
// and serve assets.
func newTestHandler(t *testing.T) *Handler {
	t.Helper()
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{log: slog.New(slog.DiscardHandler), base: "/pay/", assets: sub, mux: http.NewServeMux(),
		tmpl:  template.Must(template.ParseFS(templateFS, "templates/*.html")),
		forms: newForms([]byte("secret"), till.SystemClock{}, false)}
	h.mux.HandleFunc("GET /pay/assets/{name}", h.asset)
	h.mux.HandleFunc("GET /pay/{token}/{part}", h.quote)
	return h
}

// payableView is a link that can be paid, priced for Germany.
func payableView() *service.PayView {
	eur, _ := till.LookupCurrency("EUR")
	return &service.PayView{MerchantName: "Acme GmbH", BrandColor: "#0A2540", Kind: till.KindLink, Description: "Annual plan",
		Currency: eur, AmountSubtotal: 1000, TaxAmount: 190, AmountTotal: 1190, TaxBehavior: till.TaxExclusive,
		TaxBreakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: till.TaxReasonDomestic, Name: "VAT"}},
		Status:       till.StatusPending, CanPay: true, Country: "DE"}
}

func TestParseExpiry(t *testing.T) {
	tests := []struct {
		in          string
		month, year int
		ok          bool
	}{
		{"04/29", 4, 2029, true},
		{"04 / 29", 4, 2029, true},
		{"4/29", 4, 2029, true},
		{"12 / 2031", 12, 2031, true},
		{"0429", 4, 2029, true},
		{"042029", 4, 2029, true},
		{" 1 / 30 ", 1, 2030, true},
		{"", 0, 0, false},
		{"13/29", 0, 0, false},
		{"00/29", 0, 0, false},
		{"04/2", 0, 0, false},
		{"04/202", 0, 0, false},
		{"ab/cd", 0, 0, false},
		{"04-29", 0, 0, false},
		{"4/29/1", 0, 0, false},
		{"123", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, y, ok := parseExpiry(tt.in)
			if m != tt.month || y != tt.year || ok != tt.ok {
				t.Fatalf("parseExpiry(%q) = %d, %d, %v; want %d, %d, %v", tt.in, m, y, ok, tt.month, tt.year, tt.ok)
			}
		})
	}
}

// TestAccentCSS checks that any brand colour becomes an accent that white
// text on it, and it as text on white, read at 4.5:1 or more.
func TestAccentCSS(t *testing.T) {
	hexColor := regexp.MustCompile(`--primary: #([0-9a-f]{6});`)
	for _, c := range []string{"#ffffff", "#ffff00", "#00ff00", "#0a2540", "#FF5733", "#777777", "#000000", "#1d4ed8"} {
		t.Run(c, func(t *testing.T) {
			hex := brandColor(c)
			if hex == "" {
				t.Fatalf("brandColor(%q) refused a valid colour", c)
			}
			css, ok := accentCSS(hex)
			m := hexColor.FindStringSubmatch(css)
			if !ok || m == nil {
				t.Fatalf("accentCSS(%q) = %q, %v", hex, css, ok)
			}
			var rgb [3]float64
			for i := range 3 {
				var v int
				for _, d := range m[1][2*i : 2*i+2] {
					v = v*16 + strings.IndexRune("0123456789abcdef", d)
				}
				rgb[i] = float64(v)
			}
			if r := contrastWithWhite(rgb[0], rgb[1], rgb[2]); r < 4.5 {
				t.Fatalf("accent %s of %s: contrast %.2f", m[1], c, r)
			}
		})
	}
	for _, bad := range []string{"", "red", "#fff", "#12345g", "0a2540", "#0a2540;}", "#0a25400"} {
		if hex := brandColor(bad); hex != "" {
			t.Errorf("brandColor(%q) = %q, want refused", bad, hex)
		}
	}
}

// TestCountryNames checks that the form lists exactly the countries the
// service accepts.
func TestCountryNames(t *testing.T) {
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			_, ok := till.NormalizeCountry(code)
			if name, named := countryNames[code]; ok != named {
				t.Errorf("%s: assigned %v, named %q", code, ok, name)
			}
		}
	}
	if len(countryList) != len(countryNames) || countryList[0].Code != "AF" {
		t.Fatalf("countryList: %d entries, first %+v", len(countryList), countryList[0])
	}
}

// TestCheckoutFormPage renders the form of a payable link with errors and
// checks what a payer and assistive technology rely on.
func TestCheckoutFormPage(t *testing.T) {
	h := newTestHandler(t)
	render := func(in *payerInput, errs []till.FieldError) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		securityHeaders(rec)
		h.renderPayment(rec, httptest.NewRequest("GET", "/pay/tok_1", nil), http.StatusUnprocessableEntity, "tok_1", payableView(), in, errs)
		return rec
	}
	rec := render(&payerInput{Email: "jane@example", Name: "Jane <Doe>", Country: "FR", PostalCode: "75001"},
		[]till.FieldError{
			{Field: "email", Message: "Enter an email address such as jane@example.com."},
			{Field: "card.number", Message: "card number is invalid: check the digits"},
			{Field: "card.expMonth", Message: "expiry month is required"},
			{Field: "card.expYear", Message: "expiry year is required"},
			{Field: "total", Message: "With tax for FR the total is 10.00 EUR, not the 11.90 EUR shown; check it and pay again."},
		})
	body := rec.Body.String()
	for _, want := range []string{
		`<form method="post" action="/pay/tok_1" id="pay-form"`,
		`name="csrf" value="`, `name="total" id="total-minor" value="1190"`,
		`<label for="email">Email</label>`, `autocomplete="email"`, `value="jane@example"`,
		`aria-describedby="email-error" aria-invalid="true"`, `<p class="field-error" id="email-error">`,
		`<label for="cardNumber">Card number</label>`, `autocomplete="cc-number" inputmode="numeric"`,
		`Card number is invalid: check the digits.`,
		`<label for="expiry">Expiry date</label>`, `autocomplete="cc-exp"`, `aria-describedby="expiry-hint expiry-error"`,
		`Enter the expiry date as MM / YY.`,
		`<label for="cvc">Security code</label>`, `autocomplete="cc-csc"`,
		`<label for="name">Name on card</label>`, `autocomplete="cc-name"`, `value="Jane &lt;Doe&gt;"`,
		`<select id="country" name="country" autocomplete="country"`, `<option value="FR" selected>France</option>`,
		`autocomplete="postal-code"`, `value="75001"`, `<label for="vatNumber">VAT number (optional)</label>`,
		`role="alert"`, `<a href="#email">`, `<a href="#cardNumber">`, `<a href="#expiry">`, `the total is 10.00 EUR`,
		`VAT (19 %)`, `11.90 EUR`, `10.00 EUR`, `Pay 11.90 EUR`, `value="quote"`, `Update total`,
		`href="/pay/assets/accent-0a2540.css"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Count(body, `id="expiry-error"`) != 1 {
		t.Errorf("the expiry's two errors are not one")
	}
	// The Pay button comes first: Enter in a field pays.
	if strings.Index(body, `value="pay"`) > strings.Index(body, `value="quote"`) {
		t.Errorf("Update total precedes Pay")
	}
	csp := rec.Header().Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{20,})'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") ||
		strings.Contains(csp, "unsafe") || !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if !strings.Contains(body, `<script src="/pay/assets/checkout.js" nonce="`+m[1]+`" defer></script>`) {
		t.Errorf("the script does not carry the response's nonce %s", m[1])
	}
	if strings.Count(body, "<script") != 1 {
		t.Errorf("more than one script")
	}
	again := render(nil, nil).Header().Get("Content-Security-Policy")
	if again == csp {
		t.Errorf("two responses share the nonce: %q", csp)
	}
}

// TestCheckoutDeclinedAndStates checks the form after a decline and the
// pages of links that cannot be paid, which load no script.
func TestCheckoutDeclinedAndStates(t *testing.T) {
	h := newTestHandler(t)
	get := func(v *service.PayView) (*httptest.ResponseRecorder, string) {
		rec := httptest.NewRecorder()
		securityHeaders(rec)
		h.renderPayment(rec, httptest.NewRequest("GET", "/pay/tok_1", nil), http.StatusOK, "tok_1", v, nil, nil)
		return rec, rec.Body.String()
	}
	v := payableView()
	v.Failure = &till.Failure{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "The card has insufficient funds."}
	v.Email = "jane@example.com"
	_, body := get(v)
	for _, want := range []string{"Your card was declined. Try another card.", "Reason: The card has insufficient funds.", `value="jane@example.com"`} {
		if !strings.Contains(body, want) {
			t.Errorf("declined page lacks %q", want)
		}
	}
	past := time.Now().Add(-time.Hour)
	states := []struct {
		name string
		edit func(v *service.PayView)
		want string
	}{
		{"paid", func(v *service.PayView) {
			v.CanPay, v.Status, v.SuccessURL = false, till.StatusSucceeded, "https://shop.example/thanks"
		}, `href="https://shop.example/thanks">Continue</a>`},
		{"canceled", func(v *service.PayView) { v.CanPay, v.Status = false, till.StatusCanceled }, "This payment link was canceled by Acme GmbH"},
		{"expired", func(v *service.PayView) { v.CanPay, v.Status = false, till.StatusExpired }, "Payment link expired"},
		{"expiring", func(v *service.PayView) { v.CanPay, v.Expired, v.ExpiresAt = false, true, &past }, "Payment link expired"},
	}
	for _, tt := range states {
		t.Run(tt.name, func(t *testing.T) {
			v := payableView()
			tt.edit(v)
			rec, body := get(v)
			if !strings.Contains(body, tt.want) || strings.Contains(body, "<form") || strings.Contains(body, "<script") {
				t.Fatalf("page lacks %q or has a form or script:\n%s", tt.want, body)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); csp != contentSecurityPolicy {
				t.Fatalf("CSP %q", csp)
			}
		})
	}
	// A processing payment's page has the script reload it: no form, but
	// the script's policy.
	v = payableView()
	v.CanPay, v.Status = false, till.StatusProcessing
	rec, body := get(v)
	if !strings.Contains(body, `data-refresh="2"`) || !strings.Contains(body, `<script src="/pay/assets/checkout.js" nonce="`) ||
		strings.Contains(body, "<form") || strings.Contains(body, "http-equiv") || !strings.Contains(body, "Check again") ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'nonce-") {
		t.Fatalf("processing page %v:\n%s", rec.Header(), body)
	}
}

// TestQuoteRefusesOtherParameters checks that the quote endpoint takes a
// country and a VAT number only, never anything like card data.
func TestQuoteRefusesOtherParameters(t *testing.T) {
	h := newTestHandler(t)
	for _, q := range []string{"cardNumber=4242424242424242", "country=DE&cvc=123", "country=DE&country=FR", "number=1", "country=" + strings.Repeat("D", 65)} {
		rec := httptest.NewRecorder()
		h.mux.ServeHTTP(rec, httptest.NewRequest("GET", "/pay/tok_1/quote?"+q, nil))
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
			strings.Contains(rec.Body.String(), "4242") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func TestAssets(t *testing.T) {
	h := newTestHandler(t)
	tests := []struct {
		path, ctype string
		status      int
		body        string
	}{
		{"/pay/assets/checkout.css", "text/css; charset=utf-8", 200, ":focus-visible"},
		{"/pay/assets/checkout.js", "text/javascript; charset=utf-8", 200, "pay-form"},
		{"/pay/assets/accent-0a2540.css", "text/css; charset=utf-8", 200, "--primary: #0a2540;"},
		{"/pay/assets/accent-0A2540.css", "text/html; charset=utf-8", 404, "Payment not found"},
		{"/pay/assets/accent-0a2540.js", "text/html; charset=utf-8", 404, "Payment not found"},
		{"/pay/assets/accent-zzzzzz.css", "text/html; charset=utf-8", 404, "Payment not found"},
		{"/pay/assets/nope.js", "text/html; charset=utf-8", 404, "Payment not found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.mux.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.ctype || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("%d %s:\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		})
	}
}

// TestFormErrorWords checks how the service's field paths and messages
// reach the form.
func TestFormErrorWords(t *testing.T) {
	tests := []struct{ path, msg, id, want string }{
		{"card.number", "card number is required", fieldNumber, "Enter your card number."},
		{"card", "The card was declined.", fieldNumber, "The card was declined."},
		{"card.expYear", "card has expired", fieldExpiry, "Card has expired."},
		{"card.cvc", "security code must have 3 digits for Visa cards", fieldCVC, "Security code must have 3 digits for Visa cards."},
		{"card.holderName", "cardholder name cannot contain control characters", fieldName, "Cardholder name cannot contain control characters."},
		{"vatNumber", "Enter an EU VAT number with its country prefix, such as DE123456789.", fieldVATNumber, "Enter an EU VAT number with its country prefix, such as DE123456789."},
		{"total", "x", "", "X."},
	}
	for _, tt := range tests {
		id := formField(tt.path)
		if got := payerMessage(id, tt.msg); id != tt.id || got != tt.want {
			t.Errorf("%s %q: %s %q, want %s %q", tt.path, tt.msg, id, got, tt.id, tt.want)
		}
	}
}
