/** CountEvents (POST /v1/event-counts): per-bucket counts that agree with LookupEvents, AWS's attribute errors, account isolation. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LookupEventsCommand, type LookupAttribute } from '@aws-sdk/client-cloudtrail';
import { signedPost, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
const HOUR = 3_600_000;
const base = Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR;

interface Counts {
  Buckets: { StartTime: number; Count: number }[];
  Total: number;
  BucketSeconds: number;
  __type?: string;
  message?: string;
}

const count = (body: Record<string, unknown>, o: { accessKeyId?: string; secretAccessKey?: string } = {}) => signedPost<Counts>(ts.app.url, '/v1/event-counts', JSON.stringify(body), o);

/** Every event LookupEvents pages through for the same request. */
async function lookupAll(start: Date, end: Date, attr?: LookupAttribute): Promise<Date[]> {
  const times: Date[] = [];
  let token: string | undefined;
  do {
    const out = await ts.client().send(new LookupEventsCommand({ StartTime: start, EndTime: end, LookupAttributes: attr ? [attr] : undefined, NextToken: token }));
    times.push(...(out.Events ?? []).map((e) => e.EventTime!));
    token = out.NextToken;
  } while (token);
  return times;
}

before(async () => {
  ts = await startTestServer();
  // 10 hours of events: hour h holds 3h + 1 of them, every third one named VoidInvoice.
  const events: { id: string; record: Record<string, unknown> }[] = [];
  for (let h = 0; h < 10; h++) {
    for (let i = 0; i <= 3 * h; i++) {
      events.push({
        id: `e-${h}-${i}`,
        record: {
          eventSource: 'billing.example.com',
          eventName: i % 3 === 0 ? 'VoidInvoice' : 'GetInvoice',
          eventTime: new Date(base + h * HOUR + i * 60_000).toISOString(),
          userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', userName: 'ana' },
          readOnly: i % 3 !== 0,
        },
      });
    }
  }
  const put = await signedPost<{ failed: unknown[] }>(ts.app.url, '/v1/events', JSON.stringify({ events }));
  assert.deepEqual(put.json.failed, []);
});
after(async () => {
  await ts.close();
});

test('hourly counts match what LookupEvents pages through, bucket by bucket and in all', async () => {
  const start = new Date(base);
  const end = new Date(base + 10 * HOUR - 1);
  for (const attr of [undefined, { AttributeKey: 'EventName' as const, AttributeValue: 'VoidInvoice' }, { AttributeKey: 'ReadOnly' as const, AttributeValue: 'true' }]) {
    const r = await count({ StartTime: start.getTime() / 1000, EndTime: end.toISOString(), BucketSeconds: 3600, LookupAttributes: attr ? [attr] : undefined });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.Buckets.length, 10);
    const times = await lookupAll(start, end, attr);
    assert.equal(r.json.Total, times.length);
    for (const b of r.json.Buckets) {
      const inBucket = times.filter((t) => t.getTime() >= b.StartTime * 1000 && t.getTime() < b.StartTime * 1000 + HOUR).length;
      assert.equal(b.Count, inBucket, `bucket ${new Date(b.StartTime * 1000).toISOString()} for ${JSON.stringify(attr)}`);
    }
  }
  // Bucket edges that cut minutes, and a range that starts and ends mid-minute: still exact.
  const ragged = { start: new Date(base + 37_000), end: new Date(base + 9 * HOUR + 17 * 60_000 + 29_000) };
  for (const attr of [undefined, { AttributeKey: 'ReadOnly' as const, AttributeValue: 'false' }]) {
    const r = await count({ StartTime: ragged.start.toISOString(), EndTime: ragged.end.toISOString(), BucketSeconds: 1234, LookupAttributes: attr ? [attr] : undefined });
    const times = await lookupAll(ragged.start, ragged.end, attr);
    assert.equal(r.json.Total, times.length);
    for (const b of r.json.Buckets) {
      const lo = b.StartTime * 1000;
      assert.equal(b.Count, times.filter((t) => t.getTime() >= lo && t.getTime() < lo + 1_234_000).length, `ragged bucket ${new Date(lo).toISOString()}`);
    }
  }
  const all = await count({ StartTime: start.toISOString(), EndTime: end.toISOString(), BucketSeconds: 3600 });
  assert.deepEqual(all.json.Buckets.map((b) => b.Count), Array.from({ length: 10 }, (_, h) => 3 * h + 1));
});

test('counts survive a restart (per-minute counts rebuilt or kept)', async () => {
  const body = { StartTime: base / 1000, EndTime: (base + 10 * HOUR - 1) / 1000, BucketSeconds: 3600 };
  const before = await count(body);
  await ts.restart();
  const after = await count(body);
  assert.deepEqual(after.json.Buckets, before.json.Buckets);
});

test("AWS's lookup errors, and bucket limits, as typed errors", async () => {
  const two = await count({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'Username', AttributeValue: 'b' }] });
  assert.equal(two.status, 400);
  assert.equal(two.json.__type, 'InvalidLookupAttributesException');
  const badKey = await count({ LookupAttributes: [{ AttributeKey: 'Colour', AttributeValue: 'a' }] });
  assert.equal(badKey.json.__type, 'InvalidLookupAttributesException');
  const backwards = await count({ StartTime: base / 1000 + 100, EndTime: base / 1000 });
  assert.equal(backwards.json.__type, 'InvalidTimeRangeException');
  const tooMany = await count({ StartTime: base / 1000, EndTime: base / 1000 + 86_400, BucketSeconds: 60 });
  assert.equal(tooMany.json.__type, 'ValidationException');
  assert.match(tooMany.json.message!, /1441 buckets/);
  const badType = await count({ BucketSeconds: 'hourly' });
  assert.equal(badType.json.__type, 'ValidationException');
  const badTime = await count({ StartTime: 'yesterday-ish' });
  assert.equal(badTime.json.__type, 'ValidationException');
  const notJson = await signedPost<Counts>(ts.app.url, '/v1/event-counts', '{"StartTime": ');
  assert.equal(notJson.json.__type, 'SerializationException');
});

test('another account counts only its own events; the call itself is recorded', async () => {
  await ts.app.accounts.createAccount('444455556666', 'other');
  const key = await ts.app.accounts.createAccessKey('444455556666', 'root');
  const r = await count({ StartTime: base / 1000, EndTime: base / 1000 + 10 * 3600, BucketSeconds: 3600 }, { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  assert.equal(r.json.Total, 0);
  const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CountEvents' }] }));
  const rec = JSON.parse(out.Events![0]!.CloudTrailEvent!) as Record<string, unknown>;
  assert.equal(rec.eventSource, 'history.opentrail.dev');
  assert.equal(rec.readOnly, true);
});
