-- 0005: events keep no credentials. Events written before this version hold
-- the raw domain document: a payment's LinkToken (the bearer credential of
-- its /pay page) and, for payment methods, the sealed card number. They are
-- removed from the stored event data; the rendered url stays.
UPDATE events SET data = convert_to((convert_from(data, 'UTF8')::jsonb - 'LinkToken')::text, 'UTF8')
WHERE object_type = 'payment' AND convert_from(data, 'UTF8')::jsonb ? 'LinkToken';
UPDATE events SET data = convert_to((convert_from(data, 'UTF8')::jsonb - 'SealedPAN' - 'DataKeyID')::text, 'UTF8')
WHERE object_type = 'payment_method' AND (convert_from(data, 'UTF8')::jsonb ?| array['SealedPAN', 'DataKeyID']);
