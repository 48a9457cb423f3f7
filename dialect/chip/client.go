package chip

import (
	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// Client is CHIP's Client object: a Till customer.
type Client struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	CreatedOn int64  `json:"created_on"`
	UpdatedOn int64  `json:"updated_on"`
	ClientDetails
}

func toClientDetails(c *till.Customer) ClientDetails {
	out := ClientDetails{Email: c.Email, FullName: c.Name, Phone: c.Phone, StreetAddress: c.Address.Line1, City: c.Address.City,
		ZipCode: c.Address.PostalCode, State: c.Address.State, Country: c.Address.Country, CC: []string{}, BCC: []string{}}
	if len(c.TaxIDs) > 0 {
		out.TaxNumber = c.TaxIDs[0].Value
	}
	return out
}

func toClient(c *till.Customer) Client {
	return Client{Type: "client", ID: wireID(c.ID, till.PrefixCustomer), CreatedOn: c.CreatedAt.Unix(), UpdatedOn: c.UpdatedAt.Unix(),
		ClientDetails: toClientDetails(c)}
}

// recurringToken is a ClientRecurringToken: a client's saved card, usable
// as recurring_token of POST /purchases/{id}/charge/.
type recurringToken struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	RecurringToken string `json:"recurring_token"`
	CreatedOn      int64  `json:"created_on"`
	UpdatedOn      int64  `json:"updated_on"`
	PaymentMethod  string `json:"payment_method"`
	Description    string `json:"description"`
}

// tokenList is CHIP's paginated list; a client's tokens fit on one page.
type tokenList struct {
	Results  []recurringToken `json:"results"`
	Next     *string          `json:"next"`
	Previous *string          `json:"previous"`
}

func toToken(pm *till.PaymentMethod) recurringToken {
	id := wireID(pm.ID, till.PrefixPaymentMethod)
	return recurringToken{Type: "client_recurring_token", ID: id, RecurringToken: id, CreatedOn: pm.CreatedAt.Unix(),
		UpdatedOn: pm.CreatedAt.Unix(), PaymentMethod: "card", Description: pm.Card.Brand + " •••• " + pm.Card.Last4}
}

// Refund is CHIP's Payment object of a refund.
type Refund struct {
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	CreatedOn int64          `json:"created_on"`
	UpdatedOn int64          `json:"updated_on"`
	Status    string         `json:"status"`
	IsTest    bool           `json:"is_test"`
	CompanyID string         `json:"company_id"`
	RelatedTo relatedTo      `json:"related_to"`
	Payment   PaymentDetails `json:"payment"`
	Error     *AttemptError  `json:"error"`
}

type relatedTo struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// refundStatus is CHIP's word for a refund's status.
var refundStatus = map[till.RefundStatus]string{
	till.RefundPending: "pending", till.RefundSucceeded: "success", till.RefundFailed: "error",
}

func toRefund(r *till.Refund, p *till.Payment, c *service.Caller) Refund {
	out := Refund{Type: "payment", ID: wireID(r.ID, till.PrefixRefund), CreatedOn: r.CreatedAt.Unix(), UpdatedOn: r.UpdatedAt.Unix(),
		Status: refundStatus[r.Status], IsTest: !r.Livemode, CompanyID: wireID(c.Account.ID, till.PrefixAccount),
		RelatedTo: relatedTo{Type: "purchase", ID: wireID(p.ID, till.PrefixPayment)},
		Payment: PaymentDetails{IsOutgoing: true, PaymentType: "refund", Amount: r.Amount, Currency: r.Currency, NetAmount: r.Amount,
			Description: p.Description}}
	if r.Status == till.RefundSucceeded {
		out.Payment.PaidOn, out.Payment.RemotePaidOn = r.UpdatedAt.Unix(), r.UpdatedAt.Unix()
	} else {
		out.Payment.PendingAmount = r.Amount
	}
	if r.Failure != nil {
		out.Error = &AttemptError{Code: r.Failure.DeclineCode, Message: r.Failure.Message}
	}
	return out
}
