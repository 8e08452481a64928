/**
 * Digest files: format, signatures and chain checked independently here, and by the machine's
 * `aws cloudtrail validate-logs` (when installed) on an intact and on a tampered trail.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateTrailCommand, DescribeTrailsCommand, GetTrailStatusCommand, ListPublicKeysCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer } from './helpers.js';
import { signingString } from '../src/integrity/digests.js';

let ts: TestServer;
let s3: S3Client;
const BUCKET = 'digest-logs';
const TRAIL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/signed`;
const DIGEST_RE = /^pfx\/AWSLogs\/111122223333\/CloudTrail-Digest\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/111122223333_CloudTrail-Digest_us-east-1_signed_us-east-1_(\d{8}T\d{6}Z)\.json\.gz$/;

interface Digest {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: string | null;
  previousDigestSignature: string | null;
  logFiles: { s3Bucket: string; s3Object: string; hashValue: string; hashAlgorithm: string; newestEventTime: string; oldestEventTime: string }[];
}

async function get(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: Buffer.from(await o.Body!.transformToByteArray()), metadata: o.Metadata ?? {} };
}

async function digestKeys(): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pfx/AWSLogs/111122223333/CloudTrail-Digest/' }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

async function waitForDigests(n: number, ms = 40_000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const keys = await digestKeys();
    if (keys.length >= n) return keys;
    if (Date.now() > until) throw new Error(`expected ${n} digests, have ${keys.length}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const s3For = (t: TestServer): S3Client =>
  new S3Client({ endpoint: t.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2', OPENTRAIL_DIGEST_INTERVAL: '5' } });
  s3 = s3For(ts);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const ct = ts.client();
  await ct.send(new CreateTrailCommand({ Name: 'signed', S3BucketName: BUCKET, S3KeyPrefix: 'pfx', EnableLogFileValidation: true }));
  await ct.send(new StartLoggingCommand({ Name: 'signed' }));
});
after(async () => {
  await ts.close();
});

test('digests are signed, chained and list every log file with its SHA-256; the chain survives a restart', { timeout: 90_000 }, async () => {
  const ct = ts.client();
  for (let i = 0; i < 5; i++) {
    await ct.send(new DescribeTrailsCommand({}));
    await new Promise((r) => setTimeout(r, 400));
  }
  await waitForDigests(2);
  await ts.restart();
  s3 = s3For(ts); // the restarted server listens on a new port
  await ts.client().send(new DescribeTrailsCommand({}));
  const keys = await waitForDigests(4);
  const keyList = (await ts.client().send(new ListPublicKeysCommand({ StartTime: new Date(Date.now() - 3600_000), EndTime: new Date(Date.now() + 3600_000) }))).PublicKeyList ?? [];
  assert.equal(keyList.length, 1);
  const pub = keyList[0]!;
  const der = Buffer.from(pub.Value!);
  assert.equal(pub.Fingerprint, createHash('md5').update(der).digest('hex'), 'fingerprint = MD5 of the DER PKCS#1 key');
  assert.ok(pub.ValidityStartTime! < new Date() && pub.ValidityEndTime! > new Date());
  const publicKey = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });

  let previous: { key: string; hash: string; signature: string } | undefined;
  let files = 0;
  for (const key of keys) {
    assert.match(key, DIGEST_RE);
    const { body, metadata } = await get(key);
    const text = gunzipSync(body);
    const d = JSON.parse(text.toString('utf8')) as Digest;
    assert.deepEqual(Object.keys(d), [
      'awsAccountId', 'digestStartTime', 'digestEndTime', 'digestS3Bucket', 'digestS3Object', 'digestPublicKeyFingerprint', 'digestSignatureAlgorithm',
      'newestEventTime', 'oldestEventTime', 'previousDigestS3Bucket', 'previousDigestS3Object', 'previousDigestHashValue', 'previousDigestHashAlgorithm',
      'previousDigestSignature', 'logFiles',
    ]);
    assert.equal(d.awsAccountId, ACCOUNT);
    assert.equal(d.digestS3Bucket, BUCKET);
    assert.equal(d.digestS3Object, key);
    assert.equal(d.digestSignatureAlgorithm, 'SHA256withRSA');
    assert.equal(d.digestPublicKeyFingerprint, pub.Fingerprint);
    assert.equal(key.match(DIGEST_RE)![1], d.digestEndTime.replace(/[-:]/g, ''), 'key time = digestEndTime');
    assert.match(d.digestStartTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(d.digestStartTime < d.digestEndTime);
    assert.equal(metadata['signature-algorithm'], 'SHA256withRSA');
    const hash = createHash('sha256').update(text).digest('hex');
    const signed = signingString(d.digestEndTime, d.digestS3Bucket, d.digestS3Object, hash, d.previousDigestSignature);
    assert.ok(verify('sha256', Buffer.from(signed), publicKey, Buffer.from(metadata.signature!, 'hex')), `signature of ${key}`);
    if (previous) {
      assert.equal(d.previousDigestS3Object, previous.key, 'chained to the digest before it (also across the restart)');
      assert.equal(d.previousDigestHashValue, previous.hash);
      assert.equal(d.previousDigestHashAlgorithm, 'SHA-256');
      assert.equal(d.previousDigestSignature, previous.signature);
    } else {
      assert.equal(d.previousDigestS3Object, null);
      assert.equal(d.previousDigestSignature, null);
    }
    for (const f of d.logFiles) {
      const log = gunzipSync((await get(f.s3Object)).body);
      assert.equal(f.hashValue, createHash('sha256').update(log).digest('hex'));
      assert.equal(f.hashAlgorithm, 'SHA-256');
      assert.ok(f.oldestEventTime <= f.newestEventTime);
      files++;
    }
    if (d.logFiles.length === 0) assert.equal(d.newestEventTime, null);
    previous = { key, hash, signature: metadata.signature! };
  }
  assert.ok(files >= 2, 'log files were listed');
  const status = await ts.client().send(new GetTrailStatusCommand({ Name: 'signed' }));
  assert.ok(status.LatestDigestDeliveryTime instanceof Date && status.LatestDigestDeliveryTime > new Date(Date.now() - 60_000), 'GetTrailStatus reports the latest digest');
  assert.equal(status.LatestDigestDeliveryError, undefined);
});

const hasAwsCli = spawnSync('aws', ['--version']).status === 0;

test('the AWS CLI validate-logs accepts the trail, then names a changed and a deleted log file', { skip: hasAwsCli ? false : 'aws CLI not installed', timeout: 90_000 }, async () => {
  const start = new Date(Date.now() - 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: ts.app.url,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  const validate = async (): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await promisify(execFile)('aws', ['--endpoint-url', ts.app.url, 'cloudtrail', 'validate-logs', '--trail-arn', TRAIL_ARN, '--start-time', start], { env, encoding: 'utf8' });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  await waitForDigests(2);
  // Stop logging: a final digest closes the chain, so nothing changes while the CLI reads.
  await ts.client().send(new StopLoggingCommand({ Name: 'signed' }));
  await new Promise((r) => setTimeout(r, 1500));
  const clean = await validate();
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  const m = /(\d+)\/(\d+) digest files valid\n(\d+)\/(\d+) log files valid/.exec(clean.stdout);
  assert.ok(m, clean.stdout);
  assert.equal(m[1], m[2]);
  assert.equal(m[3], m[4]);
  assert.ok(Number(m[4]) >= 2);

  const logs = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pfx/AWSLogs/111122223333/CloudTrail/' }))).Contents ?? []).map((o) => o.Key!);
  const [changed, deleted] = [logs[0]!, logs[1]!];
  const text = gunzipSync((await get(changed)).body);
  text[text.length - 3] = text[text.length - 3]! ^ 1; // one bit of one byte
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: changed, Body: gzipSync(text) }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }));
  const tampered = await validate();
  assert.equal(tampered.code, 1);
  assert.match(tampered.stderr, new RegExp(`Log file\\ts3://${BUCKET}/${changed.replace(/[.]/g, '\\.')}\\tINVALID: hash value doesn't match`));
  assert.match(tampered.stderr, new RegExp(`Log file\\ts3://${BUCKET}/${deleted.replace(/[.]/g, '\\.')}\\tINVALID: not found`));
  assert.match(tampered.stdout, /2\/\d+ log files INVALID/);
});
