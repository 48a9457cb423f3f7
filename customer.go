package till

import (
	"log/slog"
	"time"
)

// Customer is a merchant's customer, who owns saved payment methods.
type Customer struct {
	ID                     string   `json:"ID"`
	AccountID              string   `json:"AccountID"`
	Livemode               bool     `json:"Livemode"`
	Email                  string   `json:"Email"`
	Name                   string   `json:"Name"`
	Phone                  string   `json:"Phone"`
	Address                Address  `json:"Address"`
	TaxIDs                 []TaxID  `json:"TaxIDs"`
	Locale                 string   `json:"Locale"`
	Metadata               Metadata `json:"Metadata"`
	DefaultPaymentMethodID string   `json:"DefaultPaymentMethodID"`
	// ExternalID is the merchant's own id for this customer (the Commet
	// dialect's externalId); empty when unset.
	ExternalID string `json:"ExternalID"`
	// TaxDocument is the customer's tax identification number as the
	// merchant wrote it, in no particular scheme (the Commet dialect's
	// taxDocument); TaxIDs are the typed ids tax rules read. Empty when
	// unset.
	TaxDocument string `json:"TaxDocument"`
	// Timezone is the customer's IANA time zone ("Europe/Berlin"); empty
	// when unset.
	Timezone  string    `json:"Timezone"`
	Deleted   bool      `json:"Deleted"`
	Version   int64     `json:"Version"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// TaxID is a customer's tax identification number, e.g. {eu_vat, DE123456789}.
type TaxID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Tax ID types accepted on customers.
var TaxIDTypes = map[string]bool{
	"eu_vat": true, "gb_vat": true, "ch_vat": true, "no_vat": true, "au_abn": true,
	"nz_gst": true, "sg_gst": true, "ca_gst_hst": true, "in_gst": true, "za_vat": true,
	"jp_cn": true, "is_vat": true, "us_ein": true,
}

// PaymentMethod is a saved card: a recurring token that can be charged
// off-session any number of times. The PAN is held only sealed.
type PaymentMethod struct {
	ID         string      `json:"ID"`
	AccountID  string      `json:"AccountID"`
	Livemode   bool        `json:"Livemode"`
	CustomerID string      `json:"CustomerID"`
	Type       string      `json:"Type"` // "card"
	Card       CardDetails `json:"Card"`
	// Provider is the processor that can charge this method: "simulator"
	// for cards vaulted by Till, "stripe" for a Stripe PaymentMethod.
	Provider string `json:"Provider"`
	// ProviderRef is the processor's own reference (Stripe's pm_…) when the
	// card data lives with the processor, not in Till.
	ProviderRef string `json:"ProviderRef"`
	// SealedPAN is the card number encrypted under DataKeyID; nil once the
	// method is detached (its card data destroyed) or for provider methods.
	SealedPAN []byte `json:"SealedPAN"`
	DataKeyID string `json:"DataKeyID"`
	// Version rises with every change.
	Version    int64      `json:"Version"`
	CreatedAt  time.Time  `json:"CreatedAt"`
	DetachedAt *time.Time `json:"DetachedAt"`
}

// CardDetails are the displayable facts of a card: never the number or CVC.
type CardDetails struct {
	Brand       string `json:"brand"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"expMonth"`
	ExpYear     int    `json:"expYear"`
	Fingerprint string `json:"fingerprint"`
	Country     string `json:"country,omitempty"`
	HolderName  string `json:"holderName,omitempty"`
}

// Card is cardholder data in the clear, alive only in memory between the
// request (or the vault) and the processor. Its String, GoString and LogValue
// methods redact the number and CVC, so it cannot leak through fmt or slog.
type Card struct {
	Number     string
	ExpMonth   int
	ExpYear    int
	CVC        string
	HolderName string
}

// String redacts the card.
func (c Card) String() string {
	last4 := ""
	if len(c.Number) >= 4 {
		last4 = c.Number[len(c.Number)-4:]
	}
	return "card(****" + last4 + ")"
}

// GoString redacts the card.
func (c Card) GoString() string { return c.String() }

// LogValue redacts the card in structured logs.
func (c Card) LogValue() slog.Value { return slog.StringValue(c.String()) }
