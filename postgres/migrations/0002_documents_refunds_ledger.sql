-- 0002: invoices and credit notes with gap-free number series, refunds, the
-- append-only journal, and the local mailbox: the same tables as the SQLite
-- store's 0002.

-- One row per series; NextDocumentNumber increments it in the unit of work
-- that issues the document, so concurrent issuers (in any process) take
-- turns on the row and a number is used exactly when its unit commits.
CREATE TABLE document_counters (
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    kind       text NOT NULL,
    year       integer NOT NULL,
    last       bigint NOT NULL,
    PRIMARY KEY (account_id, livemode, kind, year)
);

CREATE TABLE documents (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    kind        text NOT NULL,
    number      text NOT NULL,
    customer_id text NOT NULL,
    payment_id  text NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL,
    UNIQUE (account_id, livemode, kind, number)
);
CREATE INDEX documents_scope ON documents (account_id, livemode, kind, seq);
CREATE INDEX documents_payment ON documents (payment_id);

CREATE TABLE refunds (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    payment_id text NOT NULL,
    status     text NOT NULL,
    version    bigint NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, seq);

CREATE TABLE journal_entries (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    currency   text NOT NULL,
    kind       text NOT NULL,
    payment_id text NOT NULL,
    refund_id  text NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE INDEX journal_entries_scope ON journal_entries (account_id, livemode, seq);
CREATE INDEX journal_entries_payment ON journal_entries (payment_id, seq);

-- One row per posting, for balances; never updated or deleted.
CREATE TABLE ledger_postings (
    entry_id       text NOT NULL,
    account_id     text NOT NULL,
    livemode       boolean NOT NULL,
    currency       text NOT NULL,
    ledger_account text NOT NULL,
    debit          bigint NOT NULL,
    credit         bigint NOT NULL
);
CREATE INDEX ledger_postings_scope ON ledger_postings (account_id, livemode, currency, ledger_account);

CREATE TABLE emails (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    recipient  text NOT NULL,
    payment_id text NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE INDEX emails_scope ON emails (account_id, livemode, seq);
