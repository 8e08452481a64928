/** opentrail's validate-logs: an intact trail is valid; every kind of tampering is named. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHash, sign } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTrailCommand, DescribeTrailsCommand, ListPublicKeysCommand, StartLoggingCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer } from './helpers.js';
import { validateLogs } from '../src/integrity/validate.js';
import { workerLogChecker } from '../src/integrity/log-check-pool.js';
import { S3ObjectStore } from '../src/storage/s3/object-store.js';
import { fingerprintOf } from '../src/integrity/signing-keys.js';
import { signingString } from '../src/integrity/digests.js';

let ts: TestServer;
let s3: S3Client;
let start: Date;
let end: Date;
const BUCKET = 'vl-logs';
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/vlog`;
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'opentrail.js');

async function keys(prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}
const digests = (trail = 'vlog'): Promise<string[]> => keys('AWSLogs/111122223333/CloudTrail-Digest/').then((k) => k.filter((x) => x.includes(`_${trail}_us-east-1_`)));

async function read(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: Buffer.from(await o.Body!.transformToByteArray()), metadata: o.Metadata ?? {} };
}
async function write(key: string, o: { body: Buffer; metadata: Record<string, string> }): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: o.body, Metadata: o.metadata }));
}

/** Validate; log files are read on this thread, or (`threads`) on the command line's worker threads. */
async function run(opts: { threads?: boolean } = {}): Promise<{ code: number; errors: string[]; out: string[] }> {
  const out: string[] = [];
  const errors: string[] = [];
  const spec = { kind: 's3', endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } } as const;
  const store = new S3ObjectStore({ ...spec, ownerAccountId: ACCOUNT });
  const logChecker = opts.threads ? workerLogChecker(spec, 2) : undefined;
  try {
    const summary = await validateLogs(
      { trailArn: ARN, start, end, region: 'us-east-1', bucket: BUCKET, deliveryLagMs: 0 },
      {
        store,
        logChecker,
        publicKeys: async (s, e) => ((await ts.client().send(new ListPublicKeysCommand({ StartTime: s, EndTime: e }))).PublicKeyList ?? []).map((k) => ({ fingerprint: k.Fingerprint!, der: k.Value! })),
        out: (l) => out.push(l),
        err: (l) => l && errors.push(l),
      },
    );
    return { code: summary.exitCode, errors, out };
  } finally {
    await logChecker?.close();
    await store.close();
  }
}

/** Tamper, validate, restore; the validation must fail with exactly the expected lines. */
async function tampered(what: () => Promise<() => Promise<void>>, expected: RegExp[]): Promise<void> {
  const restore = await what();
  try {
    for (const threads of [false, true]) {
      const r = await run({ threads });
      const how = threads ? 'log files read on worker threads' : 'log files read on this thread';
      assert.equal(r.code, 1, `exit code (${how}); errors: ${r.errors.join(' | ')}`);
      for (const re of expected) assert.ok(r.errors.some((l) => re.test(l)), `expected ${re} (${how}) in:\n${r.errors.join('\n')}`);
      // Besides the expected lines, only files left unvouched by a rejected digest may be named.
      const others = r.errors.filter((l) => !expected.some((re) => re.test(l)) && !/\tINVALID: not listed in any readable digest$/.test(l));
      assert.deepEqual(others, [], `no other complaints (${how})`);
    }
  } finally {
    await restore();
  }
  assert.equal((await run({ threads: true })).code, 0, 'valid again once restored');
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2', OPENTRAIL_DIGEST_INTERVAL: '5' } });
  s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const ct = ts.client();
  start = new Date(Date.now() - 60_000);
  for (const name of ['vlog', 'other']) {
    await ct.send(new CreateTrailCommand({ Name: name, S3BucketName: BUCKET, EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: name }));
  }
  // Activity over three digest periods, then a final digest when logging stops.
  const until = Date.now() + 16_000;
  while (Date.now() < until) {
    await ct.send(new DescribeTrailsCommand({}));
    await new Promise((r) => setTimeout(r, 700));
  }
  for (const name of ['vlog', 'other']) await ct.send(new StopLoggingCommand({ Name: name }));
  for (;;) {
    const d = await digests();
    // Wait for the final digest (the chain's state is gone once it is written).
    if (d.length >= 4 && (await ts.app.metastore.listDocs('digest-state', ACCOUNT)).length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  end = new Date();
});
after(async () => {
  await ts.close();
});

test('an intact trail validates, from the API and from the command line', { timeout: 60_000 }, async () => {
  const r = await run();
  assert.equal(r.code, 0, r.errors.join('\n'));
  const n = (await digests()).length;
  assert.ok(r.out.includes(`${n}/${n} digest files valid`), r.out.join('\n'));
  const l = /^(\d+)\/(\d+) log files valid$/.exec(r.out.find((x) => / log files valid$/.test(x)) ?? '');
  assert.ok(l && l[1] === l[2] && Number(l[1]) >= 5, r.out.join('\n'));
  const cli = await promisify(execFile)(process.execPath, [bin, 'validate-logs', '--endpoint-url', ts.app.url, '--trail-arn', ARN, '--start-time', start.toISOString(), '--end-time', end.toISOString(), '--verbose'], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    encoding: 'utf8',
  });
  assert.match(cli.stdout, /^Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail\/vlog between /);
  assert.match(cli.stdout, new RegExp(`${n}/${n} digest files valid`));
  assert.match(cli.stdout, /Digest file\ts3:\/\/vl-logs\/AWSLogs\/.*\tvalid/);
  // Straight from the data folder: the same answer.
  const local = await promisify(execFile)(
    process.execPath,
    [bin, 'validate-logs', '--endpoint-url', ts.app.url, '--data-dir', ts.dataDir, '--trail-arn', ARN, '--start-time', start.toISOString(), '--end-time', end.toISOString()],
    { env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, encoding: 'utf8' },
  );
  assert.match(local.stdout, new RegExp(`${n}/${n} digest files valid`));
  assert.match(local.stdout, new RegExp(`${l[1]}/${l[1]} log files valid`));
});

test('every kind of tampering is named', { timeout: 120_000 }, async () => {
  const ds = await digests();
  const mid = ds[Math.floor(ds.length / 2)]!;
  const newest = ds.at(-1)!;
  // A log file this trail's digests vouch for (the other trail writes into the same folder).
  let someLog = '';
  for (const d of ds) {
    const files = (JSON.parse(gunzipSync((await read(d)).body).toString()) as { logFiles: { s3Object: string }[] }).logFiles;
    if (files.length) {
      someLog = files[0]!.s3Object;
      break;
    }
  }
  assert.ok(someLog, 'the digests list log files');

  // One byte changed in a log file.
  await tampered(async () => {
    const o = await read(someLog);
    const text = gunzipSync(o.body);
    text[text.length - 3] = text[text.length - 3]! ^ 1;
    await write(someLog, { body: gzipSync(text), metadata: o.metadata });
    return () => write(someLog, o);
  }, [new RegExp(`^Log file\\ts3://${BUCKET}/${esc(someLog)}\\tINVALID: hash value doesn't match$`)]);

  // A log file deleted.
  await tampered(async () => {
    const o = await read(someLog);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: someLog }));
    return () => write(someLog, o);
  }, [new RegExp(`${esc(someLog)}\\tINVALID: not found$`)]);

  // An extra log file, named like a real one inside the span.
  const extra = someLog.replace(/_[A-Za-z0-9]{16}\.json\.gz$/, '_ZZZZZZZZZZZZZZZZ.json.gz');
  await tampered(async () => {
    await write(extra, { body: gzipSync('{"Records":[]}'), metadata: {} });
    return async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: extra }));
    };
  }, [new RegExp(`${esc(extra)}\\tINVALID: not listed in any readable digest$`)]);

  // A digest's content changed (its signature no longer matches).
  await tampered(async () => {
    const o = await read(newest);
    const d = JSON.parse(gunzipSync(o.body).toString()) as Record<string, unknown>;
    d.newestEventTime = '2000-01-01T00:00:00Z';
    await write(newest, { body: gzipSync(JSON.stringify(d)), metadata: o.metadata });
    return () => write(newest, o);
  }, [new RegExp(`^Digest file\\ts3://${BUCKET}/${esc(newest)}\\tINVALID: signature verification failed$`)]);

  // A digest deleted: a gap in the chain.
  await tampered(async () => {
    const o = await read(mid);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: mid }));
    return () => write(mid, o);
  }, [new RegExp(`${esc(mid)}\\tINVALID: not found$`)]);

  // The signature in the metadata replaced with another digest's.
  await tampered(async () => {
    const o = await read(newest);
    const other = await read(mid);
    await write(newest, { body: o.body, metadata: { ...o.metadata, signature: other.metadata.signature! } });
    return () => write(newest, o);
  }, [new RegExp(`${esc(newest)}\\tINVALID: signature verification failed$`)]);

  // Re-signed with a key the server never published.
  await tampered(async () => {
    const o = await read(newest);
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const fp = fingerprintOf(pair.publicKey.export({ type: 'pkcs1', format: 'der' }));
    const d = JSON.parse(gunzipSync(o.body).toString()) as Record<string, string | null>;
    d.digestPublicKeyFingerprint = fp;
    const body = JSON.stringify(d);
    const sig = sign('sha256', Buffer.from(signingString(d.digestEndTime!, d.digestS3Bucket!, d.digestS3Object!, createHash('sha256').update(body).digest('hex'), d.previousDigestSignature ?? null)), pair.privateKey).toString('hex');
    await write(newest, { body: gzipSync(body), metadata: { signature: sig, 'signature-algorithm': 'SHA256withRSA' } });
    return () => write(newest, o);
  }, [new RegExp(`${esc(newest)}\\tINVALID: public key not found in region us-east-1 for fingerprint [0-9a-f]{32}$`)]);

  // Two digests swapped.
  await tampered(async () => {
    const a = await read(newest);
    const b = await read(mid);
    await write(newest, b);
    await write(mid, a);
    return async () => {
      await write(newest, a);
      await write(mid, b);
    };
  }, [new RegExp(`${esc(newest)}\\tINVALID: has been moved from its original location$`), /not part of the digest chain|has been moved/]);

  // Another trail's digest put in place of this trail's newest.
  const foreign = (await digests('other')).at(-1)!;
  await tampered(async () => {
    const o = await read(newest);
    await write(newest, await read(foreign));
    return () => write(newest, o);
  }, [new RegExp(`${esc(newest)}\\tINVALID: has been moved from its original location$`)]);
});
