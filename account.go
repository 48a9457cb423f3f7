package till

import "time"

// Account is a merchant. Its settings are shared by test and live mode except
// the processor, which is chosen per mode.
type Account struct {
	ID                 string           `json:"ID"`
	Name               string           `json:"Name"`
	LegalName          string           `json:"LegalName"`
	Address            Address          `json:"Address"`
	OriginCountry      string           `json:"OriginCountry"`
	VATNumber          string           `json:"VATNumber"`
	SupportEmail       string           `json:"SupportEmail"`
	ReceiptFrom        string           `json:"ReceiptFrom"`
	InvoicePrefix      string           `json:"InvoicePrefix"`
	DefaultTaxBehavior TaxBehavior      `json:"DefaultTaxBehavior"`
	TaxRegistrations   TaxRegistrations `json:"TaxRegistrations"`
	CustomTaxRates     []CustomTaxRate  `json:"CustomTaxRates"`
	RetryPolicy        RetryPolicy      `json:"RetryPolicy"`
	Branding           Branding         `json:"Branding"`
	// AllowedOrigins are the origins (scheme://host[:port]) of the
	// merchant's own pages that may create card tokens from a browser
	// with the publishable key (CORS on POST /v1/tokens).
	AllowedOrigins []string          `json:"AllowedOrigins"`
	TestProcessor  ProcessorSettings `json:"TestProcessor"`
	LiveProcessor  ProcessorSettings `json:"LiveProcessor"`
	// TestClockOffset moves this account's test-mode clock ahead of the
	// wall clock (POST /v1/test/clock/advance). Live mode ignores it.
	TestClockOffset time.Duration `json:"TestClockOffset"`
	// Version rises with every change.
	Version   int64     `json:"Version"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// Processor returns the processor settings of the given mode.
func (a *Account) Processor(livemode bool) ProcessorSettings {
	if livemode {
		return a.LiveProcessor
	}
	return a.TestProcessor
}

// Now returns the time of the account's clock in the given mode: the wall
// clock, moved by the test clock offset in test mode.
func (a *Account) Now(c Clock, livemode bool) time.Time {
	t := c.Now()
	if !livemode {
		t = t.Add(a.TestClockOffset)
	}
	return t
}

// TaxRegistrations says where an account collects tax besides its origin
// country.
type TaxRegistrations struct {
	EUOSS     bool     `json:"euOss"`
	Countries []string `json:"countries"`
}

// CustomTaxRate is a merchant-defined rate that wins over the built-in table
// where country (and region, if set) match the customer's location.
type CustomTaxRate struct {
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
	Rate    Rate   `json:"rate"`
	Name    string `json:"name"`
}

// RetryPolicy says when soft-declined charges are retried.
type RetryPolicy struct {
	Enabled    bool  `json:"enabled"`
	DelaysDays []int `json:"delaysDays"`
}

// DefaultRetryPolicy retries soft declines after 1, 3 and 5 days (SPEC §11).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Enabled: true, DelaysDays: []int{1, 3, 5}}
}

// Branding is how the account appears on the checkout page and receipts.
type Branding struct {
	DisplayName string `json:"displayName"`
	Color       string `json:"color"`
}

// ProcessorSettings names the processor of one mode. The secret key and the
// secret that signs the processor's webhooks are kept sealed (encrypted like
// card data), each under its own data key, and only their last four
// characters are ever shown.
type ProcessorSettings struct {
	Name                string `json:"name"`
	SecretKeyLast4      string `json:"secretKeyLast4"`
	SealedSecretKey     []byte `json:"sealedSecretKey,omitempty"`
	DataKeyID           string `json:"dataKeyId,omitempty"`
	WebhookSecretLast4  string `json:"webhookSecretLast4,omitempty"`
	SealedWebhookSecret []byte `json:"sealedWebhookSecret,omitempty"`
	WebhookDataKeyID    string `json:"webhookDataKeyId,omitempty"`
}

// Processor names.
const (
	ProcessorSimulator = "simulator"
	ProcessorStripe    = "stripe"
)

// KeyKind says what an API key may do.
type KeyKind string

// Key kinds: secret keys do everything in their mode, publishable keys only
// tokenize cards from a browser, and a customer session (a CustomerSession,
// not an APIKey row) reaches only its customer's own objects.
const (
	KeySecret      KeyKind = "secret"
	KeyPublishable KeyKind = "publishable"
	KeyCustomer    KeyKind = "customer"
)

// APIKey is an account's key for one mode. Only the SHA-256 hash of the key
// is stored; the key itself is shown once, when it is made.
type APIKey struct {
	ID        string
	AccountID string
	Livemode  bool
	Kind      KeyKind
	Hash      []byte // SHA-256 of the whole key string
	Prefix    string // "sk_test_", "pk_live_", …
	Last4     string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// KeyPrefix returns the string every key of this kind and mode starts with.
func KeyPrefix(kind KeyKind, livemode bool) string {
	p := "sk_"
	if kind == KeyPublishable {
		p = "pk_"
	}
	if livemode {
		return p + "live_"
	}
	return p + "test_"
}

// DataKey is a data-encryption key wrapped (AES-256-GCM) by a master key. The
// master key is identified by a short hash of itself, so Till can tell which
// master key a data key needs and refuse to start without it.
type DataKey struct {
	ID          string
	MasterKeyID string
	Wrapped     []byte
	Purpose     string // "card" or "fingerprint"
	Active      bool   // new data is sealed under the active key of its purpose
	CreatedAt   time.Time
}

// Data key purposes.
const (
	DataKeyCard        = "card"
	DataKeyFingerprint = "fingerprint"
)
