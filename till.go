// Package till holds Till's domain: accounts, customers, payment methods,
// payments and their status machine, money and tax rates, the one error type,
// and the interfaces that adapters implement (Store, Processor, Clock,
// IDSource). It imports only the standard library; every other package of
// Till imports it, never the reverse.
package till

import (
	"crypto/rand"
	"time"
	"unicode/utf8"
)

// Clock tells the time. The domain never calls time.Now directly so that tests
// and test-mode accounts can move time forward.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ID prefixes of the object types. IDs are the prefix followed by 22 base62
// characters: the big-endian, zero-padded base62 encoding of a UUIDv7 (RFC
// 9562: 48 bits of the creation time in milliseconds first, then 74 random
// bits). They are unguessable yet sort by creation time, as strings too
// (the base62 alphabet is in ASCII order) — index inserts append instead of
// touching a random page of every index — and each is one UUID, which the
// dialects that speak UUIDs show (IDToUUID, IDFromUUID).
const (
	PrefixAccount       = "acct_"
	PrefixKey           = "key_"
	PrefixCustomer      = "cus_"
	PrefixSession       = "cses_"
	PrefixOrder         = "ord_"
	PrefixSubscription  = "sub_"
	PrefixPaymentMethod = "pm_"
	PrefixPayment       = "pay_"
	PrefixAttempt       = "att_"
	PrefixRefund        = "re_"
	PrefixInvoice       = "in_"
	PrefixCreditNote    = "cn_"
	PrefixEvent         = "evt_"
	PrefixWebhook       = "we_"
	PrefixDelivery      = "whd_"
	PrefixDataKey       = "dk_"
	PrefixTask          = "task_"
	PrefixLedgerEntry   = "le_"
	PrefixEmail         = "em_"
)

// IDSource makes new object IDs.
type IDSource interface {
	NewID(prefix string) string
}

// RandomIDs is the production IDSource: crypto/rand, base62.
type RandomIDs struct{}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix followed by the 22 base62 characters of a new
// UUIDv7 of the current Unix time in milliseconds.
func (RandomIDs) NewID(prefix string) string {
	var u [16]byte
	if _, err := rand.Read(u[6:]); err != nil {
		panic("till: crypto/rand failed: " + err.Error())
	}
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // variant 10
	return prefix + encodeBase62(u)
}

// RandomString returns n characters drawn uniformly from base62 using
// crypto/rand.
func RandomString(n int) string {
	out := make([]byte, n)
	buf := make([]byte, n+n/2+8)
	i := 0
	for i < n {
		if _, err := rand.Read(buf); err != nil {
			panic("till: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			if b >= 248 { // 248 = 62*4: reject to keep the draw uniform
				continue
			}
			out[i] = base62[b%62]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code in upper
// case.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

// IsZero reports whether a has no field set.
func (a Address) IsZero() bool { return a == Address{} }

// Metadata is a merchant's free-form key-value data on an object.
type Metadata map[string]string

// Metadata limits (SPEC §1).
const (
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
)

// ValidateMetadata records problems with m under field in v.
func ValidateMetadata(v *Validator, field string, m Metadata) {
	if len(m) > MaxMetadataKeys {
		v.Add(field, "metadata can have at most %d keys", MaxMetadataKeys)
		return
	}
	for k, val := range m {
		switch {
		case k == "":
			v.Add(field, "metadata keys cannot be empty")
		case utf8.RuneCountInString(k) > MaxMetadataKeyLen:
			v.Add(field+"."+k, "metadata keys can be at most %d characters", MaxMetadataKeyLen)
		case utf8.RuneCountInString(val) > MaxMetadataValueLen:
			v.Add(field+"."+k, "metadata values can be at most %d characters", MaxMetadataValueLen)
		}
	}
}

// MergeMetadata applies a patch: a key with an empty value is removed, any
// other key is set. It returns the merged copy.
func MergeMetadata(base, patch Metadata) Metadata {
	out := Metadata{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range patch {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// TaxBehavior says whether a payment's amount excludes or includes tax.
type TaxBehavior string

// Tax behaviours.
const (
	TaxExclusive TaxBehavior = "exclusive"
	TaxInclusive TaxBehavior = "inclusive"
)

// Valid reports whether b is a known tax behaviour.
func (b TaxBehavior) Valid() bool { return b == TaxExclusive || b == TaxInclusive }
