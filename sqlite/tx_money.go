package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/tillpay/till"
)

// --- documents

func (t *tx) NextDocumentNumber(ctx context.Context, s till.Scope, kind till.DocumentKind, year int) (int64, error) {
	st, err := t.stmt(ctx, `INSERT INTO document_counters (account_id, livemode, kind, year, last) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (account_id, livemode, kind, year) DO UPDATE SET last = last + 1 RETURNING last`)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := st.QueryRowContext(ctx, s.AccountID, b2i(s.Livemode), kind, year).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: next document number: %w", err)
	}
	return n, nil
}

func (t *tx) CreateDocument(ctx context.Context, d *till.Document) error {
	_, err := t.exec(ctx, `INSERT INTO documents (id, account_id, livemode, kind, number, customer_id, payment_id, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.AccountID, b2i(d.Livemode), d.Kind, d.Number, d.CustomerID, d.PaymentID, us(d.CreatedAt), mustJSON(d))
	return err
}

func (t *tx) Document(ctx context.Context, s till.Scope, id string) (*till.Document, error) {
	d := new(till.Document)
	kind := "invoice"
	if strings.HasPrefix(id, till.PrefixCreditNote) {
		kind = "credit note"
	}
	err := t.getDoc(ctx, d, till.NotFound(kind, id),
		`SELECT doc FROM documents WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return d, err
}

func (t *tx) ListDocuments(ctx context.Context, s till.Scope, f till.DocumentFilter) ([]*till.Document, bool, error) {
	seq, err := t.cursor(ctx, "documents", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND kind = ? AND seq < ?", s.AccountID, b2i(s.Livemode), f.Kind, seq)
	if f.CustomerID != "" {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.PaymentID != "" {
		w.add("payment_id = ?", f.PaymentID)
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Document](ctx, t, "documents", w, f.Page)
}

// --- refunds

func (t *tx) CreateRefund(ctx context.Context, r *till.Refund) error {
	_, err := t.exec(ctx, `INSERT INTO refunds (id, account_id, livemode, payment_id, status, version, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.AccountID, b2i(r.Livemode), r.PaymentID, r.Status, r.Version, us(r.CreatedAt), mustJSON(r))
	return err
}

func (t *tx) Refund(ctx context.Context, s till.Scope, id string) (*till.Refund, error) {
	r := new(till.Refund)
	err := t.getDoc(ctx, r, till.NotFound("refund", id),
		`SELECT doc FROM refunds WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return r, err
}

func (t *tx) UpdateRefund(ctx context.Context, r *till.Refund, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("refund %s: %w", r.ID, till.ErrStale),
		`UPDATE refunds SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		r.Status, r.Version, mustJSON(r), r.ID, fromVersion)
}

func (t *tx) ListRefunds(ctx context.Context, s till.Scope, paymentID string) ([]*till.Refund, error) {
	return docs[till.Refund](ctx, t, `SELECT doc FROM refunds WHERE payment_id = ? AND account_id = ? AND livemode = ?
		ORDER BY seq DESC LIMIT 1000`, paymentID, s.AccountID, b2i(s.Livemode))
}

// --- journal

func (t *tx) CreateJournalEntry(ctx context.Context, e *till.JournalEntry) error {
	if !e.Balanced() {
		return fmt.Errorf("sqlite: journal entry %s does not balance", e.ID)
	}
	if _, err := t.exec(ctx, `INSERT INTO journal_entries (id, account_id, livemode, currency, kind, payment_id, refund_id, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, b2i(e.Livemode), e.Currency, e.Kind, e.PaymentID, e.RefundID, us(e.CreatedAt), mustJSON(e)); err != nil {
		return err
	}
	for _, p := range e.Postings {
		if _, err := t.exec(ctx, `INSERT INTO ledger_postings (entry_id, account_id, livemode, currency, ledger_account, debit, credit)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.AccountID, b2i(e.Livemode), e.Currency, p.LedgerAccount, p.Debit, p.Credit); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ListJournalEntries(ctx context.Context, s till.Scope, f till.LedgerFilter) ([]*till.JournalEntry, bool, error) {
	seq, err := t.cursor(ctx, "journal_entries", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if f.PaymentID != "" {
		w.add("payment_id = ?", f.PaymentID)
	}
	return page[till.JournalEntry](ctx, t, "journal_entries", w, f.Page)
}

func (t *tx) LedgerBalances(ctx context.Context, s till.Scope) ([]till.LedgerBalance, error) {
	rows, err := t.query(ctx, `SELECT currency, ledger_account, SUM(debit), SUM(credit) FROM ledger_postings
		WHERE account_id = ? AND livemode = ? GROUP BY currency, ledger_account ORDER BY currency, ledger_account`,
		s.AccountID, b2i(s.Livemode))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []till.LedgerBalance
	for rows.Next() {
		var b till.LedgerBalance
		if err := rows.Scan(&b.Currency, &b.LedgerAccount, &b.Debits, &b.Credits); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// --- mailbox

func (t *tx) CreateEmail(ctx context.Context, e *till.Email) error {
	_, err := t.exec(ctx, `INSERT INTO emails (id, account_id, livemode, recipient, payment_id, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, b2i(e.Livemode), strings.ToLower(e.To), e.PaymentID, us(e.CreatedAt), mustJSON(e))
	return err
}

func (t *tx) ListEmails(ctx context.Context, s till.Scope, f till.EmailFilter) ([]*till.Email, bool, error) {
	seq, err := t.cursor(ctx, "emails", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if f.To != "" {
		w.add("recipient = ?", strings.ToLower(f.To))
	}
	if f.PaymentID != "" {
		w.add("payment_id = ?", f.PaymentID)
	}
	return page[till.Email](ctx, t, "emails", w, f.Page)
}

func (t *tx) ListAccounts(ctx context.Context) ([]*till.Account, error) {
	return docs[till.Account](ctx, t, `SELECT doc FROM accounts ORDER BY created_at, id`)
}
