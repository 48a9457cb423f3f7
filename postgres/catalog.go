package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tillpay/till"
)

// --- the catalogue

// NextCatalogNumber takes the next number of a kind. The counter row stays
// locked until the unit of work ends, so creators in every process take
// turns and a rolled-back unit gives its number back.
func (t *tx) NextCatalogNumber(ctx context.Context, s till.Scope, kind till.CatalogKind) (int64, error) {
	var n int64
	err := t.row(ctx, errUnstorable, `INSERT INTO catalog_counters (account_id, livemode, kind, last) VALUES ($1, $2, $3, 1)
		ON CONFLICT (account_id, livemode, kind) DO UPDATE SET last = catalog_counters.last + 1 RETURNING last`,
		[]any{s.AccountID, s.Livemode, string(kind)}, &n)
	if err != nil {
		return 0, fmt.Errorf("postgres: next catalogue number: %w", err)
	}
	return n, nil
}

// catalogKey is the stored key column: NULL for no key and for deleted
// objects, whose keys are free for new objects.
func catalogKey(e *till.CatalogEntry) *string {
	if e.Key == "" || e.Deleted {
		return nil
	}
	return &e.Key
}

func (t *tx) CreateCatalogObject(ctx context.Context, o till.CatalogObject) error {
	e := o.Entry()
	return t.insert(ctx, string(e.Kind)+" "+e.ID, `INSERT INTO catalog_objects (id, account_id, livemode, kind, number, key, deleted, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		e.ID, e.AccountID, e.Livemode, string(e.Kind), e.Number, catalogKey(e), e.Deleted, e.Version, us(e.CreatedAt), mustJSON(o))
}

// catalogRead reads one catalogue object by a condition; inside Update it
// locks the row until the unit ends (see Payment), so charges of the last
// units of one item take turns instead of failing each other's version
// checks.
func (t *tx) catalogRead(ctx context.Context, s till.Scope, kind till.CatalogKind, cond string, arg any, into till.CatalogObject, missing string) error {
	q := `SELECT doc FROM catalog_objects WHERE account_id = $1 AND livemode = $2 AND kind = $3 AND ` + cond + ` = $4`
	if t.write {
		q += ` FOR UPDATE`
	}
	return t.getDoc(ctx, into, till.NotFound(string(kind), missing), q, s.AccountID, s.Livemode, string(kind), arg)
}

func (t *tx) CatalogObject(ctx context.Context, s till.Scope, kind till.CatalogKind, id string, into till.CatalogObject) error {
	return t.catalogRead(ctx, s, kind, "id", id, into, id)
}

func (t *tx) CatalogObjectByNumber(ctx context.Context, s till.Scope, kind till.CatalogKind, number int64, into till.CatalogObject) error {
	return t.catalogRead(ctx, s, kind, "number", number, into, fmt.Sprint(number))
}

func (t *tx) CatalogObjectByKey(ctx context.Context, s till.Scope, kind till.CatalogKind, key string, into till.CatalogObject) error {
	return t.catalogRead(ctx, s, kind, "key", key, into, key)
}

func (t *tx) UpdateCatalogObject(ctx context.Context, o till.CatalogObject, fromVersion int64) error {
	e := o.Entry()
	return t.execOne(ctx, fmt.Errorf("%s %s: %w", e.Kind, e.ID, till.ErrStale),
		`UPDATE catalog_objects SET key = $1, deleted = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6`,
		catalogKey(e), e.Deleted, e.Version, mustJSON(o), e.ID, fromVersion)
}

func (t *tx) ListCatalogObjects(ctx context.Context, s till.Scope, kind till.CatalogKind, p till.Page, newObj func() till.CatalogObject) ([]till.CatalogObject, bool, error) {
	seq, err := t.cursor(ctx, "catalog_objects", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	n := limitOf(p)
	var out []till.CatalogObject
	err = t.rows(ctx, `SELECT doc FROM catalog_objects WHERE account_id = $1 AND livemode = $2 AND kind = $3 AND NOT deleted AND seq < $4
		ORDER BY seq DESC LIMIT $5`, []any{s.AccountID, s.Livemode, string(kind), seq, n + 1}, func(r pgx.Rows) error {
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return err
		}
		o := newObj()
		if err := json.Unmarshal(doc, o); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

func (t *tx) CreateCatalogClaim(ctx context.Context, c *till.CatalogClaim) error {
	_, err := t.exec(ctx, `INSERT INTO catalog_claims (account_id, livemode, kind, object_id, customer_id, payment_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.AccountID, c.Livemode, string(c.Kind), c.ObjectID, c.CustomerID, c.PaymentID, us(c.CreatedAt))
	return err
}

func (t *tx) CountCatalogClaims(ctx context.Context, s till.Scope, kind till.CatalogKind, objectID, customerID string) (int64, error) {
	q := `SELECT COUNT(*) FROM catalog_claims WHERE account_id = $1 AND livemode = $2 AND kind = $3 AND object_id = $4`
	args := []any{s.AccountID, s.Livemode, string(kind), objectID}
	if customerID != "" {
		q += ` AND customer_id = $5`
		args = append(args, customerID)
	}
	var n int64
	if err := t.row(ctx, errUnstorable, q, args, &n); err != nil {
		return 0, fmt.Errorf("postgres: count claims: %w", err)
	}
	return n, nil
}

func (t *tx) DeleteCatalogClaims(ctx context.Context, s till.Scope, paymentID string) error {
	_, err := t.exec(ctx, `DELETE FROM catalog_claims WHERE account_id = $1 AND livemode = $2 AND payment_id = $3`,
		s.AccountID, s.Livemode, paymentID)
	return err
}
