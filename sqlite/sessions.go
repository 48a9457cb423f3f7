package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tillpay/till"
)

const sessionColumns = `id, account_id, livemode, customer_id, hash, last4, created_at, expires_at, revoked_at`

func (t *tx) CreateCustomerSession(ctx context.Context, cs *till.CustomerSession) error {
	_, err := t.exec(ctx, `INSERT INTO customer_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		cs.ID, cs.AccountID, b2i(cs.Livemode), cs.CustomerID, cs.Hash, cs.Last4, us(cs.CreatedAt), us(cs.ExpiresAt), nullTime(cs.RevokedAt))
	return err
}

func (t *tx) CustomerSession(ctx context.Context, s till.Scope, id string) (*till.CustomerSession, error) {
	st, err := t.stmt(ctx, `SELECT `+sessionColumns+` FROM customer_sessions WHERE id = ? AND account_id = ? AND livemode = ?`)
	if err != nil {
		return nil, err
	}
	return scanSession(st.QueryRowContext(ctx, id, s.AccountID, b2i(s.Livemode)), till.NotFound("customer session", id))
}

func (t *tx) CustomerSessionByHash(ctx context.Context, hash []byte) (*till.CustomerSession, error) {
	st, err := t.stmt(ctx, `SELECT `+sessionColumns+` FROM customer_sessions WHERE hash = ?`)
	if err != nil {
		return nil, err
	}
	return scanSession(st.QueryRowContext(ctx, hash), till.NotFound("customer session", "…"))
}

func (t *tx) UpdateCustomerSession(ctx context.Context, cs *till.CustomerSession) error {
	return t.execOne(ctx, till.NotFound("customer session", cs.ID), `UPDATE customer_sessions SET revoked_at = ? WHERE id = ?`,
		nullTime(cs.RevokedAt), cs.ID)
}

func scanSession(row interface{ Scan(...any) error }, notFound error) (*till.CustomerSession, error) {
	var cs till.CustomerSession
	var live int
	var created, expires int64
	var revoked sql.NullInt64
	if err := row.Scan(&cs.ID, &cs.AccountID, &live, &cs.CustomerID, &cs.Hash, &cs.Last4, &created, &expires, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	cs.Livemode = live == 1
	cs.CreatedAt, cs.ExpiresAt = fromUS(created), fromUS(expires)
	if revoked.Valid {
		r := fromUS(revoked.Int64)
		cs.RevokedAt = &r
	}
	return &cs, nil
}
