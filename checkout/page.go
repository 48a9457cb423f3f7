package checkout

import (
	"net/url"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// page is what templates/page.html renders.
type page struct {
	Title  string
	Assets string // path of the assets folder (stylesheet, script)
	// Merchant is who the payer pays; empty on pages about no payment.
	Merchant string
	// Description is what a checkout form's payment is for.
	Description string
	TestMode    bool
	Summary     *summary
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
	// Form is the checkout form of a link that can be paid, with Amounts
	// its figures.
	Form    *checkoutForm
	Amounts *amounts
	// Accent is the stylesheet of the merchant's brand colour, "" for the
	// default colours.
	Accent string
	// Nonce, when set, loads the page's script: the response's CSP allows
	// scripts with this nonce only.
	Nonce string
	// Continue is where the payer goes on after paying (the link's
	// successUrl).
	Continue string
	// Refresh, when not 0, has the page's script reload it after that many
	// seconds (a payment still processing); without JavaScript the payer
	// follows Reload ("Check again"). A meta refresh would do without the
	// script, but a timed refresh fails WCAG 2.2.1.
	Refresh int
}

// continueURL is successURL when it is an absolute http(s) URL (the
// service checked it when the link was made), otherwise "".
func continueURL(successURL string) string {
	u, err := url.Parse(successURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return successURL
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
// status: the checkout form of a link that can be paid, the challenge of a
// payment that requires action in test mode, otherwise where the payment
// stands. The page never offers an action that would not work.
func paymentPage(h *Handler, token string, v *service.PayView) *page {
	pg := &page{Assets: h.base + "assets/", Merchant: v.MerchantName, TestMode: !v.Livemode, Reload: h.base + token}
	if hex := brandColor(v.BrandColor); hex != "" {
		pg.Accent = h.base + "assets/accent-" + hex + ".css"
	}
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
	switch {
	case v.CanPay:
		pg.Title = "Pay " + v.MerchantName
		pg.Summary, pg.Reload = nil, ""
		pg.Amounts = amountsOf(v)
		pg.Form = newCheckoutForm(h, token, v, nil, nil)
		pg.Description = v.Description
		return pg
	case v.Kind == till.KindLink && v.Status == till.StatusPending && v.Expired:
		pg.Title = "Payment link expired"
		pg.Message = "This payment link has expired, so it can no longer be paid. Please contact " + v.MerchantName + " for a new one."
		pg.Reload = ""
		return pg
	}
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
		pg.Refresh = 2
	case till.StatusSucceeded:
		pg.Title, pg.Tone = "Payment complete", "success"
		pg.Message = "Thank you. You paid " + sum.Amount + " to " + v.MerchantName + "."
		pg.Reload = ""
		pg.Continue = continueURL(v.SuccessURL)
	case till.StatusAuthorized:
		pg.Title, pg.Tone = "Payment authorized", "success"
		pg.Message = "Thank you. " + sum.Amount + " is reserved on your card; " + v.MerchantName + " will collect it."
		pg.Reload = ""
		pg.Continue = continueURL(v.SuccessURL)
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
		if v.Kind == till.KindLink {
			pg.Message = "This payment link was canceled by " + v.MerchantName + ". There is nothing to pay here."
		}
		pg.Reload = ""
	case till.StatusExpired:
		pg.Title = "Payment expired"
		if v.Kind == till.KindLink {
			pg.Title = "Payment link expired"
		}
		pg.Message = "This payment is no longer available. Please contact " + v.MerchantName + "."
		pg.Reload = ""
	default:
		pg.Title = "Payment not ready"
		pg.Message = "This payment is " + statusText(v.Status) + ". There is nothing to do on this page yet."
	}
	return pg
}
