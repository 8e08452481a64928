/** Trail delivery: files in CloudTrail's layout, selectors, regions, logging windows and failures. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateTrailCommand, DeleteTrailCommand, DescribeTrailsCommand, GetTrailStatusCommand, PutEventSelectorsCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer, assertDeliveredInOrder } from './helpers.js';

let ts: TestServer;
let s3: S3Client;
export const KEY_RE =
  /^(?:(.+)\/)?AWSLogs\/(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/\2_CloudTrail_\3_(\d{8})T(\d{4})Z_([A-Za-z0-9]{16})\.json\.gz$/;

function rec(n: number, over: Partial<Parameters<typeof apiCallRecord>[0]> = {}): CloudTrailRecord {
  return apiCallRecord({
    accountId: ACCOUNT,
    region: 'us-east-1',
    userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
    sourceIPAddress: '192.0.2.1',
    requestId: `r${n}`,
    time: new Date(),
    eventSource: 'ec2.amazonaws.com',
    eventName: `Call${n}`,
    readOnly: n % 2 === 0,
    requestParameters: null,
    responseElements: null,
    ...over,
  });
}

async function objects(bucket: string, prefix = ''): Promise<{ key: string; records: CloudTrailRecord[] }[]> {
  const out: { key: string; records: CloudTrailRecord[] }[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const bytes = Buffer.from(await body.Body!.transformToByteArray());
      const parsed = JSON.parse(gunzipSync(bytes).toString('utf8')) as { Records: CloudTrailRecord[] };
      assert.deepEqual(Object.keys(parsed), ['Records']);
      out.push({ key: o.Key!, records: parsed.Records });
    }
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** All delivered records of a bucket once `ids` are all there (or fail). */
async function delivered(bucket: string, ids: string[]): Promise<{ key: string; records: CloudTrailRecord[] }[]> {
  return waitFor(`delivery of ${ids.length} events to ${bucket}`, async () => {
    const files = await objects(bucket);
    const have = new Set(files.flatMap((f) => f.records.map((r) => r.eventID)));
    return ids.every((id) => have.has(id)) ? files : undefined;
  });
}

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2' } });
  s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ts.app.credentials.accessKeyId, secretAccessKey: ts.app.credentials.secretAccessKey } });
});
after(async () => {
  await ts.close();
});

test('a multi-region trail delivers every region into its own folder, in the exact key layout, once', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'multi' }));
  const ct = ts.client();
  await ct.send(new CreateTrailCommand({ Name: 'multi', S3BucketName: 'multi', IsMultiRegionTrail: true, S3KeyPrefix: 'org/audit' }));
  await ct.send(new StartLoggingCommand({ Name: 'multi' }));
  const records = ['us-east-1', 'eu-west-1', 'ap-south-1'].flatMap((region, i) => Array.from({ length: 5 }, (_, j) => rec(i * 10 + j, { region })));
  await ts.app.ingest.record(records);
  const files = await delivered('multi', records.map((r) => r.eventID));
  const seen = new Map<string, number>();
  for (const f of files) {
    const m = KEY_RE.exec(f.key);
    assert.ok(m, `key layout: ${f.key}`);
    assert.equal(m[1], 'org/audit');
    assert.equal(m[2], ACCOUNT);
    assert.equal(`${m[4]}${m[5]}${m[6]}`, m[7], 'date folders match the file timestamp');
    for (const r of f.records) {
      assert.equal(r.awsRegion, m[3], 'records sit in their region folder');
      seen.set(r.eventID, (seen.get(r.eventID) ?? 0) + 1);
    }
  }
  for (const r of records) assert.equal(seen.get(r.eventID), 1, 'each event exactly once');
  assert.deepEqual(new Set(files.map((f) => KEY_RE.exec(f.key)![3])), new Set(['us-east-1', 'eu-west-1', 'ap-south-1']));
  // Records are written exactly as committed.
  const one = files.flatMap((f) => f.records).find((r) => r.eventID === records[0]!.eventID);
  assert.deepEqual(one, records[0]);
  const status = await ct.send(new GetTrailStatusCommand({ Name: 'multi' }));
  assert.ok(status.LatestDeliveryTime instanceof Date);
  assert.equal(status.LatestDeliveryError, undefined);
  await ct.send(new DeleteTrailCommand({ Name: 'multi' }));
});

test('a single-region trail takes only its region; global service events follow IncludeGlobalServiceEvents', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'single' }));
  const west = ts.client({ region: 'eu-west-1' });
  await west.send(new CreateTrailCommand({ Name: 'single', S3BucketName: 'single' }));
  await west.send(new StartLoggingCommand({ Name: 'single' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'noglobal' }));
  const east = ts.client();
  await east.send(new CreateTrailCommand({ Name: 'noglobal', S3BucketName: 'noglobal', IncludeGlobalServiceEvents: false }));
  await east.send(new StartLoggingCommand({ Name: 'noglobal' }));
  const inWest = rec(1, { region: 'eu-west-1' });
  const inEast = rec(2, { region: 'us-east-1' });
  const iam = rec(3, { region: 'us-east-1', eventSource: 'iam.amazonaws.com' });
  await ts.app.ingest.record([inWest, inEast, iam]);
  const westFiles = await delivered('single', [inWest.eventID]);
  const eastFiles = await delivered('noglobal', [inEast.eventID]);
  await new Promise((r) => setTimeout(r, 500));
  const westIds = (await objects('single')).flatMap((f) => f.records).filter((r) => r.eventSource === 'ec2.amazonaws.com').map((r) => r.eventID);
  assert.deepEqual(westIds, [inWest.eventID]);
  const eastIds = (await objects('noglobal')).flatMap((f) => f.records.map((r) => r.eventID));
  assert.ok(!eastIds.includes(iam.eventID), 'global service event left out');
  assert.ok(westFiles.length > 0 && eastFiles.length > 0);
  await west.send(new DeleteTrailCommand({ Name: 'single' }));
  await east.send(new DeleteTrailCommand({ Name: 'noglobal' }));
});

test('selectors: write-only management, a data-event selector on one bucket, advanced operators', async () => {
  const ct = ts.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'sel-wo' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'sel-adv' }));
  await ct.send(new CreateTrailCommand({ Name: 'sel-wo', S3BucketName: 'sel-wo' }));
  await ct.send(
    new PutEventSelectorsCommand({
      TrailName: 'sel-wo',
      EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::watched/'] }] }],
    }),
  );
  await ct.send(new CreateTrailCommand({ Name: 'sel-adv', S3BucketName: 'sel-adv' }));
  await ct.send(
    new PutEventSelectorsCommand({
      TrailName: 'sel-adv',
      AdvancedEventSelectors: [
        { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }, { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'], NotStartsWith: ['ec2.'] }] },
        {
          FieldSelectors: [
            { Field: 'eventCategory', Equals: ['Data'] },
            { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            { Field: 'eventName', StartsWith: ['Put', 'Get'], EndsWith: ['Object'] },
            { Field: 'resources.ARN', NotStartsWith: ['arn:aws:s3:::private/'], NotEndsWith: ['.tmp'] },
          ],
        },
      ],
    }),
  );
  await ct.send(new StartLoggingCommand({ Name: 'sel-wo' }));
  await ct.send(new StartLoggingCommand({ Name: 'sel-adv' }));
  const data = (bucket: string, key: string, readOnly: boolean) =>
    rec(100, {
      eventSource: 's3.amazonaws.com',
      eventName: readOnly ? 'GetObject' : 'PutObject',
      readOnly,
      eventCategory: 'Data',
      managementEvent: false,
      resources: [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` }, { type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}`, accountId: ACCOUNT }],
    });
  const ev = {
    read: rec(0, { eventName: 'DescribeInstances', readOnly: true }),
    write: rec(1, { eventName: 'CreateUser', readOnly: false }),
    kms: rec(2, { eventName: 'CreateKeyPolicy', eventSource: 'kms.amazonaws.com', readOnly: false }),
    policy: rec(3, { eventName: 'CreatePolicy', eventSource: 'iam.amazonaws.com', readOnly: false }),
    watchedPut: data('watched', 'a.txt', false),
    watchedGet: data('watched', 'a.txt', true),
    otherPut: data('other', 'b.txt', false),
    privatePut: data('private', 'c.txt', false),
    tmpPut: data('other', 'd.tmp', false),
  };
  await ts.app.ingest.record(Object.values(ev));
  const marker = rec(999, { eventName: 'CreateMarkerPolicy', eventSource: 'iam.amazonaws.com', readOnly: false });
  await ts.app.ingest.record([marker]);
  const wo = (await delivered('sel-wo', [marker.eventID])).flatMap((f) => f.records.map((r) => r.eventID));
  const adv = (await delivered('sel-adv', [marker.eventID])).flatMap((f) => f.records.map((r) => r.eventID));
  const has = (list: string[], e: CloudTrailRecord) => list.includes(e.eventID);
  assert.ok(!has(wo, ev.read) && has(wo, ev.write) && has(wo, ev.kms) && has(wo, ev.policy), 'write-only management');
  assert.ok(has(wo, ev.watchedPut) && !has(wo, ev.watchedGet) && !has(wo, ev.otherPut), 'data selector on one bucket, write-only');
  assert.ok(!has(adv, ev.read) && !has(adv, ev.write) && !has(adv, ev.kms) && has(adv, ev.policy), 'advanced management selector');
  assert.ok(has(adv, ev.otherPut) && has(adv, ev.watchedGet) && !has(adv, ev.privatePut) && !has(adv, ev.tmpPut), 'advanced data selector');
  await ct.send(new DeleteTrailCommand({ Name: 'sel-wo' }));
  await ct.send(new DeleteTrailCommand({ Name: 'sel-adv' }));
});

test('events while logging is stopped are not delivered; logging resumes from StartLogging', async () => {
  const ct = ts.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'stopstart' }));
  await ct.send(new CreateTrailCommand({ Name: 'stopstart', S3BucketName: 'stopstart' }));
  const beforeStart = rec(1);
  await ts.app.ingest.record([beforeStart]);
  await ct.send(new StartLoggingCommand({ Name: 'stopstart' }));
  const during1 = rec(2);
  await ts.app.ingest.record([during1]);
  await delivered('stopstart', [during1.eventID]);
  await ct.send(new StopLoggingCommand({ Name: 'stopstart' }));
  const stopped = rec(3);
  await ts.app.ingest.record([stopped]);
  await new Promise((r) => setTimeout(r, 600));
  await ct.send(new StartLoggingCommand({ Name: 'stopstart' }));
  const during2 = rec(4);
  await ts.app.ingest.record([during2]);
  const files = await delivered('stopstart', [during2.eventID]);
  const ids = files.flatMap((f) => f.records.map((r) => r.eventID));
  assert.ok(!ids.includes(beforeStart.eventID) && !ids.includes(stopped.eventID));
  assert.equal(ids.filter((i) => i === during1.eventID).length, 1);
  await ct.send(new DeleteTrailCommand({ Name: 'stopstart' }));
});

test('a missing bucket shows in GetTrailStatus; once it is back the backlog is delivered in order', async () => {
  const ct = ts.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'flaky' }));
  await ct.send(new CreateTrailCommand({ Name: 'flaky', S3BucketName: 'flaky' }));
  await ct.send(new StartLoggingCommand({ Name: 'flaky' }));
  const first = rec(1);
  await ts.app.ingest.record([first]);
  const files = await delivered('flaky', [first.eventID]);
  for (const f of files) await s3.send(new DeleteObjectCommand({ Bucket: 'flaky', Key: f.key }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'flaky' }));
  const backlog = Array.from({ length: 20 }, (_, i) => rec(10 + i));
  for (const r of backlog) await ts.app.ingest.record([r]);
  const status = await waitFor('a delivery error', async () => {
    const s = await ct.send(new GetTrailStatusCommand({ Name: 'flaky' }));
    return s.LatestDeliveryError ? s : undefined;
  });
  assert.equal(status.LatestDeliveryError, 'NoSuchBucket');
  assert.match(status.LatestDeliveryAttemptTime ?? '', /^\d{4}-/);
  await s3.send(new CreateBucketCommand({ Bucket: 'flaky' }));
  const after = await delivered('flaky', backlog.map((r) => r.eventID));
  assertDeliveredInOrder(after, backlog.map((r) => r.eventID), 'backlog delivered once, in order');
  const ok = await waitFor('error cleared', async () => {
    const s = await ct.send(new GetTrailStatusCommand({ Name: 'flaky' }));
    return s.LatestDeliveryError === undefined ? s : undefined;
  });
  assert.ok(ok.LatestDeliveryAttemptSucceeded);
  await ct.send(new DeleteTrailCommand({ Name: 'flaky' }));
});

const hasAwsCli = spawnSync('aws', ['--version']).status === 0;

test('the user journey with the AWS CLI alone: mb, create-trail, start-logging, ls, download', { skip: hasAwsCli ? false : 'aws CLI not installed' }, async () => {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  const aws = async (...args: string[]): Promise<string> => (await promisify(execFile)('aws', ['--endpoint-url', ts.app.url, ...args], { env, encoding: 'utf8' })).stdout;
  await aws('s3', 'mb', 's3://cli-audit-logs');
  const trail = JSON.parse(await aws('cloudtrail', 'create-trail', '--name', 'cli-main', '--s3-bucket-name', 'cli-audit-logs', '--is-multi-region-trail')) as { TrailARN: string };
  assert.equal(trail.TrailARN, `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/cli-main`);
  await aws('cloudtrail', 'start-logging', '--name', 'cli-main');
  const described = JSON.parse(await aws('cloudtrail', 'describe-trails')) as { trailList: { Name: string }[] };
  assert.ok(described.trailList.some((t) => t.Name === 'cli-main'));
  const listing = await waitFor('a delivered file', async () => {
    const out = await aws('s3', 'ls', '--recursive', 's3://cli-audit-logs/AWSLogs/');
    return out.includes('.json.gz') ? out : undefined;
  });
  const key = listing.trim().split('\n')[0]!.split(/\s+/).at(-1)!;
  assert.match(key, KEY_RE);
  const files = await objects('cli-audit-logs');
  assert.ok(files.flatMap((f) => f.records).some((r) => r.eventName === 'DescribeTrails' && r.eventSource === 'cloudtrail.amazonaws.com'));
  const status = JSON.parse(await aws('cloudtrail', 'get-trail-status', '--name', 'cli-main')) as { IsLogging: boolean; LatestDeliveryTime?: number };
  assert.equal(status.IsLogging, true);
  assert.ok(status.LatestDeliveryTime);
  await aws('cloudtrail', 'delete-trail', '--name', 'cli-main');
});

test('opentrail trails tail prints records as their files land', { timeout: 30_000 }, async () => {
  const ct = ts.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'tail-logs' }));
  await ct.send(new CreateTrailCommand({ Name: 'tailme', S3BucketName: 'tail-logs', S3KeyPrefix: 'tp' }));
  await ct.send(new StartLoggingCommand({ Name: 'tailme' }));
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const bin = new URL('../../bin/opentrail.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'trails', 'tail', '--trail', 'tailme', '--endpoint-url', ts.app.url, '--interval', '0.2'], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`tail exited with ${code}`)));
      createInterface({ input: child.stderr! }).on('line', (l) => l.startsWith('following') && resolve());
    });
    const call = await ct.send(new DescribeTrailsCommand({ trailNameList: ['tailme'] }));
    const line = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l.includes(call.$metadata.requestId!)) resolve(l);
      });
    });
    const rec = JSON.parse(line) as { eventName: string; requestID: string };
    assert.equal(rec.eventName, 'DescribeTrails');
    assert.equal(rec.requestID, call.$metadata.requestId);
  } finally {
    child.kill('SIGTERM');
  }
  await ct.send(new DeleteTrailCommand({ Name: 'tailme' }));
});
