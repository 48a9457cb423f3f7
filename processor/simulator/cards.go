package simulator

import (
	"time"

	"github.com/tillpay/till"
)

// The test cards of SPEC §4a. Every number passes the Luhn check; any other
// Luhn-valid number behaves like CardVisa.
const (
	CardVisa              = "4242424242424242" // succeeds
	CardMastercard        = "5555555555554444" // succeeds
	CardAmex              = "378282246310005"  // succeeds
	CardIncorrectCVC      = "4000000000000127" // Verify declines: incorrect_cvc
	CardExpired           = "4000000000000069" // Verify declines: expired_card
	CardDeclined          = "4000000000000002" // Charge declines: generic_decline (hard)
	CardInsufficientFunds = "4000000000009995" // Charge declines: insufficient_funds (soft)
	CardProcessingError   = "4000000000000119" // Charge declines: processing_error (soft)
	CardAuthentication    = "4000002760003184" // off-session Charge requires authentication
	CardDispute           = "4000000000000259" // succeeds; a dispute arrives 60 s later
	CardPendingSucceeds   = "4000000000001000" // pending; succeeds 5 s later
	CardPendingFails      = "4000000000002008" // pending; insufficient_funds 5 s later
	CardTimeout           = "4000000000003006" // charged, but the call times out
	CardRefundFails       = "4000000000004004" // succeeds; every refund is declined
)

// Delays of the simulated asynchronous behaviour, in the account's clock
// time (the At of each request).
const (
	SettleDelay  = 5 * time.Second  // a pending charge settles after SettleDelay
	DisputeDelay = 60 * time.Second // a dispute card is disputed after DisputeDelay
)

// messages are the cardholder-safe texts of the decline codes the simulator
// answers with, worded like the card networks' usual messages.
var messages = map[string]string{
	till.DeclineGeneric:                "Your card was declined.",
	till.DeclineInsufficientFunds:      "Your card has insufficient funds.",
	till.DeclineProcessingError:        "An error occurred while processing your card. Try again in a little bit.",
	till.DeclineExpiredCard:            "Your card has expired.",
	till.DeclineIncorrectCVC:           "Your card's security code is incorrect.",
	till.DeclineAuthenticationRequired: "Your card was declined. This transaction requires authentication.",
	till.DeclineRefundFailed:           "The card issuer refused the refund.",
}

// verifyDecline returns the decline code a card gets at save time, or "" when
// it may be saved.
func verifyDecline(number string) string {
	switch number {
	case CardIncorrectCVC:
		return till.DeclineIncorrectCVC
	case CardExpired:
		return till.DeclineExpiredCard
	}
	return ""
}

// chargeRecord decides what the simulated issuer does with r and returns the
// record of it. It is a pure function of r and providerRef, so that a
// unit of work that runs it again builds the same record.
func chargeRecord(r till.ChargeRequest, providerRef string) *till.ProcessorRecord {
	number := r.Source.Card.Number
	rec := &till.ProcessorRecord{
		Reference:   r.Reference,
		Kind:        till.AttemptCharge,
		AccountID:   r.AccountID,
		Livemode:    r.Livemode,
		ProviderRef: providerRef,
		Amount:      r.Amount,
		Currency:    r.Currency,
		Outcome:     approved(r.Capture),
		Last4:       last4(number),
		Fingerprint: r.Source.Fingerprint,
		CreatedAt:   r.At,
	}
	switch number {
	case CardDeclined:
		decline(rec, till.DeclineGeneric)
	case CardInsufficientFunds:
		decline(rec, till.DeclineInsufficientFunds)
	case CardProcessingError:
		decline(rec, till.DeclineProcessingError)
	case CardAuthentication:
		// The issuer asks for authentication every time, on-session too,
		// until the payer has completed its challenge.
		if !r.Authenticated {
			rec.Outcome = till.ProcessorRequiresAction
			rec.DeclineCode = till.DeclineAuthenticationRequired
			rec.Message = messages[till.DeclineAuthenticationRequired]
		}
	case CardDispute:
		at := r.At.Add(DisputeDelay)
		rec.DisputeAt = &at
	case CardPendingSucceeds, CardPendingFails:
		at := r.At.Add(SettleDelay)
		rec.SettleAt = &at
		rec.FinalOutcome = rec.Outcome
		if number == CardPendingFails {
			rec.FinalOutcome = till.ProcessorDeclined
			rec.FinalDecline = till.DeclineInsufficientFunds
		}
		rec.Outcome = till.ProcessorPending
	case CardRefundFails:
		setRefundDecline(rec, till.DeclineRefundFailed)
	}
	return rec
}

// setRefundDecline marks a charge whose every refund the issuer declines with
// code. The record keeps no field of its own for this, so the mark is kept in
// FinalDecline, which only a pending record otherwise uses (a card that
// refuses refunds is never pending). refundDecline reads it back.
func setRefundDecline(charge *till.ProcessorRecord, code string) {
	charge.FinalDecline = code
}

// refundDecline returns the decline code every refund of charge gets, or "".
func refundDecline(charge *till.ProcessorRecord) string {
	if charge.SettleAt != nil {
		return ""
	}
	return charge.FinalDecline
}

func approved(capture bool) till.ProcessorOutcome {
	if capture {
		return till.ProcessorSucceeded
	}
	return till.ProcessorAuthorized
}

func decline(rec *till.ProcessorRecord, code string) {
	rec.Outcome = till.ProcessorDeclined
	rec.DeclineCode = code
	rec.Message = messages[code]
}

func last4(number string) string {
	if len(number) < 4 {
		return number
	}
	return number[len(number)-4:]
}
