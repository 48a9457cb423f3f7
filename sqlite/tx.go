package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// tx is a unit of work: on the write connection inside the writer's
// transaction (w), or in a read-only transaction of the reader pool (rtx).
type tx struct {
	s   *Store
	w   bool
	rtx *sql.Tx
}

func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.w {
		return t.s.writerStmt(ctx, q)
	}
	st, err := t.s.readerStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.rtx.StmtContext(ctx, st), nil
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		if isUnique(err) {
			return nil, fmt.Errorf("%w: %v", till.ErrDuplicate, err)
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return res, nil
}

// execOne runs a statement that must change exactly one row; otherwise it
// returns notFound.
func (t *tx) execOne(ctx context.Context, notFound error, q string, args ...any) error {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return notFound
	}
	return nil
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return rows, nil
}

// getDoc loads one JSON document into v, or returns notFound.
func (t *tx) getDoc(ctx context.Context, v any, notFound error, q string, args ...any) error {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	var doc []byte
	if err := st.QueryRowContext(ctx, args...).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		return fmt.Errorf("sqlite: %w", err)
	}
	return json.Unmarshal(doc, v)
}

// docs loads a list of JSON documents, each into a new T.
func docs[T any](ctx context.Context, t *tx, q string, args ...any) ([]*T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("sqlite: decode: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sqlite: encode: " + err.Error())
	}
	return b
}

// --- accounts, keys, data keys

func (t *tx) CreateAccount(ctx context.Context, a *till.Account) error {
	_, err := t.exec(ctx, `INSERT INTO accounts (id, doc, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?)`,
		a.ID, mustJSON(a), us(a.CreatedAt), us(a.UpdatedAt), a.Version)
	return err
}

func (t *tx) Account(ctx context.Context, id string) (*till.Account, error) {
	a := new(till.Account)
	err := t.getDoc(ctx, a, till.NotFound("account", id), `SELECT doc FROM accounts WHERE id = ?`, id)
	return a, err
}

func (t *tx) UpdateAccount(ctx context.Context, a *till.Account, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("account %s: %w", a.ID, till.ErrStale),
		`UPDATE accounts SET doc = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`,
		mustJSON(a), us(a.UpdatedAt), a.Version, a.ID, fromVersion)
}

func (t *tx) CountAccounts(ctx context.Context) (int, error) {
	st, err := t.stmt(ctx, `SELECT COUNT(*) FROM accounts`)
	if err != nil {
		return 0, err
	}
	var n int
	err = st.QueryRowContext(ctx).Scan(&n)
	return n, err
}

const keyColumns = `id, account_id, livemode, kind, hash, prefix, last4, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }, notFound error) (*till.APIKey, error) {
	var k till.APIKey
	var live int
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.AccountID, &live, &k.Kind, &k.Hash, &k.Prefix, &k.Last4, &created, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	k.Livemode = live == 1
	k.CreatedAt = fromUS(created)
	if revoked.Valid {
		r := fromUS(revoked.Int64)
		k.RevokedAt = &r
	}
	return &k, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return us(*t)
}

func (t *tx) CreateAPIKey(ctx context.Context, k *till.APIKey) error {
	_, err := t.exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.AccountID, b2i(k.Livemode), k.Kind, k.Hash, k.Prefix, k.Last4, us(k.CreatedAt), nullTime(k.RevokedAt))
	return err
}

func (t *tx) APIKey(ctx context.Context, id string) (*till.APIKey, error) {
	st, err := t.stmt(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	return scanKey(st.QueryRowContext(ctx, id), till.NotFound("key", id))
}

func (t *tx) APIKeyByHash(ctx context.Context, hash []byte) (*till.APIKey, error) {
	st, err := t.stmt(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`)
	if err != nil {
		return nil, err
	}
	return scanKey(st.QueryRowContext(ctx, hash), till.NotFound("key", "…"))
}

func (t *tx) UpdateAPIKey(ctx context.Context, k *till.APIKey) error {
	return t.execOne(ctx, till.NotFound("key", k.ID), `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, nullTime(k.RevokedAt), k.ID)
}

func (t *tx) CreateDataKey(ctx context.Context, k *till.DataKey) error {
	_, err := t.exec(ctx, `INSERT INTO data_keys (id, master_key_id, wrapped, purpose, active, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.MasterKeyID, k.Wrapped, k.Purpose, b2i(k.Active), us(k.CreatedAt))
	return err
}

func (t *tx) DataKeys(ctx context.Context) ([]*till.DataKey, error) {
	rows, err := t.query(ctx, `SELECT id, master_key_id, wrapped, purpose, active, created_at FROM data_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*till.DataKey
	for rows.Next() {
		var k till.DataKey
		var active int
		var created int64
		if err := rows.Scan(&k.ID, &k.MasterKeyID, &k.Wrapped, &k.Purpose, &active, &created); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		k.Active = active == 1
		k.CreatedAt = fromUS(created)
		out = append(out, &k)
	}
	return out, rows.Err()
}

func (t *tx) UpdateDataKey(ctx context.Context, k *till.DataKey) error {
	return t.execOne(ctx, till.NotFound("data key", k.ID),
		`UPDATE data_keys SET master_key_id = ?, wrapped = ?, active = ? WHERE id = ?`, k.MasterKeyID, k.Wrapped, b2i(k.Active), k.ID)
}

// --- customers and payment methods

func (t *tx) CreateCustomer(ctx context.Context, c *till.Customer) error {
	_, err := t.exec(ctx, `INSERT INTO customers (id, account_id, livemode, email, external_id, deleted, version, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AccountID, b2i(c.Livemode), strings.ToLower(c.Email), nullString(c.ExternalID), b2i(c.Deleted), c.Version, us(c.CreatedAt), mustJSON(c))
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) Customer(ctx context.Context, s till.Scope, id string) (*till.Customer, error) {
	c := new(till.Customer)
	err := t.getDoc(ctx, c, till.NotFound("customer", id),
		`SELECT doc FROM customers WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return c, err
}

func (t *tx) UpdateCustomer(ctx context.Context, c *till.Customer, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("customer %s: %w", c.ID, till.ErrStale),
		`UPDATE customers SET email = ?, external_id = ?, deleted = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		strings.ToLower(c.Email), nullString(c.ExternalID), b2i(c.Deleted), c.Version, mustJSON(c), c.ID, fromVersion)
}

// cursor resolves a startingAfter id to its sequence number in the scope.
func (t *tx) cursor(ctx context.Context, table string, s till.Scope, id string) (int64, error) {
	if id == "" {
		return 1<<63 - 1, nil
	}
	st, err := t.stmt(ctx, `SELECT seq FROM `+table+` WHERE id = ? AND account_id = ? AND livemode = ?`)
	if err != nil {
		return 0, err
	}
	var seq int64
	if err := st.QueryRowContext(ctx, id, s.AccountID, b2i(s.Livemode)).Scan(&seq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, till.ParamError(till.EValidation, "startingAfter", "startingAfter names no object of this list: '%s'", id)
		}
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return seq, nil
}

func limitOf(p till.Page) int {
	if p.Limit <= 0 {
		return 10
	}
	return min(p.Limit, 100)
}

// where builds a conjunction of conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

func timeRange(w *where, from, to *time.Time) {
	if from != nil {
		w.add("created_at >= ?", us(*from))
	}
	if to != nil {
		w.add("created_at <= ?", us(*to))
	}
}

func page[T any](ctx context.Context, t *tx, table string, w *where, p till.Page) ([]*T, bool, error) {
	n := limitOf(p)
	q := `SELECT doc FROM ` + table + ` WHERE ` + w.sql() + ` ORDER BY seq DESC LIMIT ?`
	out, err := docs[T](ctx, t, q, append(w.args, n+1)...)
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
	w.add("account_id = ? AND livemode = ? AND deleted = 0 AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if f.Email != "" {
		w.add("email = ?", strings.ToLower(f.Email))
	}
	if f.ExternalID != "" {
		w.add("external_id = ?", f.ExternalID)
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Customer](ctx, t, "customers", w, f.Page)
}

func (t *tx) CreatePaymentMethod(ctx context.Context, pm *till.PaymentMethod) error {
	_, err := t.exec(ctx, `INSERT INTO payment_methods (id, account_id, livemode, customer_id, detached, created_at, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		pm.ID, pm.AccountID, b2i(pm.Livemode), pm.CustomerID, b2i(pm.DetachedAt != nil), us(pm.CreatedAt), pm.Version, mustJSON(pm))
	return err
}

func (t *tx) PaymentMethod(ctx context.Context, s till.Scope, id string) (*till.PaymentMethod, error) {
	pm := new(till.PaymentMethod)
	err := t.getDoc(ctx, pm, till.NotFound("payment method", id),
		`SELECT doc FROM payment_methods WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return pm, err
}

func (t *tx) UpdatePaymentMethod(ctx context.Context, pm *till.PaymentMethod, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("payment method %s: %w", pm.ID, till.ErrStale),
		`UPDATE payment_methods SET detached = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		b2i(pm.DetachedAt != nil), pm.Version, mustJSON(pm), pm.ID, fromVersion)
}

func (t *tx) ListPaymentMethods(ctx context.Context, s till.Scope, customerID string) ([]*till.PaymentMethod, error) {
	return docs[till.PaymentMethod](ctx, t, `SELECT doc FROM payment_methods
		WHERE customer_id = ? AND account_id = ? AND livemode = ? AND detached = 0 ORDER BY seq DESC LIMIT 1000`,
		customerID, s.AccountID, b2i(s.Livemode))
}

// --- payments

func (t *tx) CreatePayment(ctx context.Context, p *till.Payment) error {
	_, err := t.exec(ctx, `INSERT INTO payments (id, account_id, livemode, customer_id, status, kind, currency, amount_total, link_token, version, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, b2i(p.Livemode), p.CustomerID, p.Status, p.Kind, p.Currency, p.AmountTotal,
		nullString(p.LinkToken), p.Version, us(p.CreatedAt), mustJSON(p))
	return err
}

func (t *tx) Payment(ctx context.Context, s till.Scope, id string) (*till.Payment, error) {
	p := new(till.Payment)
	err := t.getDoc(ctx, p, till.NotFound("payment", id),
		`SELECT doc FROM payments WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return p, err
}

func (t *tx) PaymentByLinkToken(ctx context.Context, token string) (*till.Payment, error) {
	p := new(till.Payment)
	err := t.getDoc(ctx, p, till.NotFound("payment link", "…"), `SELECT doc FROM payments WHERE link_token = ?`, token)
	return p, err
}

func (t *tx) UpdatePayment(ctx context.Context, p *till.Payment, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("payment %s: %w", p.ID, till.ErrStale),
		`UPDATE payments SET customer_id = ?, status = ?, amount_total = ?, link_token = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		p.CustomerID, p.Status, p.AmountTotal, nullString(p.LinkToken), p.Version, mustJSON(p), p.ID, fromVersion)
}

func (t *tx) ListPayments(ctx context.Context, s till.Scope, f till.PaymentFilter) ([]*till.Payment, bool, error) {
	seq, err := t.cursor(ctx, "payments", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if f.CustomerID != "" {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Payment](ctx, t, "payments", w, f.Page)
}

// --- idempotency records

const idemColumns = `account_id, livemode, api, key, operation, fingerprint, state, lease_owner, lease_until, resource_id, result, status_code, response_body, created_at, updated_at`

func (t *tx) IdempotencyRecord(ctx context.Context, s till.Scope, api, key string) (*till.IdempotencyRecord, error) {
	st, err := t.stmt(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE account_id = ? AND livemode = ? AND api = ? AND key = ?`)
	if err != nil {
		return nil, err
	}
	var r till.IdempotencyRecord
	var live int
	var lease, created, updated int64
	err = st.QueryRowContext(ctx, s.AccountID, b2i(s.Livemode), api, key).Scan(&r.AccountID, &live, &r.API, &r.Key, &r.Operation,
		&r.Fingerprint, &r.State, &r.LeaseOwner, &lease, &r.ResourceID, &r.Result, &r.StatusCode, &r.ResponseBody, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, till.NotFound("idempotency key", key)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.Livemode = live == 1
	r.LeaseUntil, r.CreatedAt, r.UpdatedAt = fromUS(lease), fromUS(created), fromUS(updated)
	return &r, nil
}

func (t *tx) CreateIdempotencyRecord(ctx context.Context, r *till.IdempotencyRecord) error {
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (`+idemColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.AccountID, b2i(r.Livemode), r.API, r.Key, r.Operation, r.Fingerprint, r.State, r.LeaseOwner, us(r.LeaseUntil),
		r.ResourceID, r.Result, r.StatusCode, r.ResponseBody, us(r.CreatedAt), us(r.UpdatedAt))
	return err
}

func (t *tx) UpdateIdempotencyRecord(ctx context.Context, r *till.IdempotencyRecord) error {
	return t.execOne(ctx, till.NotFound("idempotency key", r.Key),
		`UPDATE idempotency_keys SET state = ?, lease_owner = ?, lease_until = ?, resource_id = ?, result = ?, updated_at = ?
		WHERE account_id = ? AND livemode = ? AND api = ? AND key = ?`,
		r.State, r.LeaseOwner, us(r.LeaseUntil), r.ResourceID, r.Result, us(r.UpdatedAt),
		r.AccountID, b2i(r.Livemode), r.API, r.Key)
}

func (t *tx) DeleteIdempotencyRecords(ctx context.Context, before time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ? AND state = 'done'`, us(before))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// --- events

func (t *tx) CreateEvent(ctx context.Context, e *till.Event) error {
	_, err := t.exec(ctx, `INSERT INTO events (id, account_id, livemode, type, object_type, object_id, object_version, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, b2i(e.Livemode), e.Type, e.ObjectType, e.ObjectID, e.ObjectVersion, e.Data, us(e.CreatedAt))
	return err
}

// --- tasks

const taskColumns = `id, kind, account_id, livemode, ref, ref2, run_at, attempts, lease_owner, lease_until, last_error, created_at`

func (t *tx) CreateTask(ctx context.Context, k *till.Task) error {
	_, err := t.exec(ctx, `INSERT INTO tasks (`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Kind, k.AccountID, b2i(k.Livemode), k.Ref, k.Ref2, us(k.RunAt), k.Attempts, k.LeaseOwner, us(k.LeaseUntil), k.LastError, us(k.CreatedAt))
	return err
}

func (t *tx) ClaimTasks(ctx context.Context, r till.ClaimRequest) ([]*till.Task, error) {
	q, args := claimQuery(r)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*till.Task
	for rows.Next() {
		var k till.Task
		var live int
		var run, lease, created int64
		if err := rows.Scan(&k.ID, &k.Kind, &k.AccountID, &live, &k.Ref, &k.Ref2, &run, &k.Attempts, &k.LeaseOwner, &lease, &k.LastError, &created); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		k.Livemode = live == 1
		k.RunAt, k.LeaseUntil, k.CreatedAt = fromUS(run), fromUS(lease), fromUS(created)
		out = append(out, &k)
	}
	return out, rows.Err()
}

// claimQuery leases the first due tasks of r, or the task of r.Ref.
func claimQuery(r till.ClaimRequest) (string, []any) {
	now := us(r.Now)
	w := &where{}
	if r.Ref != "" {
		w.add("ref = ? AND lease_until < ?", r.Ref, now)
	} else {
		w.add("run_at <= ? AND lease_until < ?", now, now)
	}
	if len(r.Kinds) > 0 {
		// Without a ref, the kind must not lead the planner to tasks_ref:
		// that reads and sorts every task of the kinds (a backlog of
		// thousands of receipts under load), where tasks_due in run_at
		// order stops at the first due ones. The unary + keeps the term
		// off any index.
		col := "kind"
		if r.Ref == "" {
			col = "+kind"
		}
		w.add(col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(r.Kinds)), ", ")+")", anys(r.Kinds)...)
	}
	args := append([]any{r.Owner, us(r.Now.Add(r.Lease))}, w.args...)
	args = append(args, max(r.Limit, 1))
	return `UPDATE tasks SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM tasks WHERE ` + w.sql() + ` ORDER BY run_at LIMIT ?)
		RETURNING ` + taskColumns, args
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (t *tx) DeleteTask(ctx context.Context, id, owner string) error {
	if owner == "" {
		_, err := t.exec(ctx, `DELETE FROM tasks WHERE id = ?`, id)
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM tasks WHERE id = ? AND lease_owner = ?`, id, owner)
	return err
}

func (t *tx) DeleteTasks(ctx context.Context, kind, ref string) error {
	_, err := t.exec(ctx, `DELETE FROM tasks WHERE kind = ? AND ref = ?`, kind, ref)
	return err
}

func (t *tx) RescheduleTask(ctx context.Context, k *till.Task) error {
	_, err := t.exec(ctx, `UPDATE tasks SET run_at = ?, attempts = ?, last_error = ?, lease_owner = '', lease_until = 0 WHERE id = ?`,
		us(k.RunAt), k.Attempts, k.LastError, k.ID)
	return err
}

func (t *tx) ShiftTasks(ctx context.Context, s till.Scope, d time.Duration) error {
	_, err := t.exec(ctx, `UPDATE tasks SET run_at = run_at - ? WHERE account_id = ? AND livemode = ?`,
		d.Microseconds(), s.AccountID, b2i(s.Livemode))
	return err
}

func (t *tx) ReleaseLeases(ctx context.Context, keep string) error {
	if _, err := t.exec(ctx, `UPDATE tasks SET lease_owner = '', lease_until = 0 WHERE lease_owner <> '' AND lease_owner <> ?`, keep); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE idempotency_keys SET lease_until = 0 WHERE state = 'in_progress' AND lease_owner <> ?`, keep)
	return err
}

var _ till.Tx = (*tx)(nil)
var _ till.Store = (*Store)(nil)
