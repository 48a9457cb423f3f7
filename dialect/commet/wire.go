package commet

import (
	"encoding/json"
	"time"

	"github.com/tillpay/till"
)

// Customer is Commet's customer object.
type Customer struct {
	ID          string  `json:"id"`
	ExternalID  *string `json:"externalId"`
	FullName    *string `json:"fullName"`
	Email       string  `json:"email"`
	TaxDocument *string `json:"taxDocument"`
	// DocumentType is the local name of the tax document (CUIT, RFC, …),
	// which Till does not infer: always null.
	DocumentType *string           `json:"documentType"`
	Timezone     *string           `json:"timezone"`
	Address      *Address          `json:"address"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
	Object       string            `json:"object"`
	Livemode     bool              `json:"livemode"`
}

// Address is Commet's postal address. Region, which the SDK's type has
// beside state, has no place in Till's address and is refused.
type Address struct {
	Line1      string  `json:"line1"`
	Line2      string  `json:"line2,omitempty"`
	City       string  `json:"city"`
	State      string  `json:"state,omitempty"`
	PostalCode string  `json:"postalCode"`
	Country    string  `json:"country"`
	Region     *string `json:"region,omitempty"`
}

// optional returns a pointer to s, nil for "" (Commet's null).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// metadata renders metadata, nil (null) when empty.
func metadata(m till.Metadata) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// customerOf renders a customer.
func customerOf(c *till.Customer) Customer {
	out := Customer{ID: c.ID, ExternalID: optional(c.ExternalID), FullName: optional(c.Name), Email: c.Email,
		TaxDocument: optional(c.TaxDocument), Timezone: optional(c.Timezone), Metadata: metadata(c.Metadata),
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), Object: "customer", Livemode: c.Livemode}
	if !c.Address.IsZero() {
		a := c.Address
		out.Address = &Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out
}

// Payment is Commet's payment object (a charge or a payment link).
type Payment struct {
	ID         string  `json:"id"`
	CustomerID *string `json:"customerId"`
	Kind       string  `json:"kind"`
	Status     string  `json:"status"`
	// Provider is the processor that handled the payment, by Till's name
	// ("simulator" in test mode, "stripe").
	Provider       string            `json:"provider"`
	AmountSubtotal int64             `json:"amountSubtotal"`
	TaxAmount      int64             `json:"taxAmount"`
	AmountTotal    int64             `json:"amountTotal"`
	Currency       string            `json:"currency"`
	Description    string            `json:"description"`
	Metadata       map[string]string `json:"metadata"`
	URL            *string           `json:"url"`
	ExpiresAt      *time.Time        `json:"expiresAt"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	Object         string            `json:"object"`
	Livemode       bool              `json:"livemode"`
}

// Commet's payment statuses.
const (
	statusPending        = "pending"
	statusProcessing     = "processing"
	statusSucceeded      = "succeeded"
	statusRequiresAction = "requires_action"
	statusFailed         = "failed"
	statusCanceled       = "canceled"
)

// statuses maps each of Till's statuses to Commet's six (the README's
// table): money taken stays succeeded whatever follows (refunds, disputes),
// a hold is still processing, a planned retry has failed for now, and an
// expired link is canceled.
var statuses = map[till.Status]string{
	till.StatusPending:           statusPending,
	till.StatusScheduled:         statusPending,
	till.StatusProcessing:        statusProcessing,
	till.StatusAuthorized:        statusProcessing,
	till.StatusRequiresAction:    statusRequiresAction,
	till.StatusSucceeded:         statusSucceeded,
	till.StatusPartiallyRefunded: statusSucceeded,
	till.StatusRefunded:          statusSucceeded,
	till.StatusDisputed:          statusSucceeded,
	till.StatusFailed:            statusFailed,
	till.StatusRetryScheduled:    statusFailed,
	till.StatusCanceled:          statusCanceled,
	till.StatusExpired:           statusCanceled,
}

// statusOf returns Commet's status of a payment.
func statusOf(s till.Status) string {
	if st, ok := statuses[s]; ok {
		return st
	}
	// Every status is in the table (a test checks it); an unknown one is
	// shown as processing rather than as a state it is not.
	return statusProcessing
}

// paymentOf renders a payment.
func paymentOf(p *till.Payment) Payment {
	out := Payment{ID: p.ID, CustomerID: optional(p.CustomerID), Kind: string(p.Kind), Status: statusOf(p.Status),
		Provider: p.Provider, AmountSubtotal: p.AmountSubtotal, TaxAmount: p.TaxAmount, AmountTotal: p.AmountTotal,
		Currency: p.Currency, Description: p.Description, Metadata: metadata(p.Metadata), URL: optional(p.URL),
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(), Object: "payment", Livemode: p.Livemode}
	if p.ExpiresAt != nil {
		t := p.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

// Webhook is Commet's webhook endpoint object.
type Webhook struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"`
	Livemode    bool      `json:"livemode"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description *string   `json:"description"`
	IsActive    bool      `json:"isActive"`
	APIVersion  string    `json:"apiVersion"`
	CreatedAt   time.Time `json:"createdAt"`
	// SecretKey is the signing secret, shown once: at creation.
	SecretKey string `json:"secretKey,omitempty"`
}

func webhookOf(ep *till.WebhookEndpoint) Webhook {
	return Webhook{ID: ep.ID, Object: "webhook", Livemode: ep.Livemode, URL: ep.URL, Events: ep.Events,
		Description: optional(ep.Description), IsActive: ep.Enabled, APIVersion: APIVersion, CreatedAt: ep.CreatedAt.UTC()}
}

// Deleted is the answer to a deletion.
type Deleted struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Deleted  bool   `json:"deleted"`
	Livemode bool   `json:"livemode"`
}

// WebhookTest is the answer to a test delivery.
type WebhookTest struct {
	Success     bool      `json:"success"`
	DeliveryID  string    `json:"deliveryId"`
	DeliveredAt time.Time `json:"deliveredAt"`
}

// Metadata is Commet's metadata on a request: the SDK types it as any JSON
// values, Till keeps strings, so any other value is refused.
type Metadata map[string]json.RawMessage

// params returns m as Till metadata, recording a non-string value in v.
func (m Metadata) params(v *till.Validator) till.Metadata {
	if m == nil {
		return nil
	}
	out := till.Metadata{}
	for k, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			v.Add("metadata."+k, "metadata values must be strings (Till keeps metadata as strings)")
			continue
		}
		out[k] = s
	}
	return out
}
