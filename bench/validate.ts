/**
 * bench:validate — a trail with 10,000 log files (~1 GB uncompressed) and their digests; then
 * opentrail's validate-logs (over the S3 API, and straight from the data folder), sha256sum over
 * the same stored files (the floor), and the AWS CLI's validate-logs (the peer), timed; then both
 * validators again over the S3 API through a proxy that holds each response `--latency` ms, as a
 * network to a real S3 endpoint would.
 *
 *   npm run bench:validate [-- --files 10000 --records 100 --latency 10]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { resolveConfig } from '../src/config.js';
import { startServer } from '../src/server/app.js';
import { Digests } from '../src/integrity/digests.js';
import { SigningKeys } from '../src/integrity/signing-keys.js';
import { logFileKey, uniquePart } from '../src/delivery/log-file.js';
import { startLatencyProxy } from './latency-proxy.js';
import { startBenchServer, startLoggingTrail, ACCOUNTS, BENCH_KEY, BENCH_SECRET, PROJECT_ROOT, benchArgs, machine, rng, syntheticRecord } from './common.js';

const { files: FILES, records: RECORDS, latency: LATENCY } = benchArgs({ files: 10_000, records: 100, latency: 10 });
const ACCOUNT = ACCOUNTS[0]!;
const dataDir = join(PROJECT_ROOT, 'bench', '.data', 'validate');
const HOUR = 3600_000;
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_ACCESS_KEY_ID: BENCH_KEY, AWS_SECRET_ACCESS_KEY: BENCH_SECRET, AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

async function build(): Promise<{ t0: number; bytes: number }> {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const cfgEnv = { OPENTRAIL_ACCOUNT_ID: ACCOUNT, OPENTRAIL_ACCESS_KEY_ID: BENCH_KEY, OPENTRAIL_SECRET_ACCESS_KEY: BENCH_SECRET };
  const app = await startServer({ ...resolveConfig({ dataDir, port: 0, deliveryInterval: 3600, digestInterval: 3600 }, cfgEnv), printCredentials: false }, { logger: pino({ level: 'warn' }) });
  const creds = { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET };
  await startLoggingTrail(app.url, creds, { bucket: 'bench-validate', validation: true });
  const trail = (await app.trails.listAll(ACCOUNT)).find((t) => t.Name === 'bench')!;
  // The real digest writer and keys, driven through simulated hours so the chain spans 10 digests.
  const digests = new Digests(app.metastore, app.objectStore, new SigningKeys(app.metastore, 30 * 24 * HOUR), HOUR);
  const t0 = Math.floor((Date.now() - 11 * HOUR) / HOUR) * HOUR;
  const rand = rng(5);
  const base = Array.from({ length: RECORDS }, (_, i) => JSON.stringify(syntheticRecord(i, rand, new Date(t0), ACCOUNT)));
  let bytes = 0;
  const perHour = Math.ceil(FILES / 10);
  await digests.emitDue(trail, true, t0); // opens the chain at t0
  for (let h = 0; h < 10; h++) {
    const noted = [];
    for (let i = h * perHour; i < Math.min(FILES, (h + 1) * perHour); i++) {
      const at = t0 + h * HOUR + Math.floor(((i % perHour) / perHour) * HOUR);
      const text = `{"Records":[${base.join(',').replaceAll('"req-', `"f${i}-`)}]}`;
      bytes += Buffer.byteLength(text);
      const key = logFileKey({ accountId: ACCOUNT, region: 'us-east-1', time: new Date(at), unique: uniquePart(`bench|${i}`) });
      await app.objectStore.putObject('bench-validate', key, gzipSync(text, { level: 3 }));
      noted.push({ region: 'us-east-1', s3Bucket: 'bench-validate', s3Object: key, hashValue: createHash('sha256').update(text).digest('hex'), oldestEventTime: at, newestEventTime: at });
    }
    await digests.recordFiles(trail, noted, t0 + h * HOUR);
    await digests.emitDue(trail, true, t0 + (h + 1) * HOUR);
    process.stdout.write(`  built ${Math.min(FILES, (h + 1) * perHour)} files\n`);
  }
  await app.close();
  return { t0, bytes };
}

/** Run a validator to the end; its seconds. (Asynchronous, so the latency proxy keeps answering meanwhile.) */
async function timed(label: string, cmd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const secs = (performance.now() - started) / 1000;
  const summary = stdout.split('\n').filter((l) => / files valid/.test(l)).join('; ');
  out(`${label}: ${secs.toFixed(1)} s (exit ${status}) ${summary}`);
  return secs;
}

async function main(): Promise<void> {
  out(`bench:validate — ${FILES.toLocaleString()} log files of ${RECORDS} records`);
  out(`machine: ${machine()}`);
  const { t0, bytes } = await build();
  const mb = bytes / 1e6;
  const objectFiles: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : objectFiles.push(join(d, f)));
  };
  walk(join(dataDir, 'objects', 'buckets', 'bench-validate'));
  out(`built: ${FILES} log files, ${mb.toFixed(0)} MB uncompressed, ${(objectFiles.reduce((n, f) => n + statSync(f).size, 0) / 1e6).toFixed(0)} MB stored`);

  const server = await startBenchServer(dataDir, ['--delivery-interval', '3600']);
  const url = server.url;
  const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/bench`;
  const range = ['--start-time', new Date(t0 - HOUR).toISOString(), '--end-time', new Date(t0 + 10 * HOUR + 60_000).toISOString()];
  const bin = join(PROJECT_ROOT, 'bin', 'opentrail.js');
  const rows: string[] = [];
  const row = (what: string, secs: number): void => {
    rows.push(`| ${what} | ${secs.toFixed(1)} s | ${Math.round(FILES / secs).toLocaleString()} | ${Math.round(mb / secs).toLocaleString()} |`);
  };
  row('opentrail validate-logs (S3 API)', await timed('opentrail validate-logs over the S3 API', process.execPath, [bin, 'validate-logs', '--endpoint-url', url, '--trail-arn', arn, ...range]));
  row('opentrail validate-logs (--data-dir)', await timed('opentrail validate-logs --data-dir', process.execPath, [bin, 'validate-logs', '--endpoint-url', url, '--data-dir', dataDir, '--trail-arn', arn, ...range]));
  const started = performance.now();
  execFileSync('sh', ['-c', `find '${join(dataDir, 'objects', 'buckets', 'bench-validate')}' -type f -print0 | xargs -0 -P 2 -n 500 sha256sum > /dev/null`]);
  const shaSecs = (performance.now() - started) / 1000;
  out(`sha256sum (stored, compressed files, 2 processes): ${shaSecs.toFixed(1)} s`);
  row('sha256sum over the stored files', shaSecs);
  // The same work as validating (decompress and hash every file: 10,000 logs and a few digests), as one shell pipeline.
  const zStarted = performance.now();
  execFileSync('sh', ['-c', `find '${join(dataDir, 'objects', 'buckets', 'bench-validate')}' -type f -print0 | xargs -0 cat | zcat | sha256sum > /dev/null`]);
  const zSecs = (performance.now() - zStarted) / 1000;
  out(`zcat | sha256sum (decompress and hash every stored file): ${zSecs.toFixed(1)} s`);
  row('zcat | sha256sum over the stored files', zSecs);
  if (spawnSync('aws', ['--version']).status === 0) {
    row('aws cloudtrail validate-logs', await timed('aws cloudtrail validate-logs', 'aws', ['--endpoint-url', url, 'cloudtrail', 'validate-logs', '--trail-arn', arn, ...range], { AWS_ENDPOINT_URL_S3: url }));
  }
  // Over S3 with a network in between: every response held LATENCY ms, as a real S3 GET's first byte is.
  const proxy = await startLatencyProxy(url, LATENCY);
  try {
    const label = `over the S3 API, ${LATENCY} ms per request`;
    row(`opentrail validate-logs (${label})`, await timed(`opentrail validate-logs ${label}`, process.execPath, [bin, 'validate-logs', '--endpoint-url', url, '--trail-arn', arn, ...range], { AWS_ENDPOINT_URL_S3: proxy.url }));
    if (spawnSync('aws', ['--version']).status === 0) {
      row(`aws cloudtrail validate-logs (${label})`, await timed(`aws cloudtrail validate-logs ${label}`, 'aws', ['--endpoint-url', url, 'cloudtrail', 'validate-logs', '--trail-arn', arn, ...range], { AWS_ENDPOINT_URL_S3: proxy.url }));
    }
  } finally {
    await proxy.close();
  }
  await server.stop();
  out('');
  out('| validator | time | files/s | MB/s (uncompressed) |');
  out('| --- | ---: | ---: | ---: |');
  for (const r of rows) out(r);
}

await main();
