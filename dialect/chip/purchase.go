package chip

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// Purchase is CHIP's Purchase object (seed 001), every field of it.
// Fields Till has no data for carry CHIP's empty value of their type (null
// where the seed allows null); README.md lists them.
type Purchase struct {
	Type                   string           `json:"type"`
	ID                     string           `json:"id"`
	CreatedOn              int64            `json:"created_on"`
	UpdatedOn              int64            `json:"updated_on"`
	Client                 ClientDetails    `json:"client"`
	Purchase               PurchaseDetails  `json:"purchase"`
	Payment                *PaymentDetails  `json:"payment"`
	IssuerDetails          IssuerDetails    `json:"issuer_details"`
	TransactionData        TransactionData  `json:"transaction_data"`
	Status                 string           `json:"status"`
	StatusHistory          []StatusEntry    `json:"status_history"`
	ViewedOn               *int64           `json:"viewed_on"`
	CompanyID              string           `json:"company_id"`
	IsTest                 bool             `json:"is_test"`
	UserID                 *string          `json:"user_id"`
	BrandID                string           `json:"brand_id"`
	BillingTemplateID      *string          `json:"billing_template_id"`
	ClientID               *string          `json:"client_id"`
	SendReceipt            bool             `json:"send_receipt"`
	IsRecurringToken       bool             `json:"is_recurring_token"`
	RecurringToken         *string          `json:"recurring_token"`
	SkipCapture            bool             `json:"skip_capture"`
	ForceRecurring         bool             `json:"force_recurring"`
	ReferenceGenerated     string           `json:"reference_generated"`
	Reference              string           `json:"reference"`
	Issued                 string           `json:"issued"`
	Due                    int64            `json:"due"`
	RefundAvailability     string           `json:"refund_availability"`
	RefundableAmount       int64            `json:"refundable_amount"`
	CurrencyConversion     *json.RawMessage `json:"currency_conversion"`
	PaymentMethodWhitelist []string         `json:"payment_method_whitelist"`
	SuccessRedirect        string           `json:"success_redirect"`
	FailureRedirect        string           `json:"failure_redirect"`
	CancelRedirect         string           `json:"cancel_redirect"`
	SuccessCallback        string           `json:"success_callback"`
	CreatorAgent           string           `json:"creator_agent"`
	Platform               string           `json:"platform"`
	Product                string           `json:"product"`
	CreatedFromIP          string           `json:"created_from_ip"`
	InvoiceURL             string           `json:"invoice_url"`
	CheckoutURL            string           `json:"checkout_url"`
	DirectPostURL          *string          `json:"direct_post_url"`
	MarkedAsPaid           bool             `json:"marked_as_paid"`
	OrderID                string           `json:"order_id"`
}

// ClientDetails is a purchase's client, also the body of a Client.
type ClientDetails struct {
	Email              string   `json:"email"`
	FullName           string   `json:"full_name"`
	Phone              string   `json:"phone"`
	StreetAddress      string   `json:"street_address"`
	City               string   `json:"city"`
	ZipCode            string   `json:"zip_code"`
	State              string   `json:"state"`
	Country            string   `json:"country"`
	TaxNumber          string   `json:"tax_number"`
	LegalName          string   `json:"legal_name"`
	BrandName          string   `json:"brand_name"`
	RegistrationNumber string   `json:"registration_number"`
	PersonalCode       string   `json:"personal_code"`
	CC                 []string `json:"cc"`
	BCC                []string `json:"bcc"`
}

// PurchaseDetails is the purchase's purchase object.
type PurchaseDetails struct {
	Currency              string            `json:"currency"`
	Products              []Product         `json:"products"`
	Total                 int64             `json:"total"`
	Language              string            `json:"language"`
	Notes                 string            `json:"notes"`
	Debt                  int64             `json:"debt"`
	SubtotalOverride      *int64            `json:"subtotal_override"`
	TotalTaxOverride      *int64            `json:"total_tax_override"`
	TotalDiscountOverride *int64            `json:"total_discount_override"`
	TotalOverride         *int64            `json:"total_override"`
	RequestClientDetails  []string          `json:"request_client_details"`
	Timezone              string            `json:"timezone"`
	DueStrict             bool              `json:"due_strict"`
	EmailMessage          string            `json:"email_message"`
	TaxAmount             int64             `json:"tax_amount"`
	TaxBreakdown          []TaxBreakdownRow `json:"tax_breakdown"`
}

// TaxBreakdownRow is Till's tax of a purchase by country and rate (an
// addition to CHIP's object: Till computes the tax included in the total).
type TaxBreakdownRow struct {
	Country       string      `json:"country"`
	Rate          json.Number `json:"rate"`
	TaxableAmount int64       `json:"taxable_amount"`
	TaxAmount     int64       `json:"tax_amount"`
	Reason        string      `json:"reason"`
}

// Product is one line of a purchase.
type Product struct {
	Name       string      `json:"name"`
	Quantity   json.Number `json:"quantity"`
	Price      int64       `json:"price"`
	Discount   int64       `json:"discount"`
	TaxPercent json.Number `json:"tax_percent"`
	Category   string      `json:"category"`
}

// PaymentDetails is the executed transaction of a paid (or held) purchase,
// or of a refund (is_outgoing; paid_on 0 and the amount pending until the
// refund succeeded).
type PaymentDetails struct {
	IsOutgoing        bool   `json:"is_outgoing"`
	PaymentType       string `json:"payment_type"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	NetAmount         int64  `json:"net_amount"`
	FeeAmount         int64  `json:"fee_amount"`
	PendingAmount     int64  `json:"pending_amount"`
	PendingUnfreezeOn *int64 `json:"pending_unfreeze_on"`
	Description       string `json:"description"`
	PaidOn            int64  `json:"paid_on"`
	RemotePaidOn      int64  `json:"remote_paid_on"`
}

// IssuerDetails is the merchant as the account describes it.
type IssuerDetails struct {
	Website            string   `json:"website"`
	LegalStreetAddress string   `json:"legal_street_address"`
	LegalCountry       string   `json:"legal_country"`
	LegalCity          string   `json:"legal_city"`
	LegalZipCode       string   `json:"legal_zip_code"`
	BankAccounts       []string `json:"bank_accounts"`
	LegalName          string   `json:"legal_name"`
	BrandName          string   `json:"brand_name"`
	RegistrationNumber string   `json:"registration_number"`
	TaxNumber          string   `json:"tax_number"`
}

// TransactionData holds the purchase's processor attempts, newest first.
type TransactionData struct {
	PaymentMethod string            `json:"payment_method"`
	Extra         map[string]string `json:"extra"`
	Country       string            `json:"country"`
	Attempts      []Attempt         `json:"attempts"`
}

// Attempt is one processor attempt of a purchase.
type Attempt struct {
	Type           string            `json:"type"`
	Flow           string            `json:"flow"`
	Successful     bool              `json:"successful"`
	PaymentMethod  string            `json:"payment_method"`
	Amount         int64             `json:"amount"`
	ProcessingTime int64             `json:"processing_time"`
	Error          *AttemptError     `json:"error"`
	Extra          map[string]string `json:"extra"`
	Country        string            `json:"country"`
	ClientIP       string            `json:"client_ip"`
	FeeAmount      int64             `json:"fee_amount"`
}

// AttemptError says why an attempt failed: Till's decline code and its
// payer-safe message.
type AttemptError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StatusEntry is one change of a purchase's status.
type StatusEntry struct {
	Status    string `json:"status"`
	Timestamp int64  `json:"timestamp"`
}

// toPurchase renders a purchase for the caller; base is Till's public
// origin (for invoice_url).
func toPurchase(v *service.Purchase, c *service.Caller, base string) *Purchase {
	p := v.Payment
	a := c.Account
	out := &Purchase{
		Type: "purchase", ID: wireID(p.ID, till.PrefixPayment), CreatedOn: p.CreatedAt.Unix(), UpdatedOn: p.UpdatedAt.Unix(),
		Purchase:        purchaseDetailsOf(p),
		IssuerDetails:   IssuerDetails{LegalStreetAddress: a.Address.Line1, LegalCountry: a.Address.Country, LegalCity: a.Address.City, LegalZipCode: a.Address.PostalCode, BankAccounts: []string{}, LegalName: a.LegalName, BrandName: a.Branding.DisplayName, TaxNumber: a.VATNumber},
		TransactionData: transactionData(p),
		Status:          status(p), StatusHistory: statusHistory(p),
		CompanyID: wireID(a.ID, till.PrefixAccount), BrandID: wireID(a.ID, till.PrefixAccount), IsTest: !p.Livemode,
		SendReceipt: p.SendReceipt, IsRecurringToken: v.SavedMethodID != "", SkipCapture: !p.Capture,
		// The hosted page always saves the payer's card.
		ForceRecurring:     true,
		ReferenceGenerated: p.ID, Reference: p.Metadata[metaReference], Issued: p.CreatedAt.UTC().Format(time.DateOnly),
		RefundAvailability: "all", RefundableAmount: p.Refundable(), PaymentMethodWhitelist: []string{},
		SuccessRedirect: p.SuccessURL, FailureRedirect: p.FailureURL, CreatorAgent: p.Metadata[metaCreatorAgent], Platform: "api", Product: "purchases",
		CheckoutURL: p.URL,
	}
	if out.IssuerDetails.BrandName == "" {
		out.IssuerDetails.BrandName = a.Name
	}
	if p.ExpiresAt != nil {
		out.Due = p.ExpiresAt.Unix()
	}
	if p.Refundable() <= 0 {
		out.RefundAvailability = "none"
	}
	if v.Customer != nil {
		out.Client = toClientDetails(v.Customer)
		id := wireID(v.Customer.ID, till.PrefixCustomer)
		out.ClientID = &id
	} else {
		out.Client = ClientDetails{CC: []string{}, BCC: []string{}}
	}
	if v.ChargedWithID != "" {
		tok := wireID(v.ChargedWithID, till.PrefixPaymentMethod)
		out.RecurringToken = &tok
	}
	if p.InvoiceID != "" {
		out.InvoiceURL = base + "/v1/invoices/" + p.InvoiceID + "/pdf"
	}
	out.Payment = paymentDetails(p)
	return out
}

func purchaseDetailsOf(p *till.Payment) PurchaseDetails {
	out := PurchaseDetails{Currency: p.Currency, Products: []Product{}, Total: p.AmountTotal, Language: "en",
		Notes: p.Description, RequestClientDetails: []string{}, Timezone: "UTC", DueStrict: p.ExpiresAt != nil,
		TaxAmount: p.TaxAmount, TaxBreakdown: []TaxBreakdownRow{}}
	for _, li := range p.LineItems {
		out.Products = append(out.Products, Product{Name: li.Description, Quantity: json.Number(strconv.FormatInt(li.Quantity, 10)),
			Price: li.UnitAmount, TaxPercent: json.Number(li.Rate.String())})
	}
	for _, t := range p.TaxBreakdown {
		out.TaxBreakdown = append(out.TaxBreakdown, TaxBreakdownRow{Country: t.Country, Rate: json.Number(t.Rate.String()),
			TaxableAmount: t.TaxableAmount, TaxAmount: t.TaxAmount, Reason: t.Reason})
	}
	return out
}

// paymentDetails is the transaction of a purchase whose money was taken or
// held, nil for an unpaid one.
func paymentDetails(p *till.Payment) *PaymentDetails {
	var paidOn time.Time
	for _, h := range p.StatusHistory {
		if h.Status == till.StatusSucceeded || h.Status == till.StatusAuthorized {
			paidOn = h.At
			break
		}
	}
	if paidOn.IsZero() {
		return nil
	}
	amount := p.AmountCaptured
	if p.Status == till.StatusAuthorized || amount == 0 {
		amount = p.AmountTotal
	}
	return &PaymentDetails{PaymentType: "purchase", Amount: amount, Currency: p.Currency, NetAmount: amount,
		Description: p.Description, PaidOn: paidOn.Unix(), RemotePaidOn: paidOn.Unix()}
}

func transactionData(p *till.Payment) TransactionData {
	out := TransactionData{Extra: map[string]string{}, Attempts: []Attempt{}}
	if len(p.Attempts) > 0 {
		out.PaymentMethod = "card"
	}
	for i := len(p.Attempts) - 1; i >= 0; i-- {
		a := p.Attempts[i]
		at := Attempt{Type: string(a.Kind), Flow: "api", PaymentMethod: "card", Amount: a.Amount, ProcessingTime: a.At.Unix(),
			Extra: map[string]string{}, Successful: a.Outcome == till.OutcomeSucceeded || a.Outcome == till.OutcomeAuthorized}
		if a.Kind == till.AttemptCharge {
			at.Type, at.Flow = "execute", "payform"
			if a.OffSession {
				at.Type, at.Flow = "recurring_execute", "api"
			}
		}
		if a.Outcome == till.OutcomeFailed || a.Outcome == till.OutcomeRequiresAction {
			code := a.DeclineCode
			if code == "" {
				code = a.Code
			}
			at.Error = &AttemptError{Code: code, Message: a.Message}
		}
		out.Attempts = append(out.Attempts, at)
	}
	return out
}
