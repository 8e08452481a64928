/**
 * Event data stores take turns reading the log: while a new store reads the whole log from its
 * start, the stores already caught up keep taking in new events.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { CreateEventDataStoreCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { ACCOUNT, startTestServer, type TestServer } from './helpers.js';
import type { CloudTrailRecord } from '../src/domain/record.js';

let ts: TestServer;
let ct: CloudTrailClient;

const record = (i: number): CloudTrailRecord =>
  ({
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: 'AIDA1', arn: `arn:aws:iam::${ACCOUNT}:user/u1`, accountId: ACCOUNT, userName: 'u1' },
    eventTime: new Date(Date.now() - i * 10).toISOString(),
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '10.0.0.1',
    requestParameters: null,
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  }) as CloudTrailRecord;

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_LAKE_BATCH_EVENTS: '200', OPENTRAIL_LAKE_INTERVAL_MS: '100' } });
  ct = ts.client();
});

after(async () => {
  ct.destroy();
  await ts.close();
});

test('a new store reading the whole log does not hold back the new events of a store already caught up', { timeout: 120_000 }, async () => {
  const a = await ct.send(new CreateEventDataStoreCommand({ Name: 'first', TerminationProtectionEnabled: false }));
  for (let k = 0; k < 8; k++) await ts.app.ingest.record(Array.from({ length: 1000 }, (_, i) => record(k * 1000 + i)));
  await ts.app.lake.writer.caughtUp();
  const b = await ct.send(new CreateEventDataStoreCommand({ Name: 'second', TerminationProtectionEnabled: false }));
  const readerOf = (arn: string | undefined): string => `lake:${arn!.split('/').pop()}`;
  // The second store now reads 8,000+ events, 200 at a time; an event recorded meanwhile reaches
  // the first store before the second has read that far.
  await new Promise((r) => setTimeout(r, 150));
  const [fresh] = await ts.app.ingest.record([record(99_999)]);
  const t0 = Date.now();
  while ((await ts.app.eventLog.getReaderState(readerOf(a.EventDataStoreArn))).seq < fresh!.seq) {
    assert.ok(Date.now() - t0 < 10_000, 'the first store did not take in the new event');
    await new Promise((r) => setTimeout(r, 5));
  }
  const second = (await ts.app.eventLog.getReaderState(readerOf(b.EventDataStoreArn))).seq;
  assert.ok(second < fresh!.seq - 1000, `the second store had read ${second} of ${fresh!.seq} when the first took in the new event`);
  await ts.app.lake.writer.caughtUp();
  assert.ok((await ts.app.eventLog.getReaderState(readerOf(b.EventDataStoreArn))).seq >= fresh!.seq);
});
