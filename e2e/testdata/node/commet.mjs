// commet.mjs drives Commet's official SDK (@commet/node) against Till's
// Commet dialect through every call it has for customers, payments and
// webhooks, and verifies the webhook deliveries it receives with the SDK's
// own commet.webhooks.verify. e2e/commet_test.go runs it.
//
// Usage: TILL_URL=http://127.0.0.1:PORT COMMET_API_KEY=ck_test_… TILL_SECRET_KEY=sk_test_… node commet.mjs
//
// The SDK sends every request to https://commet.co; only that origin is
// rewritten to TILL_URL (the SDK's "base URL"), and a request to any other
// origin fails, so nothing leaves the machine. TILL_SECRET_KEY is used once,
// on Till's native API, to save a test card: Commet's API has no call for
// that. Each check prints one JSON line {"check", "pass", "detail"}; the exit
// status is 1 when any check failed.
import http from 'node:http';
import { Commet, CommetAPIError, CommetValidationError } from '@commet/node';

const tillURL = process.env.TILL_URL;
const apiKey = process.env.COMMET_API_KEY;
const secretKey = process.env.TILL_SECRET_KEY;
if (!tillURL || !apiKey || !secretKey) {
  console.error('TILL_URL, COMMET_API_KEY and TILL_SECRET_KEY are required');
  process.exit(2);
}

const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.origin !== 'https://commet.co') {
    return Promise.reject(new TypeError(`commet.mjs: refusing a request to ${url.origin}`));
  }
  return realFetch(tillURL + url.pathname + url.search, init);
};

let failed = 0;
function check(name, pass, detail = '') {
  if (!pass) failed++;
  console.log(JSON.stringify({ check: name, pass: Boolean(pass), detail: typeof detail === 'string' ? detail : JSON.stringify(detail) }));
}

// rejects returns the error fn throws, or null.
async function rejects(fn) {
  try {
    await fn();
    return null;
  } catch (err) {
    return err;
  }
}

// The receiver: every delivery is kept with its raw body and signature.
const deliveries = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    deliveries.push({ body, signature: req.headers['x-commet-signature'] ?? null });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"received":true}');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const hookURL = `http://127.0.0.1:${server.address().port}/hooks/commet`;

// waitFor polls for a delivery of event until a deadline.
async function waitFor(event, match = () => true) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const d = deliveries.find((x) => JSON.parse(x.body).event === event && match(JSON.parse(x.body)));
    if (d) return d;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

try {
  check('sdk refuses a key without ck_', (await rejects(async () => new Commet({ apiKey: secretKey })))?.message?.includes('ck_'));
  const commet = new Commet({ apiKey, telemetry: true });

  // Webhooks.
  const events = ['payment.received', 'payment_link.created', 'payment_link.canceled', 'invoice.created', 'customer.created', 'customer.updated'];
  const created = await commet.webhooks.create({ url: hookURL, events, description: 'till e2e', apiVersion: '2026-07-11' });
  const hook = created.data;
  check('webhooks.create', created.success && hook.object === 'webhook' && hook.secretKey?.startsWith('whsec_') && hook.isActive, hook);
  const secret = hook.secretKey;
  const got = await commet.webhooks.get({ id: hook.id });
  check('webhooks.get', got.data.id === hook.id && got.data.secretKey === undefined && got.data.events.length === events.length, got.data);
  const listed = await commet.webhooks.list({ limit: 10 });
  check('webhooks.list', listed.data.some((w) => w.id === hook.id) && listed.hasMore === false, listed);
  const updated = await commet.webhooks.update({ id: hook.id, description: 'till e2e (updated)' });
  check('webhooks.update', updated.data.description === 'till e2e (updated)' && updated.data.url === hookURL, updated.data);
  const tested = await commet.webhooks.test({ id: hook.id });
  check('webhooks.test', tested.data.success === true && tested.data.deliveryId?.startsWith('whd_'), tested.data);
  const testDelivery = await waitFor('webhook.test');
  check('webhooks.test delivery verifies', testDelivery && commet.webhooks.verify({ payload: testDelivery.body, signature: testDelivery.signature, secret }), testDelivery);

  // Customers.
  const externalId = `user_${Date.now()}`;
  const cust = (await commet.customers.create({
    email: 'ada@example.com', fullName: 'Ada Lovelace', externalId, taxDocument: 'DE123456789', timezone: 'Europe/Berlin',
    address: { line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' }, metadata: { plan: 'pro' },
  })).data;
  check('customers.create', cust.object === 'customer' && cust.id.startsWith('cus_') && cust.fullName === 'Ada Lovelace' &&
    cust.externalId === externalId && cust.taxDocument === 'DE123456789' && cust.timezone === 'Europe/Berlin' &&
    cust.metadata?.plan === 'pro' && cust.livemode === false, cust);
  const gotCust = (await commet.customers.get({ id: cust.id })).data;
  check('customers.get', gotCust.id === cust.id && gotCust.email === 'ada@example.com', gotCust);
  const updCust = (await commet.customers.update({ id: cust.id, fullName: 'Ada King', timezone: 'Europe/London' })).data;
  check('customers.update', updCust.fullName === 'Ada King' && updCust.timezone === 'Europe/London' && updCust.externalId === externalId, updCust);
  const custList = await commet.customers.list({ externalId, limit: 5 });
  check('customers.list by externalId', custList.data.length === 1 && custList.data[0].id === cust.id && custList.hasMore === false, custList);
  const badCust = await rejects(() => commet.customers.create({ email: 'not-an-email', fullName: 'X' }));
  check('customers.create validation error', badCust instanceof CommetValidationError && badCust.validationErrors.email,
    badCust?.validationErrors ?? String(badCust));
  const customerCreated = await waitFor('customer.created', (p) => p.data.id === cust.id);
  check('customer.created delivery verifies', customerCreated && commet.webhooks.verify({ payload: customerCreated.body, signature: customerCreated.signature, secret }) &&
    JSON.parse(customerCreated.body).data.externalId === externalId, customerCreated);

  // A card for the customer, on Till's native API (Commet has no call for it).
  const pm = await realFetch(`${tillURL}/v1/customers/${cust.id}/payment-methods`, {
    method: 'POST', headers: { 'x-api-key': secretKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ card: { number: '4242424242424242', expMonth: 12, expYear: new Date().getFullYear() + 3, cvc: '123' }, setDefault: true }),
  });
  check('card saved (native API)', pm.ok, await pm.text());

  // Payments.
  const charge = (await commet.payments.charge({ customerId: cust.id, amount: 1000, currency: 'EUR', description: 'Pro plan', metadata: { order: 'o_1' } })).data;
  check('payments.charge', charge.object === 'payment' && charge.kind === 'charge' && charge.status === 'succeeded' &&
    charge.amountSubtotal === 1000 && charge.amountTotal === charge.amountSubtotal + charge.taxAmount && charge.currency === 'EUR' &&
    charge.metadata?.order === 'o_1' && charge.url === null, charge);
  const link = (await commet.payments.create({ amount: 2500, currency: 'eur', customerId: cust.id, description: 'Setup fee', successUrl: 'https://example.com/thanks' })).data;
  check('payments.create', link.kind === 'link' && link.status === 'pending' && link.url?.startsWith(tillURL + '/pay/') && link.expiresAt, link);
  const gotLink = (await commet.payments.get({ id: link.id })).data;
  check('payments.get', gotLink.id === link.id && gotLink.status === 'pending' && gotLink.description === 'Setup fee', gotLink);
  const page1 = await commet.payments.list({ customerId: cust.id, limit: 1 });
  check('payments.list page 1', page1.data.length === 1 && page1.data[0].id === link.id && page1.hasMore === true && page1.nextCursor, page1);
  const page2 = await commet.payments.list({ customerId: cust.id, limit: 1, cursor: page1.nextCursor });
  check('payments.list page 2', page2.data.length === 1 && page2.data[0].id === charge.id && page2.hasMore === false && page2.nextCursor === undefined, page2);
  const canceled = (await commet.payments.cancel({ id: link.id })).data;
  check('payments.cancel', canceled.status === 'canceled', canceled);
  const again = (await commet.payments.cancel({ id: link.id })).data;
  check('payments.cancel again is a no-op', again.status === 'canceled' && again.updatedAt === canceled.updatedAt, again);
  const cancelCharge = await rejects(() => commet.payments.cancel({ id: charge.id }));
  check('payments.cancel of a charge is refused', cancelCharge instanceof CommetAPIError && cancelCharge.statusCode === 409 && cancelCharge.code === 'state_conflict', String(cancelCharge));
  const badCharge = await rejects(() => commet.payments.charge({ customerId: cust.id, amount: 10 }));
  check('payments.charge validation error', badCharge instanceof CommetValidationError &&
    badCharge.validationErrors.currency && badCharge.validationErrors.description, badCharge?.validationErrors ?? String(badCharge));
  const missing = await rejects(() => commet.payments.get({ id: 'pay_doesnotexist' }));
  check('payments.get unknown id', missing instanceof CommetAPIError && missing.statusCode === 404 && missing.code === 'resource_missing', String(missing));

  // Deliveries, verified with the SDK.
  const received = await waitFor('payment.received', (p) => p.data.paymentTransactionId === charge.id);
  const receivedData = received && JSON.parse(received.body);
  check('payment.received delivery verifies', received && commet.webhooks.verify({ payload: received.body, signature: received.signature, secret }) &&
    receivedData.mode === 'sandbox' && receivedData.apiVersion === '2026-07-11' && receivedData.organizationId.startsWith('acct_') &&
    receivedData.data.grossAmount === charge.amountTotal && receivedData.data.invoiceNumber !== '', receivedData);
  check('a tampered delivery does not verify', received && !commet.webhooks.verify({ payload: received.body.replace('"sandbox"', '"live"'), signature: received.signature, secret }));
  check('another secret does not verify', received && !commet.webhooks.verify({ payload: received.body, signature: received.signature, secret: 'whsec_other' }));
  const linkCanceled = await waitFor('payment_link.canceled', (p) => p.data.paymentId === link.id);
  check('payment_link.canceled delivery verifies', linkCanceled && commet.webhooks.verify({ payload: linkCanceled.body, signature: linkCanceled.signature, secret }) &&
    JSON.parse(linkCanceled.body).data.status === 'canceled', linkCanceled);
  const linkCreated = await waitFor('payment_link.created', (p) => p.data.paymentId === link.id);
  check('payment_link.created delivery verifies', linkCreated && commet.webhooks.verify({ payload: linkCreated.body, signature: linkCreated.signature, secret }), linkCreated);
  const invoice = await waitFor('invoice.created');
  check('invoice.created delivery verifies', invoice && commet.webhooks.verify({ payload: invoice.body, signature: invoice.signature, secret }) &&
    JSON.parse(invoice.body).data.total === charge.amountTotal, invoice);
  const processed = await commet.webhooks.process({ rawBody: received.body, signature: received.signature, secret });
  check('webhooks.process parses a delivery', processed?.event === 'payment.received', processed);

  const deleted = (await commet.webhooks.delete({ id: hook.id })).data;
  check('webhooks.delete', deleted.id === hook.id && deleted.deleted === true, deleted);
  const gone = await rejects(() => commet.webhooks.get({ id: hook.id }));
  check('webhooks.get after delete', gone instanceof CommetAPIError && gone.statusCode === 404, String(gone));
} catch (err) {
  check('no unexpected error', false, `${err?.name}: ${err?.message} ${JSON.stringify(err?.details ?? err?.validationErrors ?? '')}`);
} finally {
  server.close();
}
process.exit(failed ? 1 : 0);
