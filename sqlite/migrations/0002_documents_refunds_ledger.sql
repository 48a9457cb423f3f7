-- 0002: invoices and credit notes with gap-free number series, refunds, the
-- append-only journal, and the local mailbox.

CREATE TABLE document_counters (
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    year       INTEGER NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, kind, year)
) WITHOUT ROWID;

CREATE TABLE documents (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    number      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (account_id, livemode, kind, number)
);
CREATE INDEX documents_scope ON documents (account_id, livemode, kind, seq);
CREATE INDEX documents_payment ON documents (payment_id);

CREATE TABLE refunds (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    payment_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, seq);

CREATE TABLE journal_entries (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    refund_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX journal_entries_scope ON journal_entries (account_id, livemode, seq);
CREATE INDEX journal_entries_payment ON journal_entries (payment_id, seq);

-- One row per posting, for balances; never updated or deleted.
CREATE TABLE ledger_postings (
    entry_id       TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    ledger_account TEXT NOT NULL,
    debit          INTEGER NOT NULL,
    credit         INTEGER NOT NULL
);
CREATE INDEX ledger_postings_scope ON ledger_postings (account_id, livemode, currency, ledger_account);

CREATE TABLE emails (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    recipient  TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX emails_scope ON emails (account_id, livemode, seq);
