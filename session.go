package till

import "time"

// CustomerSession is a short-lived credential of one customer (SPEC §13, the
// Orders & Subscriptions "user" role): its token (cs_test_…, cs_live_…)
// reaches only that customer's own orders, subscriptions and payments, and
// nothing an API key of the merchant reaches. The token is stored only as
// its SHA-256 hash, like API keys.
type CustomerSession struct {
	ID         string
	AccountID  string
	Livemode   bool
	CustomerID string
	Hash       []byte // SHA-256 of the whole token
	Last4      string
	CreatedAt  time.Time
	// ExpiresAt is on the account's clock; the session is refused from
	// then on.
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// SessionPrefix returns the string every customer session token of a mode
// starts with.
func SessionPrefix(livemode bool) string {
	if livemode {
		return "cs_live_"
	}
	return "cs_test_"
}

// Active reports whether the session may be used at time now (the
// account's clock).
func (s *CustomerSession) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}
