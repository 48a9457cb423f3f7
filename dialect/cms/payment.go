package cms

import (
	"encoding/json"
	"time"

	"github.com/tillpay/till"
)

// ChargeResponse is the answer of a charge: the payment and whether it
// succeeded.
type ChargeResponse struct {
	Payment Payment `json:"payment"`
	Success bool    `json:"success"`
}

// Payment is the CMS payment object: the subset of the seed's fields that
// Till's payment and order fill (README.md). Money fields are decimal
// numbers in major units, rendered exactly from minor units.
type Payment struct {
	ID              string      `json:"id"`
	Price           json.Number `json:"price"`
	Status          string      `json:"status"`
	ResponseMessage string      `json:"responseMessage"`
	LastUpdate      time.Time   `json:"lastUpdate"`
	Timestamp       time.Time   `json:"timestamp"`
	UserID          string      `json:"userId"`
	PaymentMethod   string      `json:"paymentMethod"`
	Currency        string      `json:"currency"`
	Cart            []CartLine  `json:"cart"`
	Subtotal        json.Number `json:"subtotal"`
	Shipping        json.Number `json:"shipping"`
	Tax             json.Number `json:"tax"`
	Discount        json.Number `json:"discount"`
	Total           json.Number `json:"total"`
	ShippingPrice   json.Number `json:"shipping_price"`
	TaxPrice        json.Number `json:"tax_price"`
	Authorization   string      `json:"authorization,omitempty"`
	Address         *Address    `json:"address,omitempty"`
	ShippingAddress *Address    `json:"shipping_address,omitempty"`
	Response        Response    `json:"response"`
}

// CartLine is one sold line: the item, its quantity and its unit price.
type CartLine struct {
	Item     Item        `json:"item"`
	Quantity int64       `json:"quantity"`
	Price    json.Number `json:"price"`
}

// Item is the seed's product item as it was sold (an article is an item
// without a product).
type Item struct {
	ID          int64       `json:"id"`
	Description string      `json:"description"`
	ProductID   *int64      `json:"productId"`
	Product     *string     `json:"product"`
	Price       json.Number `json:"price"`
	Currency    string      `json:"currency"`
	Shippable   bool        `json:"shippable"`
	Weight      int64       `json:"weight"`
	OncePerUser bool        `json:"oncePerUser"`
	SKU         string      `json:"sku"`
}

// Response is what the processor answered for the last attempt.
type Response struct {
	Provider    string `json:"provider"`
	Outcome     string `json:"outcome"`
	DeclineCode string `json:"declineCode,omitempty"`
	Message     string `json:"message,omitempty"`
	NextAction  string `json:"nextActionUrl,omitempty"`
}

// statuses maps Till's payment statuses to the dialect's.
var statuses = map[till.Status]string{
	till.StatusPending:           "pending",
	till.StatusScheduled:         "pending",
	till.StatusProcessing:        "pending",
	till.StatusRequiresAction:    "requires_action",
	till.StatusAuthorized:        "authorized",
	till.StatusSucceeded:         "paid",
	till.StatusFailed:            "failed",
	till.StatusRetryScheduled:    "failed",
	till.StatusCanceled:          "canceled",
	till.StatusExpired:           "canceled",
	till.StatusPartiallyRefunded: "partially_refunded",
	till.StatusRefunded:          "refunded",
	till.StatusDisputed:          "disputed",
}

// messages are the responseMessage of the statuses without a failure.
var messages = map[string]string{
	"pending":         "The payment is being processed.",
	"requires_action": "The card issuer requires the customer to authenticate.",
	"authorized":      "The amount is held on the card.",
	"paid":            "Payment successful.",
}

// PaymentOf renders a payment of a catalogue charge.
func PaymentOf(p *till.Payment) Payment {
	cur, _ := till.LookupCurrency(p.Currency)
	money := func(n int64) json.Number { return json.Number(till.FormatAmount(n, cur)) }
	ord := p.CatalogOrder
	if ord == nil {
		ord = &till.CatalogOrder{}
	}
	status := statuses[p.Status]
	out := Payment{ID: p.ID, Price: money(p.AmountTotal), Status: status, ResponseMessage: messages[status],
		LastUpdate: p.UpdatedAt.UTC(), Timestamp: p.CreatedAt.UTC(), UserID: p.CustomerID, PaymentMethod: "card",
		Currency: p.Currency, Cart: []CartLine{}, Subtotal: money(ord.Subtotal), Shipping: money(ord.Shipping), Tax: money(p.TaxAmount),
		Discount: money(ord.Discount), Total: money(p.AmountTotal), ShippingPrice: money(ord.Shipping), TaxPrice: money(p.TaxAmount),
		Address: addressOf(p.BillingAddress), ShippingAddress: addressOf(ord.ShippingAddress)}
	if p.Failure != nil {
		out.ResponseMessage = p.Failure.Message
	}
	if att := p.LastAttempt(); att != nil {
		out.Authorization = att.ProviderRef
		out.Response = Response{Provider: att.Provider, Outcome: att.Outcome, DeclineCode: att.DeclineCode, Message: att.Message}
	}
	if p.NextAction != nil {
		out.Response.NextAction = p.NextAction.URL
	}
	for _, l := range ord.Lines {
		it := Item{Description: l.Description, Price: money(l.UnitPrice), Currency: p.Currency, Shippable: l.Shippable,
			Weight: l.WeightGrams, OncePerUser: l.OncePerUser, SKU: l.SKU}
		if l.Kind == till.CatalogArticle {
			it.ID = l.ArticleNumber
		} else {
			n, name := l.ProductNumber, l.ProductName
			it.ID, it.ProductID, it.Product = l.ItemNumber, &n, &name
		}
		out.Cart = append(out.Cart, CartLine{Item: it, Quantity: l.Quantity, Price: money(l.UnitPrice)})
	}
	return out
}
