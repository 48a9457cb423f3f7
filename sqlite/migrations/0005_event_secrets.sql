-- 0005: events keep no credentials. Events written before this version hold
-- the raw domain document: a payment's LinkToken (the bearer credential of
-- its /pay page) and, for payment methods, the sealed card number. They are
-- removed from the stored event data; the rendered url stays.
UPDATE events SET data = CAST(json_remove(CAST(data AS TEXT), '$.LinkToken') AS BLOB)
WHERE object_type = 'payment' AND json_type(CAST(data AS TEXT), '$.LinkToken') IS NOT NULL;
UPDATE events SET data = CAST(json_remove(CAST(data AS TEXT), '$.SealedPAN', '$.DataKeyID') AS BLOB)
WHERE object_type = 'payment_method'
  AND (json_type(CAST(data AS TEXT), '$.SealedPAN') IS NOT NULL OR json_type(CAST(data AS TEXT), '$.DataKeyID') IS NOT NULL);
