/**
 * bench:ingest — events/s through the native ingest API (POST /v1/events) with durable
 * acknowledgement: 16 concurrent clients sending 100-record batches as fast as they are
 * answered (sustained), then 3× that rate offered open-loop (overload: the server must throttle
 * with 429 and keep its memory bounded). The server is a separate process on a fresh data folder.
 * At the end it sets the goal's CPU budget an event beside what the server spent, and beside the
 * records' own work measured alone (recordWorkMicros), which no way of storing them can avoid.
 *
 *   npm run bench:ingest [-- --seconds 20 --clients 16 --batch 100 --ids time|random --trail no|yes --lake no|yes]
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { WireClient } from './wire-client.js';
import { normalizeIngestRecord } from '../src/domain/ingest-record.js';
import { formatEventTime } from '../src/domain/record.js';
import { newEventId } from '../src/domain/event-id.js';
import { randomUUID } from 'node:crypto';
import { CloudTrailClient, CreateEventDataStoreCommand } from '@aws-sdk/client-cloudtrail';
import { cpuSeconds, cpuSpeedLine, cpuSpeedMicros, startBenchServer, startLoggingTrail, ACCOUNTS, BENCH_KEY, BENCH_SECRET, PROJECT_ROOT, benchArgs, machine, percentile } from './common.js';

const { seconds: SECONDS, clients: CLIENTS, batch: BATCH, ids: IDS, trail: TRAIL, lake: LAKE } = benchArgs(
  { seconds: 20, clients: 16, batch: 100, ids: 'time', trail: 'no', lake: 'no' },
  { ids: ['time', 'random'], trail: ['no', 'yes'], lake: ['no', 'yes'] },
);
/** With `--trail yes`: a trail logging every region delivers what is taken in, every TRAIL_INTERVAL_S seconds. */
const TRAIL_INTERVAL_S = 10;
const dataDir = join(PROJECT_ROOT, 'bench', '.data', 'ingest');
/** The issue's goal, events/s sustained. */
const GOAL = 100_000;
const out = (s: string): boolean => process.stdout.write(`${s}\n`);

/** Peak and current RSS of a process, in MiB. */
function rssMiB(pid: number): { peak: number; now: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) / 1024;
    return { peak: kb('VmHWM'), now: kb('VmRSS') };
  } catch {
    return { peak: NaN, now: NaN };
  }
}

const EVENT_NAMES = ['CreateInvoice', 'VoidInvoice', 'GetInvoice', 'ListInvoices'];

/** A realistic record from someone's own service (~450 bytes). */
function record(i: number): unknown {
  return {
    eventSource: 'billing.example.com',
    eventName: EVENT_NAMES[i % 4],
    userIdentity: { type: 'IAMUser', principalId: `AIDA${String(i % 500).padStart(12, '0')}`, userName: `user${i % 500}`, accountId: ACCOUNTS[0] },
    sourceIPAddress: `10.1.${(i >> 8) % 256}.${i % 256}`,
    userAgent: 'billing-api/3.4 (node)',
    readOnly: i % 4 >= 2,
    requestParameters: { invoiceId: `inv-${i}`, customerId: `cus-${i % 9973}`, amount: (i % 10000) / 100 },
    resources: [{ type: 'Billing::Invoice', ARN: `arn:example:billing::${ACCOUNTS[0]}:invoice/inv-${i}` }],
  };
}

/**
 * The same record as its JSON text, written out directly: the load generator shares the two cores
 * with the server, and building each record as objects and serialising them took a quarter of its
 * CPU (with its collections). main() checks the two agree.
 */
function recordJson(i: number): string {
  const u = i % 500;
  return (
    `{"eventSource":"billing.example.com","eventName":"${EVENT_NAMES[i % 4]}","userIdentity":{"type":"IAMUser","principalId":"AIDA${String(u).padStart(12, '0')}","userName":"user${u}","accountId":"${ACCOUNTS[0]}"},` +
    `"sourceIPAddress":"10.1.${(i >> 8) % 256}.${i % 256}","userAgent":"billing-api/3.4 (node)","readOnly":${i % 4 >= 2},` +
    `"requestParameters":{"invoiceId":"inv-${i}","customerId":"cus-${i % 9973}","amount":${(i % 10000) / 100}},` +
    `"resources":[{"type":"Billing::Invoice","ARN":"arn:example:billing::${ACCOUNTS[0]}:invoice/inv-${i}"}]}`
  );
}

/**
 * A record's idempotency id. `time` (the default): time-ordered, a UUID of version 7 as
 * `opentrail/client` makes them. `random`: a UUID of version 4, as a client of its own might send.
 */
const idempotencyId: () => string = IDS === 'random' ? randomUUID : newEventId;

/** A batch's body: `events` with their idempotency ids, records from `first` on. */
function batchBody(first: number, n: number): string {
  const parts: string[] = new Array(n);
  for (let k = 0; k < n; k++) parts[k] = `{"id":"${idempotencyId()}","record":${recordJson(first + k)}}`;
  return `{"events":[${parts.join(',')}]}`;
}

/**
 * The records' own work in the server, measured alone: the batch's JSON.parse, then each record's
 * schema check, completion and serialisation (normalizeIngestRecord, as the ingest API does it),
 * on one thread with nothing else running. µs an event, the median of five rounds of 5,000 after
 * two to warm up. No server can take events in for less than this, whatever it stores them in.
 */
function recordWorkMicros(): number {
  const bodies = Array.from({ length: 5000 / BATCH }, (_, b) => Buffer.from(batchBody(b * BATCH, BATCH)));
  const caller = { accountId: ACCOUNTS[0]!, region: 'us-east-1', sourceIPAddress: '127.0.0.1', userAgent: 'bench' };
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    for (const body of bodies) {
      const now = new Date();
      const nowText = formatEventTime(now);
      for (const e of (JSON.parse(body.toString('utf8')) as { events: { record: unknown }[] }).events) {
        if ('problem' in normalizeIngestRecord(e.record, caller, now, nowText)) throw new Error('a bench record was refused');
        n++;
      }
    }
    if (round >= 2) rounds.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return percentile(rounds.sort((a, b) => a - b), 50);
}

/** Why requests got no answer on the client's side (a connection error), and how often. */
const noAnswer = new Map<string, number>();
const noAnswerText = (): string => (noAnswer.size ? ` (no answer: ${[...noAnswer].map(([k, n]) => `${k} ×${n}`).join(', ')})` : '');

class Sender {
  private readonly http: WireClient;
  private next = 0;
  constructor(url: string) {
    // At most 512 connections (as SignedHttp keeps by default); requests beyond wait for one.
    this.http = new WireClient({ endpoint: url, region: 'us-east-1', service: 'opentrail', accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET, maxSockets: 512 });
  }

  /** Send one batch of fresh records; resolves with the HTTP status (0: no answer) and the latency in ms. */
  async send(): Promise<{ status: number; ms: number; accepted: number }> {
    const first = this.next;
    this.next += BATCH;
    const body = batchBody(first, BATCH);
    const t0 = performance.now();
    try {
      const r = await this.http.post('/v1/events', body, { 'content-type': 'application/json' });
      const accepted = r.status === 200 ? (JSON.parse(r.body.toString('utf8')) as { successful: unknown[] }).successful.length : 0;
      return { status: r.status, ms: performance.now() - t0, accepted };
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      noAnswer.set(why, (noAnswer.get(why) ?? 0) + 1);
      return { status: 0, ms: performance.now() - t0, accepted: 0 };
    }
  }

  close(): void {
    this.http.close();
  }
}

interface PhaseResult {
  eventsPerSec: number;
  p50: number;
  p99: number;
  throttled: number;
  requests: number;
  errors: number;
}

function summarize(results: { status: number; ms: number; accepted: number }[], secs: number): PhaseResult {
  const ok = results.filter((r) => r.status === 200);
  const lat = ok.map((r) => r.ms).sort((a, b) => a - b);
  return {
    eventsPerSec: ok.reduce((n, r) => n + r.accepted, 0) / secs,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    throttled: results.filter((r) => r.status === 429).length,
    requests: results.length,
    errors: results.filter((r) => r.status !== 200 && r.status !== 429).length,
  };
}

async function main(): Promise<void> {
  out(`bench:ingest — ${CLIENTS} clients, ${BATCH}-record batches, ${SECONDS} s sustained, then ${SECONDS} s at 3× that rate; idempotency ids ${IDS === 'random' ? 'random (UUID v4)' : 'time-ordered (UUID v7, as opentrail/client makes them)'}${TRAIL === 'yes' ? '; with a trail' : ''}${LAKE === 'yes' ? '; with an event data store' : ''}`);
  out(`machine: ${machine()}`);
  const speedAtStart = cpuSpeedMicros();
  for (const i of [0, 1, 2, 3, 257, 9_973, 123_457]) {
    if (JSON.stringify(JSON.parse(recordJson(i))) !== JSON.stringify(record(i))) throw new Error(`the written-out record ${i} differs from the record it stands for`);
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const server = await startBenchServer(dataDir, TRAIL === 'yes' ? ['--delivery-interval', String(TRAIL_INTERVAL_S)] : []);
  if (TRAIL === 'yes') {
    const credentials = { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET };
    await startLoggingTrail(server.url, credentials, { bucket: 'bench-logs', multiRegion: true, validation: true });
    out(`a trail (every region, log file validation) delivers to the server's own S3 every ${TRAIL_INTERVAL_S} s`);
  }
  if (LAKE === 'yes') {
    const ct = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET } });
    await ct.send(new CreateEventDataStoreCommand({ Name: 'bench' }));
    out('a CloudTrail Lake event data store (all management events) takes in what is recorded');
  }
  const sender = new Sender(server.url);
  let peakDuringSustained = 0;
  const sample = setInterval(() => (peakDuringSustained = Math.max(peakDuringSustained, rssMiB(server.pid).now)), 200);

  // Sustained: closed loop, CLIENTS requests in flight.
  const sustained: { status: number; ms: number; accepted: number }[] = [];
  const serverCpu0 = cpuSeconds(server.pid);
  const clientCpu0 = process.cpuUsage();
  let t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < until) {
        const r = await sender.send();
        sustained.push(r);
        // A 429 is waited out as opentrail/client would, its first retry's full jitter over 100 ms.
        if (r.status === 429) await new Promise((w) => setTimeout(w, Math.random() * 100));
      }
    }),
  );
  const s = summarize(sustained, (performance.now() - t0) / 1000);
  const sustainedEvents = s.eventsPerSec * ((performance.now() - t0) / 1000);
  const serverUs = ((cpuSeconds(server.pid) - serverCpu0) * 1e6) / sustainedEvents;
  const clientCpu = process.cpuUsage(clientCpu0);
  const clientUs = (clientCpu.user + clientCpu.system) / sustainedEvents;
  const lag = async (): Promise<number> => ((await (await fetch(`${server.url}/health`)).json()) as { indexLag: number }).indexLag;
  const lagAfterSustained = await lag();
  // Events the history index took in over the phase (it started empty): what LookupEvents could
  // find through it, against what was acknowledged.
  const indexedPerSec = (sustainedEvents - lagAfterSustained) / ((performance.now() - t0) / 1000);
  out(`sustained: ${Math.round(s.eventsPerSec).toLocaleString()} events/s acknowledged; request p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms; ${s.throttled} throttled, ${s.errors} errors of ${s.requests}${noAnswerText()}; server RSS peak ${peakDuringSustained.toFixed(0)} MiB; history index behind by ${lagAfterSustained.toLocaleString()} events (it indexed ~${Math.round(indexedPerSec).toLocaleString()} events/s)`);
  out(`CPU per event acknowledged (sustained): server ${serverUs.toFixed(1)} µs, load generator ${clientUs.toFixed(1)} µs (both on this machine's cores)`);

  // Overload: open loop at 3× the sustained rate (at most 2,000 requests in flight on our side).
  const rate = (3 * s.eventsPerSec) / BATCH; // requests/s
  const overload: { status: number; ms: number; accepted: number }[] = [];
  let peakDuringOverload = 0;
  clearInterval(sample);
  const sample2 = setInterval(() => (peakDuringOverload = Math.max(peakDuringOverload, rssMiB(server.pid).now)), 200);
  t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let sent = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due && inFlight < 2000) {
      sent++;
      inFlight++;
      pending.push(
        sender.send().then((r) => {
          overload.push(r);
          inFlight--;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  clearInterval(sample2);
  const o = summarize(overload, (performance.now() - t0) / 1000);
  out(`overload (${Math.round(rate * BATCH).toLocaleString()} events/s offered): ${Math.round(o.eventsPerSec).toLocaleString()} events/s acknowledged; ${o.throttled} of ${o.requests} requests throttled (429), ${o.errors} errors${noAnswerText()}; accepted p50 ${o.p50.toFixed(0)} ms, p99 ${o.p99.toFixed(0)} ms; server RSS peak ${peakDuringOverload.toFixed(0)} MiB; history index behind by ${(await lag()).toLocaleString()} events`);
  sender.close();
  const rss = rssMiB(server.pid);
  await server.stop();
  // A run whose background work (the index, a trail's delivery, a Lake store) was failing
  // measures something else: the server's log says whether it was. (A Lake writer failing with
  // Out of Memory once made a run look faster; BENCHMARKS.md, 2026-12-01.)
  const logged = serverLogProblems(join(dataDir, 'server.log'));
  out(`server log: ${logged.errors} errors, ${logged.warnings} warnings${logged.first ? ` (first error: ${logged.first})` : ''}`);
  // The goal's budget: 100,000 events/s on this machine's cores is this much CPU an event, for the
  // server and the load generator together.
  const budgetUs = (cpus().length * 1e6) / GOAL;
  const floorUs = recordWorkMicros();
  out(
    `budget at the goal: ${GOAL.toLocaleString()} events/s on ${cpus().length} cores is ${budgetUs.toFixed(1)} µs of CPU an event; the load generator took ${clientUs.toFixed(1)}, ` +
      `leaving ${(budgetUs - clientUs).toFixed(1)} µs for the server, which spent ${serverUs.toFixed(1)}. The records' own work alone (the batch's JSON.parse, then each ` +
      `record's check, completion and serialisation; one thread, nothing else running) took ${floorUs.toFixed(1)} µs an event.`,
  );
  out(cpuSpeedLine(speedAtStart));
  out('');
  out('| figure | result | goal |');
  out('| --- | ---: | ---: |');
  out(`| sustained, durable acknowledgement | ${Math.round(s.eventsPerSec).toLocaleString()} events/s | > ${GOAL.toLocaleString()} events/s |`);
  out(`| request latency p50 / p99 (sustained) | ${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} ms | |`);
  out(`| overload: offered / acknowledged | ${Math.round(rate * BATCH).toLocaleString()} / ${Math.round(o.eventsPerSec).toLocaleString()} events/s | |`);
  out(`| overload: requests throttled (429) | ${o.throttled} of ${o.requests} | |`);
  out(`| server peak RSS (whole run) | ${rss.peak.toFixed(0)} MiB | bounded |`);
  out(`| server CPU an event (sustained) | ${serverUs.toFixed(1)} µs | ≤ ${(budgetUs - clientUs).toFixed(1)} µs at the goal |`);
  out(`| the records' own work alone, an event | ${floorUs.toFixed(1)} µs | |`);
  out(`| errors in the server's log | ${logged.errors} | 0 |`);
}

/** Error and warning lines (pino levels ≥ 50 and 40) in the server's log, and the first error's message. */
function serverLogProblems(file: string): { errors: number; warnings: number; first?: string } {
  let errors = 0;
  let warnings = 0;
  let first: string | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const level = /^\{"level":(\d+)/.exec(line)?.[1];
    if (level === undefined) continue;
    if (Number(level) >= 50) {
      errors++;
      if (first === undefined) {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        first = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message.split('\n')[0]}` : ''}`;
      }
    } else if (Number(level) === 40) warnings++;
  }
  return { errors, warnings, first };
}

await main();
