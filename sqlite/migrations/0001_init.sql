-- 0001: accounts, keys, vault keys, customers, payment methods, payments,
-- idempotency records, events, tasks and the simulator's processor record.
-- Times are INTEGER microseconds since the Unix epoch (UTC). Objects are
-- stored as a JSON document beside the columns that queries filter on.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    livemode   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    last4      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE data_keys (
    id            TEXT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    wrapped       BLOB NOT NULL,
    purpose       TEXT NOT NULL,
    active        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE customers (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    email       TEXT NOT NULL,
    external_id TEXT,
    deleted     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX customers_scope ON customers (account_id, livemode, seq);
CREATE INDEX customers_email ON customers (account_id, livemode, email, seq);

CREATE TABLE payment_methods (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    detached    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, seq);

CREATE TABLE payments (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    customer_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_total INTEGER NOT NULL,
    link_token   TEXT UNIQUE,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX payments_scope ON payments (account_id, livemode, seq);
CREATE INDEX payments_customer ON payments (account_id, livemode, customer_id, seq);
CREATE INDEX payments_status ON payments (account_id, livemode, status, seq);

CREATE TABLE idempotency_keys (
    account_id    TEXT NOT NULL,
    livemode      INTEGER NOT NULL,
    key           TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    request_hash  BLOB NOT NULL,
    state         TEXT NOT NULL,
    lease_owner   TEXT NOT NULL,
    lease_until   INTEGER NOT NULL,
    resource_id   TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response_body BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    account_id     TEXT NOT NULL,
    livemode       INTEGER NOT NULL,
    type           TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    object_id      TEXT NOT NULL,
    object_version INTEGER NOT NULL,
    data           BLOB NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX events_scope ON events (account_id, livemode, seq);
CREATE INDEX events_object ON events (object_id, seq);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    ref         TEXT NOT NULL,
    ref2        TEXT NOT NULL,
    run_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    lease_owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tasks_due ON tasks (run_at);
CREATE INDEX tasks_ref ON tasks (kind, ref);
CREATE INDEX tasks_scope ON tasks (account_id, livemode);

CREATE TABLE processor_records (
    reference  TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    parent_ref TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX processor_records_parent ON processor_records (parent_ref);
