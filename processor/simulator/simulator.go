// Package simulator is Till's built-in test-mode card processor (SPEC §4a):
// a deterministic till.Processor whose behaviour is chosen by the test card
// number charged.
//
// It behaves like an external processor that keeps its own durable record of
// every operation, keyed by the caller's idempotent reference, in a
// till.RecordStore (apart from Till's payments). Each call is its own unit
// of work, committed before the simulator answers, so the record survives a
// crash of the caller and a second call with the same reference answers from
// it instead of acting again.
//
// A charge record is never edited once answered, except to settle a pending
// charge: captures, releases, refunds and disputes are records of their own
// whose ParentRef is the charge's reference, and a charge's state (captured,
// released, how much is refunded) is derived from them.
//
// Only the last four digits of a card and the caller's fingerprint are
// recorded, never the number.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Prefixes of the simulator's own ids (ProviderRef), followed by the
// IDSource's random base62 characters.
const (
	PrefixCharge  = "sim_ch_"
	PrefixCapture = "sim_cp_"
	PrefixRelease = "sim_rl_"
	PrefixRefund  = "sim_re_"
	PrefixDispute = "sim_dp_"
)

// maxAttempts bounds how often a call retries its unit of work when a
// concurrent call with the same reference created the record first.
const maxAttempts = 3

// Simulator is the simulated processor. It is safe for concurrent use; all
// its state is in its record store.
type Simulator struct {
	store till.RecordStore
	ids   till.IDSource
}

var _ till.Processor = (*Simulator)(nil)

// New returns a Simulator that keeps its records in store and draws its ids
// from ids. The store need hold nothing else of Till's: the simulator reads
// and writes only its own records.
func New(store till.RecordStore, ids till.IDSource) *Simulator {
	return &Simulator{store: store, ids: ids}
}

// Name returns till.ProcessorSimulator.
func (s *Simulator) Name() string { return till.ProcessorSimulator }

// Verify checks a card at save time. It declines CardIncorrectCVC
// (incorrect_cvc) and CardExpired (expired_card) and accepts every other
// card. It records nothing. It returns a validation_error when the source is
// not a card.
func (s *Simulator) Verify(ctx context.Context, r till.VerifyRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateSource(&v, r.Source)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if code := verifyDecline(r.Source.Card.Number); code != "" {
		return &till.ProcessorResult{Outcome: till.ProcessorDeclined, DeclineCode: code, Message: messages[code]}, nil
	}
	return &till.ProcessorResult{Outcome: till.ProcessorSucceeded}, nil
}

// Charge charges (Capture true) or authorizes (Capture false) a card, with
// the outcome its test card number dictates, and records it under
// r.Reference before answering. A reference already recorded is answered from
// its record, settled as of r.At if it was pending; no money moves again.
//
// Charge returns a validation_error for a missing reference, amount, currency
// or time, for a source that is not a card, and for a reference recorded with
// a different account, amount, currency or card. For CardTimeout it records a
// succeeded charge and then does not answer: the call hangs until ctx ends
// (the caller's processor timeout) or, without a deadline, for
// TimeoutHang, and returns an error wrapping till.ErrProcessorTimeout (the
// first time only; a repeated call answers succeeded at once).
func (s *Simulator) Charge(ctx context.Context, r till.ChargeRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateCall(&v, r.Reference, r.At)
	validateMoney(&v, r.Amount, r.Currency)
	validateSource(&v, r.Source)
	if err := v.Err(); err != nil {
		return nil, err
	}
	want := chargeRecord(r, s.ids.NewID(PrefixCharge))
	rec, created, err := s.record(ctx, r.Reference, r.At, want, func(till.RecordTx) (*till.ProcessorRecord, error) {
		return want, nil
	})
	if err != nil {
		return nil, err
	}
	if created && r.Source.Card.Number == CardTimeout {
		hang := time.NewTimer(TimeoutHang)
		defer hang.Stop()
		select {
		case <-ctx.Done():
		case <-hang.C:
		}
		return nil, fmt.Errorf("simulator: charge %s: %w", r.Reference, till.ErrProcessorTimeout)
	}
	return result(rec), nil
}

// TimeoutHang is how long a charge of CardTimeout hangs when its caller set
// no deadline.
const TimeoutHang = time.Minute

// Capture captures r.Amount of the authorization recorded under
// r.ChargeReference and releases the rest. The charge record keeps its
// authorized answer; the capture is a record of its own.
//
// Capture returns resource_missing when the charge is unknown, state_conflict
// when it is not an authorization still held (declined, pending, captured or
// released), and validation_error for an amount above the authorized amount,
// a currency or provider reference that does not match the charge, or a
// reference recorded for a different request.
func (s *Simulator) Capture(ctx context.Context, r till.CaptureRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateCall(&v, r.Reference, r.At)
	validateParent(&v, r.ChargeReference)
	validateMoney(&v, r.Amount, r.Currency)
	if err := v.Err(); err != nil {
		return nil, err
	}
	providerRef := s.ids.NewID(PrefixCapture)
	want := &till.ProcessorRecord{Kind: till.AttemptCapture, ParentRef: r.ChargeReference, Amount: r.Amount, Currency: r.Currency}
	rec, _, err := s.record(ctx, r.Reference, r.At, want, func(tx till.RecordTx) (*till.ProcessorRecord, error) {
		charge, st, err := loadCharge(ctx, tx, r.ChargeReference, r.ProviderRef, r.At)
		if err != nil {
			return nil, err
		}
		if !st.held(charge) {
			return nil, till.Conflict("Charge %s is %s; only a held authorization can be captured.", r.ChargeReference, st.describe(charge))
		}
		if err := sameCurrency(charge, r.Currency); err != nil {
			return nil, err
		}
		if r.Amount > charge.Amount {
			return nil, till.ParamError(till.EValidation, "amount",
				"The capture amount %d exceeds the authorized amount %d.", r.Amount, charge.Amount)
		}
		return child(charge, r.Reference, till.AttemptCapture, providerRef, r.Amount, r.At), nil
	})
	if err != nil {
		return nil, err
	}
	return result(rec), nil
}

// Release voids the authorization recorded under r.ChargeReference. The
// release record's Amount is the amount released.
//
// Release returns resource_missing when the charge is unknown, state_conflict
// when it is not an authorization still held, and validation_error for a
// provider reference that does not match the charge or a reference recorded
// for a different request.
func (s *Simulator) Release(ctx context.Context, r till.ReleaseRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateCall(&v, r.Reference, r.At)
	validateParent(&v, r.ChargeReference)
	if err := v.Err(); err != nil {
		return nil, err
	}
	providerRef := s.ids.NewID(PrefixRelease)
	want := &till.ProcessorRecord{Kind: till.AttemptRelease, ParentRef: r.ChargeReference}
	rec, _, err := s.record(ctx, r.Reference, r.At, want, func(tx till.RecordTx) (*till.ProcessorRecord, error) {
		charge, st, err := loadCharge(ctx, tx, r.ChargeReference, r.ProviderRef, r.At)
		if err != nil {
			return nil, err
		}
		if !st.held(charge) {
			return nil, till.Conflict("Charge %s is %s; only a held authorization can be released.", r.ChargeReference, st.describe(charge))
		}
		return child(charge, r.Reference, till.AttemptRelease, providerRef, charge.Amount, r.At), nil
	})
	if err != nil {
		return nil, err
	}
	return result(rec), nil
}

// Refund returns r.Amount of the money captured under r.ChargeReference. A
// refund of a CardRefundFails charge is recorded as declined (refund_failed);
// a declined refund does not count against the refundable amount.
//
// Refund returns resource_missing when the charge is unknown, state_conflict
// when nothing of it was captured, and validation_error when the refunds
// would exceed the captured amount, for a currency or provider reference that
// does not match the charge, or a reference recorded for a different request.
func (s *Simulator) Refund(ctx context.Context, r till.RefundRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateCall(&v, r.Reference, r.At)
	validateParent(&v, r.ChargeReference)
	validateMoney(&v, r.Amount, r.Currency)
	if err := v.Err(); err != nil {
		return nil, err
	}
	providerRef := s.ids.NewID(PrefixRefund)
	want := &till.ProcessorRecord{Kind: till.AttemptRefund, ParentRef: r.ChargeReference, Amount: r.Amount, Currency: r.Currency}
	rec, _, err := s.record(ctx, r.Reference, r.At, want, func(tx till.RecordTx) (*till.ProcessorRecord, error) {
		charge, st, err := loadCharge(ctx, tx, r.ChargeReference, r.ProviderRef, r.At)
		if err != nil {
			return nil, err
		}
		if st.captured == 0 {
			return nil, till.Conflict("Charge %s is %s; only a captured charge can be refunded.", r.ChargeReference, st.describe(charge))
		}
		if err := sameCurrency(charge, r.Currency); err != nil {
			return nil, err
		}
		if left := st.captured - st.refunded; r.Amount > left {
			return nil, till.ParamError(till.EValidation, "amount",
				"The refund amount %d exceeds the %d still refundable.", r.Amount, left)
		}
		rec := child(charge, r.Reference, till.AttemptRefund, providerRef, r.Amount, r.At)
		if code := refundDecline(charge); code != "" {
			decline(rec, code)
		}
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	return result(rec), nil
}

// Lookup returns what the simulator answered for r.Reference, of any kind. A
// pending charge whose settle time is at or before r.At is settled, and the
// settlement recorded, before it is returned. Lookup returns resource_missing
// when the reference was never recorded.
func (s *Simulator) Lookup(ctx context.Context, r till.LookupRequest) (*till.ProcessorResult, error) {
	var v till.Validator
	validateCall(&v, r.Reference, r.At)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var rec *till.ProcessorRecord
	err := s.store.ViewRecords(ctx, func(tx till.RecordTx) error {
		var err error
		rec, err = tx.ProcessorRecord(ctx, r.Reference)
		return err
	})
	if err == nil && due(rec, r.At) {
		err = s.store.UpdateRecords(ctx, func(tx till.RecordTx) error {
			var err error
			if rec, err = tx.ProcessorRecord(ctx, r.Reference); err != nil {
				return err
			}
			if settle(rec, r.At) {
				return tx.UpdateProcessorRecord(ctx, rec)
			}
			return nil
		})
	}
	if till.ErrorCode(err) == till.ENotFound {
		return nil, till.NotFound("processor reference", r.Reference)
	}
	if err != nil {
		return nil, err
	}
	return result(rec), nil
}

// record is the one path by which an operation is recorded. In one unit of
// work it answers from the record under ref when there is one (after checking
// that it was made for the same request as want and settling it as of at),
// and otherwise stores the record that create builds. created reports whether
// this call stored it. When a concurrent call stores a record under ref
// first, the unit of work fails with till.ErrDuplicate and runs again, and
// then answers from that record.
func (s *Simulator) record(ctx context.Context, ref string, at time.Time, want *till.ProcessorRecord,
	create func(tx till.RecordTx) (*till.ProcessorRecord, error)) (rec *till.ProcessorRecord, created bool, err error) {
	for attempt := 1; ; attempt++ {
		err = s.store.UpdateRecords(ctx, func(tx till.RecordTx) error {
			rec, created = nil, false
			// A new reference is the common case: try to store the record
			// first and read the existing one only when the reference is
			// taken. (Create* leaves the unit of work usable on a
			// duplicate, so the read can follow in the same unit.)
			nu, cerr := create(tx)
			if cerr == nil {
				err := tx.CreateProcessorRecord(ctx, nu)
				if err == nil {
					rec, created = nu, true
					return nil
				}
				if !errors.Is(err, till.ErrDuplicate) {
					return err
				}
			}
			old, err := tx.ProcessorRecord(ctx, ref)
			switch {
			case err == nil:
			case till.ErrorCode(err) == till.ENotFound && cerr != nil:
				return cerr
			case till.ErrorCode(err) == till.ENotFound:
				// Taken, yet not visible: run the unit again.
				return fmt.Errorf("reference %s: %w", ref, till.ErrDuplicate)
			default:
				return err
			}
			if err := sameRequest(old, want); err != nil {
				return err
			}
			if settle(old, at) {
				if err := tx.UpdateProcessorRecord(ctx, old); err != nil {
					return err
				}
			}
			rec = old
			return nil
		})
		if errors.Is(err, till.ErrDuplicate) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return rec, created, nil
	}
}

// sameRequest returns a validation_error unless old was recorded for the
// request want describes. Fields of want left zero (the account of a capture,
// the amount of a release) are not compared.
func sameRequest(old, want *till.ProcessorRecord) error {
	same := old.Kind == want.Kind && old.ParentRef == want.ParentRef &&
		(want.AccountID == "" || old.AccountID == want.AccountID && old.Livemode == want.Livemode) &&
		(want.Amount == 0 || old.Amount == want.Amount) &&
		(want.Currency == "" || strings.EqualFold(old.Currency, want.Currency)) &&
		(want.Last4 == "" || old.Last4 == want.Last4) &&
		(want.Fingerprint == "" || old.Fingerprint == want.Fingerprint)
	if same {
		return nil
	}
	return till.ParamError(till.EValidation, "reference",
		"Reference %s was already used for a different %s request; a reference can only be reused with the same parameters.",
		old.Reference, old.Kind)
}

// chargeState is what the records under a charge say about it.
type chargeState struct {
	captured int64 // amount captured: the charge's own for a charge captured at once
	released bool
	refunded int64 // sum of the refunds that succeeded
	dispute  *till.ProcessorRecord
}

func stateOf(charge *till.ProcessorRecord, children []*till.ProcessorRecord) chargeState {
	var st chargeState
	if charge.Outcome == till.ProcessorSucceeded {
		st.captured = charge.Amount
	}
	for _, c := range children {
		switch {
		case c.Kind == KindDispute:
			st.dispute = c
		case c.Outcome != till.ProcessorSucceeded:
		case c.Kind == till.AttemptCapture:
			st.captured = c.Amount
		case c.Kind == till.AttemptRelease:
			st.released = true
		case c.Kind == till.AttemptRefund:
			st.refunded += c.Amount
		}
	}
	return st
}

// held reports whether charge is an authorization neither captured nor
// released.
func (st chargeState) held(charge *till.ProcessorRecord) bool {
	return charge.Outcome == till.ProcessorAuthorized && st.captured == 0 && !st.released
}

// describe names the charge's state for an error message.
func (st chargeState) describe(charge *till.ProcessorRecord) string {
	switch {
	case st.released:
		return "released"
	case st.captured > 0:
		return "captured"
	}
	return string(charge.Outcome)
}

// loadCharge reads the charge recorded under ref, settles it as of at if it
// is a pending charge due, and derives its state from its child records.
func loadCharge(ctx context.Context, tx till.RecordTx, ref, providerRef string, at time.Time) (*till.ProcessorRecord, chargeState, error) {
	charge, err := tx.ProcessorRecord(ctx, ref)
	if till.ErrorCode(err) == till.ENotFound || err == nil && charge.Kind != till.AttemptCharge {
		return nil, chargeState{}, till.NotFound("charge", ref)
	}
	if err != nil {
		return nil, chargeState{}, err
	}
	if providerRef != "" && providerRef != charge.ProviderRef {
		return nil, chargeState{}, till.ParamError(till.EValidation, "providerRef",
			"Provider reference %s does not belong to charge %s.", providerRef, ref)
	}
	if settle(charge, at) {
		if err := tx.UpdateProcessorRecord(ctx, charge); err != nil {
			return nil, chargeState{}, err
		}
	}
	children, err := tx.ProcessorRecords(ctx, scopeOf(charge), "", ref)
	if err != nil {
		return nil, chargeState{}, err
	}
	return charge, stateOf(charge, children), nil
}

// child returns a record of an operation on charge, in the charge's scope and
// currency, approved.
func child(charge *till.ProcessorRecord, ref string, kind till.AttemptKind, providerRef string, amount int64, at time.Time) *till.ProcessorRecord {
	return &till.ProcessorRecord{
		Reference:   ref,
		Kind:        kind,
		AccountID:   charge.AccountID,
		Livemode:    charge.Livemode,
		ParentRef:   charge.Reference,
		ProviderRef: providerRef,
		Amount:      amount,
		Currency:    charge.Currency,
		Outcome:     till.ProcessorSucceeded,
		Last4:       charge.Last4,
		Fingerprint: charge.Fingerprint,
		CreatedAt:   at,
	}
}

func scopeOf(rec *till.ProcessorRecord) till.Scope {
	return till.Scope{AccountID: rec.AccountID, Livemode: rec.Livemode}
}

// due reports whether rec is pending and settles at or before at.
func due(rec *till.ProcessorRecord, at time.Time) bool {
	return rec.Outcome == till.ProcessorPending && rec.SettleAt != nil && !at.Before(*rec.SettleAt)
}

// settle turns a pending record due at at into its final outcome and reports
// whether it changed rec.
func settle(rec *till.ProcessorRecord, at time.Time) bool {
	if !due(rec, at) {
		return false
	}
	rec.Outcome = rec.FinalOutcome
	rec.DeclineCode = rec.FinalDecline
	rec.Message = messages[rec.FinalDecline]
	return true
}

func result(rec *till.ProcessorRecord) *till.ProcessorResult {
	return &till.ProcessorResult{
		Outcome:     rec.Outcome,
		ProviderRef: rec.ProviderRef,
		Amount:      rec.Amount,
		DeclineCode: rec.DeclineCode,
		Message:     rec.Message,
		SoftDecline: rec.Outcome == till.ProcessorDeclined && till.SoftDecline(rec.DeclineCode),
	}
}

func sameCurrency(charge *till.ProcessorRecord, currency string) error {
	if strings.EqualFold(charge.Currency, currency) {
		return nil
	}
	return till.ParamError(till.EValidation, "currency",
		"The currency %s does not match the charge's currency %s.", currency, charge.Currency)
}

func validateCall(v *till.Validator, ref string, at time.Time) {
	if ref == "" {
		v.Add("reference", "A reference is required.")
	}
	if at.IsZero() {
		v.Add("at", "The time of the call is required.")
	}
}

func validateParent(v *till.Validator, chargeRef string) {
	if chargeRef == "" {
		v.Add("chargeReference", "The reference of the charge is required.")
	}
}

func validateMoney(v *till.Validator, amount int64, currency string) {
	if amount <= 0 {
		v.Add("amount", "The amount must be a positive number of minor units.")
	}
	if currency == "" {
		v.Add("currency", "A currency is required.")
	}
}

func validateSource(v *till.Validator, src till.PaymentSource) {
	switch {
	case src.Card != nil && src.Card.Number != "":
	case src.ProviderRef != "":
		v.Add("source", "The simulator charges cards only, not a payment method kept by another processor.")
	default:
		v.Add("source.card", "A card is required.")
	}
}
