-- 0007: webhook endpoints and the log of their deliveries. Endpoints are
-- listed newest first by scope and fanned out to, oldest first, from every
-- unit of work that writes an event (a scope holds a handful, so the scope
-- index serves both); deliveries are listed by event, newest first.

CREATE TABLE webhook_endpoints (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode   INTEGER NOT NULL,
    enabled    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (account_id, livemode, seq);

CREATE TABLE webhook_deliveries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    livemode    INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, seq);
