/** The S3-compatible API on the embedded object store, through @aws-sdk/client-s3 and the AWS CLI. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, statSync, existsSync, writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  GetBucketLocationCommand,
  PutBucketPolicyCommand,
  GetBucketPolicyCommand,
  DeleteBucketPolicyCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { CreateTrailCommand, DeleteTrailCommand, LookupEventsCommand, PutEventSelectorsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { ACCOUNT, KEY, SECRET, startTestServer, expectAwsError, type TestServer } from './helpers.js';

let ts: TestServer;
let s3: S3Client;

function client(o: { accessKeyId?: string; secretAccessKey?: string; region?: string; virtualHost?: boolean } = {}): S3Client {
  const url = new URL(ts.app.url);
  const c = new S3Client({
    // Virtual-host style: the SDK puts the bucket in the Host header (`<bucket>.localhost:<port>`);
    // the connection itself still goes to 127.0.0.1, since *.localhost need not resolve here.
    endpoint: o.virtualHost ? `http://localhost:${url.port}` : ts.app.url,
    forcePathStyle: !o.virtualHost,
    region: o.region ?? 'us-east-1',
    credentials: { accessKeyId: o.accessKeyId ?? KEY, secretAccessKey: o.secretAccessKey ?? SECRET },
    maxAttempts: 1,
  });
  if (o.virtualHost) {
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { hostname?: string };
        req.hostname = '127.0.0.1';
        return next(args);
      },
      { step: 'deserialize', name: 'connectToLoopback' },
    );
  }
  return c;
}

const text = async (b: { transformToString(): Promise<string> } | undefined): Promise<string> => (b ? b.transformToString() : '');

before(async () => {
  ts = await startTestServer();
  s3 = client();
});
after(async () => {
  await ts.close();
});

test('buckets: create, list, head, location, duplicates, bad names, delete', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'beta', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  const list = await s3.send(new ListBucketsCommand({}));
  assert.deepEqual(list.Buckets?.map((b) => b.Name), ['alpha', 'beta']);
  assert.equal(list.Owner?.ID, ACCOUNT);
  assert.ok(list.Buckets?.[0]?.CreationDate instanceof Date);
  const head = await s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
  assert.equal(head.$metadata.httpStatusCode, 200);
  assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'alpha' }))).LocationConstraint, undefined);
  assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'beta' }))).LocationConstraint, 'eu-west-1');
  await expectAwsError(s3.send(new CreateBucketCommand({ Bucket: 'alpha' })), 'BucketAlreadyOwnedByYou');
  for (const bad of ['ab', 'Upper', 'under_score', '-dash', 'a..b', '192.168.1.1']) {
    await expectAwsError(s3.send(new CreateBucketCommand({ Bucket: bad })), 'InvalidBucketName');
  }
  await expectAwsError(s3.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })), 'NotFound');
  await expectAwsError(s3.send(new ListObjectsV2Command({ Bucket: 'missing-bucket' })), 'NoSuchBucket');
  await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: 'x', Body: 'x' }));
  await expectAwsError(s3.send(new DeleteBucketCommand({ Bucket: 'beta' })), 'BucketNotEmpty');
  await s3.send(new DeleteObjectCommand({ Bucket: 'beta', Key: 'x' }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'beta' }));
  await expectAwsError(s3.send(new DeleteBucketCommand({ Bucket: 'beta' })), 'NoSuchBucket');
});

test('objects: put with metadata, ETag, get, ranges, head, delete, missing keys', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'objs' }));
  const body = 'The quick brown fox jumps over the lazy dog';
  const put = await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Body: body, ContentType: 'text/plain', Metadata: { colour: 'brown', 'x-y': 'z' } }));
  assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' }));
  assert.equal(await text(got.Body), body);
  assert.equal(got.ContentType, 'text/plain');
  assert.equal(got.ContentLength, body.length);
  assert.deepEqual(got.Metadata, { colour: 'brown', 'x-y': 'z' });
  assert.equal(got.ETag, put.ETag);
  assert.ok(got.LastModified instanceof Date);
  const r1 = await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Range: 'bytes=4-8' }));
  assert.equal(await text(r1.Body), 'quick');
  assert.equal(r1.ContentRange, `bytes 4-8/${body.length}`);
  assert.equal(r1.$metadata.httpStatusCode, 206);
  assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Range: 'bytes=-3' }))).Body), 'dog');
  assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Range: 'bytes=40-' }))).Body), 'dog');
  assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Range: 'bytes=40-1000' }))).Body), 'dog');
  await expectAwsError(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Range: 'bytes=100-200' })), 'InvalidRange');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' }));
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.Metadata?.colour, 'brown');
  await expectAwsError(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'nope' })), 'NoSuchKey');
  await expectAwsError(s3.send(new HeadObjectCommand({ Bucket: 'objs', Key: 'nope' })), 'NotFound');
  // Overwrite replaces, delete removes, deleting again is fine (S3 answers 204 either way).
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt', Body: 'v2' }));
  assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' }))).Body), 'v2');
  await s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' }));
  await s3.send(new DeleteObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' }));
  await expectAwsError(s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'dir/fox.txt' })), 'NoSuchKey');
  // A binary body survives byte for byte.
  const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
  await s3.send(new PutObjectCommand({ Bucket: 'objs', Key: 'bin', Body: bin }));
  assert.ok(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'objs', Key: 'bin' }))).Body!.transformToByteArray()).equals(bin));
});

test('listing: v1 with Marker, v2 with continuation, delimiters, url encoding, DeleteObjects', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
  const keys = ['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd e+f%g', 'é/ü'];
  for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key: k, Body: k }));
  // v1, two at a time, with Marker
  const seen: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: 'listing', MaxKeys: 2, Marker: marker }));
    seen.push(...(r.Contents ?? []).map((o) => o.Key!));
    if (!r.IsTruncated) break;
    marker = r.Contents!.at(-1)!.Key;
  }
  assert.deepEqual(seen, [...keys].sort());
  // v2, one at a time, with continuation tokens
  const v2: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 1, ContinuationToken: token }));
    assert.equal(r.KeyCount, r.Contents?.length ?? 0);
    v2.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.NextContinuationToken;
  } while (token);
  assert.deepEqual(v2, [...keys].sort());
  // delimiter: folders as common prefixes
  const top = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
  assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/', 'é/']);
  assert.deepEqual(top.Contents?.map((o) => o.Key), ['c', 'd e+f%g']);
  const inA = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'a/', Delimiter: '/' }));
  assert.deepEqual(inA.Contents?.map((o) => o.Key), ['a/1', 'a/2']);
  assert.deepEqual(inA.CommonPrefixes?.map((p) => p.Prefix), ['a/b/']);
  const after = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', StartAfter: 'b/4' }));
  assert.deepEqual(after.Contents?.map((o) => o.Key), ['c', 'd e+f%g', 'é/ü']);
  // url encoding as the CLI asks for it: the SDK decodes, keys come back intact
  const enc = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', EncodingType: 'url', Prefix: 'd' }));
  assert.deepEqual(enc.Contents?.map((o) => decodeURIComponent(o.Key!)), ['d e+f%g']);
  // DeleteObjects
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: 'listing', Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  assert.deepEqual(del.Deleted?.map((d) => d.Key).sort(), [...keys].sort());
  assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }))).KeyCount, 0);
});

test('virtual-host-style requests name the bucket in the Host header', async () => {
  const vh = client({ virtualHost: true });
  await vh.send(new CreateBucketCommand({ Bucket: 'vhost' }));
  await vh.send(new PutObjectCommand({ Bucket: 'vhost', Key: 'k/v.txt', Body: 'virtual' }));
  assert.equal(await text((await vh.send(new GetObjectCommand({ Bucket: 'vhost', Key: 'k/v.txt' }))).Body), 'virtual');
  assert.deepEqual((await vh.send(new ListObjectsV2Command({ Bucket: 'vhost' }))).Contents?.map((o) => o.Key), ['k/v.txt']);
  // and path style sees the same bucket
  assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'vhost', Key: 'k/v.txt' }))).Body), 'virtual');
});

test('keys never escape the bucket folder', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'escape' }));
  const tricky = ['../../../../../../tmp/opentrail-escape', '/abs/path', '..', './.', 'a/../../b', '\\..\\win', '%2e%2e/x'];
  for (const k of tricky) await s3.send(new PutObjectCommand({ Bucket: 'escape', Key: k, Body: `body of ${k}` }));
  for (const k of tricky) assert.equal(await text((await s3.send(new GetObjectCommand({ Bucket: 'escape', Key: k }))).Body), `body of ${k}`);
  assert.equal(existsSync('/tmp/opentrail-escape'), false);
  // Every file the store wrote lives inside the data directory's objects folder.
  const root = resolve(ts.dataDir, 'objects');
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  for (const f of walk(root)) assert.ok(!relative(root, f).startsWith('..'));
  const names = walk(join(root, 'buckets', 'escape')).map((f) => relative(join(root, 'buckets', 'escape'), f));
  for (const n of names) assert.match(n, /^[0-9a-f]{2}\/[0-9a-f]{64}-[0-9a-f]{12}$/);
});

test('bucket policies: put, get, delete, malformed; another account needs the policy', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'shared-bucket' }));
  await s3.send(new PutObjectCommand({ Bucket: 'shared-bucket', Key: 'doc', Body: 'shared' }));
  const other = await ts.app.accounts.createAccount('444455556666', 'other');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'root');
  const them = client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  await expectAwsError(them.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'doc' })), 'AccessDenied');
  assert.deepEqual((await them.send(new ListBucketsCommand({}))).Buckets ?? [], []);
  await expectAwsError(s3.send(new GetBucketPolicyCommand({ Bucket: 'shared-bucket' })), 'NoSuchBucketPolicy');
  await expectAwsError(s3.send(new PutBucketPolicyCommand({ Bucket: 'shared-bucket', Policy: '{not json' })), 'MalformedPolicy');
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared-bucket/*' }],
  });
  await s3.send(new PutBucketPolicyCommand({ Bucket: 'shared-bucket', Policy: policy }));
  assert.equal((await s3.send(new GetBucketPolicyCommand({ Bucket: 'shared-bucket' }))).Policy, policy);
  assert.equal(await text((await them.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'doc' }))).Body), 'shared');
  await expectAwsError(them.send(new PutObjectCommand({ Bucket: 'shared-bucket', Key: 'doc', Body: 'overwritten' })), 'AccessDenied');
  await expectAwsError(them.send(new PutBucketPolicyCommand({ Bucket: 'shared-bucket', Policy: policy })), 'AccessDenied');
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'shared-bucket' }));
  await expectAwsError(them.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'doc' })), 'AccessDenied');
});

test('authentication failures get S3 error codes in XML', async () => {
  await expectAwsError(client({ secretAccessKey: 'wrong' }).send(new ListBucketsCommand({})), 'SignatureDoesNotMatch');
  await expectAwsError(client({ accessKeyId: 'AKIANOSUCHKEY0000000' }).send(new ListBucketsCommand({})), 'InvalidAccessKeyId');
  const res = await fetch(`${ts.app.url}/alpha`);
  assert.equal(res.status, 403);
  const body = await res.text();
  assert.match(body, /<Error><Code>AccessDenied<\/Code>/);
  assert.match(res.headers.get('content-type') ?? '', /xml/);
});

test('S3 calls are recorded: bucket calls as management events; object calls as data events when a trail selects them', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'recorded' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'unwatched' }));
  const ct = ts.client();
  // Without a trail selecting them, data events are not recorded (as AWS: nothing would read them).
  const before = await s3.send(new PutObjectCommand({ Bucket: 'recorded', Key: 'early', Body: 'x' }));
  await ct.send(new CreateTrailCommand({ Name: 'data-trail', S3BucketName: 'recorded' }));
  await ct.send(new PutEventSelectorsCommand({ TrailName: 'data-trail', EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::recorded/'] }] }] }));
  await ct.send(new StartLoggingCommand({ Name: 'data-trail' }));
  const put = await s3.send(new PutObjectCommand({ Bucket: 'recorded', Key: 'obj', Body: 'x' }));
  const other = await s3.send(new PutObjectCommand({ Bucket: 'unwatched', Key: 'obj', Body: 'x' }));
  await expectAwsError(s3.send(new GetObjectCommand({ Bucket: 'recorded', Key: 'missing' })), 'NoSuchKey');
  const ev = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'arn:aws:s3:::recorded' }] }));
  const create = ev.Events?.find((e) => e.EventName === 'CreateBucket');
  assert.ok(create, 'CreateBucket recorded');
  const rec = JSON.parse(create.CloudTrailEvent!) as Record<string, unknown>;
  assert.equal(rec.eventSource, 's3.amazonaws.com');
  assert.equal(rec.managementEvent, true);
  assert.equal((rec.requestParameters as { bucketName: string }).bucketName, 'recorded');
  // Data events are not in event history (as AWS), but they are in the log the trails read.
  const all = await ts.app.eventLog.readFrom(0, 100_000);
  const records = all.map((e) => JSON.parse(e.json.toString('utf8')) as Record<string, unknown>);
  const putRec = records.find((r) => r.eventName === 'PutObject' && r.requestID === put.$metadata.requestId);
  assert.ok(putRec, 'PutObject on the selected bucket recorded');
  assert.equal(putRec.eventCategory, 'Data');
  assert.equal(putRec.managementEvent, false);
  assert.deepEqual(putRec.resources, [
    { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::recorded/obj' },
    { type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::recorded', accountId: ACCOUNT },
  ]);
  assert.ok(records.some((r) => r.eventName === 'GetObject' && r.errorCode === 'NoSuchKey'), 'failed GetObject recorded with its error code');
  assert.ok(!records.some((r) => r.requestID === other.$metadata.requestId), 'PutObject on an unselected bucket not recorded');
  assert.ok(!records.some((r) => r.requestID === before.$metadata.requestId), 'PutObject before the trail logged not recorded');
  await ct.send(new DeleteTrailCommand({ Name: 'data-trail' }));
});

const hasAwsCli = spawnSync('aws', ['--version']).status === 0;

test('the AWS CLI works unchanged: s3 mb/cp/ls/rm and s3api', { skip: hasAwsCli ? false : 'aws CLI not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-cli-'));
  const env = { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  // Asynchronously: the server answering the CLI runs in this very process.
  const aws = async (...args: string[]): Promise<string> => (await promisify(execFile)('aws', ['--endpoint-url', ts.app.url, ...args], { env, encoding: 'utf8' })).stdout;
  try {
    await aws('s3', 'mb', 's3://cli-bucket');
    writeFileSync(join(dir, 'a.txt'), 'from the cli');
    await aws('s3', 'cp', join(dir, 'a.txt'), 's3://cli-bucket/folder/a b.txt');
    assert.match(await aws('s3', 'ls', '--recursive', 's3://cli-bucket/'), /folder\/a b\.txt/);
    await aws('s3', 'cp', 's3://cli-bucket/folder/a b.txt', join(dir, 'back.txt'));
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'from the cli');
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'folder/a b.txt')) as { ContentLength: number };
    assert.equal(head.ContentLength, 12);
    await aws('s3', 'rm', '--recursive', 's3://cli-bucket/');
    assert.equal((await aws('s3', 'ls', '--recursive', 's3://cli-bucket/')).trim(), '');
    await aws('s3', 'rb', 's3://cli-bucket');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
