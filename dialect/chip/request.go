package chip

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// purchaseRequest is the body of POST /purchases/: the fields of seed 001
// that Till honours. Any other field is refused by the strict decoder; a
// field Till cannot honour with the value sent is refused by params.
type purchaseRequest struct {
	Client                 *clientDetails `json:"client"`
	ClientID               string         `json:"client_id"`
	Purchase               *purchaseInput `json:"purchase"`
	BrandID                string         `json:"brand_id"`
	SendReceipt            bool           `json:"send_receipt"`
	SkipCapture            bool           `json:"skip_capture"`
	ForceRecurring         bool           `json:"force_recurring"`
	Reference              string         `json:"reference"`
	Due                    *int64         `json:"due"`
	SuccessRedirect        string         `json:"success_redirect"`
	FailureRedirect        string         `json:"failure_redirect"`
	CancelRedirect         string         `json:"cancel_redirect"`
	SuccessCallback        string         `json:"success_callback"`
	CreatorAgent           string         `json:"creator_agent"`
	Platform               string         `json:"platform"`
	Product                string         `json:"product"`
	PaymentMethodWhitelist []string       `json:"payment_method_whitelist"`
}

// purchaseInput is the request's purchase object.
type purchaseInput struct {
	Currency  string    `json:"currency"`
	Products  []product `json:"products"`
	Notes     string    `json:"notes"`
	DueStrict bool      `json:"due_strict"`
	Language  string    `json:"language"`
	Timezone  string    `json:"timezone"`
}

// product is one line of a purchase. Price is in minor units; quantity a
// whole number (CHIP sends it as a number or a decimal string).
type product struct {
	Name       string   `json:"name"`
	Quantity   *decimal `json:"quantity"`
	Price      *int64   `json:"price"`
	Discount   *int64   `json:"discount"`
	TaxPercent *decimal `json:"tax_percent"`
	Category   string   `json:"category"`
}

// decimal is a JSON number or a string holding one, kept as its text so
// that no float is involved.
type decimal string

// UnmarshalJSON accepts 2, 2.0, "2" and "2.0000".
func (d *decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil || len(b) == 0 {
		return &fieldError{field: "purchase.products", msg: "quantity and tax_percent must be numbers"}
	}
	*d = decimal(n)
	return nil
}

// whole returns d as an integer when it has no fractional part ("2.00").
func (d decimal) whole() (int64, bool) {
	s := string(d)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, false
		}
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// clientDetails is CHIP's ClientDetails: the body of POST /clients/ and a
// purchase's client.
type clientDetails struct {
	Email         string `json:"email"`
	FullName      string `json:"full_name"`
	Phone         string `json:"phone"`
	StreetAddress string `json:"street_address"`
	City          string `json:"city"`
	ZipCode       string `json:"zip_code"`
	State         string `json:"state"`
	Country       string `json:"country"`
}

// params returns the service's customer parameters.
func (c *clientDetails) params() service.CustomerParams {
	return service.CustomerParams{Email: c.Email, Name: c.FullName, Phone: c.Phone,
		Address: till.Address{Line1: c.StreetAddress, City: c.City, PostalCode: c.ZipCode, State: c.State, Country: c.Country}}
}

// params translates the request into the service's, refusing what Till
// cannot honour with a validation error naming the field.
func (in *purchaseRequest) params(c *service.Caller) (service.PurchaseParams, error) {
	var v till.Validator
	out := service.PurchaseParams{Hold: in.SkipCapture, SendReceipt: in.SendReceipt}
	link := &out.Link
	// Products are priced with their tax in: purchase.total is what the
	// payer pays, as with CHIP.
	link.TaxBehavior = string(till.TaxInclusive)
	if in.Client != nil {
		cp := in.Client.params()
		out.Client = &cp
	}
	if in.ClientID != "" {
		link.CustomerID = tillID(in.ClientID, till.PrefixCustomer)
	}
	if in.BrandID != "" && in.BrandID != wireID(c.Account.ID, till.PrefixAccount) {
		v.Add("brand_id", "brand_id must be this account's id, %s (Till has one brand per account)", wireID(c.Account.ID, till.PrefixAccount))
	}
	pd := in.Purchase
	if pd == nil {
		v.Add("purchase", "purchase is required, with currency and products")
		pd = &purchaseInput{}
	}
	link.Currency = pd.Currency
	if pd.Language != "" && !strings.EqualFold(pd.Language, "en") {
		v.Add("purchase.language", "the hosted page is in English only: leave purchase.language empty or en")
	}
	if pd.Timezone != "" && pd.Timezone != "UTC" {
		v.Add("purchase.timezone", "Till shows purchases in UTC: leave purchase.timezone empty or UTC")
	}
	if len(pd.Products) == 0 {
		v.Add("purchase.products", "purchase.products needs at least one product")
	}
	names := make([]string, 0, len(pd.Products))
	for i, pr := range pd.Products {
		f := "purchase.products[" + strconv.Itoa(i) + "]"
		line := service.LineItemParams{Description: pr.Name, UnitAmount: pr.Price}
		one := int64(1)
		line.Quantity = &one
		if pr.Quantity != nil {
			q, ok := pr.Quantity.whole()
			if !ok {
				v.Add(f+".quantity", "quantity must be a whole number")
			}
			line.Quantity = &q
		}
		if pr.Discount != nil && *pr.Discount != 0 {
			v.Add(f+".discount", "discounts are not supported: give the discounted price")
		}
		if pr.TaxPercent != nil {
			if t, ok := pr.TaxPercent.whole(); !ok || t != 0 {
				v.Add(f+".tax_percent", "Till computes the tax itself (the price includes it): leave tax_percent empty or 0")
			}
		}
		if pr.Category != "" {
			v.Add(f+".category", "product categories are not supported")
		}
		link.LineItems = append(link.LineItems, line)
		names = append(names, strings.TrimSpace(pr.Name))
	}
	link.Description = strings.TrimSpace(pd.Notes)
	if link.Description == "" {
		link.Description = strings.Join(names, ", ")
	}
	if in.Due != nil {
		if !pd.DueStrict {
			v.Add("due", "Till ends a purchase at its due time: set purchase.due_strict to true, or leave due out (a purchase can then be paid for 24 hours)")
		}
		at := time.Unix(*in.Due, 0).UTC()
		link.ExpiresAt = &at
	}
	link.SuccessURL, link.FailureURL = in.SuccessRedirect, in.FailureRedirect
	if in.CancelRedirect != "" {
		v.Add("cancel_redirect", "cancel_redirect is not supported: the hosted page has no way back to the seller")
	}
	if in.SuccessCallback != "" {
		v.Add("success_callback", "callbacks are not supported yet: use the native API's webhooks")
	}
	if len(in.PaymentMethodWhitelist) > 0 {
		v.Add("payment_method_whitelist", "Till's hosted page takes cards only: leave payment_method_whitelist empty")
	}
	if in.Platform != "" && in.Platform != "api" {
		v.Add("platform", "platform can only be api")
	}
	if in.Product != "" && in.Product != "purchases" {
		v.Add("product", "product can only be purchases")
	}
	link.Metadata = till.Metadata{}
	if in.Reference != "" {
		link.Metadata[metaReference] = in.Reference
	}
	if in.CreatorAgent != "" {
		link.Metadata[metaCreatorAgent] = in.CreatorAgent
	}
	return out, v.Err()
}

// Metadata keys that keep the purchase fields Till has no field of its own
// for (shown in the native API's metadata too).
const (
	metaReference    = "reference"
	metaCreatorAgent = "creator_agent"
)

// purchaseField names a service field path of CreatePurchase as the
// request's.
func purchaseField(path string) string {
	if rest, ok := strings.CutPrefix(path, "client."); ok {
		return "client." + clientField(rest)
	}
	if rest, ok := strings.CutPrefix(path, "lineItems"); ok {
		rest = strings.Replace(rest, ".description", ".name", 1)
		rest = strings.Replace(rest, ".unitAmount", ".price", 1)
		return "purchase.products" + rest
	}
	switch path {
	case "amount":
		return "purchase.products"
	case "currency":
		return "purchase.currency"
	case "description":
		return "purchase.notes"
	case "expiresAt":
		return "due"
	case "successUrl":
		return "success_redirect"
	case "failureUrl":
		return "failure_redirect"
	case "customerId":
		return "client_id"
	case "metadata." + metaReference:
		return "reference"
	case "metadata." + metaCreatorAgent:
		return "creator_agent"
	}
	return path
}

// clientField names a service field path of a customer as ClientDetails'.
func clientField(path string) string {
	switch path {
	case "name":
		return "full_name"
	case "address.line1":
		return "street_address"
	case "address.city":
		return "city"
	case "address.postalCode":
		return "zip_code"
	case "address.state":
		return "state"
	case "address.country":
		return "country"
	}
	return path
}
