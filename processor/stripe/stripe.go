// Package stripe is Till's connector to Stripe (SPEC §4b), on the official
// stripe-go library: off-session PaymentIntents for charges and holds
// (confirm, off_session, capture_method=manual), their capture and cancel,
// refunds, and the lookup of an attempt by its reference. Methods live at
// Stripe (pm_…, or cus_…/pm_… for one attached to a Stripe customer): Till
// keeps their reference and card details, and never sends Stripe a card
// number — a source with one is refused.
//
// Every call that moves money carries the attempt's reference as Stripe's
// Idempotency-Key and in metadata[till_reference], so the same reference
// sent twice acts once, and the reconciler can find an attempt whose answer
// was lost. Declines come back as declined results with Till's decline
// codes; network failures, timeouts and Stripe's 5xx are errors (the
// outcome is unknown); requests Stripe refuses (4xx but card errors) are
// till errors.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/tillpay/till"
)

// Name is the processor's name in account settings.
const Name = "stripe"

// metaReference is the metadata key that carries Till's reference.
const metaReference = "till_reference"

// Config configures a Processor.
type Config struct {
	// SecretKey is the account's Stripe secret (or restricted) key.
	SecretKey string
	// APIURL is Stripe's API base URL; "" is Stripe's own. Tests point it
	// at stripe-mock.
	APIURL string
	// HTTPClient makes the requests; nil is a client without a timeout
	// (calls are bounded by their context).
	HTTPClient *http.Client
}

// Processor is the Stripe connector of one account and mode.
type Processor struct {
	c *stripe.Client
}

var (
	_ till.Processor    = (*Processor)(nil)
	_ till.MethodKeeper = (*Processor)(nil)
)

// New returns the connector for cfg.
func New(cfg Config) *Processor {
	bc := &stripe.BackendConfig{HTTPClient: cfg.HTTPClient, LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
		// stripe-go retries a failed request with the same Idempotency-Key,
		// which is safe; once is enough within Till's own timeout.
		MaxNetworkRetries: stripe.Int64(1)}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.APIURL, "/"))
	}
	return &Processor{c: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))}
}

// Name returns "stripe".
func (p *Processor) Name() string { return Name }

// errCardNumber refuses a source with a card number.
func errCardNumber() error {
	return till.Errorf(till.EValidation, "The Stripe processor takes no card numbers from Till: save the card at Stripe and use its payment method id (pm_…).")
}

// methodRef returns the Stripe payment method of src and, when its
// reference names one, the customer it is attached to.
func methodRef(src till.PaymentSource) (customer, method string, err error) {
	if src.Card != nil {
		return "", "", errCardNumber()
	}
	if src.ProviderRef == "" {
		return "", "", till.Errorf(till.EValidation, "The Stripe processor charges a Stripe payment method (pm_…); the source names none.")
	}
	customer, method = splitRef(src.ProviderRef)
	return customer, method, nil
}

// splitRef splits a saved method's reference, "pm_…" or "cus_…/pm_…", into
// its customer (or "") and its payment method. till.ChargeRequest carries no
// Stripe customer, and Stripe refuses to charge a method attached to a
// customer without naming that customer, so a method saved on a Stripe
// customer is referenced as "cus_…/pm_…".
func splitRef(ref string) (customer, method string) {
	if c, m, ok := strings.Cut(ref, "/"); ok && strings.HasPrefix(c, "cus_") {
		return c, m
	}
	return "", ref
}

// Method returns the card details of Stripe payment method ref ("pm_…" or
// "cus_…/pm_…"): a till error with code resource_missing when Stripe has no
// such method, with code validation_error when it is not a card.
func (p *Processor) Method(ctx context.Context, ref string) (till.CardDetails, error) {
	_, method := splitRef(ref)
	pm, err := p.c.V1PaymentMethods.Retrieve(ctx, method, nil)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return till.CardDetails{}, till.NotFound("payment method", ref)
		}
		return till.CardDetails{}, callError(err)
	}
	if pm.Card == nil {
		return till.CardDetails{}, till.Errorf(till.EValidation, "Stripe payment method %s is not a card.", ref)
	}
	return till.CardDetails{Brand: brand(string(pm.Card.Brand)), Last4: pm.Card.Last4, ExpMonth: int(pm.Card.ExpMonth),
		ExpYear: int(pm.Card.ExpYear), Fingerprint: pm.Card.Fingerprint, Country: pm.Card.Country}, nil
}

// brand maps Stripe's card brands to Till's names.
func brand(b string) string {
	switch b {
	case "american_express", "amex":
		return "amex"
	case "diners_club", "diners":
		return "diners"
	case "":
		return "unknown"
	}
	return b
}

// Verify checks that a saved method exists at Stripe.
func (p *Processor) Verify(ctx context.Context, r till.VerifyRequest) (*till.ProcessorResult, error) {
	if _, _, err := methodRef(r.Source); err != nil {
		return nil, err
	}
	if _, err := p.Method(ctx, r.Source.ProviderRef); err != nil {
		return nil, err
	}
	return &till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: r.Source.ProviderRef}, nil
}

// Charge confirms a PaymentIntent for the saved method: captured at once,
// or held (capture_method=manual) when r.Capture is false.
func (p *Processor) Charge(ctx context.Context, r till.ChargeRequest) (*till.ProcessorResult, error) {
	customer, method, err := methodRef(r.Source)
	if err != nil {
		return nil, err
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount: stripe.Int64(r.Amount), Currency: stripe.String(strings.ToLower(r.Currency)),
		PaymentMethod: stripe.String(method), Confirm: stripe.Bool(true), PaymentMethodTypes: []*string{stripe.String("card")},
	}
	if customer != "" {
		params.Customer = stripe.String(customer)
	}
	if r.OffSession {
		params.OffSession = stripe.Bool(true)
	}
	if !r.Capture {
		params.CaptureMethod = stripe.String("manual")
	}
	if r.Description != "" {
		params.Description = stripe.String(r.Description)
	}
	params.AddMetadata(metaReference, r.Reference)
	params.SetIdempotencyKey(r.Reference)
	pi, err := p.c.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return declineOrError(err)
	}
	return intentResult(pi), nil
}

// Capture captures r.Amount of a held PaymentIntent.
func (p *Processor) Capture(ctx context.Context, r till.CaptureRequest) (*till.ProcessorResult, error) {
	params := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(r.Amount)}
	params.SetIdempotencyKey(r.Reference)
	pi, err := p.c.V1PaymentIntents.Capture(ctx, r.ProviderRef, params)
	if err != nil {
		return declineOrError(err)
	}
	return &till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: pi.ID, Amount: r.Amount}, nil
}

// Release cancels a held PaymentIntent.
func (p *Processor) Release(ctx context.Context, r till.ReleaseRequest) (*till.ProcessorResult, error) {
	params := &stripe.PaymentIntentCancelParams{}
	params.SetIdempotencyKey(r.Reference)
	pi, err := p.c.V1PaymentIntents.Cancel(ctx, r.ProviderRef, params)
	if err != nil {
		return declineOrError(err)
	}
	ref := pi.ID
	if ref == "" {
		ref = r.ProviderRef
	}
	return &till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: ref}, nil
}

// Refund refunds r.Amount of a captured PaymentIntent.
func (p *Processor) Refund(ctx context.Context, r till.RefundRequest) (*till.ProcessorResult, error) {
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(r.ProviderRef), Amount: stripe.Int64(r.Amount)}
	params.AddMetadata(metaReference, r.Reference)
	params.SetIdempotencyKey(r.Reference)
	re, err := p.c.V1Refunds.Create(ctx, params)
	if err != nil {
		res, err := declineOrError(err)
		if res != nil {
			res.DeclineCode, res.SoftDecline = till.DeclineRefundFailed, false
		}
		return res, err
	}
	return refundResult(re), nil
}

// Lookup finds the PaymentIntent Stripe made for charge reference
// r.Reference, with Stripe's search (metadata['till_reference']); listing
// PaymentIntents cannot filter by metadata. Not found (resource_missing)
// sends the caller back to the request under the same Idempotency-Key,
// which is safe: Stripe answers a key it has seen with its first answer
// for 24 hours, and search, which lags writes by up to about a minute, is
// complete long before that.
//
// Refunds, captures and releases are not found: Stripe cannot search
// refunds, and a capture or a cancel keeps the charge's metadata. For them,
// too, the caller resends under the same Idempotency-Key, which acts once
// within those 24 hours.
func (p *Processor) Lookup(ctx context.Context, r till.LookupRequest) (*till.ProcessorResult, error) {
	q := "metadata['" + metaReference + "']:'" + strings.ReplaceAll(r.Reference, "'", "") + "'"
	for pi, err := range p.c.V1PaymentIntents.Search(ctx, &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{Query: q}}).All(ctx) {
		if err != nil {
			return nil, callError(err)
		}
		if pi.Metadata[metaReference] == r.Reference {
			return intentResult(pi), nil
		}
	}
	return nil, till.NotFound("reference", r.Reference)
}

// intentResult maps a PaymentIntent's status to Till's outcome.
func intentResult(pi *stripe.PaymentIntent) *till.ProcessorResult {
	res := &till.ProcessorResult{ProviderRef: pi.ID, Amount: pi.Amount}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		res.Outcome, res.Amount = till.ProcessorSucceeded, pi.AmountReceived
	case stripe.PaymentIntentStatusRequiresCapture:
		res.Outcome, res.Amount = till.ProcessorAuthorized, pi.AmountCapturable
	case stripe.PaymentIntentStatusProcessing:
		res.Outcome = till.ProcessorPending
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		res.Outcome, res.DeclineCode = till.ProcessorRequiresAction, till.DeclineAuthenticationRequired
		res.Message = "The card issuer requires the cardholder to authenticate this payment."
		if na := pi.NextAction; na != nil && na.RedirectToURL != nil {
			res.NextActionURL = na.RedirectToURL.URL
		}
	default: // requires_payment_method, canceled: the attempt failed
		code, msg := till.DeclineGeneric, "The card was declined."
		if e := pi.LastPaymentError; e != nil {
			code = declineCode(e)
			if e.Msg != "" {
				msg = e.Msg
			}
		}
		res.Outcome, res.DeclineCode, res.Message, res.SoftDecline = till.ProcessorDeclined, code, msg, till.SoftDecline(code)
	}
	return res
}

// refundResult maps a Refund's status to Till's outcome.
func refundResult(re *stripe.Refund) *till.ProcessorResult {
	res := &till.ProcessorResult{ProviderRef: re.ID, Amount: re.Amount}
	switch re.Status {
	case stripe.RefundStatusSucceeded:
		res.Outcome = till.ProcessorSucceeded
	case stripe.RefundStatusPending, stripe.RefundStatusRequiresAction:
		res.Outcome = till.ProcessorPending
	default:
		res.Outcome, res.DeclineCode, res.Message = till.ProcessorDeclined, till.DeclineRefundFailed, "Stripe refused the refund."
	}
	return res
}

// declineCodes maps Stripe's decline codes to Till's; others are
// generic_decline.
var declineCodes = map[string]string{
	"insufficient_funds": till.DeclineInsufficientFunds, "expired_card": till.DeclineExpiredCard,
	"incorrect_cvc": till.DeclineIncorrectCVC, "invalid_cvc": till.DeclineIncorrectCVC, "lost_card": till.DeclineLostCard,
	"stolen_card": till.DeclineStolenCard, "processing_error": till.DeclineProcessingError,
	"authentication_required": till.DeclineAuthenticationRequired, "try_again_later": till.DeclineTryAgainLater,
	"incorrect_number": till.DeclineIncorrectNumber, "invalid_number": till.DeclineIncorrectNumber,
	"approve_with_id": till.DeclineTryAgainLater, "issuer_not_available": till.DeclineTryAgainLater,
	"reenter_transaction": till.DeclineTryAgainLater,
}

// declineCode is Till's decline code of a Stripe error.
func declineCode(e *stripe.Error) string {
	for _, c := range []string{string(e.DeclineCode), string(e.Code)} {
		if code, ok := declineCodes[c]; ok {
			return code
		}
	}
	return till.DeclineGeneric
}

// declineOrError turns a Stripe error into a declined result (a card
// error), a requires_action result (authentication_required), a till error
// (a request Stripe refused) or an error of unknown outcome.
func declineOrError(err error) (*till.ProcessorResult, error) {
	var se *stripe.Error
	if !errors.As(err, &se) || se.Type != stripe.ErrorTypeCard {
		return nil, callError(err)
	}
	code := declineCode(se)
	ref := ""
	if se.PaymentIntent != nil {
		ref = se.PaymentIntent.ID
	}
	if code == till.DeclineAuthenticationRequired {
		res := &till.ProcessorResult{Outcome: till.ProcessorRequiresAction, ProviderRef: ref, DeclineCode: code, Message: se.Msg}
		if pi := se.PaymentIntent; pi != nil && pi.NextAction != nil && pi.NextAction.RedirectToURL != nil {
			res.NextActionURL = pi.NextAction.RedirectToURL.URL
		}
		return res, nil
	}
	return &till.ProcessorResult{Outcome: till.ProcessorDeclined, ProviderRef: ref, DeclineCode: code, Message: se.Msg,
		SoftDecline: till.SoftDecline(code)}, nil
}

// callError classifies a failed call: Stripe's answer to a request it
// refused (4xx) is a till error; anything else (network, timeout, 5xx,
// rate limit) leaves the outcome unknown and is returned wrapped.
func callError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests &&
		se.HTTPStatusCode != http.StatusConflict {
		code := till.EValidation
		if se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden {
			code = till.EConflict
		}
		return &till.Error{Code: code, Message: "Stripe refused the request: " + se.Msg, Err: err}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("stripe: %w: %w", till.ErrProcessorTimeout, err)
	}
	return fmt.Errorf("stripe: no answer: %w", err)
}
