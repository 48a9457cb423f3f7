-- 0008: customer sessions, the short-lived credentials of one customer (the
-- Orders & Subscriptions "user" role): the same table as the SQLite store's
-- 0008. Tokens are stored only as their SHA-256 hash and looked up by it;
-- times are microseconds on the account's clock.

CREATE TABLE customer_sessions (
    id          text PRIMARY KEY,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    customer_id text NOT NULL,
    hash        bytea NOT NULL UNIQUE,
    last4       text NOT NULL,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    revoked_at  bigint
);
