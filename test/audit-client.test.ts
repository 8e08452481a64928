/** opentrail/client's AuditClient against a real server: batching, retries through a restart, back-pressure. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { CreateTrailCommand, LookupEventsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AuditClient, BufferFullError, type RecordFailure } from '../src/client/index.js';
import { KEY, SECRET, startTestServer, type TestServer } from './helpers.js';

const credentials = { accessKeyId: KEY, secretAccessKey: SECRET };
const rec = (eventName: string, n: number) => ({
  eventSource: 'orders.example.com',
  eventName,
  userIdentity: { type: 'IAMUser', userName: 'svc' },
  requestParameters: { n },
});

/** Every event of that name in event history (all pages). */
async function count(ts: TestServer, eventName: string): Promise<{ n: number; distinct: number }> {
  const ns = new Set<number>();
  let n = 0;
  let NextToken: string | undefined;
  do {
    const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }], NextToken }));
    for (const e of out.Events ?? []) {
      n++;
      ns.add((JSON.parse(e.CloudTrailEvent!) as { requestParameters: { n: number } }).requestParameters.n);
    }
    NextToken = out.NextToken;
  } while (NextToken);
  return { n, distinct: ns.size };
}

async function putEventsRequests(ts: TestServer): Promise<number> {
  const text = await (await fetch(`${ts.app.url}/metrics`)).text();
  const m = /opentrail_requests_total\{service="opentrail",operation="PutEvents",status="200"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('the package exports the client as opentrail/client', async () => {
  const spec = 'opentrail/client';
  const mod = (await import(spec)) as { AuditClient?: unknown };
  assert.equal(typeof mod.AuditClient, 'function');
});

test('records are sent in batches by count and by time, and land in event history', async () => {
  const ts = await startTestServer();
  try {
    const before = await putEventsRequests(ts);
    const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials, maxBatchSize: 10, maxBatchDelayMs: 60_000, maxInFlight: 1 });
    for (let i = 0; i < 25; i++) await audit.record(rec('PlaceOrder', i));
    await audit.flush();
    assert.deepEqual(await count(ts, 'PlaceOrder'), { n: 25, distinct: 25 });
    assert.equal((await putEventsRequests(ts)) - before, 3, '10 + 10 + 5');
    assert.equal(audit.stats.recorded, 25);
    // By time: a lone record goes out once it has waited maxBatchDelayMs, without a flush.
    const timed = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials, maxBatchSize: 100, maxBatchDelayMs: 200 });
    await timed.record(rec('CancelOrder', 1));
    const started = Date.now();
    while ((await count(ts, 'CancelOrder')).n === 0) {
      assert.ok(Date.now() - started < 5000, 'the timed batch went out');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Invalid records are reported, not retried.
    const failures: RecordFailure[] = [];
    const strict = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials, onRecordFailed: (f) => failures.push(f) });
    await strict.record({ ...rec('ShipOrder', 1), eventType: 'NotAType' });
    await strict.record(rec('ShipOrder', 2));
    await strict.close();
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.field, '/eventType');
    assert.equal(strict.stats.recorded, 1);
    assert.equal(strict.stats.failed, 1);
    await audit.close();
    await timed.close();
  } finally {
    await ts.close();
  }
});

test('the idempotency ids the client makes are time-ordered (UUID v7)', async () => {
  const ts = await startTestServer();
  try {
    // Refused records report their ids: the only place a caller sees them.
    const failures: RecordFailure[] = [];
    const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials, maxBatchSize: 5, maxInFlight: 1, onRecordFailed: (f) => failures.push(f) });
    const before = Date.now();
    for (let i = 0; i < 20; i++) {
      await audit.record({ ...rec('Ordered', i), eventType: 'NotAType' });
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 3));
    }
    await audit.close();
    const after = Date.now();
    assert.equal(failures.length, 20);
    const ids = failures.map((f) => f.id!);
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, `${id} is a UUID of version 7`);
      const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      assert.ok(ms >= before && ms <= after, `${id} carries the time it was made`);
    }
    const times = ids.map((id) => id.slice(0, 13));
    assert.deepEqual([...times].sort(), times, 'made in order, they sort in order of time');
    assert.equal(new Set(ids).size, 20);
  } finally {
    await ts.close();
  }
});

test('a batch interrupted by a server restart is retried and recorded exactly once', async () => {
  const ts = await startTestServer();
  try {
    const retries: string[] = [];
    const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials, maxBatchSize: 50, retryBaseMs: 50, retryMaxMs: 300, onRetry: (e) => retries.push(e.message) });
    for (let i = 0; i < 100; i++) await audit.record(rec('Restarted', i));
    await audit.flush();
    // Down: records keep buffering and their requests fail.
    const port = ts.app.port;
    await ts.app.close();
    for (let i = 100; i < 250; i++) await audit.record(rec('Restarted', i));
    const flushed = audit.flush();
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(retries.length > 0, 'requests were retried while the server was down');
    // Back on the same port and data: the buffered records arrive.
    await ts.restart();
    assert.equal(ts.app.port, port);
    await flushed;
    assert.deepEqual(await count(ts, 'Restarted'), { n: 250, distinct: 250 });
    await audit.close();
  } finally {
    await ts.close();
  }
});

test('with the server unreachable, memory stays bounded by the chosen policy', async () => {
  const endpoint = `http://127.0.0.1:${await deadPort()}`;
  const opts = { endpoint, region: 'us-east-1', credentials, maxBatchSize: 10, maxBufferedRecords: 20, maxBatchDelayMs: 10, retryBaseMs: 20, retryMaxMs: 50 };

  const erroring = new AuditClient({ ...opts, whenFull: 'error' });
  for (let i = 0; i < 20; i++) await erroring.record(rec('Unsent', i));
  await assert.rejects(erroring.record(rec('Unsent', 20)), BufferFullError);
  assert.equal(erroring.stats.buffered, 20);

  const dropping = new AuditClient({ ...opts, whenFull: 'drop-oldest' });
  for (let i = 0; i < 50; i++) await dropping.record(rec('Unsent', i));
  assert.ok(dropping.stats.buffered <= 20);
  assert.ok(dropping.stats.dropped >= 30 - 20, `dropped ${dropping.stats.dropped}`);
  // close() with a deadline gives up on what the server never took, and says how much.
  await erroring.close({ timeoutMs: 100 });
  assert.equal(erroring.stats.abandoned, 20);
  await dropping.close({ timeoutMs: 100 });
  assert.equal(dropping.stats.abandoned + dropping.stats.dropped, 50);
  assert.equal(dropping.stats.buffered, 0);

  // block: record() waits for room; it gets room once a server answers there.
  const ts = await startTestServer();
  try {
    const blocking = new AuditClient({ ...opts, endpoint: ts.app.url, whenFull: 'block' });
    await ts.app.close(); // stopped: nothing drains
    const port = ts.app.port;
    for (let i = 0; i < 20; i++) await blocking.record(rec('Blocked', i));
    let done = false;
    const waiting = blocking.record(rec('Blocked', 20)).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(done, false, 'record() waits while the buffer is full');
    await ts.restart();
    assert.equal(ts.app.port, port);
    await waiting;
    await blocking.close();
    assert.deepEqual(await count(ts, 'Blocked'), { n: 21, distinct: 21 });
  } finally {
    await ts.close();
  }
});

test('recorded events reach trails like AWS events: delivered to S3 in CloudTrail log files', async () => {
  const ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2' } });
  try {
    const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: 'own-events' }));
    await ts.client().send(new CreateTrailCommand({ Name: 'own', S3BucketName: 'own-events' }));
    await ts.client().send(new StartLoggingCommand({ Name: 'own' }));
    const audit = new AuditClient({ endpoint: ts.app.url, region: 'us-east-1', credentials });
    for (let i = 0; i < 5; i++) await audit.record(rec('RefundOrder', i));
    await audit.close();
    const until = Date.now() + 10_000;
    let found: { eventName: string; eventSource: string; requestParameters: { n: number } }[] = [];
    while (found.length < 5) {
      assert.ok(Date.now() < until, `delivered ${found.length} of 5`);
      await new Promise((r) => setTimeout(r, 200));
      found = [];
      const list = await s3.send(new ListObjectsV2Command({ Bucket: 'own-events', Prefix: 'AWSLogs/111122223333/CloudTrail/us-east-1/' }));
      for (const o of list.Contents ?? []) {
        const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'own-events', Key: o.Key! }))).Body!.transformToByteArray());
        const recs = (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: { eventName: string; eventSource: string; requestParameters: { n: number } }[] }).Records;
        found.push(...recs.filter((r) => r.eventSource === 'orders.example.com'));
      }
    }
    assert.deepEqual(found.map((r) => r.requestParameters.n).sort(), [0, 1, 2, 3, 4]);
  } finally {
    await ts.close();
  }
});
