/**
 * bench:lookup — load 1,000,000 events (4 accounts, 5 regions, 50 users, 200 event names,
 * 8 sources) and measure LookupEvents over HTTP, per lookup attribute, with and without a
 * time range: p50/p99 latency and lookups/s.
 *
 *   npm run bench:lookup [-- --events 1000000 --requests 5000 --concurrency 16 --rate 1000 --paced 5000 --warmup 1000 --settle 1500 --client raw|sdk --only <text>]
 *
 * `--only AccessKeyId` runs just the cases whose name contains the text (for looking into one).
 *
 * The server's history index is waited for first (a data folder just loaded is indexed in the
 * background, and lookups meanwhile read the unindexed part from the log). Then the server is
 * warmed up: `--warmup` closed-loop lookups without an attribute, then as
 * many of each case in turn, so each case is measured on a server that has answered such lookups
 * before (its pages read and kept) rather than on its first reads of them.
 *
 * Each case runs twice. First closed-loop: `--concurrency` lookups in flight, each sent as the
 * one before it is answered, which gives the server's capacity (lookups/s), over `--requests`
 * lookups. Five thousand since 2026-11-30 (a thousand before): a case's first second reads pages
 * no earlier case has read (from the log, and from disk where this machine's memory reclaim has
 * dropped them) at ~550 lookups/s on the reader thread, and over a thousand lookups that start
 * decided the rate (EventName 894–959/s over 1,000, 1,571–1,656/s over 5,000). Sixteen in
 * flight keep both cores busy; with six, as until 2026-11-30, the rate was held down by each
 * lookup's wait for its own record's fsync, with a third of the CPU idle. The latencies of that
 * run are mostly time spent queued behind the other lookups in flight, and grow with the number
 * in flight. Then paced: `--paced` lookups sent on a fixed schedule of `--rate` per second
 * whether or not earlier ones have been answered, each timed from when it was due to be sent (so
 * a stall delays every lookup due meanwhile, and counts for each): the latency at that load. Five
 * thousand a case, so that one stall of the disk (an fsync of 10–25 ms, seen here now and then)
 * decides the p99 only if it recurs. Between the two runs the benchmark waits `--settle` ms (since
 * 2026-11-30, evening): the closed-loop run keeps the server at 100% of the two cores, and what it
 * leaves behind (a larger index batch, checkpoints, collections in progress) slowed the first
 * ~500 ms of the paced run that followed at once — lookups over 20 ms in those 500 ms, EventSource
 * and its 1-day case, two pairs of runs alternating: 17, 16, 38 and 0 with no wait, 0, 0, 23 and 0
 * after 1.5 s. The paced run measures the server at its rate, not its recovery from the run before.
 *
 * At the end it prints, beside each case's figures, the percentiles of every paced lookup of the
 * run together, and how many of the log's commits took over 5, 10 and 20 ms (a case whose p99 is
 * decided by one stall of the disk shows as one slow commit there).
 *
 * `--client raw` (the default) drives the server with a lean SigV4 JSON client, so the load
 * generator takes as little as it can of the two cores it shares with the server (it counts the
 * entries of each page in its bytes and parses one page in 25 in full); `--client sdk` uses
 * @aws-sdk/client-cloudtrail.
 *
 * `BENCH_TRACE=<file>` appends each paced lookup to the file, one line each: the case, when it
 * was due (ms from the case's start), its latency (ms), and when it was due (epoch ms, to match
 * the server's own timings against).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudTrailClient, LookupEventsCommand, type LookupAttribute } from '@aws-sdk/client-cloudtrail';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RawJsonClient } from './raw-client.js';
import { cpuSeconds, cpuSpeedLine, cpuSpeedMicros, metricsText, startBenchServer, ACCOUNTS, BENCH_KEY, BENCH_SECRET, NAMES, PROJECT_ROOT, SOURCES, USERS, benchArgs, loadEvents, machine, percentile, rng, syntheticRecord } from './common.js';

const { events: EVENTS, requests: REQUESTS, concurrency: CONCURRENCY, client: CLIENT, only: ONLY, rate: RATE, paced: PACED, warmup: WARMUP, settle: SETTLE } = benchArgs(
  { events: 1_000_000, requests: 5000, concurrency: 16, client: 'raw', only: '', rate: 1000, paced: 5000, warmup: 1000, settle: 1500 },
  { client: ['raw', 'sdk'] },
);
const ACCOUNT = ACCOUNTS[0]!;
const KEY = BENCH_KEY;
const SECRET = BENCH_SECRET;
const root = PROJECT_ROOT;
const dataDir = join(root, 'bench', '.data', `lookup-${EVENTS}`);
const DAY = 86_400_000;

async function load(): Promise<{ sampleEventIds: string[]; sampleArns: string[]; spanStart: number }> {
  const marker = join(dataDir, 'loaded.json');
  if (existsSync(marker)) {
    return JSON.parse(readFileSync(marker, 'utf8')) as { sampleEventIds: string[]; sampleArns: string[]; spanStart: number };
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const rand = rng(42);
  // Spread over the last 80 days, oldest first, as a live system would have written them.
  const spanStart = Date.now() - 80 * DAY;
  const step = (80 * DAY) / EVENTS;
  const sampleEventIds: string[] = [];
  const sampleArns: string[] = [];
  await loadEvents(dataDir, EVENTS, (j) => {
    // 40% of the events belong to the account the benchmark queries as.
    const account = rand() < 0.4 ? ACCOUNT : ACCOUNTS[1 + Math.floor(rand() * 3)]!;
    const r = syntheticRecord(j, rand, new Date(spanStart + j * step), account);
    if (account === ACCOUNT && j % 997 === 0) {
      sampleEventIds.push(r.eventID);
      sampleArns.push(r.resources![0]!.ARN!);
    }
    return r;
  });
  const info = { sampleEventIds, sampleArns, spanStart };
  writeFileSync(marker, JSON.stringify(info));
  return info;
}

interface Case {
  name: string;
  attribute?: () => LookupAttribute;
  range?: () => { StartTime: Date; EndTime: Date };
}

/** A case's next lookup: its attribute and range drawn afresh. */
const inputOf = (c: Case): Parameters<Lookup>[0] => ({ LookupAttributes: c.attribute ? [c.attribute()] : undefined, ...(c.range ? c.range() : {}) });

type Lookup = (input: { LookupAttributes?: LookupAttribute[]; StartTime?: Date; EndTime?: Date }) => Promise<number>;

async function run(lookup: Lookup, c: Case, requests = REQUESTS): Promise<{ p50: number; p99: number; rps: number; avgResults: number }> {
  const latencies: number[] = [];
  let results = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const n = await lookup(inputOf(c));
      latencies.push(performance.now() - t0);
      results += n;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const secs = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: requests / secs, avgResults: results / requests };
}

/**
 * Send PACED lookups at RATE per second on a fixed schedule (open loop) and time each from the
 * moment it was due: p50/p99 at that load. Lookups due while the client waited on a timer are
 * sent together as it wakes, so timer lateness counts against the server, never for it; a server
 * slower than the rate lets them pile up, and their latencies show it.
 */
async function paced(lookup: Lookup, c: Case): Promise<{ p50: number; p99: number; loopMax: number; latencies: number[] }> {
  const latencies: number[] = [];
  const trace: string[] = [];
  // The client's own stalls (GC, or no core free for it) delay the answers it reads: shown beside the p99.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const pending: Promise<void>[] = [];
  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; i < PACED; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      lookup(inputOf(c)).then(() => {
        latencies.push(performance.now() - due);
        if (process.env.BENCH_TRACE) trace.push(`${c.name}\t${(due - start).toFixed(1)}\t${(performance.now() - due).toFixed(1)}\t${(performance.timeOrigin + due).toFixed(1)}`);
      }),
    );
  }
  await Promise.all(pending);
  loop.disable();
  if (process.env.BENCH_TRACE) appendFileSync(process.env.BENCH_TRACE, trace.join('\n') + '\n');
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), loopMax: loop.max / 1e6, latencies };
}

/** The server's event log commit histogram (cumulative counts by upper bound, seconds). */
async function commitTimes(url: string): Promise<Map<number, number>> {
  const text = await metricsText(url);
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^opentrail_log_commit_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** The commits between two scrapes of the histogram: its bucket bounds, ascending, and how many commits each counts (at most that long). */
function commitsBetween(before: Map<number, number>, after: Map<number, number>): { bounds: number[]; during: (le: number) => number } {
  return { bounds: [...after.keys()].sort((a, b) => a - b), during: (le) => (after.get(le) ?? 0) - (before.get(le) ?? 0) };
}

/**
 * The commits between two scrapes: how many took over 20 ms (each holds up every lookup waiting
 * for it) and the bucket the longest fell in — the disk's share of a case's slow lookups.
 */
function slowCommits(before: Map<number, number>, after: Map<number, number>): { over20: number; longest: string } {
  const { bounds, during } = commitsBetween(before, after);
  const all = during(Infinity);
  const over20 = all - during(0.02);
  let longest = '-';
  for (let i = 0; i < bounds.length; i++) {
    const below = i === 0 ? 0 : during(bounds[i - 1]!);
    if (during(bounds[i]!) > below) longest = i === 0 ? `≤ ${bounds[i]! * 1000} ms` : `${bounds[i - 1]! * 1000}–${bounds[i] === Infinity ? '' : bounds[i]! * 1000} ms`;
  }
  return { over20, longest };
}

/**
 * The log's commits over the measured run (each lookup waits for the one its record goes in):
 * how many, and the bucket bounds their median and 99th percentile fall under.
 */
function commitSpread(before: Map<number, number>, after: Map<number, number>): string {
  const { bounds, during } = commitsBetween(before, after);
  const all = during(Infinity);
  const under = (q: number): string => {
    const b = bounds.find((le) => during(le) >= q * all);
    return b === undefined || b === Infinity ? 'over the largest bucket' : `≤ ${b * 1000} ms`;
  };
  return `log commits in the measured run: ${all.toLocaleString()}; median ${under(0.5)}, 99th percentile ${under(0.99)}, ${(all - during(0.005)).toLocaleString()} over 5 ms, ${(all - during(0.01)).toLocaleString()} over 10 ms, ${(all - during(0.02)).toLocaleString()} over 20 ms`;
}

/** How each entry of a LookupEvents page starts: the server writes EventId first (inside CloudTrailEvent, a string, its quotes are escaped). */
const ENTRY_START = Buffer.from('{"EventId":"');
/** One page in this many is parsed in full by the raw client, and its count checked. */
const PARSE_EVERY = 25;

/**
 * The entries of a LookupEvents reply, counted in its bytes: parsing each page of fifty records took
 * a third of the load generator's CPU, taken from the server it shares two cores with.
 */
function countEntries(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(ENTRY_START); i !== -1; i = body.indexOf(ENTRY_START, i + ENTRY_START.length)) n++;
  return n;
}

async function main(): Promise<void> {
  process.stdout.write(`bench:lookup — ${EVENTS.toLocaleString()} events, ${REQUESTS} lookups per case, ${CONCURRENCY} in flight, ${CLIENT} client\nmachine: ${machine()}\n`);
  const speedAtStart = cpuSpeedMicros();
  const info = await load();
  const server = await startBenchServer(dataDir);
  // A data folder just loaded (or indexed in an older layout) is indexed by the server in the
  // background; lookups meanwhile read the unindexed part from the log, which is not what this
  // measures. Wait for the index first.
  for (let shown = 0; ; ) {
    const lag = ((await (await fetch(`${server.url}/health`)).json()) as { indexLag: number }).indexLag;
    if (lag < 1000) break;
    if (Date.now() - shown > 10_000) {
      process.stdout.write(`  waiting for the history index: ${lag.toLocaleString()} events to go\n`);
      shown = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  let lookup: Lookup;
  if (CLIENT === 'sdk') {
    const sdk = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
    lookup = async (input) => (await sdk.send(new LookupEventsCommand(input))).Events?.length ?? 0;
  } else {
    const raw = new RawJsonClient(server.url, {
      region: 'us-east-1',
      service: 'cloudtrail',
      targetPrefix: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101',
      accessKeyId: KEY,
      secretAccessKey: SECRET,
    });
    // Pages are counted, not parsed (see countEntries); every PARSE_EVERY-th is parsed as well,
    // and its count checked against the parse.
    let calls = 0;
    lookup = async (input) => {
      const r = await raw.callRaw('LookupEvents', {
        ...input,
        StartTime: input.StartTime ? input.StartTime.getTime() / 1000 : undefined,
        EndTime: input.EndTime ? input.EndTime.getTime() / 1000 : undefined,
      });
      const counted = countEntries(r.body);
      if (r.status !== 200 || calls++ % PARSE_EVERY === 0) {
        const parsed = RawJsonClient.parse<{ Events?: unknown[] }>(r).Events?.length ?? 0;
        if (parsed !== counted) throw new Error(`a LookupEvents page counted ${counted} events and parsed ${parsed}`);
      }
      return counted;
    };
  }
  const rand = rng(7);
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
  // A one-day window somewhere in the loaded span.
  const dayRange = (): { StartTime: Date; EndTime: Date } => {
    const start = info.spanStart + Math.floor(rand() * 79) * DAY;
    return { StartTime: new Date(start), EndTime: new Date(start + DAY) };
  };
  const attrs: [string, () => LookupAttribute][] = [
    ['EventName', () => ({ AttributeKey: 'EventName', AttributeValue: pick(NAMES) })],
    ['EventSource', () => ({ AttributeKey: 'EventSource', AttributeValue: pick(SOURCES) })],
    ['Username', () => ({ AttributeKey: 'Username', AttributeValue: pick(USERS) })],
    ['ResourceType', () => ({ AttributeKey: 'ResourceType', AttributeValue: 'AWS::EC2::Instance' })],
    ['ResourceName', () => ({ AttributeKey: 'ResourceName', AttributeValue: pick(info.sampleArns) })],
    ['EventId', () => ({ AttributeKey: 'EventId', AttributeValue: pick(info.sampleEventIds) })],
    ['AccessKeyId', () => ({ AttributeKey: 'AccessKeyId', AttributeValue: `AKIA${String(Math.floor(rand() * 997)).padStart(16, '0')}` })],
    ['ReadOnly', () => ({ AttributeKey: 'ReadOnly', AttributeValue: rand() < 0.5 ? 'true' : 'false' })],
  ];
  const cases: Case[] = [{ name: '(no attribute)' }, { name: '(no attribute), 1-day range', range: dayRange }];
  for (const [name, attribute] of attrs) {
    cases.push({ name, attribute });
    cases.push({ name: `${name}, 1-day range`, attribute, range: dayRange });
  }
  // Warm up connections and caches: every case in turn, as a server that has been answering
  // lookups for a while would be (see the header).
  const selected = cases.filter((x) => x.name.includes(ONLY));
  for (const c of [{ name: 'warmup' }, ...selected]) await run(lookup, c, WARMUP);
  const serverCpu0 = cpuSeconds(server.pid);
  const clientCpu0 = process.cpuUsage();
  const commitsAtStart = await commitTimes(server.url);
  let total = 0;
  const rows: string[] = [
    `| lookup | lookups/s (${CONCURRENCY} in flight) | p50 / p99 ms there | p50 / p99 ms at ${RATE}/s | avg events returned | client's longest stall at ${RATE}/s | commits over 20 ms at ${RATE}/s (longest) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  let worstP99 = 0;
  let worstPacedP99 = 0;
  let minRps = Infinity;
  let met = 0;
  let missedWithSlowCommits = 0;
  // Every paced lookup of every case, for the run's own percentiles beside the per-case ones.
  const allPaced: number[] = [];
  for (const c of selected) {
    const r = await run(lookup, c);
    await new Promise((done) => setTimeout(done, SETTLE)); // see the header
    const commits0 = await commitTimes(server.url);
    const p = await paced(lookup, c);
    const slow = slowCommits(commits0, await commitTimes(server.url));
    for (const ms of p.latencies) allPaced.push(ms);
    if (p.p99 < 20) met++;
    else if (slow.over20 > 0) missedWithSlowCommits++;
    worstP99 = Math.max(worstP99, r.p99);
    worstPacedP99 = Math.max(worstPacedP99, p.p99);
    minRps = Math.min(minRps, r.rps);
    total += REQUESTS + PACED;
    rows.push(`| ${c.name} | ${Math.round(r.rps)} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} | ${p.p50.toFixed(1)} / ${p.p99.toFixed(1)} | ${r.avgResults.toFixed(1)} | ${p.loopMax.toFixed(0)} ms | ${slow.over20} (${slow.longest}) |`);
    process.stdout.write(`${rows.at(-1)!}\n`);
  }
  allPaced.sort((a, b) => a - b);
  const serverMs = ((cpuSeconds(server.pid) - serverCpu0) * 1000) / total;
  const commitLine = commitSpread(commitsAtStart, await commitTimes(server.url));
  const c = process.cpuUsage(clientCpu0);
  const clientMs = (c.user + c.system) / 1000 / total;
  // How many of the entries served came encoded from the reader's cache rather than from the log.
  const metrics = await metricsText(server.url);
  const served = (source: string): number => Number(new RegExp(`opentrail_lookup_entries_total\\{source="${source}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  await server.stop();
  process.stdout.write(`\nCPU per lookup: server ${serverMs.toFixed(2)} ms, ${CLIENT} client ${clientMs.toFixed(2)} ms (both on this machine's ${cpus().length} cores)\n`);
  process.stdout.write(`${cpuSpeedLine(speedAtStart)}\n`);
  process.stdout.write(`${commitLine}\n`);
  const fromCache = served('cache');
  const fromLog = served('log');
  process.stdout.write(`entries served (warmup included): ${fromCache.toLocaleString()} kept encoded from earlier pages, ${fromLog.toLocaleString()} read from the log (${((100 * fromCache) / Math.max(1, fromCache + fromLog)).toFixed(0)}% kept)\n`);
  process.stdout.write(
    `\n${rows.join('\n')}\n\nlowest capacity: ${Math.round(minRps)} lookups/s (goal > 1000); worst p99 at ${RATE} lookups/s: ${worstPacedP99.toFixed(1)} ms (goal < 20 ms); ` +
      `worst p99 with ${CONCURRENCY} in flight: ${worstP99.toFixed(1)} ms\n` +
      `cases with p99 under 20 ms at ${RATE}/s: ${met} of ${selected.length}; of the others, ${missedWithSlowCommits} had commits (the disk's sync) over 20 ms\n` +
      `all ${allPaced.length.toLocaleString()} lookups at ${RATE}/s together: p50 ${percentile(allPaced, 50).toFixed(1)} ms, p99 ${percentile(allPaced, 99).toFixed(1)} ms, p99.9 ${percentile(allPaced, 99.9).toFixed(1)} ms, ${allPaced.filter((ms) => ms > 20).length} over 20 ms\n`,
  );
}

await main();
