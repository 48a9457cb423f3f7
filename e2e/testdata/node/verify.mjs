// verify.mjs checks Till's webhook deliveries with the official libraries a
// receiver would use: Stripe's (stripe.webhooks.constructEvent on the
// Till-Signature header) and Standard Webhooks' (new Webhook(secret).verify on
// the webhook-* headers). e2e/webhooks_verify_test.go runs it.
//
// Usage: node verify.mjs deliveries.json
//
// The file holds a JSON array of deliveries:
//
//	[{"name": "...", "secret": "whsec_…", "headers": {"Till-Signature": "…", "Webhook-Id": "…", …},
//	  "body": "<the raw body>", "expect": "ok" | "reject"}]
//
// Each delivery is checked with both libraries and the outcome printed as one
// JSON line: {"name", "expect", "stripe", "standardwebhooks", "pass"}, where a
// library's outcome is "ok", "reject: <its error>", or "wrong event: …" when it
// verified a body that is not the event its webhook-id names (which meets
// neither expectation). The exit status is 1 when any delivery did not meet
// its expectation, 2 when the input is unusable.
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';

// The key is never used: verifying a signature makes no request.
const stripe = new Stripe('sk_test_unused');

// outcome runs one library's verification of req and reports "ok" or why it
// refused.
function outcome(req, verify) {
  try {
    const event = verify();
    const id = req.headers['webhook-id'];
    if (!event || event.id !== id) {
      return `wrong event: verified, but it decodes to ${event && event.id}, not webhook-id ${id}`;
    }
    return 'ok';
  } catch (err) {
    return `reject: ${err.message.split('\n')[0]}`;
  }
}

let deliveries;
try {
  deliveries = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  if (!Array.isArray(deliveries) || deliveries.length === 0) {
    throw new Error('want a non-empty array of deliveries');
  }
} catch (err) {
  console.error(`verify.mjs: ${process.argv[2]}: ${err.message}`);
  process.exit(2);
}

let failed = 0;
for (const d of deliveries) {
  // A receiver's view of the request: Node's http module shows header names
  // in lower case, and the body is read raw, before any parsing. The calls
  // are those of docs/webhooks.md.
  const req = { headers: Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v])) };
  const rawBody = Buffer.from(d.body, 'utf8');
  const secret = d.secret;
  const result = {
    name: d.name,
    expect: d.expect,
    stripe: outcome(req, () => stripe.webhooks.constructEvent(rawBody, req.headers['till-signature'], secret)),
    standardwebhooks: outcome(req, () => new Webhook(secret).verify(rawBody, req.headers)),
  };
  const want = d.expect === 'ok' ? (o) => o === 'ok' : (o) => o.startsWith('reject');
  result.pass = (d.expect === 'ok' || d.expect === 'reject') && want(result.stripe) && want(result.standardwebhooks);
  if (!result.pass) {
    failed++;
  }
  console.log(JSON.stringify(result));
}
process.exit(failed === 0 ? 0 : 1);
