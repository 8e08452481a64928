/** The event history window: lookups never reach past it and old events are purged. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import { ACCOUNT, startTestServer } from './helpers.js';

const day = 24 * 3600 * 1000;

test('events older than the retention window are not returned and are purged on start', async () => {
  const ts = await startTestServer({ env: { OPENTRAIL_RETENTION_DAYS: '30' } });
  try {
    const mk = (ageDays: number, name: string) =>
      apiCallRecord({
        accountId: ACCOUNT,
        region: 'us-east-1',
        userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
        sourceIPAddress: '203.0.113.1',
        requestId: name,
        time: new Date(Date.now() - ageDays * day),
        eventSource: 'iam.amazonaws.com',
        eventName: name,
        readOnly: false,
        requestParameters: null,
        responseElements: null,
      });
    await ts.app.ingest.record([mk(45, 'Old'), mk(10, 'Recent')]);
    const c = ts.client();
    const found = await c.send(new LookupEventsCommand({ StartTime: new Date(Date.now() - 60 * day), LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'iam.amazonaws.com' }] }));
    assert.deepEqual(found.Events!.map((e) => e.EventName), ['Recent']);
    const before = await ts.app.eventLog.count();
    // The per-minute counts behind CountEvents lose the purged event too.
    const counted = async (): Promise<number> =>
      (await ts.app.eventLog.countHistory({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: Date.now() - 60 * day, endMs: Date.now(), bucketMs: day })).reduce((n, b) => n + b.count, 0);
    const countedBefore = await counted();
    await ts.restart();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await ts.app.eventLog.count(), before - 1, 'the 45-day-old event was purged');
    assert.equal(await counted(), countedBefore - 1);
  } finally {
    await ts.close();
  }
});
