package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"

	"github.com/tillpay/till"
)

// authDeclinedMessage is the failure message of a payment whose payer
// refused or failed the issuer's challenge.
const authDeclinedMessage = "The cardholder did not complete authentication."

// maxLinkTokenLen bounds the link tokens looked up: longer strings are not
// tokens Till made and are not worth a query.
const maxLinkTokenLen = 128

// linkNotFound is the error for a link token that names no payment. It never
// repeats the token.
func linkNotFound() error { return till.NotFound("payment link", "…") }

// linkPayment reads the payment whose link token is token: an unknown
// token is linkNotFound's error, whatever the store's says.
func linkPayment(ctx context.Context, tx till.Tx, token string) (*till.Payment, error) {
	p, err := tx.PaymentByLinkToken(ctx, token)
	if isNotFound(err) {
		return nil, linkNotFound()
	}
	return p, err
}

// validLinkToken reports whether token has the shape of a token Till makes
// (ASCII letters and digits).
func validLinkToken(token string) bool {
	if token == "" || len(token) > maxLinkTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// CompleteAuthentication finishes a requires_action payment on-session, as
// the payer decided on the hosted page. It returns a resource_missing error
// for an unknown token, and a state_conflict error unless the payment
// requires action: the move out of requires_action happens once, so a second
// or concurrent submission gets state_conflict and never charges again.
// Simulated authentication exists only in test mode; a live payment gets
// live_mode_forbidden.
//
// When approve is true the payer passed the issuer's challenge: in one unit
// of work the payment goes to processing with a new charge attempt (a new
// reference) and its reconcile task; then the processor is called with
// Authenticated set and the answer settled. It returns the settled payment
// and, when the processor declines even so, a card_declined error with it;
// an unknown outcome leaves the payment processing for the reconciler.
//
// When approve is false the payer refused or failed the challenge: the
// payment goes to processing and then failed, with a failed attempt
// (authentication_required) that no processor saw, and is never retried.
// It returns the failed payment and no error.
func (s *Service) CompleteAuthentication(ctx context.Context, token string, approve bool) (*till.Payment, error) {
	if !validLinkToken(token) {
		return nil, linkNotFound()
	}
	var p *till.Payment
	var attemptID string
	err := s.store.Update(ctx, func(tx till.Tx) error {
		p, attemptID = nil, ""
		cur, err := linkPayment(ctx, tx, token)
		if err != nil {
			return err
		}
		if cur.Status != till.StatusRequiresAction {
			return till.Conflict("This payment is %s; only a payment that requires action can be authenticated.", cur.Status)
		}
		if cur.Livemode {
			return till.Errorf(till.ELiveForbidden, "Simulated authentication is only available in test mode.")
		}
		if cur.Provider != till.ProcessorSimulator {
			return till.Conflict("This payment's processor (%s) authenticates its payer itself; the simulated challenge is only for the simulator.", cur.Provider)
		}
		scope := till.Scope{AccountID: cur.AccountID, Livemode: cur.Livemode}
		a, err := tx.Account(ctx, cur.AccountID)
		if err != nil {
			return err
		}
		from := cur.Version
		now := s.now(a, scope.Livemode)
		var att *till.Attempt
		if err := s.movePayment(ctx, tx, scope, cur, till.StatusProcessing, now, func() error {
			cur.NextAction = nil
			att = s.addAttempt(cur, till.AttemptCharge, cur.AmountTotal, now)
			if cur.Kind == till.KindCharge {
				// A charge's expiresAt was its time to authenticate.
				cur.ExpiresAt = nil
				return tx.DeleteTasks(ctx, taskPaymentExpiry, cur.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		if !approve {
			settled := now
			att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeFailed, string(till.ECardDeclined),
				till.DeclineAuthenticationRequired, authDeclinedMessage
			att.SettledAt = &settled
			cur.Failure = &till.Failure{Code: string(till.ECardDeclined), DeclineCode: till.DeclineAuthenticationRequired,
				Message: authDeclinedMessage}
			if err := s.movePayment(ctx, tx, scope, cur, till.StatusFailed, now, nil); err != nil {
				return err
			}
			if cur.Kind == till.KindLink {
				if err := s.reopenLink(ctx, tx, cur, now); err != nil {
					return err
				}
			}
			p = cur
			return tx.UpdatePayment(ctx, cur, from)
		}
		if err := tx.UpdatePayment(ctx, cur, from); err != nil {
			return err
		}
		p, attemptID = cur, att.ID
		return s.leaseReconcile(ctx, tx, cur)
	})
	if err != nil || attemptID == "" {
		return p, err
	}
	// The attempt is committed under its reference: from here on a payer who
	// goes away must not leave the outcome unknown.
	ctx = context.WithoutCancel(ctx)
	return s.executeAuthenticated(ctx, scopeOf(p), p.ID, attemptID)
}

// executeAuthenticated is execute for an attempt the payer authenticated
// on-session: the processor is told so.
func (s *Service) executeAuthenticated(ctx context.Context, scope till.Scope, paymentID, attemptID string) (*till.Payment, error) {
	a, p, pm, err := s.loadForCall(ctx, scope, paymentID)
	if err != nil {
		return nil, err
	}
	att := p.Attempt(attemptID)
	res, callErr := s.callCharge(ctx, a, p, pm, att, s.now(a, scope.Livemode), true)
	return s.settle(ctx, scope, paymentID, attemptID, res, callErr, nil)
}

// authenticatedAttempt reports whether att was made after the payer
// authenticated on-session: a charge attempt right after one that ended in
// requires_action, which only CompleteAuthentication makes. Sending such an
// attempt again (after an unknown outcome) must carry the authentication
// again, or the issuer would ask for it once more.
func authenticatedAttempt(p *till.Payment, att *till.Attempt) bool {
	if att == nil || att.Kind != till.AttemptCharge {
		return false
	}
	for i := range p.Attempts {
		if p.Attempts[i].ID == att.ID {
			return i > 0 && p.Attempts[i-1].Outcome == till.OutcomeRequiresAction
		}
	}
	return false
}

// FormSecret returns the key that signs the anti-forgery tokens of the
// hosted pages' forms. It is derived from the keyring's fingerprint data key
// (stored wrapped with the other data keys), so every process sharing the
// store and master key derives the same secret and a form rendered by one
// process can be submitted to another. Without a keyring it is random, so
// call it once and keep the result.
func (s *Service) FormSecret() []byte {
	h := sha256.New()
	h.Write([]byte("till form secret v1\x00"))
	if s.keys != nil {
		// Two keyed hashes of fixed labels: 192 bits that the key's holders
		// share and nobody else can compute.
		h.Write([]byte(s.keys.Fingerprint("till:forms", "1")))
		h.Write([]byte(s.keys.Fingerprint("till:forms", "2")))
	} else {
		var b [32]byte
		rand.Read(b[:])
		h.Write(b[:])
	}
	return h.Sum(nil)
}
