package service

import (
	"github.com/tillpay/till"
)

// declineOf returns a decline's code and payer-safe message.
func declineOf(res *till.ProcessorResult) (code, msg string) {
	code, msg = res.DeclineCode, res.Message
	if code == "" {
		code = till.DeclineGeneric
	}
	if msg == "" {
		msg = DeclineMessage(code)
	}
	return code, msg
}

// cardError returns the card error a payment's state stands for: a decline
// for a failed payment, authentication_required for one that needs the
// payer. Other states are not errors.
func cardError(p *till.Payment, baseURL string) error {
	if att := p.LastAttempt(); att != nil && att.Kind != till.AttemptCharge && att.Outcome == till.OutcomeFailed {
		return &till.Error{Code: till.ECardDeclined, Message: att.Message,
			Decline: &till.Decline{DeclineCode: att.DeclineCode, PaymentID: p.ID}}
	}
	if att := p.LastAttempt(); att != nil && att.OffSession && att.Outcome == till.OutcomeFailed && p.Status == till.StatusPending {
		// A link the merchant charged off-session (ChargeLink) waits for
		// its payer again after the decline.
		return &till.Error{Code: till.ECardDeclined, Message: att.Message, Param: "paymentMethodId",
			Decline: &till.Decline{DeclineCode: att.DeclineCode, PaymentID: p.ID}}
	}
	switch p.Status {
	case till.StatusFailed, till.StatusRetryScheduled:
		f := p.Failure
		if f == nil {
			f = &till.Failure{DeclineCode: till.DeclineGeneric, Message: DeclineMessage(till.DeclineGeneric)}
		}
		return &till.Error{Code: till.ECardDeclined, Message: f.Message, Param: "paymentMethodId",
			Decline: &till.Decline{DeclineCode: f.DeclineCode, PaymentID: p.ID}}
	case till.StatusRequiresAction:
		url := ""
		if p.NextAction != nil {
			url = p.NextAction.URL
		}
		return &till.Error{Code: till.ECardDeclined, Param: "paymentMethodId",
			Message: "The card issuer requires the cardholder to authenticate this payment. Send them to nextActionUrl to complete it on-session.",
			Decline: &till.Decline{DeclineCode: till.DeclineAuthenticationRequired, PaymentID: p.ID, NextActionURL: url}}
	}
	return nil
}

// DeclineMessage is the payer-safe explanation of a decline code.
func DeclineMessage(code string) string {
	switch code {
	case till.DeclineInsufficientFunds:
		return "The card has insufficient funds to complete the purchase."
	case till.DeclineExpiredCard:
		return "The card has expired."
	case till.DeclineIncorrectCVC:
		return "The card's security code is incorrect."
	case till.DeclineLostCard, till.DeclineStolenCard, till.DeclineGeneric:
		return "The card was declined."
	case till.DeclineProcessingError:
		return "An error occurred while processing the card. Try again later."
	case till.DeclineAuthenticationRequired:
		return "The card issuer requires the cardholder to authenticate this payment."
	case till.DeclineTryAgainLater:
		return "The card issuer could not be reached. Try again later."
	case till.DeclineIncorrectNumber:
		return "The card number is incorrect."
	case till.DeclineRefundFailed:
		return "The card issuer refused the refund."
	}
	return "The card was declined."
}
