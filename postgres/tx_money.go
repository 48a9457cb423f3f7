package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tillpay/till"
)

// --- documents

// NextDocumentNumber takes the next number of a series. The counter row
// stays locked until the unit of work ends, so issuers in every process take
// turns, and a rolled-back unit gives its number back: the series has no
// gaps and no duplicates.
func (t *tx) NextDocumentNumber(ctx context.Context, s till.Scope, kind till.DocumentKind, year int) (int64, error) {
	var n int64
	err := t.row(ctx, errUnstorable, `INSERT INTO document_counters (account_id, livemode, kind, year, last) VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (account_id, livemode, kind, year) DO UPDATE SET last = document_counters.last + 1 RETURNING last`,
		[]any{s.AccountID, s.Livemode, string(kind), year}, &n)
	if err != nil {
		return 0, fmt.Errorf("postgres: next document number: %w", err)
	}
	return n, nil
}

func (t *tx) CreateDocument(ctx context.Context, d *till.Document) error {
	return t.insert(ctx, "document "+d.ID, `INSERT INTO documents (id, account_id, livemode, kind, number, customer_id, payment_id, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		d.ID, d.AccountID, d.Livemode, string(d.Kind), d.Number, d.CustomerID, d.PaymentID, us(d.CreatedAt), mustJSON(d))
}

func (t *tx) Document(ctx context.Context, s till.Scope, id string) (*till.Document, error) {
	d := new(till.Document)
	kind := "invoice"
	if strings.HasPrefix(id, till.PrefixCreditNote) {
		kind = "credit note"
	}
	err := t.getDoc(ctx, d, till.NotFound(kind, id),
		`SELECT doc FROM documents WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
	return d, err
}

func (t *tx) ListDocuments(ctx context.Context, s till.Scope, f till.DocumentFilter) ([]*till.Document, bool, error) {
	seq, err := t.cursor(ctx, "documents", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND kind = " + w.arg(string(f.Kind)) +
		" AND seq < " + w.arg(seq))
	if f.CustomerID != "" {
		w.add("customer_id = " + w.arg(f.CustomerID))
	}
	if f.PaymentID != "" {
		w.add("payment_id = " + w.arg(f.PaymentID))
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	return page[till.Document](ctx, t, "documents", w, f.Page)
}

// --- refunds

func (t *tx) CreateRefund(ctx context.Context, r *till.Refund) error {
	return t.insert(ctx, "refund "+r.ID, `INSERT INTO refunds (id, account_id, livemode, payment_id, status, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		r.ID, r.AccountID, r.Livemode, r.PaymentID, string(r.Status), r.Version, us(r.CreatedAt), mustJSON(r))
}

// Refund reads a refund; inside Update it locks the row until the unit
// ends (see Payment).
func (t *tx) Refund(ctx context.Context, s till.Scope, id string) (*till.Refund, error) {
	r := new(till.Refund)
	q := `SELECT doc FROM refunds WHERE id = $1 AND account_id = $2 AND livemode = $3`
	if t.write {
		q += ` FOR UPDATE`
	}
	err := t.getDoc(ctx, r, till.NotFound("refund", id), q, id, s.AccountID, s.Livemode)
	return r, err
}

func (t *tx) UpdateRefund(ctx context.Context, r *till.Refund, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("refund %s: %w", r.ID, till.ErrStale),
		`UPDATE refunds SET status = $1, version = $2, doc = $3 WHERE id = $4 AND version = $5`,
		string(r.Status), r.Version, mustJSON(r), r.ID, fromVersion)
}

func (t *tx) ListRefunds(ctx context.Context, s till.Scope, paymentID string) ([]*till.Refund, error) {
	return docs[till.Refund](ctx, t, `SELECT doc FROM refunds WHERE payment_id = $1 AND account_id = $2 AND livemode = $3
		ORDER BY seq DESC LIMIT 1000`, paymentID, s.AccountID, s.Livemode)
}

// --- journal

// CreateJournalEntry appends a balanced entry and its postings; it refuses
// an entry that does not balance.
func (t *tx) CreateJournalEntry(ctx context.Context, e *till.JournalEntry) error {
	if !e.Balanced() {
		return fmt.Errorf("postgres: journal entry %s does not balance", e.ID)
	}
	if err := t.insert(ctx, "journal entry "+e.ID, `INSERT INTO journal_entries (id, account_id, livemode, currency, kind, payment_id, refund_id, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		e.ID, e.AccountID, e.Livemode, e.Currency, e.Kind, e.PaymentID, e.RefundID, us(e.CreatedAt), mustJSON(e)); err != nil {
		return err
	}
	for _, p := range e.Postings {
		if _, err := t.exec(ctx, `INSERT INTO ledger_postings (entry_id, account_id, livemode, currency, ledger_account, debit, credit)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.AccountID, e.Livemode, e.Currency, p.LedgerAccount, p.Debit, p.Credit); err != nil {
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
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq < " + w.arg(seq))
	if f.PaymentID != "" {
		w.add("payment_id = " + w.arg(f.PaymentID))
	}
	return page[till.JournalEntry](ctx, t, "journal_entries", w, f.Page)
}

func (t *tx) LedgerBalances(ctx context.Context, s till.Scope) ([]till.LedgerBalance, error) {
	var out []till.LedgerBalance
	err := t.rows(ctx, `SELECT currency, ledger_account, SUM(debit)::bigint, SUM(credit)::bigint FROM ledger_postings
		WHERE account_id = $1 AND livemode = $2 GROUP BY currency, ledger_account ORDER BY currency, ledger_account`,
		[]any{s.AccountID, s.Livemode}, func(r pgx.Rows) error {
			var b till.LedgerBalance
			if err := r.Scan(&b.Currency, &b.LedgerAccount, &b.Debits, &b.Credits); err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
	return out, err
}

// --- mailbox

func (t *tx) CreateEmail(ctx context.Context, e *till.Email) error {
	return t.insert(ctx, "email "+e.ID, `INSERT INTO emails (id, account_id, livemode, recipient, payment_id, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		e.ID, e.AccountID, e.Livemode, strings.ToLower(e.To), e.PaymentID, us(e.CreatedAt), mustJSON(e))
}

func (t *tx) ListEmails(ctx context.Context, s till.Scope, f till.EmailFilter) ([]*till.Email, bool, error) {
	seq, err := t.cursor(ctx, "emails", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq < " + w.arg(seq))
	if f.To != "" {
		w.add("recipient = " + w.arg(strings.ToLower(f.To)))
	}
	if f.PaymentID != "" {
		w.add("payment_id = " + w.arg(f.PaymentID))
	}
	return page[till.Email](ctx, t, "emails", w, f.Page)
}

func (t *tx) ListAccounts(ctx context.Context) ([]*till.Account, error) {
	return docs[till.Account](ctx, t, `SELECT doc FROM accounts ORDER BY created_at, id`)
}
