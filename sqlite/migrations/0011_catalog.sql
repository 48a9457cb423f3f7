-- 0011: the catalogue (products with their items, articles, carts, shipping
-- rates, coupons) in one table told apart by kind, each object with a
-- per-account number unique per account, mode and kind (the CMS dialect's
-- integer ids) and an optional key unique among objects not deleted (a
-- coupon's code, a shipping rate's provider, country and currency); the
-- counters of those numbers; and the claims payments make on coupons and
-- once-per-user items. (0008 is customer sessions, 0009 orders and subscriptions.)

CREATE TABLE catalog_objects (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    number     INTEGER NOT NULL,
    key        TEXT,
    deleted    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE UNIQUE INDEX catalog_objects_number ON catalog_objects (account_id, livemode, kind, number);
CREATE UNIQUE INDEX catalog_objects_key ON catalog_objects (account_id, livemode, kind, key) WHERE key IS NOT NULL;
CREATE INDEX catalog_objects_scope ON catalog_objects (account_id, livemode, kind, seq);

CREATE TABLE catalog_counters (
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    last       INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, kind)
);

CREATE TABLE catalog_claims (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX catalog_claims_object ON catalog_claims (account_id, livemode, kind, object_id, customer_id);
CREATE INDEX catalog_claims_payment ON catalog_claims (account_id, livemode, payment_id);
