-- 0009: orders and subscriptions (the Orders & Subscriptions API), listed
-- newest first by scope and by customer, and the six-character human ids
-- that API shows for payments, unique per account and mode: the same tables
-- as the SQLite store's 0009.

CREATE TABLE orders (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    customer_id text NOT NULL,
    version     bigint NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX orders_scope ON orders (account_id, livemode, seq);
CREATE INDEX orders_customer ON orders (account_id, livemode, customer_id, seq);

CREATE TABLE subscriptions (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    customer_id text NOT NULL,
    version     bigint NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX subscriptions_scope ON subscriptions (account_id, livemode, seq);
CREATE INDEX subscriptions_customer ON subscriptions (account_id, livemode, customer_id, seq);

CREATE TABLE payment_human_ids (
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    human_id   text NOT NULL,
    payment_id text NOT NULL UNIQUE,
    PRIMARY KEY (account_id, livemode, human_id)
);
