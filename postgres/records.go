package postgres

import (
	"context"

	"github.com/tillpay/till"
)

// ViewRecords runs fn on a consistent snapshot of the processor records, as
// View does.
func (s *Store) ViewRecords(ctx context.Context, fn func(till.RecordTx) error) error {
	return s.view(ctx, func(t *tx) error { return fn(t) })
}

// UpdateRecords runs fn in a read-write transaction on the processor records,
// as Update does: fn is run again after a conflict or an error wrapping
// till.ErrStale.
func (s *Store) UpdateRecords(ctx context.Context, fn func(till.RecordTx) error) error {
	return s.updateRetrying(ctx, func(t *tx) error { return fn(t) })
}

func (t *tx) CreateProcessorRecord(ctx context.Context, r *till.ProcessorRecord) error {
	return t.insert(ctx, "processor record "+r.Reference, `INSERT INTO processor_records (reference, kind, account_id, livemode, parent_ref, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		r.Reference, string(r.Kind), r.AccountID, r.Livemode, r.ParentRef, us(r.CreatedAt), mustJSON(r))
}

func (t *tx) ProcessorRecord(ctx context.Context, reference string) (*till.ProcessorRecord, error) {
	r := new(till.ProcessorRecord)
	err := t.getDoc(ctx, r, till.NotFound("processor record", reference), `SELECT doc FROM processor_records WHERE reference = $1`, reference)
	return r, err
}

func (t *tx) UpdateProcessorRecord(ctx context.Context, r *till.ProcessorRecord) error {
	return t.execOne(ctx, till.NotFound("processor record", r.Reference),
		`UPDATE processor_records SET doc = $1 WHERE reference = $2`, mustJSON(r), r.Reference)
}

func (t *tx) ProcessorRecords(ctx context.Context, s till.Scope, reference, parent string) ([]*till.ProcessorRecord, error) {
	if reference != "" {
		return docs[till.ProcessorRecord](ctx, t, `SELECT doc FROM processor_records
			WHERE reference = $1 AND account_id = $2 AND livemode = $3 ORDER BY created_at, seq`, reference, s.AccountID, s.Livemode)
	}
	return docs[till.ProcessorRecord](ctx, t, `SELECT doc FROM processor_records
		WHERE parent_ref = $1 AND account_id = $2 AND livemode = $3 ORDER BY created_at, seq`, parent, s.AccountID, s.Livemode)
}

var _ till.RecordTx = (*tx)(nil)
var _ till.RecordStore = (*Store)(nil)
