package postgres

import (
	"context"

	"github.com/tillpay/till"
)

const sessionColumns = `id, account_id, livemode, customer_id, hash, last4, created_at, expires_at, revoked_at`

func (t *tx) CreateCustomerSession(ctx context.Context, cs *till.CustomerSession) error {
	return t.insert(ctx, "customer session "+cs.ID, `INSERT INTO customer_sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		cs.ID, cs.AccountID, cs.Livemode, cs.CustomerID, cs.Hash, cs.Last4, us(cs.CreatedAt), us(cs.ExpiresAt), nullTime(cs.RevokedAt))
}

func (t *tx) CustomerSession(ctx context.Context, s till.Scope, id string) (*till.CustomerSession, error) {
	return t.session(ctx, till.NotFound("customer session", id),
		`SELECT `+sessionColumns+` FROM customer_sessions WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
}

func (t *tx) CustomerSessionByHash(ctx context.Context, hash []byte) (*till.CustomerSession, error) {
	return t.session(ctx, till.NotFound("customer session", "…"), `SELECT `+sessionColumns+` FROM customer_sessions WHERE hash = $1`, hash)
}

func (t *tx) UpdateCustomerSession(ctx context.Context, cs *till.CustomerSession) error {
	return t.execOne(ctx, till.NotFound("customer session", cs.ID), `UPDATE customer_sessions SET revoked_at = $1 WHERE id = $2`,
		nullTime(cs.RevokedAt), cs.ID)
}

func (t *tx) session(ctx context.Context, notFound error, q string, args ...any) (*till.CustomerSession, error) {
	var cs till.CustomerSession
	var created, expires int64
	var revoked *int64
	if err := t.row(ctx, notFound, q, args, &cs.ID, &cs.AccountID, &cs.Livemode, &cs.CustomerID, &cs.Hash, &cs.Last4,
		&created, &expires, &revoked); err != nil {
		return nil, err
	}
	cs.CreatedAt, cs.ExpiresAt = fromUS(created), fromUS(expires)
	if revoked != nil {
		r := fromUS(*revoked)
		cs.RevokedAt = &r
	}
	return &cs, nil
}
