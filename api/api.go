// Package api defines the wire types of Till's native API (/v1): the request
// bodies it accepts and the objects it returns, with the conversions from
// domain objects. The server, the Go client and the compatible dialects share
// these types, so a field has one name everywhere.
package api

import (
	"time"

	"github.com/tillpay/till"
)

// Envelope is every native response: {"success": true, "data": …} on
// success, {"success": false, "error": …} otherwise. Lists add hasMore and
// nextCursor.
type Envelope[T any] struct {
	Success    bool    `json:"success"`
	Data       T       `json:"data,omitempty"`
	HasMore    *bool   `json:"hasMore,omitempty"`
	NextCursor *string `json:"nextCursor,omitempty"`
	Error      *Error  `json:"error,omitempty"`
}

// Error is the error object of the envelope (SPEC §1).
type Error struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	Details any    `json:"details,omitempty"`
	DocURL  string `json:"doc_url"`
}

// str returns nil for "", so absent strings render as null.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

// AddressOf converts a domain address; a zero address is nil.
func AddressOf(a till.Address) *Address {
	if a.IsZero() {
		return nil
	}
	v := Address(a)
	return &v
}

// Domain converts back to the domain type.
func (a *Address) Domain() till.Address {
	if a == nil {
		return till.Address{}
	}
	return till.Address(*a)
}

// Account is the account object (SPEC §2).
type Account struct {
	ID                 string           `json:"id"`
	Object             string           `json:"object"`
	Name               string           `json:"name"`
	LegalName          string           `json:"legalName"`
	Address            *Address         `json:"address"`
	OriginCountry      string           `json:"originCountry"`
	VATNumber          string           `json:"vatNumber"`
	SupportEmail       string           `json:"supportEmail"`
	ReceiptFrom        string           `json:"receiptFrom"`
	InvoicePrefix      string           `json:"invoicePrefix"`
	DefaultTaxBehavior string           `json:"defaultTaxBehavior"`
	TaxRegistrations   TaxRegistrations `json:"taxRegistrations"`
	CustomTaxRates     []CustomTaxRate  `json:"customTaxRates"`
	RetryPolicy        till.RetryPolicy `json:"retryPolicy"`
	Branding           till.Branding    `json:"branding"`
	AllowedOrigins     []string         `json:"allowedOrigins"`
	Processor          AccountProcessor `json:"processor"`
	Livemode           bool             `json:"livemode"`
	CreatedAt          time.Time        `json:"createdAt"`
}

// TaxRegistrations says where an account collects tax besides its origin.
type TaxRegistrations struct {
	EUOSS     bool     `json:"euOss"`
	Countries []string `json:"countries"`
}

// CustomTaxRate is a merchant-defined rate; Rate is a decimal percentage
// string such as "8.875".
type CustomTaxRate struct {
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
	Rate    string `json:"rate"`
	Name    string `json:"name"`
}

// AccountProcessor shows the processor of the key's mode; the secret key is
// only ever shown by its last four characters.
type AccountProcessor struct {
	Name           string  `json:"name"`
	SecretKeyLast4 *string `json:"secretKeyLast4"`
	// WebhookSecretLast4 shows the secret that signs the processor's
	// webhooks (Stripe's whsec_…) by its last four characters.
	WebhookSecretLast4 *string `json:"webhookSecretLast4"`
}

// AccountOf renders a for a key of the given mode.
func AccountOf(a *till.Account, livemode bool) Account {
	rates := make([]CustomTaxRate, 0, len(a.CustomTaxRates))
	for _, r := range a.CustomTaxRates {
		rates = append(rates, CustomTaxRate{Country: r.Country, Region: r.Region, Rate: r.Rate.String(), Name: r.Name})
	}
	countries := a.TaxRegistrations.Countries
	if countries == nil {
		countries = []string{}
	}
	retry := a.RetryPolicy
	if retry.DelaysDays == nil {
		retry.DelaysDays = []int{}
	}
	origins := a.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	proc := a.Processor(livemode)
	name := proc.Name
	switch {
	case name != "":
	case livemode:
		name = "none" // live mode has no processor until one is configured
	default:
		name = till.ProcessorSimulator
	}
	return Account{
		ID: a.ID, Object: "account", Name: a.Name, LegalName: a.LegalName, Address: AddressOf(a.Address),
		OriginCountry: a.OriginCountry, VATNumber: a.VATNumber, SupportEmail: a.SupportEmail, ReceiptFrom: a.ReceiptFrom,
		InvoicePrefix: a.InvoicePrefix, DefaultTaxBehavior: string(a.DefaultTaxBehavior),
		TaxRegistrations: TaxRegistrations{EUOSS: a.TaxRegistrations.EUOSS, Countries: countries},
		CustomTaxRates:   rates, RetryPolicy: retry, Branding: a.Branding, AllowedOrigins: origins,
		Processor: AccountProcessor{Name: name, SecretKeyLast4: str(proc.SecretKeyLast4), WebhookSecretLast4: str(proc.WebhookSecretLast4)},
		Livemode:  livemode, CreatedAt: utc(a.CreatedAt),
	}
}

// AccountUpdate is the body of PATCH /v1/account. Absent fields are left as
// they are.
type AccountUpdate struct {
	Name               *string            `json:"name"`
	LegalName          *string            `json:"legalName"`
	Address            *Address           `json:"address"`
	OriginCountry      *string            `json:"originCountry"`
	VATNumber          *string            `json:"vatNumber"`
	SupportEmail       *string            `json:"supportEmail"`
	ReceiptFrom        *string            `json:"receiptFrom"`
	InvoicePrefix      *string            `json:"invoicePrefix"`
	DefaultTaxBehavior *string            `json:"defaultTaxBehavior"`
	TaxRegistrations   *TaxRegistrations  `json:"taxRegistrations"`
	CustomTaxRates     *[]CustomTaxRate   `json:"customTaxRates"`
	RetryPolicy        *till.RetryPolicy  `json:"retryPolicy"`
	Branding           *till.Branding     `json:"branding"`
	AllowedOrigins     *[]string          `json:"allowedOrigins"`
	Processor          *ProcessorSettings `json:"processor"`
}

// ProcessorSettings chooses the processor of the key's mode.
type ProcessorSettings struct {
	Name          string `json:"name"`
	SecretKey     string `json:"secretKey,omitempty"`
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

// NewAccount is the body of POST /v1/admin/accounts.
type NewAccount struct {
	Name    string `json:"name"`
	Country string `json:"country"`
}

// NewAccountKeys is the answer to account creation: the account id and its
// four keys, shown this once.
type NewAccountKeys struct {
	ID                 string `json:"id"`
	TestSecretKey      string `json:"testSecretKey"`
	TestPublishableKey string `json:"testPublishableKey"`
	LiveSecretKey      string `json:"liveSecretKey"`
	LivePublishableKey string `json:"livePublishableKey"`
}

// NewKey is the body of POST /v1/admin/accounts/{id}/keys.
type NewKey struct {
	Mode string `json:"mode"` // test | live
	Kind string `json:"kind"` // secret (default) | publishable
}

// Key is an API key; Secret is set only in the answer that created it.
type Key struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	AccountID string     `json:"accountId"`
	Kind      string     `json:"kind"`
	Livemode  bool       `json:"livemode"`
	Secret    string     `json:"secret,omitempty"`
	Last4     string     `json:"last4"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt"`
}

// KeyOf renders an API key without its secret.
func KeyOf(k *till.APIKey) Key {
	return Key{ID: k.ID, Object: "api_key", AccountID: k.AccountID, Kind: string(k.Kind), Livemode: k.Livemode,
		Last4: k.Last4, CreatedAt: utc(k.CreatedAt), RevokedAt: utcp(k.RevokedAt)}
}
