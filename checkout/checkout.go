// Package checkout serves Till's hosted pages under /pay/: the checkout
// page of a payment link (SPEC §6), where a payer enters a card and pays,
// and the page where a payer completes, on-session, a payment that requires
// authentication (SPEC §4a: the card issuer's challenge, simulated in test
// mode).
//
// Pages are rendered on the server with html/template from embedded
// templates and a stylesheet and work without JavaScript: the checkout form
// posts to its own page, which charges and then redirects (303) back to
// itself (post/redirect/get), so the page shows the outcome: "Payment
// complete", the decline and the form again, or the issuer's challenge. A
// form with errors is rendered again with status 422 and without the card
// number, expiry and CVC, which never go back into a page. "Update total"
// (action=quote) prices the link for the chosen country without charging.
// After a payment the page offers a "Continue" link to the link's
// successUrl rather than redirecting there: the payer sees the
// confirmation, and a redirect out of a form post would be refused by
// form-action 'self' in Chromium.
//
// One small embedded script (assets/checkout.js) improves the form where
// it runs: card brand and number spacing, the expiry as "MM / YY", no
// double submission, and the total updated live from the JSON endpoint
// GET /pay/{token}/quote?country=XX&vatNumber=…, which takes nothing else
// (never card data).
//
// Every response carries a strict Content-Security-Policy; a page with the
// script allows just it, by a nonce made per response, and fetches from its
// own origin. Every form carries an anti-forgery token bound to the link,
// to the browser (a cookie) and to the page (a nonce), checked with the
// Origin header on each POST. Form values are never logged. Handlers decode
// the request, call one service method and render.
package checkout

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// contentSecurityPolicy allows the page its own stylesheet and form target
// and nothing else: no scripts, no frames, no foreign origins.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// scriptPolicy is contentSecurityPolicy for a page that loads the checkout
// script: scripts carrying nonce (made for one response) and fetches from
// the page's own origin are allowed too; inline script without the nonce,
// eval and other origins stay refused.
func scriptPolicy(nonce string) string {
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; connect-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// maxFormBytes bounds the body of a form post: the checkout form's fields
// are a few hundred bytes, a token and a button value.
const maxFormBytes = 16 << 10

// Options configure a Handler.
type Options struct {
	Logger *slog.Logger
	// Secret signs the anti-forgery tokens. Processes behind one address
	// must share it; nil takes the service's FormSecret.
	Secret []byte
	// Clock dates the anti-forgery tokens; nil is the system clock.
	Clock till.Clock
}

// Handler serves the hosted pages. Mount it at /pay/ inside a
// middleware.Stack whose ErrorWriter is WriteError, so that a panic or a
// non-canonical path is answered with a page too.
type Handler struct {
	svc    *service.Service
	log    *slog.Logger
	forms  *forms
	tmpl   *template.Template
	assets fs.FS
	// base is the path the public base URL gives /pay/ ("/pay/", or
	// "/prefix/pay/" behind a proxy that strips a prefix); origin is its
	// scheme and host.
	base   string
	origin string
	mux    *http.ServeMux
}

// New returns the handler of the hosted pages of svc. Links and the origin
// that form posts must come from are those of svc.PublicBaseURL.
func New(svc *service.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = till.SystemClock{}
	}
	if opts.Secret == nil {
		opts.Secret = svc.FormSecret()
	}
	h := &Handler{svc: svc, log: opts.Logger, base: "/pay/", mux: http.NewServeMux()}
	secure := false
	if u, err := url.Parse(svc.PublicBaseURL()); err == nil && u.Host != "" {
		h.origin = strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
		h.base = strings.TrimRight(u.Path, "/") + "/pay/"
		secure = u.Scheme == "https"
	}
	h.forms = newForms(opts.Secret, opts.Clock, secure)
	h.tmpl = template.Must(template.ParseFS(templateFS, "templates/*.html"))
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic("checkout: embedded assets: " + err.Error())
	}
	h.assets = sub
	h.mux.HandleFunc("GET /pay/assets/{name}", h.asset)
	h.mux.HandleFunc("/pay/{token}", h.payment)
	// "/pay/{token}/quote" itself would conflict with the assets' pattern
	// (which of them is /pay/assets/quote?); this one is less specific.
	h.mux.HandleFunc("GET /pay/{token}/{part}", h.quote)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
	})
	return h
}

// ServeHTTP serves a request under /pay/ with the pages' security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	h.mux.ServeHTTP(w, r)
}

// Route returns the pattern of the page that serves r, without its method
// ("/pay/{token}"), or "" when none does; /metrics counts requests by it.
func (h *Handler) Route(r *http.Request) string {
	_, p := h.mux.Handler(r)
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	if p == "/" {
		return ""
	}
	return p
}

// securityHeaders sets the headers every response of the pages carries.
func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

// asset serves an embedded stylesheet or script, or the stylesheet of a
// brand colour ("accent-0a2540.css").
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var b []byte
	var err error
	if hex, ok := strings.CutPrefix(name, "accent-"); ok {
		css, valid := accentCSS(strings.TrimSuffix(hex, ".css"))
		if !valid || !strings.HasSuffix(hex, ".css") {
			h.render(w, r, http.StatusNotFound, notFoundPage(h))
			return
		}
		b = []byte(css)
	} else if b, err = fs.ReadFile(h.assets, name); err != nil {
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// payment serves /pay/{token}: the page on GET, the payer's decision on
// POST.
func (h *Handler) payment(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.show(w, r)
	case http.MethodPost:
		h.submit(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.render(w, r, http.StatusMethodNotAllowed, messagePage(h, "Method not allowed",
			"This page can only be viewed or submitted with its form."))
	}
}

// show renders the payment's page.
func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	v, err := h.svc.PayPage(r.Context(), token, service.LinkQuote{})
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.renderPayment(w, r, http.StatusOK, token, v, nil, nil)
}

// renderPayment renders the page of v with status; a checkout form is
// filled with in and shows errs (none: the link's prefill, and the last
// attempt's decline).
func (h *Handler) renderPayment(w http.ResponseWriter, r *http.Request, status int, token string, v *service.PayView,
	in *payerInput, errs []till.FieldError) {
	pg := paymentPage(h, token, v)
	switch {
	case pg.Form != nil:
		if in != nil || errs != nil {
			pg.Form = newCheckoutForm(h, token, v, in, errs)
			pg.Form.Declined, pg.Form.DeclinedReason = "", ""
		}
		pg.Form.CSRF = h.forms.issue(w, r, token)
		pg.Nonce = randomText(18)
	case pg.Challenge:
		pg.CSRF = h.forms.issue(w, r, token)
	case pg.Refresh != 0:
		pg.Nonce = randomText(18)
	}
	h.render(w, r, status, pg)
}

// submit handles the forms of /pay/{token}: the checkout form's Pay and
// Update total, and the payer's answer to the challenge, which it records
// and sends the browser back to the page, which shows the outcome
// (post/redirect/get).
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, messagePage(h, "Something is wrong with this request",
			"The form could not be read. Go back to the payment page and try again."))
		return
	}
	if !h.sameOrigin(r) || !h.forms.check(r, token, r.PostForm.Get(csrfField)) {
		h.log.Warn("checkout form refused: forged, stale or cross-site", "request_id", w.Header().Get("Request-Id"))
		pg := messagePage(h, "This page has expired",
			"For your security the form could not be accepted. Open the payment page again and repeat your choice.")
		pg.Reload = h.base + token
		h.render(w, r, http.StatusForbidden, pg)
		return
	}
	var approve bool
	switch r.PostForm.Get("action") {
	case "approve":
		approve = true
	case "decline":
	case "pay", "":
		// Enter in a field submits with the default button, Pay.
		h.pay(w, r, token)
		return
	case "quote":
		h.requote(w, r, token)
		return
	default:
		h.render(w, r, http.StatusBadRequest, messagePage(h, "Something is wrong with this request",
			"Choose one of the buttons on the payment page."))
		return
	}
	p, err := h.svc.CompleteAuthentication(r.Context(), token, approve)
	if h.toFailureURL(w, p) {
		return
	}
	switch till.ErrorCode(err) {
	case "", till.ECardDeclined, till.EConflict, till.ELiveForbidden:
		// The page shows how the payment stands, whoever moved it.
		h.seeOther(w, token)
	default:
		h.WriteError(w, r, err)
	}
}

// pay charges the link with the checkout form's card. A charge that ran,
// whatever its outcome, and a conflict (the link paid or being paid, in
// another tab too) redirect to the page, which shows how the link stands;
// a form the service refuses is rendered again with its errors (422).
func (h *Handler) pay(w http.ResponseWriter, r *http.Request, token string) {
	f := r.PostForm
	in := readPayer(f)
	expiry := strings.TrimSpace(f.Get(fieldExpiry))
	month, year, expiryOK := parseExpiry(expiry)
	total, err := strconv.ParseInt(f.Get(fieldTotal), 10, 64)
	if err != nil || total <= 0 {
		total = -1 // never a total: the service answers with the real one
	}
	// The API takes a card without a CVC; this form does not. A CVC that
	// cannot pass ("-") makes the service refuse the form, reporting the
	// other fields' problems too, before it does anything.
	cvc := strings.TrimSpace(f.Get(fieldCVC))
	noCVC := cvc == ""
	if noCVC {
		cvc = "-"
	}
	p, err := h.svc.PayLink(r.Context(), token, service.LinkPayParams{
		Email: in.Email, Name: in.Name, Country: in.Country, PostalCode: in.PostalCode, VATNumber: in.VATNumber,
		Card:          till.Card{Number: f.Get(fieldNumber), ExpMonth: month, ExpYear: year, CVC: cvc},
		ExpectedTotal: total,
	})
	if h.toFailureURL(w, p) {
		return
	}
	var errs []till.FieldError
	switch till.ErrorCode(err) {
	case "", till.EConflict:
		h.seeOther(w, token)
		return
	case till.EValidation:
		e, _ := till.AsError(err)
		errs = e.Fields
		// The first error of a field is the one shown: say what the form
		// wants where the service saw no date or no CVC.
		if !expiryOK && expiry != "" {
			errs = append([]till.FieldError{{Field: "card.expMonth", Message: "Enter the expiry date as MM / YY, such as 04 / 29."}}, errs...)
		}
		if noCVC {
			errs = append([]till.FieldError{{Field: "card.cvc", Message: "Enter the security code."}}, errs...)
		}
	case till.ECardDeclined:
		errs = []till.FieldError{declineError(err)}
	default:
		h.WriteError(w, r, err)
		return
	}
	v, qerr := h.svc.PayPage(r.Context(), token, service.LinkQuote{Country: in.Country, VATNumber: in.VATNumber})
	if v == nil {
		h.WriteError(w, r, qerr)
		return
	}
	if !v.CanPay {
		h.seeOther(w, token)
		return
	}
	if till.ErrorCode(err) == till.ECardDeclined && v.FailureURL != "" {
		// The card was refused when it was verified: nothing was recorded,
		// and the payer goes where the merchant asked.
		failureRedirect(w, v.FailureURL)
		return
	}
	h.renderPayment(w, r, http.StatusUnprocessableEntity, token, v, &in, errs)
}

// toFailureURL sends the payer of link p, back to pending after a declined
// attempt, to the link's failureUrl when it has one, reporting whether it
// did. The link waits for them again: its page still takes a card.
func (h *Handler) toFailureURL(w http.ResponseWriter, p *till.Payment) bool {
	if p == nil || p.FailureURL == "" || p.Status != till.StatusPending || p.Failure == nil {
		return false
	}
	failureRedirect(w, p.FailureURL)
	return true
}

// failureRedirect answers 303 to url, a link's failureUrl.
func failureRedirect(w http.ResponseWriter, url string) {
	w.Header().Set("Location", url)
	w.WriteHeader(http.StatusSeeOther)
}

// declineError is the form's error for a card refused when it was
// verified, on the input it is about.
func declineError(err error) till.FieldError {
	e, _ := till.AsError(err)
	code := ""
	if e != nil && e.Decline != nil {
		code = e.Decline.DeclineCode
	}
	switch code {
	case "incorrect_cvc":
		return till.FieldError{Field: "card.cvc", Message: "Your card was declined: the security code is incorrect. Check it or try another card."}
	case "expired_card":
		return till.FieldError{Field: "card.expMonth", Message: "Your card was declined: it has expired. Try another card."}
	}
	msg := "Your card was declined. Try another card."
	if e != nil && e.Message != "" {
		msg += " " + sentence(e.Message)
	}
	return till.FieldError{Field: "card", Message: msg}
}

// requote renders the checkout form priced for the country and VAT number
// posted, keeping what the payer entered but the card; nothing is charged.
func (h *Handler) requote(w http.ResponseWriter, r *http.Request, token string) {
	in := readPayer(r.PostForm)
	v, err := h.svc.PayPage(r.Context(), token, service.LinkQuote{Country: in.Country, VATNumber: in.VATNumber})
	if v == nil {
		h.WriteError(w, r, err)
		return
	}
	if !v.CanPay {
		h.seeOther(w, token)
		return
	}
	status, errs := http.StatusOK, []till.FieldError{}
	if err != nil {
		e, ok := till.AsError(err)
		if !ok || e.Code != till.EValidation {
			h.WriteError(w, r, err)
			return
		}
		status, errs = http.StatusUnprocessableEntity, e.Fields
	}
	h.renderPayment(w, r, status, token, v, &in, errs)
}

// quoteResponse is the body of GET /pay/{token}/quote: the link's figures
// for a country, formatted as the page shows them, and TotalMinor for the
// form's hidden total. Field and Message, when set, say why the country or
// VAT number asked for was not used (the figures are then without it);
// that is a 200 too, so that the page's script shows it next to the field.
type quoteResponse struct {
	Country       string `json:"country"`
	Subtotal      string `json:"subtotal"`
	TaxLabel      string `json:"taxLabel"`
	Tax           string `json:"tax"`
	Total         string `json:"total"`
	TotalMinor    int64  `json:"totalMinor"`
	ReverseCharge bool   `json:"reverseCharge"`
	PayLabel      string `json:"payLabel"`
	Field         string `json:"field,omitempty"`
	Message       string `json:"message,omitempty"`
}

// quote answers GET /pay/{token}/quote?country=XX&vatNumber=… with a
// quoteResponse. It takes those two parameters only and refuses any other
// (400), so that no card data can reach it; a link that cannot be paid is
// a 409, an unknown one a 404, each with {"error": message}.
func (h *Handler) quote(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("part") != "quote" {
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
		return
	}
	q := r.URL.Query()
	for k, vs := range q {
		if (k != fieldCountry && k != fieldVATNumber) || len(vs) != 1 || len(vs[0]) > 64 {
			writeJSON(w, r, http.StatusBadRequest, map[string]string{"error": "Only country and vatNumber can be quoted."})
			return
		}
	}
	token := r.PathValue("token")
	v, err := h.svc.PayPage(r.Context(), token, service.LinkQuote{Country: q.Get(fieldCountry), VATNumber: q.Get(fieldVATNumber)})
	e, _ := till.AsError(err)
	switch {
	case till.ErrorCode(err) == till.ENotFound:
		writeJSON(w, r, http.StatusNotFound, map[string]string{"error": "This payment link is not valid."})
		return
	case v == nil || (err != nil && (e == nil || e.Code != till.EValidation)):
		h.log.Error("checkout quote failed", "request_id", w.Header().Get("Request-Id"), "err", err)
		writeJSON(w, r, http.StatusInternalServerError, map[string]string{"error": "The total could not be updated."})
		return
	}
	if !v.CanPay {
		writeJSON(w, r, http.StatusConflict, map[string]string{"error": "This payment link can no longer be paid."})
		return
	}
	a := amountsOf(v)
	out := quoteResponse{Country: v.Country, Subtotal: a.Subtotal, TaxLabel: a.TaxLabel, Tax: a.Tax, Total: a.Total,
		TotalMinor: v.AmountTotal, ReverseCharge: v.ReverseCharge, PayLabel: payLabel(v)}
	if e != nil && len(e.Fields) > 0 {
		out.Field = formField(e.Fields[0].Field)
		out.Message = payerMessage(out.Field, e.Fields[0].Message)
	}
	writeJSON(w, r, http.StatusOK, out)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// seeOther sends the browser to the page of token (post/redirect/get).
func (h *Handler) seeOther(w http.ResponseWriter, token string) {
	w.Header().Set("Location", h.base+token)
	w.WriteHeader(http.StatusSeeOther)
}

// sameOrigin reports whether a form post may come from this site: a
// browser's Origin header, when sent, must be the public origin or the
// request's own, and Sec-Fetch-Site, when sent, must not name another site.
func (h *Handler) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	// Under Referrer-Policy: no-referrer a browser sends "Origin: null"
	// with a form post; its Sec-Fetch-Site still says where it came from.
	if origin == "null" {
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	origin = strings.ToLower(origin)
	if h.origin != "" && origin == h.origin {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+strings.ToLower(r.Host)
}

// WriteError renders the page of an error, with the pages' security
// headers: the not-found page for till.ENotFound, otherwise a page saying
// something went wrong, with the request id, after logging err. It is the
// pages' middleware.ErrorWriter: a panic under /pay/ shows this page, never
// an API's JSON.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	securityHeaders(w)
	if till.ErrorCode(err) == till.ENotFound {
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
		return
	}
	id := w.Header().Get("Request-Id")
	h.log.Error("checkout page failed", "request_id", id, "err", err)
	pg := messagePage(h, "Something went wrong",
		"We could not process this page. Nothing more will be charged; please try again in a moment.")
	pg.RequestID = id
	if token := r.PathValue("token"); token != "" {
		pg.Reload = h.base + token
	}
	h.render(w, r, http.StatusInternalServerError, pg)
}

// render writes pg with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, pg *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if pg.Nonce != "" {
		w.Header().Set("Content-Security-Policy", scriptPolicy(pg.Nonce))
	}
	var buf strings.Builder
	if err := h.tmpl.ExecuteTemplate(&buf, "page.html", pg); err != nil {
		h.log.Error("rendering a checkout page failed", "request_id", w.Header().Get("Request-Id"), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(buf.String()))
	}
}
