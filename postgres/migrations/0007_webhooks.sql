-- 0007: webhook endpoints and the log of their deliveries: the same tables
-- as the SQLite store's 0007. Endpoints are listed newest first by scope and
-- fanned out to, oldest first, from every unit of work that writes an event
-- (a scope holds a handful, so the scope index serves both); deliveries are
-- listed by event, newest first.

CREATE TABLE webhook_endpoints (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL UNIQUE,
    account_id text NOT NULL,
    livemode   boolean NOT NULL,
    enabled    boolean NOT NULL,
    deleted    boolean NOT NULL,
    version    bigint NOT NULL,
    created_at bigint NOT NULL,
    doc        json NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (account_id, livemode, seq);

CREATE TABLE webhook_deliveries (
    seq         bigserial PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    account_id  text NOT NULL,
    livemode    boolean NOT NULL,
    event_id    text NOT NULL,
    endpoint_id text NOT NULL,
    created_at  bigint NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, seq);
