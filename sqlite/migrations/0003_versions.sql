-- 0003: optimistic versions on accounts and payment methods, so concurrent
-- read-modify-write units of work (settings patches, clock moves, token
-- redemption, detaching) cannot overwrite each other.
ALTER TABLE accounts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE payment_methods ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
