-- 0004: fewer index structures touched per write (each one costs a page per
-- commit). Tasks hold only pending work, so they are keyed by id without a
-- separate rowid and lose the scope index (the rare ShiftTasks scans them);
-- the payment link token is unique only where it is set, so the many
-- payments without one add no index entry. Payment and version columns are
-- otherwise unchanged (0001, 0003).

CREATE TABLE tasks_new (
    id          TEXT NOT NULL PRIMARY KEY,
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
) WITHOUT ROWID;
INSERT INTO tasks_new SELECT id, kind, account_id, livemode, ref, ref2, run_at, attempts, lease_owner, lease_until, last_error, created_at FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX tasks_due ON tasks (run_at);
CREATE INDEX tasks_ref ON tasks (kind, ref);

CREATE TABLE payments_new (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    account_id   TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    customer_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_total INTEGER NOT NULL,
    link_token   TEXT,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    doc          TEXT NOT NULL
);
INSERT INTO payments_new SELECT seq, id, account_id, livemode, customer_id, status, kind, currency, amount_total, link_token, version, created_at, doc FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE UNIQUE INDEX payments_link_token ON payments (link_token) WHERE link_token IS NOT NULL;
CREATE INDEX payments_scope ON payments (account_id, livemode, seq);
CREATE INDEX payments_customer ON payments (account_id, livemode, customer_id, seq);
CREATE INDEX payments_status ON payments (account_id, livemode, status, seq);
