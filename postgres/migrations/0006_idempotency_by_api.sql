-- 0006: idempotency keys are scoped by API (the native /v1 and each dialect
-- keep their own keys) and record the operation and the request's
-- fingerprint instead of the native method, path and body hash; the service
-- stores the outcome (result) and each API renders it. Existing records
-- become the native API's: the fingerprint is the method, the path and the
-- hex SHA-256 of the body, as the native API computes it, and the operation
-- is read from the path. Their rendered responses are kept and replayed as
-- they are.
ALTER TABLE idempotency_keys
    ADD COLUMN api text NOT NULL DEFAULT 'native',
    ADD COLUMN operation text NOT NULL DEFAULT '',
    ADD COLUMN fingerprint text NOT NULL DEFAULT '',
    ADD COLUMN result bytea;

UPDATE idempotency_keys SET
    operation =
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
    fingerprint = method || ' ' || path || ' ' || encode(request_hash, 'hex');

ALTER TABLE idempotency_keys
    ALTER COLUMN api DROP DEFAULT,
    ALTER COLUMN operation DROP DEFAULT,
    ALTER COLUMN fingerprint DROP DEFAULT,
    DROP CONSTRAINT idempotency_keys_pkey,
    ADD PRIMARY KEY (account_id, livemode, api, key),
    DROP COLUMN method,
    DROP COLUMN path,
    DROP COLUMN request_hash;
