// notices.js — the gateways' official SDKs as a test oracle for tests/api/test_pay_sdk.py.
// Reads one JSON request on stdin, writes one JSON answer on stdout:
//   {"op":"stripe-header","payload":"…","secret":"whsec_…","timestamp":N}
//       → {"header":"t=…,v1=…"}        (stripe-node's generateTestHeaderString)
//   {"op":"stripe-check","payload":"…","header":"…","secret":"…","now":N}
//       → {"valid":true|false}          (stripe-node's constructEvent, 300 s tolerance)
//   {"op":"alipay-sign","fields":{…},"private_key":"PEM"}
//       → {"fields":{…}}                (alipay-sdk's request signer: sign_type is signed)
//   {"op":"alipay-check","fields":{…},"public_key":"PEM","private_key":"PEM"}
//       → {"valid":true|false}          (alipay-sdk's checkNotifySignV2)
'use strict';
const Stripe = require('stripe');
const { AlipaySdk } = require('alipay-sdk');
const path = require('path');
// the request signer is not exported by name; load its file directly
const { sign } = require(path.join(path.dirname(require.resolve('alipay-sdk')), 'util.js'));

function read() {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (d) => { text += d; });
    process.stdin.on('end', () => resolve(JSON.parse(text)));
  });
}

async function main() {
  const q = await read();
  const stripe = new Stripe('sk_test_unused');
  let answer;
  if (q.op === 'stripe-header') {
    answer = { header: stripe.webhooks.generateTestHeaderString(
      { payload: q.payload, secret: q.secret, timestamp: q.timestamp }) };
  } else if (q.op === 'stripe-check') {
    const realNow = Date.now;
    Date.now = () => q.now * 1000;
    try {
      stripe.webhooks.constructEvent(q.payload, q.header, q.secret, 300);
      answer = { valid: true };
    } catch (e) {
      answer = { valid: false };
    } finally {
      Date.now = realNow;
    }
  } else if (q.op === 'alipay-sign') {
    const config = { appId: q.fields.app_id, privateKey: q.private_key, signType: 'RSA2',
                     charset: 'utf-8', version: '1.0', keyType: 'PKCS8' };
    const signed = sign('alipay.trade.notify', q.fields, config);
    answer = { fields: signed };
  } else if (q.op === 'alipay-check') {
    const sdk = new AlipaySdk({ appId: q.fields.app_id, privateKey: q.private_key,
                                alipayPublicKey: q.public_key, keyType: 'PKCS8' });
    answer = { valid: sdk.checkNotifySignV2(q.fields) };
  } else {
    throw new Error('unknown op ' + q.op);
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.message) + '\n'); process.exit(1); });
