-- 0011: the catalogue, the same tables as the SQLite store's 0010: objects
-- of every kind in one table with a per-account number unique per account,
-- mode and kind and an optional key unique among objects not deleted; the
-- counters of those numbers; the claims payments make on coupons and
-- once-per-user items. (0008 is customer sessions, 0009 orders and subscriptions.)

CREATE TABLE catalog_objects (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    kind       text NOT NULL,
    number     bigint NOT NULL,
    key        text,
    deleted    boolean NOT NULL,
    version    bigint NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE UNIQUE INDEX catalog_objects_number ON catalog_objects (account_id, livemode, kind, number);
CREATE UNIQUE INDEX catalog_objects_key ON catalog_objects (account_id, livemode, kind, key) WHERE key IS NOT NULL;
CREATE INDEX catalog_objects_scope ON catalog_objects (account_id, livemode, kind, seq);

CREATE TABLE catalog_counters (
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    kind       text NOT NULL,
    last       bigint NOT NULL,
    PRIMARY KEY (account_id, livemode, kind)
);

CREATE TABLE catalog_claims (
    seq         bigserial PRIMARY KEY,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    kind        text NOT NULL,
    object_id   text NOT NULL,
    customer_id text NOT NULL,
    payment_id  text NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX catalog_claims_object ON catalog_claims (account_id, livemode, kind, object_id, customer_id);
CREATE INDEX catalog_claims_payment ON catalog_claims (account_id, livemode, payment_id);
