-- 0009: orders and subscriptions (the Orders & Subscriptions API), listed
-- newest first by scope and by customer, and the six-character human ids
-- that API shows for payments, unique per account and mode.

CREATE TABLE orders (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX orders_scope ON orders (account_id, livemode, seq);
CREATE INDEX orders_customer ON orders (account_id, livemode, customer_id, seq);

CREATE TABLE subscriptions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX subscriptions_scope ON subscriptions (account_id, livemode, seq);
CREATE INDEX subscriptions_customer ON subscriptions (account_id, livemode, customer_id, seq);

CREATE TABLE payment_human_ids (
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    human_id   TEXT NOT NULL,
    payment_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (account_id, livemode, human_id)
);
