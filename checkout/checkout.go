// Package checkout serves Till's hosted pages under /pay/: for now the page
// where a payer completes, on-session, a payment that requires
// authentication (SPEC §4a: the card issuer's challenge, simulated in test
// mode). Payment links (SPEC §6) will be served here too.
//
// Pages are rendered on the server with html/template from embedded
// templates and a stylesheet, need no JavaScript and load nothing from
// elsewhere. Every response carries a strict Content-Security-Policy, and
// every form an anti-forgery token bound to the link, to the browser (a
// cookie) and to the page (a nonce), checked with the Origin header on each
// POST. Handlers decode the request, call one service method and render.
package checkout

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
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

// maxFormBytes bounds the body of a form post; the forms here carry a token
// and a button value.
const maxFormBytes = 8 << 10

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

// asset serves an embedded stylesheet.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := fs.ReadFile(h.assets, name)
	if err != nil || !strings.HasSuffix(name, ".css") {
		h.render(w, r, http.StatusNotFound, notFoundPage(h))
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
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
	pg := paymentPage(h, token, v)
	if pg.Challenge {
		pg.CSRF = h.forms.issue(w, r, token)
	}
	h.render(w, r, http.StatusOK, pg)
}

// submit records the payer's answer to the challenge and sends the browser
// back to the page, which shows the outcome (post/redirect/get).
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
	default:
		h.render(w, r, http.StatusBadRequest, messagePage(h, "Something is wrong with this request",
			"Choose one of the buttons on the payment page."))
		return
	}
	_, err := h.svc.CompleteAuthentication(r.Context(), token, approve)
	switch till.ErrorCode(err) {
	case "", till.ECardDeclined, till.EConflict, till.ELiveForbidden:
		// The page shows how the payment stands, whoever moved it.
		w.Header().Set("Location", h.base+token)
		w.WriteHeader(http.StatusSeeOther)
	default:
		h.WriteError(w, r, err)
	}
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
