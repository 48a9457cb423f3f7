-- 0006: idempotency keys are scoped by API (the native /v1 and each dialect
-- keep their own keys) and record the operation and the request's
-- fingerprint instead of the native method, path and body hash; the service
-- stores the outcome (result) and each API renders it. Existing records
-- become the native API's: the fingerprint is the method, the path and the
-- hex SHA-256 of the body, as the native API computes it, and the operation
-- is read from the path. Their rendered responses are kept and replayed as
-- they are.
CREATE TABLE idempotency_keys_v6 (
    account_id    TEXT NOT NULL,
    livemode      INTEGER NOT NULL,
    api           TEXT NOT NULL,
    key           TEXT NOT NULL,
    operation     TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL,
    lease_owner   TEXT NOT NULL,
    lease_until   INTEGER NOT NULL,
    resource_id   TEXT NOT NULL,
    result        BLOB,
    status_code   INTEGER NOT NULL,
    response_body BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, livemode, api, key)
) WITHOUT ROWID;

INSERT INTO idempotency_keys_v6 (account_id, livemode, api, key, operation, fingerprint, state, lease_owner,
    lease_until, resource_id, result, status_code, response_body, created_at, updated_at)
SELECT account_id, livemode, 'native', key,
    CASE
        WHEN method = 'POST' AND path = '/v1/payments/charge' THEN 'charge'
        WHEN method = 'POST' AND path LIKE '/v1/payments/%/capture' THEN 'capture'
        WHEN method = 'POST' AND path LIKE '/v1/payments/%/release' THEN 'release'
        WHEN method = 'POST' AND path LIKE '/v1/payments/%/refunds' THEN 'refund'
        WHEN method = 'PATCH' AND path LIKE '/v1/payments/%' THEN 'payment.update'
        WHEN method = 'POST' AND path LIKE '/v1/customers/%/payment-methods' THEN 'payment_method.create'
        WHEN method = 'POST' AND path = '/v1/customers' THEN 'customer.create'
        WHEN method = 'PATCH' AND path LIKE '/v1/customers/%' THEN 'customer.update'
        WHEN method = 'DELETE' AND path LIKE '/v1/customers/%' THEN 'customer.delete'
        WHEN method = 'DELETE' AND path LIKE '/v1/payment-methods/%' THEN 'payment_method.detach'
        WHEN method = 'POST' AND path = '/v1/tokens' THEN 'token.create'
        WHEN method = 'PATCH' AND path = '/v1/account' THEN 'account.update'
        WHEN method = 'POST' AND path = '/v1/test/clock/advance' THEN 'test_clock.advance'
        WHEN method = 'POST' AND path = '/v1/admin/accounts' THEN 'account.create'
        WHEN method = 'POST' AND path LIKE '/v1/admin/accounts/%/keys' THEN 'api_key.create'
        WHEN method = 'DELETE' AND path LIKE '/v1/admin/keys/%' THEN 'api_key.revoke'
        ELSE method || ' ' || path
    END,
    method || ' ' || path || ' ' || lower(hex(request_hash)),
    state, lease_owner, lease_until, resource_id, NULL, status_code, response_body, created_at, updated_at
FROM idempotency_keys;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v6 RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
