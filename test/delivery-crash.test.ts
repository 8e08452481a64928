/** Crash between writing a log file and checkpointing: after restart, no loss and no duplicate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CloudTrailClient, CreateTrailCommand, DescribeTrailsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, spawnServer } from './helpers.js';

/** Trail delivery every 0.2 s, so the crash comes quickly. */
const DELIVERY = ['--delivery-interval', '0.2'];

test('kill -9 between the object write and the checkpoint: every acknowledged event lands exactly once', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-dcrash-'));
  const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
  try {
    const first = await spawnServer(dataDir, { args: DELIVERY, env: { OPENTRAIL_FAILPOINT: 'delivery-after-put:3' } });
    const exited = new Promise((r) => first.child.once('exit', r));
    const ct = new CloudTrailClient({ endpoint: first.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
    const s3a = new S3Client({ endpoint: first.url, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
    await s3a.send(new CreateBucketCommand({ Bucket: 'crash-logs' }));
    await ct.send(new CreateTrailCommand({ Name: 'crash', S3BucketName: 'crash-logs' }));
    await ct.send(new StartLoggingCommand({ Name: 'crash' }));
    const acked: string[] = [];
    for (let i = 0; i < 2000; i++) {
      try {
        const r = await ct.send(new DescribeTrailsCommand({}));
        acked.push(r.$metadata.requestId!);
      } catch {
        break; // the failpoint fired
      }
    }
    await exited;
    assert.ok(acked.length > 0);

    const second = await spawnServer(dataDir, { args: DELIVERY });
    try {
      const s3b = new S3Client({ endpoint: second.url, region: 'us-east-1', forcePathStyle: true, credentials: creds });
      const deadline = Date.now() + 20_000;
      let counts = new Map<string, number>();
      for (;;) {
        counts = new Map();
        const list = await s3b.send(new ListObjectsV2Command({ Bucket: 'crash-logs' }));
        for (const o of list.Contents ?? []) {
          const body = await s3b.send(new GetObjectCommand({ Bucket: 'crash-logs', Key: o.Key! }));
          const recs = (JSON.parse(gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString()) as { Records: { requestID: string; eventName: string }[] }).Records;
          for (const r of recs) if (r.eventName === 'DescribeTrails') counts.set(r.requestID, (counts.get(r.requestID) ?? 0) + 1);
        }
        if (acked.every((id) => counts.has(id)) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const id of acked) assert.equal(counts.get(id), 1, `acknowledged ${id} delivered exactly once`);
      for (const [id, n] of counts) assert.equal(n, 1, `${id} not duplicated`);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('kill -9 between writing a digest and recording it: the chain neither forks nor breaks', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-dgcrash-'));
  const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
  const env = { OPENTRAIL_DIGEST_INTERVAL: '5' };
  try {
    const first = await spawnServer(dataDir, { args: DELIVERY, env: { ...env, OPENTRAIL_FAILPOINT: 'digest-after-put:2' } });
    const exited = new Promise((r) => first.child.once('exit', r));
    const ct = new CloudTrailClient({ endpoint: first.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
    const s3a = new S3Client({ endpoint: first.url, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
    await s3a.send(new CreateBucketCommand({ Bucket: 'chain-logs' }));
    await ct.send(new CreateTrailCommand({ Name: 'chained', S3BucketName: 'chain-logs', EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: 'chained' }));
    for (;;) {
      // Activity until the failpoint fires on the second digest.
      try {
        await ct.send(new DescribeTrailsCommand({}));
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    await exited;

    const second = await spawnServer(dataDir, { args: DELIVERY, env });
    try {
      const s3b = new S3Client({ endpoint: second.url, region: 'us-east-1', forcePathStyle: true, credentials: creds });
      const digestKeys = async (): Promise<string[]> =>
        ((await s3b.send(new ListObjectsV2Command({ Bucket: 'chain-logs', Prefix: 'AWSLogs/111122223333/CloudTrail-Digest/' }))).Contents ?? []).map((o) => o.Key!).sort();
      while ((await digestKeys()).length < 4) await new Promise((r) => setTimeout(r, 250));
      const keys = await digestKeys();
      // Every digest names the one before it: one unbroken chain, nothing written twice.
      let previous: string | null = null;
      for (const key of keys) {
        const body = Buffer.from(await (await s3b.send(new GetObjectCommand({ Bucket: 'chain-logs', Key: key }))).Body!.transformToByteArray());
        const d = JSON.parse(gunzipSync(body).toString()) as { previousDigestS3Object: string | null };
        assert.equal(d.previousDigestS3Object, previous, `${key} follows ${previous}`);
        previous = key;
      }
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
