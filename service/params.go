package service

import (
	"time"

	"github.com/tillpay/till"
)

// The commands and results of the service's use cases: plain Go types that
// every API (the native /v1, each dialect) fills from its own wire format and
// renders from. Validation errors name the offending field by its domain
// path: the field's name here in lower camel case, with list indexes and
// nested fields as in lineItems[0].unitAmount. An API renames those paths
// to its own wire names with till.RenameFields.

// ChargeParams asks for a charge of a customer's saved payment method
// (SPEC §4); with ScheduledAt the charge is scheduled instead (SPEC §11).
type ChargeParams struct {
	CustomerID string
	// Amount is in the currency's minor unit; nil is refused as missing.
	Amount      *int64
	Currency    string
	Description string
	Metadata    till.Metadata
	// PaymentMethodID chooses the card; empty means the customer's default.
	PaymentMethodID string
	// TaxBehavior is "exclusive" or "inclusive"; empty means the account's.
	TaxBehavior string
	TaxCountry  string
	// Capture false places a hold; nil means true.
	Capture      *bool
	LineItems    []LineItemParams
	ScheduledAt  *time.Time
	ReceiptEmail string
	// SendReceipt false sends no receipt; nil means true.
	SendReceipt *bool
}

// LineItemParams itemizes a charge; the items' quantity × unitAmount must
// sum to the charge's amount.
type LineItemParams struct {
	Description string
	Quantity    *int64
	UnitAmount  *int64
	TaxCode     string
}

// PaymentUpdateParams changes a payment; nil fields stay as they are,
// metadata keys set to "" are removed.
type PaymentUpdateParams struct {
	Metadata        till.Metadata
	ScheduledAt     *time.Time
	PaymentMethodID *string
	Active          *bool
	// BillingAddress replaces the payment's billing address (any time).
	BillingAddress *till.Address
}

// CaptureParams captures a hold; a nil Amount captures all of it.
type CaptureParams struct {
	Amount *int64
}

// RefundParams refunds a payment. Amount is gross, in the terms of the
// payment's total; nil refunds everything still refundable.
type RefundParams struct {
	Amount *int64
	Reason string
}

// CustomerParams creates a customer.
type CustomerParams struct {
	Email    string
	Name     string
	Phone    string
	Address  till.Address
	TaxIDs   []till.TaxID
	Locale   string
	Metadata till.Metadata
	// ExternalID, TaxDocument and Timezone: see till.Customer.
	ExternalID  string
	TaxDocument string
	Timezone    string
}

// CustomerUpdateParams changes a customer; nil fields stay as they are,
// metadata keys set to "" are removed.
type CustomerUpdateParams struct {
	Email                  *string
	Name                   *string
	Phone                  *string
	Address                *till.Address
	TaxIDs                 *[]till.TaxID
	Locale                 *string
	Metadata               till.Metadata
	DefaultPaymentMethodID *string
	ExternalID             *string
	TaxDocument            *string
	Timezone               *string
}

// PaymentMethodParams saves a payment method on a customer: a card, a token
// made by CreateToken, or a processor's reference (a Stripe pm_…).
type PaymentMethodParams struct {
	Card        *till.Card
	Token       string
	Provider    string
	ProviderRef string
	SetDefault  bool
}

// TokenParams vaults a card without a customer (a publishable key's call).
type TokenParams struct {
	Card *till.Card
}

// Token is a vaulted card not yet attached to a customer; it can be
// attached once, before ExpiresAt.
type Token struct {
	Method    *till.PaymentMethod
	ExpiresAt time.Time
}

// Deleted reports the deletion of an object of a kind ("customer").
type Deleted struct {
	ID   string
	Kind string
}

// AccountParams changes an account's settings; nil fields stay as they are.
type AccountParams struct {
	Name               *string
	LegalName          *string
	Address            *till.Address
	OriginCountry      *string
	VATNumber          *string
	SupportEmail       *string
	ReceiptFrom        *string
	InvoicePrefix      *string
	DefaultTaxBehavior *string
	TaxRegistrations   *TaxRegistrationParams
	CustomTaxRates     *[]CustomTaxRateParams
	RetryPolicy        *till.RetryPolicy
	Branding           *till.Branding
	AllowedOrigins     *[]string
	Processor          *ProcessorParams
}

// TaxRegistrationParams says where the account is registered for tax: the
// EU's one-stop shop, and countries by ISO code.
type TaxRegistrationParams struct {
	EUOSS     bool
	Countries []string
}

// CustomTaxRateParams is a merchant-defined rate; Rate is a decimal
// percentage such as "8.875", parsed exactly.
type CustomTaxRateParams struct {
	Country string
	Region  string
	Rate    string
	Name    string
}

// ProcessorParams chooses the processor of the caller's mode.
type ProcessorParams struct {
	Name          string
	SecretKey     string
	WebhookSecret string
}

// NewAccountParams creates an account.
type NewAccountParams struct {
	Name    string
	Country string
}

// AccountKeys is a new account's id and its four keys, shown this once.
type AccountKeys struct {
	AccountID          string
	TestSecretKey      string
	TestPublishableKey string
	LiveSecretKey      string
	LivePublishableKey string
}

// KeyParams creates an API key: Mode "test" or "live", Kind "secret" (the
// default when empty) or "publishable".
type KeyParams struct {
	Mode string
	Kind string
}

// NewKey is a created API key with its secret, shown this once.
type NewKey struct {
	Key    *till.APIKey
	Secret string
}

// Clock is a test-mode account's clock: its time and how far it was moved.
type Clock struct {
	Now    time.Time
	Offset time.Duration
}

// SavedMethod is a saved payment method and whether it is its customer's
// default.
type SavedMethod struct {
	Method  *till.PaymentMethod
	Default bool
}
