package api

import (
	"time"

	"github.com/tillpay/till"
)

// Customer is the customer object (SPEC §3).
type Customer struct {
	ID                     string        `json:"id"`
	Object                 string        `json:"object"`
	Email                  string        `json:"email"`
	Name                   string        `json:"name"`
	Phone                  *string       `json:"phone"`
	Address                *Address      `json:"address"`
	TaxIDs                 []till.TaxID  `json:"taxIds"`
	Locale                 *string       `json:"locale"`
	Metadata               till.Metadata `json:"metadata"`
	DefaultPaymentMethodID *string       `json:"defaultPaymentMethodId"`
	ExternalID             *string       `json:"externalId"`
	TaxDocument            *string       `json:"taxDocument"`
	Timezone               *string       `json:"timezone"`
	Livemode               bool          `json:"livemode"`
	CreatedAt              time.Time     `json:"createdAt"`
	UpdatedAt              time.Time     `json:"updatedAt"`
}

// CustomerOf renders a customer.
func CustomerOf(c *till.Customer) Customer {
	ids := c.TaxIDs
	if ids == nil {
		ids = []till.TaxID{}
	}
	md := c.Metadata
	if md == nil {
		md = till.Metadata{}
	}
	return Customer{
		ID: c.ID, Object: "customer", Email: c.Email, Name: c.Name, Phone: str(c.Phone), Address: AddressOf(c.Address),
		TaxIDs: ids, Locale: str(c.Locale), Metadata: md, DefaultPaymentMethodID: str(c.DefaultPaymentMethodID),
		ExternalID: str(c.ExternalID), TaxDocument: str(c.TaxDocument), Timezone: str(c.Timezone), Livemode: c.Livemode, CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt),
	}
}

// DeletedObject answers a DELETE.
type DeletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// CustomerCreate is the body of POST /v1/customers.
type CustomerCreate struct {
	Email    string        `json:"email"`
	Name     string        `json:"name"`
	Phone    string        `json:"phone"`
	Address  *Address      `json:"address"`
	TaxIDs   []till.TaxID  `json:"taxIds"`
	Locale   string        `json:"locale"`
	Metadata till.Metadata `json:"metadata"`
	// ExternalID is your own id for the customer; TaxDocument its tax
	// identification number as written locally; Timezone an IANA name.
	ExternalID  string `json:"externalId"`
	TaxDocument string `json:"taxDocument"`
	Timezone    string `json:"timezone"`
}

// CustomerUpdate is the body of PATCH /v1/customers/{id}; absent fields stay
// as they are, metadata keys set to "" are removed.
type CustomerUpdate struct {
	Email                  *string       `json:"email"`
	Name                   *string       `json:"name"`
	Phone                  *string       `json:"phone"`
	Address                *Address      `json:"address"`
	TaxIDs                 *[]till.TaxID `json:"taxIds"`
	Locale                 *string       `json:"locale"`
	Metadata               till.Metadata `json:"metadata"`
	DefaultPaymentMethodID *string       `json:"defaultPaymentMethodId"`
	ExternalID             *string       `json:"externalId"`
	TaxDocument            *string       `json:"taxDocument"`
	Timezone               *string       `json:"timezone"`
}

// CardInput is cardholder data sent to vault a card. It is only ever
// decoded, never rendered.
type CardInput struct {
	Number     string `json:"number"`
	ExpMonth   int    `json:"expMonth"`
	ExpYear    int    `json:"expYear"`
	CVC        string `json:"cvc"`
	HolderName string `json:"holderName"`
}

// Domain converts to the in-memory card, which redacts itself in logs.
func (c *CardInput) Domain() till.Card {
	return till.Card{Number: c.Number, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, CVC: c.CVC, HolderName: c.HolderName}
}

// PaymentMethodCreate is the body of POST /v1/customers/{id}/payment-methods:
// a card, a token made by POST /v1/tokens, or a processor's reference (a
// Stripe pm_…).
type PaymentMethodCreate struct {
	Card        *CardInput `json:"card"`
	Token       string     `json:"token"`
	Provider    string     `json:"provider"`
	ProviderRef string     `json:"providerRef"`
	SetDefault  bool       `json:"setDefault"`
}

// PaymentMethod is the payment method object (SPEC §3).
type PaymentMethod struct {
	ID         string      `json:"id"`
	Object     string      `json:"object"`
	CustomerID *string     `json:"customerId"`
	Type       string      `json:"type"`
	Card       CardDetails `json:"card"`
	IsDefault  bool        `json:"isDefault"`
	Provider   string      `json:"provider"`
	Livemode   bool        `json:"livemode"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// CardDetails are the displayable facts of a saved card.
type CardDetails struct {
	Brand       string  `json:"brand"`
	Last4       string  `json:"last4"`
	ExpMonth    int     `json:"expMonth"`
	ExpYear     int     `json:"expYear"`
	Fingerprint string  `json:"fingerprint"`
	Country     *string `json:"country"`
}

// PaymentMethodOf renders a payment method; isDefault says whether it is its
// customer's default.
func PaymentMethodOf(pm *till.PaymentMethod, isDefault bool) PaymentMethod {
	return PaymentMethod{
		ID: pm.ID, Object: "payment_method", CustomerID: str(pm.CustomerID), Type: "card",
		Card: CardDetails{Brand: pm.Card.Brand, Last4: pm.Card.Last4, ExpMonth: pm.Card.ExpMonth, ExpYear: pm.Card.ExpYear,
			Fingerprint: pm.Card.Fingerprint, Country: str(pm.Card.Country)},
		IsDefault: isDefault, Provider: pm.Provider, Livemode: pm.Livemode, CreatedAt: utc(pm.CreatedAt),
	}
}

// TokenCreate is the body of POST /v1/tokens (publishable key).
type TokenCreate struct {
	Card *CardInput `json:"card"`
}

// Token is a single-use card token, attachable to a customer within an hour.
type Token struct {
	ID        string      `json:"id"`
	Object    string      `json:"object"`
	Card      CardDetails `json:"card"`
	Used      bool        `json:"used"`
	Livemode  bool        `json:"livemode"`
	CreatedAt time.Time   `json:"createdAt"`
	ExpiresAt time.Time   `json:"expiresAt"`
}

// CustomerSession is a customer's short-lived credential (the Orders &
// Subscriptions user role). Token is set only in the answer that made it.
type CustomerSession struct {
	ID         string     `json:"id"`
	Object     string     `json:"object"`
	CustomerID string     `json:"customerId"`
	Token      string     `json:"token,omitempty"`
	Last4      string     `json:"last4"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	CreatedAt  time.Time  `json:"createdAt"`
	Livemode   bool       `json:"livemode"`
}

// CustomerSessionOf renders a session without its token.
func CustomerSessionOf(cs *till.CustomerSession) CustomerSession {
	return CustomerSession{ID: cs.ID, Object: "customer_session", CustomerID: cs.CustomerID, Last4: cs.Last4,
		ExpiresAt: utc(cs.ExpiresAt), RevokedAt: utcp(cs.RevokedAt), CreatedAt: utc(cs.CreatedAt), Livemode: cs.Livemode}
}

// CustomerSessionCreate is the body of POST /v1/customers/{id}/sessions.
type CustomerSessionCreate struct {
	// ExpiresIn is the lifetime in seconds (60 to 86400; default 3600).
	ExpiresIn *int64 `json:"expiresIn"`
}
