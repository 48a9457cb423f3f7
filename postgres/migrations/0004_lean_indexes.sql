-- 0004: fewer index structures touched per write. Tasks hold only pending
-- work, so the rare ShiftTasks scans them instead of keeping a scope index;
-- the payment link token is unique only where it is set, so payments without
-- one add no index entry.
DROP INDEX tasks_scope;
ALTER TABLE payments DROP CONSTRAINT payments_link_token_key;
CREATE UNIQUE INDEX payments_link_token ON payments (link_token) WHERE link_token IS NOT NULL;
