package middleware

import (
	"net/http"
	"path"
	"strings"
)

// RequireCanonicalPath refuses, through ew with the till.ENotFound error of
// NotFound, a request whose path has an empty, "." or ".." segment. Without
// it http.ServeMux would answer 307 to the cleaned path, which a client
// follows, re-sending a POST to another URL: an empty segment
// ("/v1/customers//payment-methods") is a missing id, not a request for
// another resource. A trailing slash is allowed.
func RequireCanonicalPath(h http.Handler, ew ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canonical(r.URL.Path) {
			ew(w, r, NotFound(r))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// canonical reports whether p is already in canonical form: no empty, "."
// or ".." segment (a trailing slash aside).
func canonical(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// A Prefix is one mounted API of ByPrefix: the requests whose path starts
// with Path, which begins and ends with "/" ("/pay/"), or equals Path
// without its trailing slash ("/pay"), go to Handler.
type Prefix struct {
	Path    string
	Handler http.Handler
	// When, if set, narrows the prefix to the requests it reports true
	// for (two APIs sharing a path, told apart by their authentication);
	// the others go where they would without this prefix.
	When func(*http.Request) bool
}

// ByPrefix returns the top-level handler of several mounted APIs: each
// request goes to the Handler of the longest Prefix its path falls under,
// any other request to fallback. Unlike http.ServeMux it compares the path
// as sent, never cleaning it or redirecting, so that each API's own
// RequireCanonicalPath answers a non-canonical path in that API's shape.
// It panics if a Path does not begin and end with "/".
func ByPrefix(fallback http.Handler, prefixes ...Prefix) http.Handler {
	for _, p := range prefixes {
		if len(p.Path) < 2 || !strings.HasPrefix(p.Path, "/") || !strings.HasSuffix(p.Path, "/") {
			panic("middleware: ByPrefix path " + p.Path + " must begin and end with /")
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, best := fallback, 0
		for _, p := range prefixes {
			if len(p.Path) > best && (strings.HasPrefix(r.URL.Path, p.Path) || r.URL.Path == p.Path[:len(p.Path)-1]) &&
				(p.When == nil || p.When(r)) {
				h, best = p.Handler, len(p.Path)
			}
		}
		h.ServeHTTP(w, r)
	})
}
