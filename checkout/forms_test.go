package checkout

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// issueFor renders a form for link in a fresh browser and returns the token
// and the browser's cookie.
func issueFor(tb testing.TB, f *forms, link string) (string, *http.Cookie) {
	tb.Helper()
	w := httptest.NewRecorder()
	token := f.issue(w, httptest.NewRequest("GET", "/pay/"+link, nil), link)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		tb.Fatalf("cookies: %+v", cookies)
	}
	return token, cookies[0]
}

func TestFormTokens(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newForms([]byte("secret"), clock, false)
	other := newForms([]byte("another secret"), clock, false)
	token, cookie := issueFor(t, f, "linkA")
	_, otherCookie := issueFor(t, f, "linkA")
	tests := []struct {
		name   string
		f      *forms
		link   string
		token  string
		cookie *http.Cookie
		after  time.Duration
		ok     bool
	}{
		{"valid", f, "linkA", token, cookie, 0, true},
		{"valid near the end of its life", f, "linkA", token, cookie, tokenTTL - time.Second, true},
		{"expired", f, "linkA", token, cookie, tokenTTL + time.Second, false},
		{"another link", f, "linkB", token, cookie, 0, false},
		{"another browser", f, "linkA", token, otherCookie, 0, false},
		{"no cookie", f, "linkA", token, nil, 0, false},
		{"another server secret", other, "linkA", token, cookie, 0, false},
		{"empty", f, "linkA", "", cookie, 0, false},
		{"tampered mac", f, "linkA", tamperMAC(token), cookie, 0, false},
		{"tampered time", f, "linkA", strings.Replace(token, ".17", ".18", 1), cookie, 0, false},
		{"two parts", f, "linkA", token[:strings.LastIndex(token, ".")], cookie, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *clock
			c.t = c.t.Add(tt.after)
			tt.f.clock = &c
			defer func() { tt.f.clock = clock }()
			r := httptest.NewRequest("POST", "/pay/"+tt.link, nil)
			if tt.cookie != nil {
				r.AddCookie(tt.cookie)
			}
			if got := tt.f.check(r, tt.link, tt.token); got != tt.ok {
				t.Fatalf("check = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestFormTokensAreUniquePerPage(t *testing.T) {
	f := newForms([]byte("secret"), &fixedClock{t: time.Unix(1_800_000_000, 0)}, true)
	w := httptest.NewRecorder()
	first := f.issue(w, httptest.NewRequest("GET", "/pay/x", nil), "x")
	c := w.Result().Cookies()[0]
	if c.Name != "__Host-till_pay" || !c.Secure || c.Path != "/" {
		t.Fatalf("secure cookie: %+v", c)
	}
	r := httptest.NewRequest("GET", "/pay/x", nil)
	r.AddCookie(c)
	w2 := httptest.NewRecorder()
	second := f.issue(w2, r, "x")
	if len(w2.Result().Cookies()) != 0 {
		t.Fatal("a browser with a cookie got a new one")
	}
	if first == second {
		t.Fatal("two pages got the same token")
	}
	post := httptest.NewRequest("POST", "/pay/x", nil)
	post.AddCookie(c)
	if !f.check(post, "x", first) || !f.check(post, "x", second) {
		t.Fatal("tokens of two open pages of one browser must both work")
	}
}

func TestSameOrigin(t *testing.T) {
	h := &Handler{origin: "https://pay.example.com"}
	tests := []struct {
		name, origin, site string
		ok                 bool
	}{
		{"no headers (older browsers, tools)", "", "", true},
		{"public origin", "https://pay.example.com", "same-origin", true},
		{"public origin, other case", "HTTPS://Pay.Example.com", "", true},
		{"the request's own host", "http://internal:4000", "", true},
		{"another site", "https://evil.example", "", false},
		{"opaque origin", "null", "", false},
		{"opaque origin of a same-origin post (Referrer-Policy: no-referrer)", "null", "same-origin", true},
		{"opaque origin, typed by the user", "null", "none", false},
		{"opaque origin, cross-site", "null", "cross-site", false},
		{"another scheme", "http://pay.example.com", "", false},
		{"cross-site fetch", "", "cross-site", false},
		{"same-site fetch (a sibling subdomain)", "", "same-site", false},
		{"typed by the user", "", "none", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://internal:4000/pay/x", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.site != "" {
				r.Header.Set("Sec-Fetch-Site", tt.site)
			}
			if got := h.sameOrigin(r); got != tt.ok {
				t.Fatalf("sameOrigin = %v, want %v", got, tt.ok)
			}
		})
	}
}

// tamperMAC changes the first character of the token's MAC (its last
// part). The last character would not do: in unpadded base64 it carries
// bits that decoding may drop, so changing it can leave the MAC the same.
func tamperMAC(token string) string {
	i := strings.LastIndex(token, ".") + 1
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
