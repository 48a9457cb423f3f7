package checkout

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// csrfField is the form field of the anti-forgery token.
const csrfField = "csrf"

// tokenTTL is how long a rendered form can be submitted.
const tokenTTL = 2 * time.Hour

// forms issues and checks anti-forgery tokens. A token is
// "nonce.issued.mac": a random per-page nonce, the Unix time it was issued,
// and an HMAC-SHA256 under the server secret of the link token, the
// browser's id (a random value in an HttpOnly, SameSite cookie), the nonce
// and the time. A post is accepted only with a token made for its link, in
// the browser that holds the cookie, within tokenTTL: another site can
// neither read the token from the page nor set the cookie.
type forms struct {
	secret []byte
	clock  till.Clock
	cookie string
	secure bool
}

func newForms(secret []byte, clock till.Clock, secure bool) *forms {
	f := &forms{secret: secret, clock: clock, cookie: "till_pay", secure: secure}
	if secure {
		// Only a secure, host-only cookie for path / may carry this prefix,
		// so a sibling subdomain cannot plant one.
		f.cookie = "__Host-till_pay"
	}
	return f
}

// randomText returns n random bytes, base64url-encoded.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// browserIDLen is the length of an encoded browser id (32 random bytes).
var browserIDLen = base64.RawURLEncoding.EncodedLen(32)

// browser returns the browser id of r's cookie, or "" without a well-formed
// one.
func (f *forms) browser(r *http.Request) string {
	c, err := r.Cookie(f.cookie)
	if err != nil || len(c.Value) != browserIDLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// issue returns a token for a form about link, setting the browser id
// cookie on w if r has none. The cookie is kept for the browser session and
// shared by the pages open in it.
func (f *forms) issue(w http.ResponseWriter, r *http.Request, link string) string {
	id := f.browser(r)
	if id == "" {
		id = randomText(32)
		http.SetCookie(w, &http.Cookie{Name: f.cookie, Value: id, Path: "/", HttpOnly: true, Secure: f.secure,
			SameSite: http.SameSiteLaxMode})
	}
	nonce := randomText(16)
	issued := strconv.FormatInt(f.clock.Now().Unix(), 10)
	return nonce + "." + issued + "." + f.mac(link, id, nonce, issued)
}

// check reports whether token was issued for link to r's browser within
// tokenTTL.
func (f *forms) check(r *http.Request, link, token string) bool {
	id := f.browser(r)
	if id == "" || len(token) > 256 {
		return false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] == "" {
		return false
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return false
	}
	age := f.clock.Now().Sub(time.Unix(issued, 0))
	if age < -time.Minute || age > tokenTTL {
		return false
	}
	want := f.mac(link, id, parts[0], parts[1])
	return hmac.Equal([]byte(want), []byte(parts[2]))
}

// mac signs the parts of a token.
func (f *forms) mac(link, browser, nonce, issued string) string {
	m := hmac.New(sha256.New, f.secret)
	for _, s := range []string{"till checkout form v1", link, browser, nonce, issued} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
