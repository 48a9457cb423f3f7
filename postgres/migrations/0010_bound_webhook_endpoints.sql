-- 0010: webhook endpoints bound to one object (a CHIP purchase's
-- success_callback) keep that object's id in a column, so that the outbox
-- fan-out reads the scope's endpoints without them and the few bound to the
-- event's object through their own index. Endpoints made before are bound
-- to none. The same change as the SQLite store's 0010.

ALTER TABLE webhook_endpoints ADD COLUMN object_id text NOT NULL DEFAULT '';
CREATE INDEX webhook_endpoints_object ON webhook_endpoints (account_id, livemode, object_id) WHERE object_id <> '';
