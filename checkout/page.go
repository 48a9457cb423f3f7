package checkout

import (
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// page is what templates/page.html renders.
type page struct {
	Title  string
	Assets string // path of the stylesheet folder
	// Merchant is who the payer pays; empty on pages about no payment.
	Merchant string
	TestMode bool
	Summary  *summary
	// Tone styles the message: "success", "error" or "" (neutral).
	Tone    string
	Message string
	// Detail is a further explanation, such as a failure's reason.
	Detail string
	// Challenge offers the issuer's (simulated) challenge form, posted to
	// Action with the anti-forgery token CSRF.
	Challenge bool
	Action    string
	CSRF      string
	// Reload links back to the payment page ("Check again").
	Reload    string
	RequestID string
}

// summary is the payment as the payer sees it.
type summary struct {
	Amount      string // total, formatted in major units with the currency code
	Tax         string // the tax included in Amount, "" when none
	Description string
	Card        string // "Visa ending in 4242", "" when unknown
}

// brandNames are the display names of the card brands Till detects.
var brandNames = map[string]string{
	"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express", "discover": "Discover",
	"diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay", "maestro": "Maestro",
}

// money formats an amount in minor units with its currency code.
func money(amount int64, c till.Currency) string {
	return till.FormatAmount(amount, c) + " " + c.Code
}

// statusText is a status in words ("requires action").
func statusText(s till.Status) string { return strings.ReplaceAll(string(s), "_", " ") }

// messagePage is a page with a title and a message about no payment.
func messagePage(h *Handler, title, message string) *page {
	return &page{Title: title, Message: message, Assets: h.base + "assets/"}
}

// notFoundPage is the page of an unknown link or path.
func notFoundPage(h *Handler) *page {
	pg := messagePage(h, "Payment not found",
		"This payment link is not valid. Check that you opened the whole link you were sent, or contact the merchant who sent it.")
	pg.Tone = "error"
	return pg
}

// paymentPage is the page of the payment behind a link token, by its
// status. Only a payment that requires action in test mode gets a form:
// the page never offers an action that would not work.
func paymentPage(h *Handler, token string, v *service.PayView) *page {
	pg := &page{Assets: h.base + "assets/", Merchant: v.MerchantName, TestMode: !v.Livemode, Reload: h.base + token}
	sum := &summary{Amount: money(v.AmountTotal, v.Currency), Description: v.Description}
	if v.TaxAmount > 0 {
		sum.Tax = money(v.TaxAmount, v.Currency)
	}
	if v.CardLast4 != "" {
		brand := brandNames[v.CardBrand]
		if brand == "" {
			brand = "Card"
		}
		sum.Card = brand + " ending in " + v.CardLast4
	}
	pg.Summary = sum
	switch v.Status {
	case till.StatusRequiresAction:
		if v.CanAuthenticate {
			pg.Title = "Confirm your payment"
			pg.Message = "Your card issuer asks you to confirm this payment to " + v.MerchantName + "."
			pg.Challenge, pg.Action, pg.Reload = true, h.base+token, ""
			break
		}
		pg.Title = "Authentication needed"
		pg.Message = "Your card issuer asks you to confirm this payment, which cannot be done on this page yet. Please contact " +
			v.MerchantName + "."
	case till.StatusProcessing:
		pg.Title = "Payment processing"
		pg.Message = "Your payment is being processed. This usually takes a few seconds."
	case till.StatusSucceeded:
		pg.Title, pg.Tone = "Payment complete", "success"
		pg.Message = "Thank you. You paid " + sum.Amount + " to " + v.MerchantName + "."
		pg.Reload = ""
	case till.StatusAuthorized:
		pg.Title, pg.Tone = "Payment authorized", "success"
		pg.Message = "Thank you. " + sum.Amount + " is reserved on your card; " + v.MerchantName + " will collect it."
		pg.Reload = ""
	case till.StatusPartiallyRefunded, till.StatusRefunded, till.StatusDisputed:
		pg.Title = "Payment already completed"
		pg.Message = "This payment was completed earlier and is now " + statusText(v.Status) + ". There is nothing more to do here."
		pg.Reload = ""
	case till.StatusFailed, till.StatusRetryScheduled:
		pg.Title, pg.Tone = "Payment failed", "error"
		if v.Failure != nil {
			pg.Detail = v.Failure.Message
		}
		pg.Message = "The payment was not made. To pay, please contact " + v.MerchantName + "."
		if v.Status == till.StatusRetryScheduled {
			pg.Message = "The payment was not made. " + v.MerchantName + " will try again later."
		}
		pg.Reload = ""
	case till.StatusCanceled:
		pg.Title = "Payment canceled"
		pg.Message = "This payment was canceled. There is nothing to pay here."
		pg.Reload = ""
	case till.StatusExpired:
		pg.Title = "Payment expired"
		pg.Message = "This payment is no longer available. Please contact " + v.MerchantName + "."
		pg.Reload = ""
	default:
		pg.Title = "Payment not ready"
		pg.Message = "This payment is " + statusText(v.Status) + ". There is nothing to do on this page yet."
	}
	return pg
}
