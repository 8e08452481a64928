/**
 * OPENTRAIL_LAKE_BUCKET: every Lake Parquet file is copied into the object store under
 * lake/<account>/<store>/eventdate=…/, the bucket follows compactions (only live files), and a
 * bucket that is missing at first gets everything once it exists.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateEventDataStoreCommand, DescribeTrailsCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer } from './helpers.js';
import { listFiles, liveFiles, storeDir } from '../src/lake/lake-files.js';

let ts: TestServer;
let ct: CloudTrailClient;
let s3: S3Client;
let storeId: string;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}
const objects = async (): Promise<string[]> =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: 'lake-copy', Prefix: `lake/${ACCOUNT}/${storeId}/` }))).Contents ?? []).map((o) => o.Key!).sort();

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_LAKE_INTERVAL_MS: '100', OPENTRAIL_LAKE_BUCKET: 'lake-copy' } });
  ct = ts.client();
  s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
});
after(async () => {
  s3.destroy();
  await ts.close();
});

test('a bucket created after the files: they are copied once it exists, as Parquet in Hive partitions', async () => {
  storeId = (await ct.send(new CreateEventDataStoreCommand({ Name: 'mirrored' }))).EventDataStoreArn!.split('/').pop()!;
  for (let i = 0; i < 3; i++) await ct.send(new DescribeTrailsCommand({}));
  const dir = storeDir(ts.app.lake.writer.root, ACCOUNT, storeId);
  await until('local Parquet files', async () => listFiles(dir).length, (n) => n > 0);
  await sleep(1500); // a few failed syncs against the missing bucket
  await s3.send(new CreateBucketCommand({ Bucket: 'lake-copy' }));
  const keys = await until('copies in the bucket', objects, (k) => k.length > 0);
  const today = new Date().toISOString().slice(0, 10);
  for (const k of keys) assert.match(k, new RegExp(`^lake/${ACCOUNT}/${storeId}/eventdate=${today}/\\d+-\\d+\\.parquet$`));
  const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'lake-copy', Key: keys[0] }))).Body!.transformToByteArray());
  assert.equal(body.subarray(0, 4).toString(), 'PAR1');
  assert.equal(body.subarray(-4).toString(), 'PAR1');
});

test('after a compaction the bucket holds exactly the live files', async () => {
  const dir = storeDir(ts.app.lake.writer.root, ACCOUNT, storeId);
  for (let round = 0; round < 3; round++) {
    await ct.send(new DescribeTrailsCommand({}));
    const n = listFiles(dir).length;
    await until('another local file', async () => listFiles(dir).length, (m) => m > n);
  }
  const today = new Date().toISOString().slice(0, 10);
  assert.ok(liveFiles(listFiles(dir, today)).length > 1);
  await ts.app.lake.writer.compact(dir, today);
  const live = liveFiles(listFiles(dir)).map((f) => `lake/${ACCOUNT}/${storeId}/eventdate=${f.date}/${f.path.split('/').pop()}`).sort();
  const keys = await until('the bucket to follow the compaction', objects, (k) => JSON.stringify(k) === JSON.stringify(live));
  assert.equal(keys.length, live.length);
});
