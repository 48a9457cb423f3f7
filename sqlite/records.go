package sqlite

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
// as Update does: the commit may be shared with other units of work, and fn
// is run again when it returns an error wrapping till.ErrStale.
func (s *Store) UpdateRecords(ctx context.Context, fn func(till.RecordTx) error) error {
	return s.update(ctx, func(t *tx) error { return fn(t) })
}

func (t *tx) CreateProcessorRecord(ctx context.Context, r *till.ProcessorRecord) error {
	_, err := t.exec(ctx, `INSERT INTO processor_records (reference, kind, account_id, livemode, parent_ref, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Reference, r.Kind, r.AccountID, b2i(r.Livemode), r.ParentRef, us(r.CreatedAt), mustJSON(r))
	return err
}

func (t *tx) ProcessorRecord(ctx context.Context, reference string) (*till.ProcessorRecord, error) {
	r := new(till.ProcessorRecord)
	err := t.getDoc(ctx, r, till.NotFound("processor record", reference), `SELECT doc FROM processor_records WHERE reference = ?`, reference)
	return r, err
}

func (t *tx) UpdateProcessorRecord(ctx context.Context, r *till.ProcessorRecord) error {
	return t.execOne(ctx, till.NotFound("processor record", r.Reference),
		`UPDATE processor_records SET doc = ? WHERE reference = ?`, mustJSON(r), r.Reference)
}

func (t *tx) ProcessorRecords(ctx context.Context, s till.Scope, reference, parent string) ([]*till.ProcessorRecord, error) {
	if reference != "" {
		return docs[till.ProcessorRecord](ctx, t, `SELECT doc FROM processor_records
			WHERE reference = ? AND account_id = ? AND livemode = ? ORDER BY created_at`, reference, s.AccountID, b2i(s.Livemode))
	}
	return docs[till.ProcessorRecord](ctx, t, `SELECT doc FROM processor_records
		WHERE parent_ref = ? AND account_id = ? AND livemode = ? ORDER BY created_at`, parent, s.AccountID, b2i(s.Livemode))
}

var _ till.RecordTx = (*tx)(nil)
var _ till.RecordStore = (*Store)(nil)
