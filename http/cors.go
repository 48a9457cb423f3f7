package http

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tillpay/till"
)

// Cross-origin calls from browsers (CORS). Only POST /v1/tokens takes them:
// a merchant's own checkout page tokenizes a card with the publishable key,
// so that the card number goes from the payer's browser to Till and never
// through the merchant's server. Every other route is for servers holding a
// secret key and answers no CORS headers, so a browser page can never read
// its responses.
//
// The preflight (OPTIONS) carries no key, so it cannot know the account: it
// allows any origin to ask. The call itself is refused with 403 unless its
// Origin is one of the account's allowedOrigins; its responses, the refusal
// included, carry Access-Control-Allow-Origin for the calling origin so that
// the page can read Till's error. No cookies are involved (no
// Access-Control-Allow-Credentials).

// corsMaxAge is how long a browser may cache a preflight's answer.
const corsMaxAge = 10 * time.Minute

// corsRequestHeaders are the request headers a cross-origin call may send.
const corsRequestHeaders = "Authorization, Content-Type, Idempotency-Key, X-Api-Key"

// corsExposedHeaders are the response headers a page may read.
const corsExposedHeaders = "Request-Id, Idempotent-Replayed"

// corsHeaders lets the page of a request's Origin read the response.
func corsHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Add("Vary", "Origin")
		if o := r.Header.Get("Origin"); o != "" {
			hd.Set("Access-Control-Allow-Origin", o)
			hd.Set("Access-Control-Expose-Headers", corsExposedHeaders)
		}
		h.ServeHTTP(w, r)
	})
}

// preflight answers a browser's OPTIONS before a cross-origin call of
// method: which method and headers it may send, for how long.
func preflight(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		hd.Set("Allow", method+", OPTIONS")
		if o := r.Header.Get("Origin"); o != "" && r.Header.Get("Access-Control-Request-Method") == method {
			hd.Set("Access-Control-Allow-Origin", o)
			hd.Set("Access-Control-Allow-Methods", method)
			hd.Set("Access-Control-Allow-Headers", corsRequestHeaders)
			hd.Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge.Seconds())))
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// allowOrigin refuses a browser call whose Origin is not one of the
// account's allowedOrigins. A call without Origin (a server's) passes.
func allowOrigin(r *http.Request, a *till.Account) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	if norm, ok := till.NormalizeOrigin(o); ok && slices.Contains(a.AllowedOrigins, norm) {
		return nil
	}
	return till.Errorf(till.EForbidden,
		"This account does not let pages of %.100q create card tokens; add the origin to allowedOrigins with PATCH /v1/account.", o)
}
