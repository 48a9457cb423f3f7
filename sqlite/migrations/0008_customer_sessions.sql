-- 0008: customer sessions, the short-lived credentials of one customer (the
-- Orders & Subscriptions "user" role). Tokens are stored only as their
-- SHA-256 hash and looked up by it; times are microseconds on the account's
-- clock.

CREATE TABLE customer_sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    last4       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
