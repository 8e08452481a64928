/** LookupEvents over HTTP with the AWS SDK: attributes, time ranges, paging, errors, isolation, persistence. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeTrailsCommand, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import type { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import { ACCOUNT, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
const base = Date.now() - 3600_000; // one hour ago

function synthetic(i: number, over: Partial<Parameters<typeof apiCallRecord>[0]> = {}): CloudTrailRecord {
  return apiCallRecord({
    accountId: ACCOUNT,
    region: 'us-east-1',
    userIdentity: { type: 'IAMUser', principalId: `AIDA${i}`, arn: `arn:aws:iam::${ACCOUNT}:user/user${i % 3}`, accountId: ACCOUNT, accessKeyId: `AKIAUSER${i % 3}`, userName: `user${i % 3}` },
    sourceIPAddress: '198.51.100.7',
    userAgent: 'test',
    requestId: `req-${i}`,
    time: new Date(base + i * 1000),
    eventSource: i % 2 ? 'ec2.amazonaws.com' : 's3.amazonaws.com',
    eventName: `Op${i % 5}`,
    readOnly: i % 4 === 0,
    requestParameters: { n: i },
    responseElements: null,
    resources: [{ ARN: `arn:aws:s3:::bucket-${i % 7}`, accountId: ACCOUNT, type: i % 7 === 0 ? 'AWS::S3::Bucket' : 'AWS::S3::Object' }],
    ...over,
  });
}

const records: CloudTrailRecord[] = [];

before(async () => {
  ts = await startTestServer();
  for (let i = 0; i < 60; i++) records.push(synthetic(i));
  await ts.app.ingest.record(records);
});
after(async () => {
  await ts.close();
});

async function all(input: LookupEventsCommandInput, region = 'us-east-1'): Promise<{ EventId?: string; EventTime?: Date; CloudTrailEvent?: string }[]> {
  const c = ts.client({ region });
  const out: { EventId?: string; EventTime?: Date; CloudTrailEvent?: string }[] = [];
  let token: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const r = await c.send(new LookupEventsCommand({ ...input, NextToken: token }));
    out.push(...(r.Events ?? []));
    token = r.NextToken;
    if (!token) break;
  }
  return out;
}

const window = (): Pick<LookupEventsCommandInput, 'StartTime' | 'EndTime'> => ({ StartTime: new Date(base - 1000), EndTime: new Date(base + 60_000) });

test('each lookup attribute finds exactly the matching events, newest first', async () => {
  const cases: [string, string, (r: CloudTrailRecord) => boolean][] = [
    ['EventName', 'Op3', (r) => r.eventName === 'Op3'],
    ['EventSource', 'ec2.amazonaws.com', (r) => r.eventSource === 'ec2.amazonaws.com'],
    ['ReadOnly', 'true', (r) => r.readOnly === true],
    ['ReadOnly', 'false', (r) => r.readOnly === false],
    ['Username', 'user1', (r) => r.userIdentity.userName === 'user1'],
    ['AccessKeyId', 'AKIAUSER2', (r) => r.userIdentity.accessKeyId === 'AKIAUSER2'],
    ['ResourceType', 'AWS::S3::Bucket', (r) => r.resources?.[0]?.type === 'AWS::S3::Bucket'],
    ['ResourceName', 'arn:aws:s3:::bucket-3', (r) => r.resources?.[0]?.ARN === 'arn:aws:s3:::bucket-3'],
    ['EventId', records[17]!.eventID, (r) => r.eventID === records[17]!.eventID],
  ];
  for (const [key, value, pred] of cases) {
    const got = await all({ LookupAttributes: [{ AttributeKey: key as 'EventName', AttributeValue: value }], ...window(), MaxResults: 7 });
    const want = records.filter(pred).map((r) => r.eventID).reverse();
    assert.deepEqual(got.map((e) => e.EventId), want, `${key}=${value}`);
  }
});

test('concurrent lookups each get their own page, whole, while the buffers pages are written into are used again', async () => {
  const c = ts.client();
  const inputs: LookupEventsCommandInput[] = [
    { ...window(), LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'ec2.amazonaws.com' }] },
    { ...window(), LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Op2' }] },
    { ...window(), MaxResults: 7 },
  ];
  const ids = async (input: LookupEventsCommandInput): Promise<string[]> => ((await c.send(new LookupEventsCommand(input))).Events ?? []).map((e) => e.EventId!);
  const expected = await Promise.all(inputs.map(ids));
  assert.deepEqual(expected.map((e) => e.length), [30, 12, 7]);
  const log = ts.app.eventLog as SqliteEventLog;
  const made = log.pageEntries.newBuffers;
  // 300 lookups, 12 at a time: a buffer used again before its answer had gone would mix pages up.
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < 300) {
        const k = next++ % inputs.length;
        assert.deepEqual(await ids(inputs[k]!), expected[k]);
      }
    }),
  );
  // Pages went into buffers given back: a few new ones at most (as many as were in flight).
  assert.ok(log.pageEntries.newBuffers - made <= 24, `${log.pageEntries.newBuffers - made} new buffers for 300 pages`);
});

test('output members are shaped as the SDK expects', async () => {
  const r = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: records[8]!.eventID }] }));
  const e = r.Events![0]!;
  assert.equal(e.EventName, 'Op3');
  assert.equal(e.ReadOnly, 'true');
  assert.equal(e.Username, 'user2');
  assert.equal(e.AccessKeyId, 'AKIAUSER2');
  assert.equal(e.EventSource, 's3.amazonaws.com');
  assert.ok(e.EventTime instanceof Date);
  assert.equal(e.EventTime!.getTime(), Math.floor((base + 8000) / 1000) * 1000);
  assert.deepEqual(e.Resources, [{ ResourceType: 'AWS::S3::Object', ResourceName: 'arn:aws:s3:::bucket-1' }]);
  assert.deepEqual(JSON.parse(e.CloudTrailEvent!), records[8]);
});

test('time ranges are inclusive and bound the results', async () => {
  const start = new Date(Math.floor((base + 10_000) / 1000) * 1000);
  const end = new Date(Math.floor((base + 19_000) / 1000) * 1000);
  const got = await all({ StartTime: start, EndTime: end, LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 's3.amazonaws.com' }] });
  const want = records
    .filter((r) => r.eventSource === 's3.amazonaws.com' && Date.parse(r.eventTime) >= start.getTime() && Date.parse(r.eventTime) <= end.getTime())
    .map((r) => r.eventID)
    .reverse();
  assert.equal(want.length, 5);
  assert.deepEqual(got.map((e) => e.EventId), want);
});

test('paging with MaxResults=1 walks every event once, with no gaps', async () => {
  const got = await all({ ...window(), MaxResults: 1 });
  const ids = got.map((e) => e.EventId);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.deepEqual(ids, records.map((r) => r.eventID).reverse());
  for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.EventTime! >= got[i]!.EventTime!);
});

test('default MaxResults is 50', async () => {
  const r = await ts.client().send(new LookupEventsCommand({ ...window() }));
  assert.equal(r.Events!.length, 50);
  assert.ok(r.NextToken);
});

test('errors: attributes, time range, max results, category, next token', async () => {
  const c = ts.client();
  await expectAwsError(
    c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'EventSource', AttributeValue: 'b' }] })),
    'InvalidLookupAttributesException',
  );
  await expectAwsError(c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'Bogus' as 'EventName', AttributeValue: 'a' }] })), 'InvalidLookupAttributesException');
  await expectAwsError(c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'maybe' }] })), 'InvalidLookupAttributesException');
  await expectAwsError(c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: '' }] })), 'InvalidLookupAttributesException');
  await expectAwsError(
    c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: '_'.repeat(1001) }] })),
    'InvalidLookupAttributesException',
  );
  await expectAwsError(
    c.send(new LookupEventsCommand({ EventCategory: 'insight', LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'x' }] })),
    'InvalidLookupAttributesException',
  );
  await expectAwsError(c.send(new LookupEventsCommand({ StartTime: new Date(base), EndTime: new Date(base - 1000) })), 'InvalidTimeRangeException');
  await expectAwsError(c.send(new LookupEventsCommand({ MaxResults: 0 })), 'InvalidMaxResultsException');
  await expectAwsError(c.send(new LookupEventsCommand({ MaxResults: 51 })), 'InvalidMaxResultsException');
  await expectAwsError(c.send(new LookupEventsCommand({ EventCategory: 'data' as 'insight' })), 'InvalidEventCategoryException');
  await expectAwsError(c.send(new LookupEventsCommand({ NextToken: 'forged' })), 'InvalidNextTokenException');
  const first = await c.send(new LookupEventsCommand({ ...window(), MaxResults: 2 }));
  assert.ok(first.NextToken);
  const tampered = first.NextToken!.replace(/^./, (ch) => (ch === 'e' ? 'f' : 'e'));
  await expectAwsError(c.send(new LookupEventsCommand({ ...window(), MaxResults: 2, NextToken: tampered })), 'InvalidNextTokenException');
  // Same token, different parameters.
  await expectAwsError(
    c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Op1' }], ...window(), NextToken: first.NextToken })),
    'InvalidNextTokenException',
  );
});

test('insight category returns only insight events', async () => {
  const insight = synthetic(1000, { eventName: 'PutObject', eventCategory: 'Insight', time: new Date(base + 30_500) });
  await ts.app.ingest.record([insight]);
  const r = await ts.client().send(new LookupEventsCommand({ EventCategory: 'insight', ...window() }));
  assert.deepEqual(r.Events!.map((e) => e.EventId), [insight.eventID]);
  const mgmt = await all({ ...window(), LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'PutObject' }] });
  assert.equal(mgmt.length, 0);
});

test('a failed call is recorded with its errorCode and errorMessage; a successful one without', async () => {
  const c = ts.client({ region: 'eu-west-3' });
  await expectAwsError(c.send(new LookupEventsCommand({ MaxResults: 99 })), 'InvalidMaxResultsException');
  const ok = await c.send(new DescribeTrailsCommand({}));
  const r = await c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'cloudtrail.amazonaws.com' }] }));
  const recs = r.Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as CloudTrailRecord);
  const failed = recs.find((x) => x.eventName === 'LookupEvents' && x.errorCode);
  assert.ok(failed, 'failed LookupEvents recorded');
  assert.equal(failed.errorCode, 'InvalidMaxResultsException');
  assert.match(failed.errorMessage!, /maxResults/i);
  assert.deepEqual(failed.requestParameters, { maxResults: 99 });
  assert.equal(failed.awsRegion, 'eu-west-3');
  const described = recs.find((x) => x.eventName === 'DescribeTrails')!;
  assert.equal(described.requestID, ok.$metadata.requestId);
  assert.equal(described.errorCode, undefined);
  assert.equal(described.responseElements, null);
  assert.equal(described.readOnly, true);
  assert.equal(described.eventVersion, '1.11');
  assert.equal(described.eventType, 'AwsApiCall');
  assert.equal(described.managementEvent, true);
  assert.equal(described.eventCategory, 'Management');
  assert.equal(described.recipientAccountId, ACCOUNT);
  assert.equal(described.sourceIPAddress, '127.0.0.1');
  assert.match(described.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(described.userIdentity, { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, accessKeyId: ts.app.credentials.accessKeyId });
  assert.match(described.userAgent ?? '', /aws-sdk-js/);
});

test('accounts and regions are isolated; IAM users are recorded as IAMUser', async () => {
  const other = await ts.app.accounts.createAccount('444455556666', 'other');
  await ts.app.accounts.createUser(other.accountId, 'alice');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'alice');
  const alice = ts.client({ region: 'us-east-1', accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  await alice.send(new DescribeTrailsCommand({}));
  const mine = await alice.send(new LookupEventsCommand({}));
  assert.equal(mine.Events!.length, 1, 'alice sees only her account');
  const rec = JSON.parse(mine.Events![0]!.CloudTrailEvent!) as CloudTrailRecord;
  assert.equal(rec.userIdentity.type, 'IAMUser');
  assert.equal(rec.userIdentity.userName, 'alice');
  assert.equal(rec.userIdentity.arn, 'arn:aws:iam::444455556666:user/alice');
  assert.match(rec.userIdentity.principalId!, /^AIDA/);
  assert.equal(mine.Events![0]!.Username, 'alice');
  // The default account never sees alice's call.
  const root = await all({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'alice' }] });
  assert.equal(root.length, 0);
  // Another region of alice's account is empty except for that lookup itself.
  const west = await alice.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }] }));
  assert.equal(west.Events!.length, 1);
  const ap = ts.client({ region: 'ap-south-1', accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  const apr = await ap.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }] }));
  assert.equal(apr.Events!.length, 0);
});

test('events and NextTokens survive a restart', async () => {
  const c1 = ts.client();
  const first = await c1.send(new LookupEventsCommand({ ...window(), MaxResults: 5 }));
  await ts.restart();
  const c2 = ts.client();
  const second = await c2.send(new LookupEventsCommand({ ...window(), MaxResults: 5, NextToken: first.NextToken }));
  assert.deepEqual(second.Events!.map((e) => e.EventId), records.map((r) => r.eventID).reverse().slice(5, 10));
  const everything = await all({ ...window() });
  assert.equal(everything.length, records.length);
});
