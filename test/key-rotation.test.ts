/** Signing keys rotate on schedule; old public keys stay listed and the chain validates across the change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { CreateTrailCommand, DescribeTrailsCommand, ListPublicKeysCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, startTestServer } from './helpers.js';
import { validateLogs } from '../src/integrity/validate.js';
import { S3ObjectStore } from '../src/storage/s3/object-store.js';

test('digests stay valid across a key rotation', { timeout: 90_000 }, async () => {
  // A key signs for ~6 s; digests every 5 s.
  const ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2', OPENTRAIL_DIGEST_INTERVAL: '5', OPENTRAIL_KEY_ROTATION_DAYS: String(6 / 86_400) } });
  try {
    const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
    await s3.send(new CreateBucketCommand({ Bucket: 'rotating' }));
    const ct = ts.client();
    const start = new Date(Date.now() - 5_000);
    await ct.send(new CreateTrailCommand({ Name: 'rot', S3BucketName: 'rotating', EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: 'rot' }));
    const until = Date.now() + 17_000;
    while (Date.now() < until) {
      await ct.send(new DescribeTrailsCommand({}));
      await new Promise((r) => setTimeout(r, 500));
    }
    await ct.send(new StopLoggingCommand({ Name: 'rot' }));
    while ((await ts.app.metastore.listDocs('digest-state', ACCOUNT)).length > 0) await new Promise((r) => setTimeout(r, 200));
    const end = new Date();

    const keys = (await ct.send(new ListPublicKeysCommand({ StartTime: start, EndTime: end }))).PublicKeyList ?? [];
    assert.ok(keys.length >= 2, `rotated: ${keys.length} keys`);
    const listed = ((await s3.send(new ListObjectsV2Command({ Bucket: 'rotating', Prefix: 'AWSLogs/111122223333/CloudTrail-Digest/' }))).Contents ?? []).map((o) => o.Key!);
    const fingerprints = new Set<string>();
    for (const k of listed) {
      const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'rotating', Key: k }))).Body!.transformToByteArray());
      fingerprints.add((JSON.parse(gunzipSync(body).toString()) as { digestPublicKeyFingerprint: string }).digestPublicKeyFingerprint);
    }
    assert.ok(fingerprints.size >= 2, 'digests were signed by more than one key');

    const store = new S3ObjectStore({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, ownerAccountId: ACCOUNT });
    const errors: string[] = [];
    const out: string[] = [];
    const summary = await validateLogs(
      { trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/rot`, start, end, region: 'us-east-1', bucket: 'rotating', deliveryLagMs: 0 },
      {
        store,
        publicKeys: async (s, e) => ((await ct.send(new ListPublicKeysCommand({ StartTime: s, EndTime: e }))).PublicKeyList ?? []).map((k) => ({ fingerprint: k.Fingerprint!, der: k.Value! })),
        out: (l) => out.push(l),
        err: (l) => l && errors.push(l),
      },
    );
    await store.close();
    assert.deepEqual(errors, []);
    assert.equal(summary.exitCode, 0);
    assert.equal(summary.digests.valid, listed.length);
  } finally {
    await ts.close();
  }
});
