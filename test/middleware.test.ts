/** The Express and Fastify middleware in real apps: the records that land, redaction included. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { AuditClient } from '../src/client/index.js';
import { auditExpress } from '../src/middleware/express.js';
import { auditFastify } from '../src/middleware/fastify.js';
import { eventNameFor, REDACTED } from '../src/middleware/audit-request.js';
import { KEY, SECRET, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts.close();
});

type Rec = Record<string, unknown> & { requestParameters: Record<string, unknown> | null; userIdentity: Record<string, unknown> };

async function records(eventSource: string): Promise<Rec[]> {
  const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: eventSource }] }));
  return (out.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Rec).reverse();
}

const identity = (auth: string | string[] | undefined) => (typeof auth === 'string' && auth.startsWith('User ') ? { type: 'IAMUser', userName: auth.slice(5), principalId: `U-${auth.slice(5)}` } : undefined);

test('default eventNames follow CloudTrail style from method and route', () => {
  assert.equal(eventNameFor('GET', '/invoices'), 'ListInvoices');
  assert.equal(eventNameFor('GET', '/invoices/:id'), 'GetInvoice');
  assert.equal(eventNameFor('POST', '/invoices'), 'CreateInvoice');
  assert.equal(eventNameFor('PATCH', '/invoices/:id'), 'UpdateInvoice');
  assert.equal(eventNameFor('DELETE', '/invoices/:id'), 'DeleteInvoice');
  assert.equal(eventNameFor('POST', '/invoices/:id/void'), 'VoidInvoice');
  assert.equal(eventNameFor('POST', '/orders/:orderId/cancel'), 'CancelOrder');
  assert.equal(eventNameFor('GET', '/users/:id/addresses'), 'ListAddresses');
  assert.equal(eventNameFor('POST', '/categories'), 'CreateCategory');
  assert.equal(eventNameFor('GET', undefined), 'GetUnmatchedRoute');
});

test('Express: every request becomes a record, secrets redacted, errors and client address as configured', async () => {
  const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxBatchDelayMs: 50 });
  const app = express();
  app.use(express.json());
  app.use(
    auditExpress({
      client: audit,
      eventSource: 'billing.example.com',
      userIdentity: (req) => identity(req.headers.authorization),
      resources: (req) => (req.params.id ? [{ type: 'Billing::Invoice', ARN: `arn:example:billing:::invoice/${req.params.id}` }] : undefined),
      trustedProxies: ['10.0.0.0/8'],
      skip: (req) => req.path === '/health',
    }),
  );
  app.get('/health', (_req, res) => res.send('ok'));
  app.post('/invoices/:id/void', (req, res) => res.json({ voided: req.params.id }));
  app.post('/login', (_req, res) => res.json({ ok: true }));
  app.get('/invoices/:id', (req, res) => {
    res.locals.auditError = { code: 'InvoiceNotFound', message: `No invoice ${req.params.id}` };
    res.status(404).json({ error: 'not found' });
  });
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await fetch(`${base}/health`);
    await fetch(`${base}/invoices/inv-7/void?reason=dup&access_token=abc123`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'User ana', 'x-forwarded-for': '203.0.113.9', 'user-agent': 'billing-ui/1.2', 'x-request-id': 'req-void-1' },
      body: JSON.stringify({ note: 'customer asked', payment: { cardNumber: '4111 1111 1111 1111', holder: 'A N', ref: '4111111111111111', amount: '1234567890123' } }),
    });
    await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ana', password: 'hunter2', otp: '123456' }) });
    await fetch(`${base}/invoices/nope`, { headers: { authorization: 'User bob' } });
    await audit.flush();
    const got = await records('billing.example.com');
    assert.deepEqual(got.map((r) => r.eventName), ['VoidInvoice', 'CreateLogin', 'GetInvoice'], 'health check skipped');
    const [voided, login, missing] = got as [Rec, Rec, Rec];
    assert.equal(voided.userIdentity.userName, 'ana');
    assert.equal(voided.readOnly, false);
    assert.equal(voided.userAgent, 'billing-ui/1.2');
    assert.equal(voided.requestID, 'req-void-1');
    // The peer (127.0.0.1) is not a trusted proxy, so X-Forwarded-For is not believed.
    assert.equal(voided.sourceIPAddress, '127.0.0.1');
    assert.deepEqual(voided.requestParameters, { id: 'inv-7', reason: 'dup', access_token: REDACTED, note: 'customer asked', payment: { cardNumber: REDACTED, holder: 'A N', ref: REDACTED, amount: '1234567890123' } });
    assert.deepEqual(voided.resources, [{ type: 'Billing::Invoice', ARN: 'arn:example:billing:::invoice/inv-7' }]);
    assert.equal(voided.errorCode, undefined);
    assert.equal((login.requestParameters as Record<string, unknown>).password, REDACTED);
    assert.equal((login.requestParameters as Record<string, unknown>).username, 'ana');
    assert.equal(login.userIdentity.type, 'Unknown');
    assert.equal(missing.errorCode, 'InvoiceNotFound');
    assert.equal(missing.errorMessage, 'No invoice nope');
    assert.equal(missing.readOnly, true);
    await audit.close();
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('Fastify: the plugin records every route, thrown errors included, and believes only trusted proxies', async () => {
  const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxBatchDelayMs: 50 });
  const app = Fastify();
  await app.register(auditFastify, {
    client: audit,
    eventSource: 'orders.example.com',
    userIdentity: (req) => identity(req.headers.authorization),
    trustedProxies: ['127.0.0.1'],
    redact: ['otp'],
  });
  app.get('/orders', async () => []);
  app.post('/orders/:orderId/cancel', async (req) => ({ cancelled: (req.params as { orderId: string }).orderId }));
  app.delete('/orders/:orderId', async () => {
    const e = new Error('Order o-1 has shipped') as Error & { code: string; statusCode: number };
    e.code = 'OrderShipped';
    e.statusCode = 409;
    throw e;
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fetch(`${base}/orders?limit=5`, { headers: { authorization: 'User carol', 'x-forwarded-for': '198.51.100.7, 127.0.0.1' } });
    await fetch(`${base}/orders/o-1/cancel`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'User carol' }, body: JSON.stringify({ otp: '999111', why: 'late' }) });
    await fetch(`${base}/orders/o-1`, { method: 'DELETE', headers: { authorization: 'User dan' } });
    await audit.flush();
    const got = await records('orders.example.com');
    assert.deepEqual(got.map((r) => r.eventName), ['ListOrders', 'CancelOrder', 'DeleteOrder']);
    const [list, cancel, del] = got as [Rec, Rec, Rec];
    // The peer is a trusted proxy: the nearest untrusted X-Forwarded-For hop is the client.
    assert.equal(list.sourceIPAddress, '198.51.100.7');
    assert.deepEqual(list.requestParameters, { limit: '5' });
    assert.equal(list.readOnly, true);
    assert.deepEqual(cancel.requestParameters, { orderId: 'o-1', otp: REDACTED, why: 'late' });
    assert.equal(del.errorCode, 'OrderShipped');
    assert.equal(del.errorMessage, 'Order o-1 has shipped');
    assert.equal(del.userIdentity.userName, 'dan');
    await audit.close();
  } finally {
    await app.close();
  }
});
