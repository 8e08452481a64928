/** Shared bits of the benchmarks: machine description, percentiles, synthetic records. */
import { cpus, totalmem } from 'node:os';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/**
 * How fast this machine's CPU is right now: microseconds for a fixed piece of work like the
 * server's (a CloudTrail record parsed, serialised and hashed), the best of twenty tries once
 * compiled, in a process of its own (in the benchmark's, its heap by the end made it slower). The
 * cloud machine the benchmarks run on changes speed within an hour; benchmarks print this at their
 * start and end, so results taken at different speeds can be told apart.
 */
export function cpuSpeedMicros(): number {
  const code = `import { measureCpuSpeed } from ${JSON.stringify(import.meta.url)}; process.stdout.write(String(measureCpuSpeed()));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout) : NaN;
}

/** The line benchmarks end with: the CPU's speed at their start (`atStart`, from cpuSpeedMicros) and now. */
export function cpuSpeedLine(atStart: number): string {
  return `CPU speed (see cpuSpeedMicros; lower is faster): ${atStart.toFixed(1)} µs at the start, ${cpuSpeedMicros().toFixed(1)} µs at the end`;
}

/** The server's /metrics, as Prometheus text. */
export async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** The work cpuSpeedMicros times, in this process. */
export function measureCpuSpeed(): number {
  const text = JSON.stringify(syntheticRecord(12345, rng(1), new Date(Date.UTC(2026, 0, 1))));
  const once = (): string => createHash('sha256').update(JSON.stringify(JSON.parse(text))).digest('hex');
  for (let i = 0; i < 2000; i++) once(); // compiled by then
  let best = Infinity;
  for (let t = 0; t < 20; t++) {
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) once();
    best = Math.min(best, ((performance.now() - t0) * 1000) / 100);
  }
  return best;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Peak resident set size of this process so far (VmHWM), in MiB. */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 20;
}

export const ACCOUNTS = ['111122223333', '222233334444', '333344445555', '444455556666'];
export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1', 'eu-central-1'];
export const USERS = Array.from({ length: 50 }, (_, i) => `user${i}`);
export const SOURCES = ['ec2.amazonaws.com', 's3.amazonaws.com', 'iam.amazonaws.com', 'lambda.amazonaws.com', 'dynamodb.amazonaws.com', 'kms.amazonaws.com', 'sts.amazonaws.com', 'cloudtrail.amazonaws.com'];
export const NAMES = Array.from({ length: 200 }, (_, i) => `${['Describe', 'List', 'Get', 'Create', 'Update', 'Delete', 'Put'][i % 7]}Thing${i}`);

/** A small deterministic PRNG so runs are comparable. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic API call record (identity, parameters, a resource) about 1 KB long. */
/** The i-th event's source address: one of 5,000, skewed (the low-numbered ones are the busy ones). */
function ipOf(i: number): string {
  const h = Math.imul(i, 2654435761) >>> 0;
  const k = Math.floor((h / 2 ** 32) ** 3 * 5000);
  return `10.${(k >> 8) % 256}.${k % 256}.${(k * 7) % 250 + 1}`;
}

export function syntheticRecord(i: number, rand: () => number, time: Date, account = ACCOUNTS[0]!): CloudTrailRecord {
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
  const user = pick(USERS);
  const name = pick(NAMES);
  const source = pick(SOURCES);
  return apiCallRecord({
    accountId: account,
    region: pick(REGIONS),
    userIdentity: { type: 'IAMUser', principalId: `AIDA${String(i % 50).padStart(17, '0')}`, arn: `arn:aws:iam::${account}:user/${user}`, accountId: account, accessKeyId: `AKIA${String(i % 997).padStart(16, '0')}`, userName: user },
    // 5,000 addresses, a few hundred of them busy: a fleet's and its users' networks, not one per call.
    sourceIPAddress: ipOf(i),
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances',
    requestId: `req-${i}`,
    time,
    eventSource: source,
    eventName: name,
    readOnly: /^(Describe|List|Get)/.test(name),
    requestParameters: { resourceName: `thing-${i % 5000}`, filterSet: { items: [{ name: 'tag:env', valueSet: { items: [{ value: 'prod' }] } }] }, maxResults: 100 },
    responseElements: null,
    resources: [{ type: 'AWS::EC2::Instance', ARN: `arn:aws:ec2:us-east-1:${account}:instance/i-${(i % 100000).toString(16).padStart(17, '0')}`, accountId: account }],
  });
}

/** Root credentials the benchmarks' servers run with. */
export const BENCH_KEY = 'AKIABENCHROOT0000001';
export const BENCH_SECRET = 'bench-secret-0000000000000000000000000000';
/** The project folder (benchmarks run from dist/bench). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `--name value` options, with defaults: numbers must be positive; strings one of `choices` when given. */
export function benchArgs<T extends Record<string, number | string>>(defaults: T, choices: { [K in keyof T]?: readonly string[] } = {}): T {
  const options = Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: 'string' as const }]));
  const { values } = parseArgs({ options, strict: true });
  const out: Record<string, number | string> = { ...defaults };
  for (const k of Object.keys(defaults)) {
    const v = (values as Record<string, string | undefined>)[k];
    if (v === undefined) continue;
    if (typeof defaults[k] === 'string') {
      const allowed = choices[k];
      if (allowed && !allowed.includes(v)) throw new Error(`--${k} must be one of ${allowed.join(', ')}, not ${v}`);
      out[k] = v;
    } else {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number, not ${v}`);
      out[k] = n;
    }
  }
  return out as T;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

export interface BenchServer {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * `opentrail serve` as a separate process on `dataDir`, with the benchmarks' root credentials.
 * Its log goes to `dataDir/server.log` (a pipe nobody reads would fill and stall the server, and
 * reading one costs the benchmark's own CPU). BENCH_SERVER_NODE_ARGS, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles it.
 */
export async function startBenchServer(dataDir: string, args: string[] = []): Promise<BenchServer> {
  const logFile = join(dataDir, 'server.log');
  const fd = openSync(logFile, 'w');
  // The server's own flags as shipped, then any given for a run (BENCH_SERVER_NODE_ARGS, which
  // may undo them: --no-single-threaded-gc).
  const nodeArgs = [...SERVER_NODE_FLAGS, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, join(PROJECT_ROOT, 'bin', 'opentrail.js'), 'serve', '--port', '0', '--data-dir', dataDir, ...args], {
    env: { ...process.env, OPENTRAIL_ACCOUNT_ID: ACCOUNTS[0], OPENTRAIL_ACCESS_KEY_ID: BENCH_KEY, OPENTRAIL_SECRET_ACCESS_KEY: BENCH_SECRET, OPENTRAIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', fd, 'inherit'],
  });
  closeSync(fd);
  let url: string | undefined;
  for (let waited = 0; !url; waited += 50) {
    if (waited > 60_000 || child.exitCode !== null) {
      child.kill('SIGKILL'); // never leave a server behind to run beside the next benchmark
      throw new Error(`server did not start; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('opentrail listening'));
    if (line) url = (JSON.parse(line) as { url: string }).url;
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Writes `n` records straight into a data folder's event log (the server is not running), in
 * batches through the ingest pipeline, with progress every 100,000 events.
 */
export async function loadEvents(dataDir: string, n: number, make: (i: number) => CloudTrailRecord, o: { inflight?: number; maxPending?: number; every?: number } = {}): Promise<void> {
  const { SqliteEventLog } = await import('../src/storage/sqlite/event-log.js');
  const { Ingest } = await import('../src/pipeline/ingest.js');
  const log = new SqliteEventLog(join(dataDir, 'events.db'));
  const ingest = new Ingest(log, { maxPending: o.maxPending ?? 1_000_000 });
  const started = Date.now();
  const BATCH = 5000;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const batch: CloudTrailRecord[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(make(j));
    inflight.push(ingest.record(batch));
    if (inflight.length >= (o.inflight ?? 8)) await inflight.shift();
    if (i % (o.every ?? 100_000) === 0 && i > 0) process.stdout.write(`  loaded ${i.toLocaleString()} events (${Math.round(i / ((Date.now() - started) / 1000)).toLocaleString()}/s)\n`);
  }
  await Promise.all(inflight);
  await ingest.close();
  await log.close();
  const secs = (Date.now() - started) / 1000;
  process.stdout.write(`  loaded ${n.toLocaleString()} events in ${secs.toFixed(1)} s (${Math.round(n / secs).toLocaleString()}/s)\n`);
}

/** A bucket on the server's own S3 and a trail named `bench` logging into it, started. */
export async function startLoggingTrail(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  trail: { bucket: string; multiRegion?: boolean; validation?: boolean },
): Promise<void> {
  await new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials }).send(new CreateBucketCommand({ Bucket: trail.bucket }));
  const ct = new CloudTrailClient({ endpoint: url, region: 'us-east-1', credentials });
  await ct.send(new CreateTrailCommand({ Name: 'bench', S3BucketName: trail.bucket, IsMultiRegionTrail: trail.multiRegion, EnableLogFileValidation: trail.validation }));
  await ct.send(new StartLoggingCommand({ Name: 'bench' }));
}
