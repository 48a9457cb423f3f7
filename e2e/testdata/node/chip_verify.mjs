// chip_verify.mjs checks CHIP callbacks as CHIP's own receivers do: the
// X-Signature header is the base64 RSA PKCS #1 v1.5 signature of the
// SHA-256 of the raw body, verified with the PEM public key of
// GET /api/v1/public_key/ (node:crypto, what CHIP's Node SDK calls; the SDK
// itself is not on the npm registry). e2e/chip_callback_test.go runs it.
//
// Usage: node chip_verify.mjs deliveries.json
//
// The file holds {"publicKey": "<PEM>", "deliveries": [{"name", "signature",
// "body", "expect": "ok" | "reject"}]}. Each outcome is printed as one JSON
// line {"name", "expect", "got", "pass"}; the exit status is 1 when any
// delivery did not meet its expectation, 2 when the input is unusable.
import { readFileSync } from 'node:fs';
import { verify } from 'node:crypto';

let input;
try {
  input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (err) {
  console.error(`chip_verify.mjs: ${err.message}`);
  process.exit(2);
}
let failed = false;
for (const d of input.deliveries) {
  let got;
  try {
    got = verify('sha256', Buffer.from(d.body, 'utf8'), input.publicKey, Buffer.from(d.signature, 'base64')) ? 'ok' : 'reject';
  } catch (err) {
    got = `reject: ${err.message}`;
  }
  const pass = got.startsWith(d.expect);
  failed ||= !pass;
  console.log(JSON.stringify({ name: d.name, expect: d.expect, got, pass }));
}
process.exit(failed ? 1 : 0);
