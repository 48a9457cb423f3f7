package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tillpay/till"
)

// --- the catalogue

func (t *tx) NextCatalogNumber(ctx context.Context, s till.Scope, kind till.CatalogKind) (int64, error) {
	st, err := t.stmt(ctx, `INSERT INTO catalog_counters (account_id, livemode, kind, last) VALUES (?, ?, ?, 1)
		ON CONFLICT (account_id, livemode, kind) DO UPDATE SET last = last + 1 RETURNING last`)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := st.QueryRowContext(ctx, s.AccountID, b2i(s.Livemode), string(kind)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: next catalogue number: %w", err)
	}
	return n, nil
}

// catalogKey is the stored key column: NULL for no key and for deleted
// objects, whose keys are free for new objects.
func catalogKey(e *till.CatalogEntry) sql.NullString {
	return sql.NullString{String: e.Key, Valid: e.Key != "" && !e.Deleted}
}

func (t *tx) CreateCatalogObject(ctx context.Context, o till.CatalogObject) error {
	e := o.Entry()
	_, err := t.exec(ctx, `INSERT INTO catalog_objects (id, account_id, livemode, kind, number, key, deleted, version, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, b2i(e.Livemode), string(e.Kind), e.Number, catalogKey(e), b2i(e.Deleted), e.Version, us(e.CreatedAt), mustJSON(o))
	return err
}

func (t *tx) CatalogObject(ctx context.Context, s till.Scope, kind till.CatalogKind, id string, into till.CatalogObject) error {
	return t.getDoc(ctx, into, till.NotFound(string(kind), id),
		`SELECT doc FROM catalog_objects WHERE id = ? AND account_id = ? AND livemode = ? AND kind = ?`, id, s.AccountID, b2i(s.Livemode), string(kind))
}

func (t *tx) CatalogObjectByNumber(ctx context.Context, s till.Scope, kind till.CatalogKind, number int64, into till.CatalogObject) error {
	return t.getDoc(ctx, into, till.NotFound(string(kind), fmt.Sprint(number)),
		`SELECT doc FROM catalog_objects WHERE account_id = ? AND livemode = ? AND kind = ? AND number = ?`, s.AccountID, b2i(s.Livemode), string(kind), number)
}

func (t *tx) CatalogObjectByKey(ctx context.Context, s till.Scope, kind till.CatalogKind, key string, into till.CatalogObject) error {
	return t.getDoc(ctx, into, till.NotFound(string(kind), key),
		`SELECT doc FROM catalog_objects WHERE account_id = ? AND livemode = ? AND kind = ? AND key = ?`, s.AccountID, b2i(s.Livemode), string(kind), key)
}

func (t *tx) UpdateCatalogObject(ctx context.Context, o till.CatalogObject, fromVersion int64) error {
	e := o.Entry()
	return t.execOne(ctx, fmt.Errorf("%s %s: %w", e.Kind, e.ID, till.ErrStale),
		`UPDATE catalog_objects SET key = ?, deleted = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		catalogKey(e), b2i(e.Deleted), e.Version, mustJSON(o), e.ID, fromVersion)
}

func (t *tx) ListCatalogObjects(ctx context.Context, s till.Scope, kind till.CatalogKind, p till.Page, newObj func() till.CatalogObject) ([]till.CatalogObject, bool, error) {
	seq, err := t.cursor(ctx, "catalog_objects", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	n := limitOf(p)
	rows, err := t.query(ctx, `SELECT doc FROM catalog_objects WHERE account_id = ? AND livemode = ? AND kind = ? AND deleted = 0 AND seq < ?
		ORDER BY seq DESC LIMIT ?`, s.AccountID, b2i(s.Livemode), string(kind), seq, n+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []till.CatalogObject
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, false, fmt.Errorf("sqlite: %w", err)
		}
		o := newObj()
		if err := json.Unmarshal(doc, o); err != nil {
			return nil, false, fmt.Errorf("sqlite: decode: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: %w", err)
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

func (t *tx) CreateCatalogClaim(ctx context.Context, c *till.CatalogClaim) error {
	_, err := t.exec(ctx, `INSERT INTO catalog_claims (account_id, livemode, kind, object_id, customer_id, payment_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.AccountID, b2i(c.Livemode), string(c.Kind), c.ObjectID, c.CustomerID, c.PaymentID, us(c.CreatedAt))
	return err
}

func (t *tx) CountCatalogClaims(ctx context.Context, s till.Scope, kind till.CatalogKind, objectID, customerID string) (int64, error) {
	q := `SELECT COUNT(*) FROM catalog_claims WHERE account_id = ? AND livemode = ? AND kind = ? AND object_id = ?`
	args := []any{s.AccountID, b2i(s.Livemode), string(kind), objectID}
	if customerID != "" {
		q += ` AND customer_id = ?`
		args = append(args, customerID)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := st.QueryRowContext(ctx, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count claims: %w", err)
	}
	return n, nil
}

func (t *tx) DeleteCatalogClaims(ctx context.Context, s till.Scope, paymentID string) error {
	_, err := t.exec(ctx, `DELETE FROM catalog_claims WHERE account_id = ? AND livemode = ? AND payment_id = ?`,
		s.AccountID, b2i(s.Livemode), paymentID)
	return err
}
