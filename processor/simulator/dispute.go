package simulator

import (
	"context"
	"errors"
	"time"

	"github.com/tillpay/till"
)

// KindDispute is the kind of the record of a dispute (chargeback) the
// simulator raised against a charge. A dispute record's ParentRef is the
// charge's reference and its Amount the amount disputed.
const KindDispute till.AttemptKind = "dispute"

// DisputeReference returns the reference under which the dispute of the
// charge recorded under chargeReference is recorded, for Lookup.
func DisputeReference(chargeReference string) string {
	return "dispute:" + chargeReference
}

// DueDisputes returns the charge records of scope sc whose chargeback has
// arrived by at and has not yet been reported with MarkDisputeReported,
// oldest first: charges of CardDispute, DisputeDelay after they were made,
// with money captured (an authorization released uncaptured is never
// disputed). It returns an empty list when none are due.
//
// It reads every charge of the scope: the store offers no query by DisputeAt.
func (s *Simulator) DueDisputes(ctx context.Context, sc till.Scope, at time.Time) ([]*till.ProcessorRecord, error) {
	var out []*till.ProcessorRecord
	err := s.store.ViewRecords(ctx, func(tx till.RecordTx) error {
		out = nil
		// Records without a parent are the charges.
		charges, err := tx.ProcessorRecords(ctx, sc, "", "")
		if err != nil {
			return err
		}
		for _, c := range charges {
			if c.Kind != till.AttemptCharge || c.DisputeAt == nil || c.DisputeAt.After(at) {
				continue
			}
			children, err := tx.ProcessorRecords(ctx, sc, "", c.Reference)
			if err != nil {
				return err
			}
			if st := stateOf(c, children); st.captured > 0 && st.dispute == nil {
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkDisputeReported records, under DisputeReference(chargeReference), that
// the chargeback of the charge has been reported to its payment, so that
// DueDisputes no longer returns it, and returns the dispute record (Outcome
// succeeded, Amount the amount captured, ProviderRef starting with
// PrefixDispute). It is idempotent: a second call returns the first record.
//
// It returns resource_missing when the charge is unknown and state_conflict
// when the charge has no chargeback due by at.
func (s *Simulator) MarkDisputeReported(ctx context.Context, chargeReference string, at time.Time) (*till.ProcessorRecord, error) {
	ref := DisputeReference(chargeReference)
	providerRef := s.ids.NewID(PrefixDispute)
	for attempt := 1; ; attempt++ {
		var rec *till.ProcessorRecord
		err := s.store.UpdateRecords(ctx, func(tx till.RecordTx) error {
			rec = nil
			charge, st, err := loadCharge(ctx, tx, chargeReference, "", at)
			if err != nil {
				return err
			}
			if st.dispute != nil {
				rec = st.dispute
				return nil
			}
			if charge.DisputeAt == nil || charge.DisputeAt.After(at) || st.captured == 0 {
				return till.Conflict("Charge %s has no dispute due.", chargeReference)
			}
			rec = child(charge, ref, KindDispute, providerRef, st.captured, at)
			return tx.CreateProcessorRecord(ctx, rec)
		})
		if errors.Is(err, till.ErrDuplicate) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return rec, nil
	}
}

// Records lists the simulator's own records of scope sc: the record of
// reference and, when parent is set instead, the records made under that
// charge (captures, releases, refunds, disputes). It is how test mode shows
// what the processor did (GET /v1/test/processor/charges).
func (s *Simulator) Records(ctx context.Context, sc till.Scope, reference, parent string) ([]*till.ProcessorRecord, error) {
	var out []*till.ProcessorRecord
	err := s.store.ViewRecords(ctx, func(tx till.RecordTx) (err error) {
		out, err = tx.ProcessorRecords(ctx, sc, reference, parent)
		return err
	})
	return out, err
}
