package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tillpay/till"
)

// tx is a unit of work: one read-write transaction (write) or one read-only
// snapshot.
type tx struct {
	tx    pgx.Tx
	write bool
	// conflict is the first serialization failure or deadlock a statement
	// met; the transaction is then aborted and Update runs the unit again
	// whatever the function made of the error.
	conflict error
}

// errUnstorable is returned for a write of text PostgreSQL cannot hold (a
// NUL byte or invalid UTF-8); the service validates input before it gets
// here, so this is a bug where it happens.
var errUnstorable = errors.New("postgres: text with a NUL byte or invalid UTF-8 cannot be stored")

// storable reports whether every string among args can be sent as text.
// A string that cannot (a NUL byte, invalid UTF-8) matches no stored row, so
// reads answer "not found" for it instead of failing the transaction.
func storable(args []any) bool {
	ok := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if !ok(v) {
				return false
			}
		case []string:
			for _, s := range v {
				if !ok(s) {
					return false
				}
			}
		}
	}
	return true
}

// wrap turns a statement's error into the store's: a uniqueness violation
// wraps till.ErrDuplicate, a conflict is remembered for Update.
func (t *tx) wrap(err error) error {
	if isConflict(err) && t.conflict == nil {
		t.conflict = fmt.Errorf("postgres: %w", err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation {
		return fmt.Errorf("%w: %v", till.ErrDuplicate, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	if !storable(args) {
		return pgconn.CommandTag{}, errUnstorable
	}
	tag, err := t.tx.Exec(ctx, q, args...)
	if err != nil {
		return tag, t.wrap(err)
	}
	return tag, nil
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and returns an error
// wrapping till.ErrDuplicate when it inserted nothing. The transaction goes
// on either way, as callers may continue after a duplicate.
func (t *tx) insert(ctx context.Context, what string, q string, args ...any) error {
	tag, err := t.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", till.ErrDuplicate, what)
	}
	return nil
}

// execOne runs a statement that must change exactly one row; otherwise it
// returns notFound.
func (t *tx) execOne(ctx context.Context, notFound error, q string, args ...any) error {
	if !storable(args) {
		return notFound
	}
	tag, err := t.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return notFound
	}
	return nil
}

// row runs a query of one row and scans it into dest, or returns notFound.
func (t *tx) row(ctx context.Context, notFound error, q string, args []any, dest ...any) error {
	if !storable(args) {
		return notFound
	}
	if err := t.tx.QueryRow(ctx, q, args...).Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound
		}
		return t.wrap(err)
	}
	return nil
}

// getDoc loads one JSON document into v, or returns notFound.
func (t *tx) getDoc(ctx context.Context, v any, notFound error, q string, args ...any) error {
	var doc []byte
	if err := t.row(ctx, notFound, q, args, &doc); err != nil {
		return err
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("postgres: decode: %w", err)
	}
	return nil
}

// rows runs a query of many rows, calling scan for each.
func (t *tx) rows(ctx context.Context, q string, args []any, scan func(pgx.Rows) error) error {
	if !storable(args) {
		return nil
	}
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return t.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return t.wrap(err)
		}
	}
	if err := rows.Err(); err != nil {
		return t.wrap(err)
	}
	return nil
}

// docs loads a list of JSON documents, each into a new T.
func docs[T any](ctx context.Context, t *tx, q string, args ...any) ([]*T, error) {
	var out []*T
	err := t.rows(ctx, q, args, func(r pgx.Rows) error {
		var doc []byte
		if err := r.Scan(&doc); err != nil {
			return err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("postgres: encode: " + err.Error())
	}
	return b
}

// us is a time as stored: microseconds since the epoch, 0 for none.
func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullTime(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := us(*t)
	return &v
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// --- accounts, keys, data keys

func (t *tx) CreateAccount(ctx context.Context, a *till.Account) error {
	return t.insert(ctx, "account "+a.ID, `INSERT INTO accounts (id, doc, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`,
		a.ID, mustJSON(a), us(a.CreatedAt), us(a.UpdatedAt), a.Version)
}

func (t *tx) Account(ctx context.Context, id string) (*till.Account, error) {
	a := new(till.Account)
	err := t.getDoc(ctx, a, till.NotFound("account", id), `SELECT doc FROM accounts WHERE id = $1`, id)
	return a, err
}

func (t *tx) UpdateAccount(ctx context.Context, a *till.Account, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("account %s: %w", a.ID, till.ErrStale),
		`UPDATE accounts SET doc = $1, updated_at = $2, version = $3 WHERE id = $4 AND version = $5`,
		mustJSON(a), us(a.UpdatedAt), a.Version, a.ID, fromVersion)
}

func (t *tx) CountAccounts(ctx context.Context) (int, error) {
	if t.write {
		// Serialize with account creation, so that two processes starting
		// on an empty database bootstrap one account, not two.
		if _, err := t.exec(ctx, `LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return 0, err
		}
	}
	var n int
	err := t.row(ctx, nil, `SELECT COUNT(*) FROM accounts`, nil, &n)
	return n, err
}

const keyColumns = `id, account_id, livemode, kind, hash, prefix, last4, created_at, revoked_at`

func (t *tx) apiKey(ctx context.Context, notFound error, q string, arg any) (*till.APIKey, error) {
	var k till.APIKey
	var created int64
	var revoked *int64
	if err := t.row(ctx, notFound, q, []any{arg}, &k.ID, &k.AccountID, &k.Livemode, &k.Kind, &k.Hash, &k.Prefix,
		&k.Last4, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt = fromUS(created)
	if revoked != nil {
		r := fromUS(*revoked)
		k.RevokedAt = &r
	}
	return &k, nil
}

func (t *tx) CreateAPIKey(ctx context.Context, k *till.APIKey) error {
	return t.insert(ctx, "key "+k.ID, `INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT DO NOTHING`,
		k.ID, k.AccountID, k.Livemode, k.Kind, k.Hash, k.Prefix, k.Last4, us(k.CreatedAt), nullTime(k.RevokedAt))
}

func (t *tx) APIKey(ctx context.Context, id string) (*till.APIKey, error) {
	return t.apiKey(ctx, till.NotFound("key", id), `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id)
}

func (t *tx) APIKeyByHash(ctx context.Context, hash []byte) (*till.APIKey, error) {
	return t.apiKey(ctx, till.NotFound("key", "…"), `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash)
}

func (t *tx) UpdateAPIKey(ctx context.Context, k *till.APIKey) error {
	return t.execOne(ctx, till.NotFound("key", k.ID), `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, nullTime(k.RevokedAt), k.ID)
}

func (t *tx) CreateDataKey(ctx context.Context, k *till.DataKey) error {
	return t.insert(ctx, "data key "+k.ID, `INSERT INTO data_keys (id, master_key_id, wrapped, purpose, active, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		k.ID, k.MasterKeyID, k.Wrapped, k.Purpose, k.Active, us(k.CreatedAt))
}

// DataKeys lists the vault's data keys. In an Update it first locks the
// table against other writers until the transaction ends: processes starting
// together on an empty database each read the keys and create those
// missing, and the lock makes the second wait and then find the first's
// keys instead of creating a second set that only it would know. Reads in a
// View are not blocked.
func (t *tx) DataKeys(ctx context.Context) ([]*till.DataKey, error) {
	if t.write {
		if _, err := t.exec(ctx, `LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return nil, err
		}
	}
	var out []*till.DataKey
	err := t.rows(ctx, `SELECT id, master_key_id, wrapped, purpose, active, created_at FROM data_keys ORDER BY created_at, id`, nil,
		func(r pgx.Rows) error {
			var k till.DataKey
			var created int64
			if err := r.Scan(&k.ID, &k.MasterKeyID, &k.Wrapped, &k.Purpose, &k.Active, &created); err != nil {
				return err
			}
			k.CreatedAt = fromUS(created)
			out = append(out, &k)
			return nil
		})
	return out, err
}

func (t *tx) UpdateDataKey(ctx context.Context, k *till.DataKey) error {
	return t.execOne(ctx, till.NotFound("data key", k.ID),
		`UPDATE data_keys SET master_key_id = $1, wrapped = $2, active = $3 WHERE id = $4`, k.MasterKeyID, k.Wrapped, k.Active, k.ID)
}

// --- customers and payment methods

func (t *tx) CreateCustomer(ctx context.Context, c *till.Customer) error {
	return t.insert(ctx, "customer "+c.ID, `INSERT INTO customers (id, account_id, livemode, email, external_id, deleted, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		c.ID, c.AccountID, c.Livemode, strings.ToLower(c.Email), nullString(c.ExternalID), c.Deleted, c.Version, us(c.CreatedAt), mustJSON(c))
}

func (t *tx) Customer(ctx context.Context, s till.Scope, id string) (*till.Customer, error) {
	c := new(till.Customer)
	err := t.getDoc(ctx, c, till.NotFound("customer", id),
		`SELECT doc FROM customers WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
	return c, err
}

func (t *tx) UpdateCustomer(ctx context.Context, c *till.Customer, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("customer %s: %w", c.ID, till.ErrStale),
		`UPDATE customers SET email = $1, external_id = $2, deleted = $3, version = $4, doc = $5 WHERE id = $6 AND version = $7`,
		strings.ToLower(c.Email), nullString(c.ExternalID), c.Deleted, c.Version, mustJSON(c), c.ID, fromVersion)
}

// cursor resolves a startingAfter id to its sequence number in the scope.
func (t *tx) cursor(ctx context.Context, table string, s till.Scope, id string) (int64, error) {
	if id == "" {
		return 1<<63 - 1, nil
	}
	var seq int64
	err := t.row(ctx, errNoCursor, `SELECT seq FROM `+table+` WHERE id = $1 AND account_id = $2 AND livemode = $3`,
		[]any{id, s.AccountID, s.Livemode}, &seq)
	if errors.Is(err, errNoCursor) {
		return 0, till.ParamError(till.EValidation, "startingAfter", "startingAfter names no object of this list: '%s'", id)
	}
	return seq, err
}

var errNoCursor = errors.New("no such cursor")

func limitOf(p till.Page) int {
	if p.Limit <= 0 {
		return 10
	}
	return min(p.Limit, 100)
}

// where builds a conjunction of conditions with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

func timeRange(w *where, from, to *time.Time) {
	if from != nil {
		w.add("created_at >= " + w.arg(us(*from)))
	}
	if to != nil {
		w.add("created_at <= " + w.arg(us(*to)))
	}
}

// page loads one newest-first page of documents; more says whether another
// page follows.
func page[T any](ctx context.Context, t *tx, table string, w *where, p till.Page) ([]*T, bool, error) {
	n := limitOf(p)
	q := `SELECT doc FROM ` + table + ` WHERE ` + w.sql() + ` ORDER BY seq DESC LIMIT ` + w.arg(n+1)
	out, err := docs[T](ctx, t, q, w.args...)
	if err != nil {
		return nil, false, err
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}

func (t *tx) ListCustomers(ctx context.Context, s till.Scope, f till.CustomerFilter) ([]*till.Customer, bool, error) {
	seq, err := t.cursor(ctx, "customers", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND NOT deleted AND seq < " + w.arg(seq))
	if f.Email != "" {
		w.add("email = " + w.arg(strings.ToLower(f.Email)))
	}
	if f.ExternalID != "" {
		w.add("external_id = " + w.arg(f.ExternalID))
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Customer](ctx, t, "customers", w, f.Page)
}

func (t *tx) CreatePaymentMethod(ctx context.Context, pm *till.PaymentMethod) error {
	return t.insert(ctx, "payment method "+pm.ID, `INSERT INTO payment_methods (id, account_id, livemode, customer_id, detached, created_at, version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		pm.ID, pm.AccountID, pm.Livemode, pm.CustomerID, pm.DetachedAt != nil, us(pm.CreatedAt), pm.Version, mustJSON(pm))
}

func (t *tx) PaymentMethod(ctx context.Context, s till.Scope, id string) (*till.PaymentMethod, error) {
	pm := new(till.PaymentMethod)
	err := t.getDoc(ctx, pm, till.NotFound("payment method", id),
		`SELECT doc FROM payment_methods WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
	return pm, err
}

func (t *tx) UpdatePaymentMethod(ctx context.Context, pm *till.PaymentMethod, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("payment method %s: %w", pm.ID, till.ErrStale),
		`UPDATE payment_methods SET detached = $1, version = $2, doc = $3 WHERE id = $4 AND version = $5`,
		pm.DetachedAt != nil, pm.Version, mustJSON(pm), pm.ID, fromVersion)
}

func (t *tx) ListPaymentMethods(ctx context.Context, s till.Scope, customerID string) ([]*till.PaymentMethod, error) {
	return docs[till.PaymentMethod](ctx, t, `SELECT doc FROM payment_methods
		WHERE customer_id = $1 AND account_id = $2 AND livemode = $3 AND NOT detached ORDER BY seq DESC LIMIT 1000`,
		customerID, s.AccountID, s.Livemode)
}

// --- payments

func (t *tx) CreatePayment(ctx context.Context, p *till.Payment) error {
	return t.insert(ctx, "payment "+p.ID, `INSERT INTO payments (id, account_id, livemode, customer_id, status, kind, currency, amount_total, link_token, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		p.ID, p.AccountID, p.Livemode, p.CustomerID, string(p.Status), string(p.Kind), p.Currency, p.AmountTotal,
		nullString(p.LinkToken), p.Version, us(p.CreatedAt), mustJSON(p))
}

// Payment reads a payment; inside Update it locks the row until the unit
// ends, so units of work on the same payment (concurrent refunds, say) queue
// instead of failing each other's version checks.
func (t *tx) Payment(ctx context.Context, s till.Scope, id string) (*till.Payment, error) {
	p := new(till.Payment)
	q := `SELECT doc FROM payments WHERE id = $1 AND account_id = $2 AND livemode = $3`
	if t.write {
		q += ` FOR UPDATE`
	}
	err := t.getDoc(ctx, p, till.NotFound("payment", id), q, id, s.AccountID, s.Livemode)
	return p, err
}

func (t *tx) PaymentByLinkToken(ctx context.Context, token string) (*till.Payment, error) {
	p := new(till.Payment)
	err := t.getDoc(ctx, p, till.NotFound("payment link", "…"), `SELECT doc FROM payments WHERE link_token = $1`, token)
	return p, err
}

func (t *tx) UpdatePayment(ctx context.Context, p *till.Payment, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("payment %s: %w", p.ID, till.ErrStale),
		`UPDATE payments SET customer_id = $1, status = $2, amount_total = $3, link_token = $4, version = $5, doc = $6
		WHERE id = $7 AND version = $8`,
		p.CustomerID, string(p.Status), p.AmountTotal, nullString(p.LinkToken), p.Version, mustJSON(p), p.ID, fromVersion)
}

func (t *tx) ListPayments(ctx context.Context, s till.Scope, f till.PaymentFilter) ([]*till.Payment, bool, error) {
	seq, err := t.cursor(ctx, "payments", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq < " + w.arg(seq))
	if f.CustomerID != "" {
		w.add("customer_id = " + w.arg(f.CustomerID))
	}
	if f.Status != "" {
		w.add("status = " + w.arg(string(f.Status)))
	}
	if f.Kind != "" {
		w.add("kind = " + w.arg(string(f.Kind)))
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Payment](ctx, t, "payments", w, f.Page)
}

// --- idempotency records

const idemColumns = `account_id, livemode, api, key, operation, fingerprint, state, lease_owner, lease_until, resource_id, result, status_code, response_body, created_at, updated_at`

// IdempotencyRecord reads a key's record. In an Update it locks the row
// until the transaction ends, so that two processes resuming the same key
// take turns: the second reads what the first committed.
func (t *tx) IdempotencyRecord(ctx context.Context, s till.Scope, api, key string) (*till.IdempotencyRecord, error) {
	q := `SELECT ` + idemColumns + ` FROM idempotency_keys WHERE account_id = $1 AND livemode = $2 AND api = $3 AND key = $4`
	if t.write {
		q += ` FOR UPDATE`
	}
	var r till.IdempotencyRecord
	var state string
	var lease, created, updated int64
	err := t.row(ctx, till.NotFound("idempotency key", key), q, []any{s.AccountID, s.Livemode, api, key},
		&r.AccountID, &r.Livemode, &r.API, &r.Key, &r.Operation, &r.Fingerprint, &state, &r.LeaseOwner, &lease,
		&r.ResourceID, &r.Result, &r.StatusCode, &r.ResponseBody, &created, &updated)
	if err != nil {
		return nil, err
	}
	r.State = till.IdempotencyState(state)
	r.LeaseUntil, r.CreatedAt, r.UpdatedAt = fromUS(lease), fromUS(created), fromUS(updated)
	return &r, nil
}

func (t *tx) CreateIdempotencyRecord(ctx context.Context, r *till.IdempotencyRecord) error {
	return t.insert(ctx, "idempotency key "+r.Key, `INSERT INTO idempotency_keys (`+idemColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`,
		r.AccountID, r.Livemode, r.API, r.Key, r.Operation, r.Fingerprint, string(r.State), r.LeaseOwner, us(r.LeaseUntil),
		r.ResourceID, r.Result, r.StatusCode, r.ResponseBody, us(r.CreatedAt), us(r.UpdatedAt))
}

func (t *tx) UpdateIdempotencyRecord(ctx context.Context, r *till.IdempotencyRecord) error {
	return t.execOne(ctx, till.NotFound("idempotency key", r.Key),
		`UPDATE idempotency_keys SET state = $1, lease_owner = $2, lease_until = $3, resource_id = $4, result = $5,
			updated_at = $6
		WHERE account_id = $7 AND livemode = $8 AND api = $9 AND key = $10`,
		string(r.State), r.LeaseOwner, us(r.LeaseUntil), r.ResourceID, r.Result, us(r.UpdatedAt),
		r.AccountID, r.Livemode, r.API, r.Key)
}

func (t *tx) DeleteIdempotencyRecords(ctx context.Context, before time.Time) (int, error) {
	tag, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1 AND state = 'done'`, us(before))
	return int(tag.RowsAffected()), err
}

// --- events

func (t *tx) CreateEvent(ctx context.Context, e *till.Event) error {
	return t.insert(ctx, "event "+e.ID, `INSERT INTO events (id, account_id, livemode, type, object_type, object_id, object_version, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		e.ID, e.AccountID, e.Livemode, e.Type, e.ObjectType, e.ObjectID, e.ObjectVersion, e.Data, us(e.CreatedAt))
}

// --- tasks

const taskColumns = `id, kind, account_id, livemode, ref, ref2, run_at, attempts, lease_owner, lease_until, last_error, created_at`

func (t *tx) CreateTask(ctx context.Context, k *till.Task) error {
	return t.insert(ctx, "task "+k.ID, `INSERT INTO tasks (`+taskColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT DO NOTHING`,
		k.ID, k.Kind, k.AccountID, k.Livemode, k.Ref, k.Ref2, us(k.RunAt), k.Attempts, k.LeaseOwner, us(k.LeaseUntil), k.LastError, us(k.CreatedAt))
}

// ClaimTasks leases tasks with FOR UPDATE SKIP LOCKED: a task another
// transaction holds is passed over rather than waited for, so claimers in
// any number of processes never block each other and never share a task.
// The lease condition is checked again on the newest version of each row
// it locks, so a lease committed by another process meanwhile is honoured.
func (t *tx) ClaimTasks(ctx context.Context, r till.ClaimRequest) ([]*till.Task, error) {
	now := us(r.Now)
	w := &where{}
	owner, until := w.arg(r.Owner), w.arg(us(r.Now.Add(r.Lease)))
	if r.Ref != "" {
		w.add("ref = " + w.arg(r.Ref) + " AND lease_until < " + w.arg(now))
	} else {
		w.add("run_at <= " + w.arg(now) + " AND lease_until < " + w.arg(now))
	}
	if len(r.Kinds) > 0 {
		w.add("kind = ANY(" + w.arg(r.Kinds) + ")")
	}
	q := `UPDATE tasks SET lease_owner = ` + owner + `, lease_until = ` + until + `
		WHERE id IN (SELECT id FROM tasks WHERE ` + w.sql() + ` ORDER BY run_at LIMIT ` + w.arg(max(r.Limit, 1)) + `
			FOR UPDATE SKIP LOCKED)
		RETURNING ` + taskColumns
	var out []*till.Task
	err := t.rows(ctx, q, w.args, func(rows pgx.Rows) error {
		var k till.Task
		var run, lease, created int64
		if err := rows.Scan(&k.ID, &k.Kind, &k.AccountID, &k.Livemode, &k.Ref, &k.Ref2, &run, &k.Attempts,
			&k.LeaseOwner, &lease, &k.LastError, &created); err != nil {
			return err
		}
		k.RunAt, k.LeaseUntil, k.CreatedAt = fromUS(run), fromUS(lease), fromUS(created)
		out = append(out, &k)
		return nil
	})
	slices.SortFunc(out, func(a, b *till.Task) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

func (t *tx) DeleteTask(ctx context.Context, id, owner string) error {
	if owner == "" {
		_, err := t.exec(ctx, `DELETE FROM tasks WHERE id = $1`, id)
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM tasks WHERE id = $1 AND lease_owner = $2`, id, owner)
	return err
}

func (t *tx) DeleteTasks(ctx context.Context, kind, ref string) error {
	_, err := t.exec(ctx, `DELETE FROM tasks WHERE kind = $1 AND ref = $2`, kind, ref)
	return err
}

func (t *tx) RescheduleTask(ctx context.Context, k *till.Task) error {
	_, err := t.exec(ctx, `UPDATE tasks SET run_at = $1, attempts = $2, last_error = $3, lease_owner = '', lease_until = 0 WHERE id = $4`,
		us(k.RunAt), k.Attempts, k.LastError, k.ID)
	return err
}

func (t *tx) ShiftTasks(ctx context.Context, s till.Scope, d time.Duration) error {
	_, err := t.exec(ctx, `UPDATE tasks SET run_at = run_at - $1 WHERE account_id = $2 AND livemode = $3`,
		d.Microseconds(), s.AccountID, s.Livemode)
	return err
}

func (t *tx) ReleaseLeases(ctx context.Context, keep string) error {
	if _, err := t.exec(ctx, `UPDATE tasks SET lease_owner = '', lease_until = 0 WHERE lease_owner <> '' AND lease_owner <> $1`, keep); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET lease_until = 0 WHERE state = 'in_progress' AND lease_owner <> $1`, keep)
	return err
}

var _ till.Tx = (*tx)(nil)
