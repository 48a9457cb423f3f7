-- 0001: accounts, keys, vault keys, customers, payment methods, payments,
-- idempotency records, events, tasks and the simulator's processor record:
-- the same tables as the SQLite store's 0001.
--
-- Times are bigint microseconds since the Unix epoch (UTC), 0 for none, as in
-- SQLite, so that both stores round-trip a time exactly. Objects are stored as
-- a json document (kept verbatim; jsonb would reject a \u0000 in a string)
-- beside the columns that queries filter on. seq orders newest-first lists and
-- their cursors.

CREATE TABLE accounts (
    id         text PRIMARY KEY,
    doc        json NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id),
    livemode   boolean NOT NULL,
    kind       text NOT NULL,
    hash       bytea NOT NULL UNIQUE,
    prefix     text NOT NULL,
    last4      text NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE data_keys (
    id            text PRIMARY KEY,
    master_key_id text NOT NULL,
    wrapped       bytea NOT NULL,
    purpose       text NOT NULL,
    active        boolean NOT NULL,
    created_at    bigint NOT NULL
);

CREATE TABLE customers (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    email       text NOT NULL,
    external_id text,
    deleted     boolean NOT NULL,
    version     bigint NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX customers_scope ON customers (account_id, livemode, seq);
CREATE INDEX customers_email ON customers (account_id, livemode, email, seq);

CREATE TABLE payment_methods (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    customer_id text NOT NULL,
    detached    boolean NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, seq);

CREATE TABLE payments (
    seq          bigserial PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    account_id   text NOT NULL,
    livemode     boolean NOT NULL,
    customer_id  text NOT NULL,
    status       text NOT NULL,
    kind         text NOT NULL,
    currency     text NOT NULL,
    amount_total bigint NOT NULL,
    link_token   text UNIQUE,
    version      bigint NOT NULL,
    created_at   bigint NOT NULL,
    doc          json NOT NULL
);
CREATE INDEX payments_scope ON payments (account_id, livemode, seq);
CREATE INDEX payments_customer ON payments (account_id, livemode, customer_id, seq);
CREATE INDEX payments_status ON payments (account_id, livemode, status, seq);

CREATE TABLE idempotency_keys (
    account_id    text NOT NULL,
    livemode      boolean NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  bytea NOT NULL,
    state         text NOT NULL,
    lease_owner   text NOT NULL,
    lease_until   bigint NOT NULL,
    resource_id   text NOT NULL,
    status_code   integer NOT NULL,
    response_body bytea,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL,
    PRIMARY KEY (account_id, livemode, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE events (
    seq            bigserial PRIMARY KEY,
    id             text NOT NULL UNIQUE,
    account_id     text NOT NULL,
    livemode       boolean NOT NULL,
    type           text NOT NULL,
    object_type    text NOT NULL,
    object_id      text NOT NULL,
    object_version bigint NOT NULL,
    data           bytea NOT NULL,
    created_at     bigint NOT NULL
);
CREATE INDEX events_scope ON events (account_id, livemode, seq);
CREATE INDEX events_object ON events (object_id, seq);

-- Tasks are claimed with FOR UPDATE SKIP LOCKED: due ones by run_at, a
-- request's own by ref.
CREATE TABLE tasks (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    ref         text NOT NULL,
    ref2        text NOT NULL,
    run_at      bigint NOT NULL,
    attempts    integer NOT NULL,
    lease_owner text NOT NULL,
    lease_until bigint NOT NULL,
    last_error  text NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX tasks_due ON tasks (run_at);
CREATE INDEX tasks_ref ON tasks (ref, kind);
CREATE INDEX tasks_scope ON tasks (account_id, livemode);

-- seq breaks ties of created_at in oldest-first lists (SQLite's rowid).
CREATE TABLE processor_records (
    reference  text PRIMARY KEY,
    seq        bigserial NOT NULL,
    kind       text NOT NULL,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    parent_ref text NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE INDEX processor_records_parent ON processor_records (parent_ref);
