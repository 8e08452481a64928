/**
 * The S3 object store backend against a real S3 wire-protocol server
 * (moto_server), including delivery while that endpoint is down.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { CreateTrailCommand, GetTrailStatusCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { S3ObjectStore } from '../src/storage/s3/object-store.js';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer, assertDeliveredInOrder } from './helpers.js';

const hasMoto = spawnSync('moto_server', ['--help']).status === 0;
const skip = hasMoto ? false : 'moto_server not installed';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let moto: ChildProcess | undefined;
let motoPort = 0;

async function startMoto(): Promise<void> {
  moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${motoPort}/`);
      await r.arrayBuffer();
      return;
    } catch {
      if (Date.now() > until) throw new Error('moto_server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function stopMoto(): Promise<void> {
  if (!moto || moto.exitCode !== null) return;
  const exited = new Promise((r) => moto!.once('exit', r));
  moto.kill('SIGKILL');
  await exited;
}

const motoCreds = { accessKeyId: 'moto-key', secretAccessKey: 'moto-secret' };
const direct = (): S3Client => new S3Client({ endpoint: `http://127.0.0.1:${motoPort}`, region: 'us-east-1', forcePathStyle: true, credentials: motoCreds, maxAttempts: 1 });

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function records(bucket: string): Promise<{ key: string; records: CloudTrailRecord[] }[]> {
  const c = direct();
  const out: { key: string; records: CloudTrailRecord[] }[] = [];
  const list = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of list.Contents ?? []) {
    const body = await c.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    out.push({ key: o.Key!, records: (JSON.parse(gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString()) as { Records: CloudTrailRecord[] }).Records });
  }
  return out;
}

function rec(n: number): CloudTrailRecord {
  return apiCallRecord({
    accountId: ACCOUNT,
    region: 'us-east-1',
    userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
    sourceIPAddress: '192.0.2.9',
    requestId: `remote-${n}`,
    time: new Date(),
    eventSource: 'ec2.amazonaws.com',
    eventName: `RemoteCall${n}`,
    readOnly: false,
    requestParameters: null,
    responseElements: null,
  });
}

before(async () => {
  if (!hasMoto) return;
  motoPort = await freePort();
  await startMoto();
});
after(async () => {
  await stopMoto();
});

test('the S3 store speaks to a real S3 server: buckets, objects, ranges, listing, policies', { skip }, async () => {
  const store = new S3ObjectStore({ endpoint: `http://127.0.0.1:${motoPort}`, region: 'us-east-1', forcePathStyle: true, credentials: motoCreds, ownerAccountId: ACCOUNT });
  try {
    await store.createBucket('backend-unit', ACCOUNT, 'us-east-1');
    assert.equal((await store.getBucket('backend-unit'))?.name, 'backend-unit');
    assert.equal(await store.getBucket('no-such-bucket-anywhere'), undefined);
    assert.ok((await store.listBuckets()).some((b) => b.name === 'backend-unit'));
    const info = await store.putObject('backend-unit', 'a/b.txt', Buffer.from('hello remote'), { contentType: 'text/plain', userMetadata: { k: 'v' } });
    assert.match(info.etag, /^"[0-9a-f]{32}"$/);
    const got = await store.getObject('backend-unit', 'a/b.txt');
    assert.equal(got?.body.toString(), 'hello remote');
    assert.equal(got?.info.userMetadata.k, 'v');
    assert.equal((await store.getObject('backend-unit', 'a/b.txt', { start: 6, end: 11 }))?.body.toString(), 'remote');
    assert.equal((await store.headObject('backend-unit', 'a/b.txt'))?.size, 12);
    assert.equal(await store.headObject('backend-unit', 'missing'), undefined);
    for (const k of ['a/c.txt', 'z.txt']) await store.putObject('backend-unit', k, Buffer.from(k));
    const top = await store.listObjects('backend-unit', { delimiter: '/' });
    assert.deepEqual(top.commonPrefixes, ['a/']);
    assert.deepEqual(top.objects.map((o) => o.key), ['z.txt']);
    const page = await store.listObjects('backend-unit', { maxKeys: 2 });
    assert.equal(page.isTruncated, true);
    const rest = await store.listObjects('backend-unit', { after: page.objects.at(-1)!.key });
    assert.deepEqual([...page.objects, ...rest.objects].map((o) => o.key), ['a/b.txt', 'a/c.txt', 'z.txt']);
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::backend-unit/*' }] });
    await store.putBucketPolicy('backend-unit', policy);
    assert.deepEqual(JSON.parse((await store.getBucketPolicy('backend-unit'))!), JSON.parse(policy));
    await store.deleteBucketPolicy('backend-unit');
    assert.equal(await store.getBucketPolicy('backend-unit'), undefined);
    for (const k of ['a/b.txt', 'a/c.txt', 'z.txt']) await store.deleteObject('backend-unit', k);
    await store.deleteBucket('backend-unit');
    assert.equal(await store.getBucket('backend-unit'), undefined);
  } finally {
    await store.close();
  }
});

test('a trail delivers to a bucket on the S3 endpoint; when the endpoint stops, the backlog waits and lands once', { skip, timeout: 120_000 }, async () => {
  let ts: TestServer | undefined;
  try {
    ts = await startTestServer({
      env: {
        OPENTRAIL_DELIVERY_INTERVAL: '0.2',
        OPENTRAIL_S3_ENDPOINT: `http://127.0.0.1:${motoPort}`,
        OPENTRAIL_S3_BUCKETS: 'remote-logs',
        OPENTRAIL_S3_ACCESS_KEY_ID: motoCreds.accessKeyId,
        OPENTRAIL_S3_SECRET_ACCESS_KEY: motoCreds.secretAccessKey,
      },
    });
    const ours = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
    // Made through opentrail's S3 API, the mapped bucket lives on the endpoint; others stay local.
    await ours.send(new CreateBucketCommand({ Bucket: 'remote-logs' }));
    await ours.send(new CreateBucketCommand({ Bucket: 'local-logs' }));
    const onMoto = (await direct().send(new ListObjectsV2Command({ Bucket: 'remote-logs' }))).KeyCount;
    assert.equal(onMoto, 0);
    await assert.rejects(direct().send(new PutObjectCommand({ Bucket: 'local-logs', Key: 'x', Body: 'x' })), /NoSuchBucket|does not exist/);
    const ct = ts.client();
    await ct.send(new CreateTrailCommand({ Name: 'remote', S3BucketName: 'remote-logs' }));
    await ct.send(new StartLoggingCommand({ Name: 'remote' }));
    const first = Array.from({ length: 10 }, (_, i) => rec(i));
    await ts.app.ingest.record(first);
    await waitFor('first delivery', async () => {
      const ids = new Set((await records('remote-logs')).flatMap((f) => f.records.map((r) => r.eventID)));
      return first.every((r) => ids.has(r.eventID)) ? true : undefined;
    });

    // The endpoint goes away (and, being in-memory, comes back empty).
    await stopMoto();
    const backlog = Array.from({ length: 25 }, (_, i) => rec(100 + i));
    for (const r of backlog) await ts.app.ingest.record([r]);
    const status = await waitFor('a delivery error', async () => {
      const s = await ct.send(new GetTrailStatusCommand({ Name: 'remote' }));
      return s.LatestDeliveryError ? s : undefined;
    });
    assert.equal(status.LatestDeliveryError, 'ServiceUnavailable');
    await startMoto();
    await direct().send(new CreateBucketCommand({ Bucket: 'remote-logs' }));
    const files = await waitFor('backlog delivery', async () => {
      const got = await records('remote-logs');
      const ids = new Set(got.flatMap((f) => f.records.map((r) => r.eventID)));
      return backlog.every((r) => ids.has(r.eventID)) ? got : undefined;
    }, 60_000);
    assertDeliveredInOrder(files, backlog.map((r) => r.eventID), 'every backlog event exactly once, in order');
    const ok = await waitFor('error cleared', async () => {
      const s = await ct.send(new GetTrailStatusCommand({ Name: 'remote' }));
      return s.LatestDeliveryError === undefined ? s : undefined;
    });
    assert.ok(ok.LatestDeliveryTime);
  } finally {
    await ts?.close();
  }
});
