/**
 * bench:rules — (a) the pattern matcher alone: JSON text events of ~900 bytes against 5 rules of
 * each operator (the shape of event-ruler's published benchmark; its citylots data is not in the
 * conformance set, so look-alike events are generated), event-ruler's array scenarios
 * (perf-scenarios.json), and the CloudTrail samples of the conformance set wrapped as EventBridge
 * events against 1, 100 and 10,000 rules; (b) end to end: events sent to the ingest API at
 * 1,000 events/s, a rule sending each to a webhook (API destination) in this process, latency from
 * the ingest acknowledgement to the webhook receiving the event.
 *
 *   npm run bench:rules [-- --seconds 20 --rate 1000]     (BENCH_RULES_ONLY=matcher|e2e runs one part)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compilePattern } from '../src/rules/pattern.js';
import { RuleIndex } from '../src/rules/rule-index.js';
import { eventBridgeEvent } from '../src/rules/envelope.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { SignedHttp } from '../src/client/signed-http.js';
import { startBenchServer, ACCOUNTS, BENCH_KEY, BENCH_SECRET, PROJECT_ROOT, benchArgs, machine, percentile, rng } from './common.js';

const { seconds: SECONDS, rate: RATE } = benchArgs({ seconds: 20, rate: 1000 });
const CONFORMANCE = join(PROJECT_ROOT, '..', 'shared', 'conformance');
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Events/s for matching `texts` (JSON text, read as part of matching) against `index`, over at least `ms`. */
function throughput<R>(index: RuleIndex<R>, texts: string[], ms = 1500): { perSec: number; matches: number } {
  let n = 0;
  let matches = 0;
  for (let i = 0; i < Math.min(texts.length, 5000); i++) index.matchText(texts[i]!); // warm up
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 1000; i++) {
      matches += index.matchText(texts[n % texts.length]!).length;
      n++;
    }
  }
  return { perSec: n / ((performance.now() - t0) / 1000), matches };
}

// ---- (a1) event-ruler's shape: citylots-like events, 5 rules per operator ----

const STREETS = ['JESSIE', 'MISSION', 'FOLSOM', 'HOWARD', 'ACTON', 'BLAKE', 'DRUMM', 'FULTON', 'MASON', 'RHODE ISLAND', 'JEFFERSON', 'BEACH', 'HYDE', 'CHESTNUT', 'VALENCIA', 'WASHINGTON', 'LAKE', 'FLEMING', 'SAN DIEGO', 'UNKNOWN'];

/** A San Francisco lot as in event-ruler's citylots2 benchmark data (~900 bytes of JSON). */
function cityLot(i: number, rand: () => number): string {
  const x = -122.52 + rand() * 0.16;
  const y = 37.7 + rand() * 0.11;
  const ring = Array.from({ length: 13 }, (_, k) => [x + k * 0.000131 + rand() * 1e-9, y + (k % 3) * 0.000127 + rand() * 1e-9, 0]);
  const lotId = ['1430022', '2607117', '2607218', '3745012', 'VACSTWIL'][i % 997] ?? String(1000000 + ((i * 7919) % 8999999)).padStart(7, '0');
  return JSON.stringify({
    type: 'Feature',
    properties: {
      MAPBLKLOT: lotId,
      BLKLOT: lotId,
      BLOCK_NUM: lotId.slice(0, 4),
      LOT_NUM: lotId.slice(4),
      FROM_ST: String((i * 7) % 3000),
      TO_ST: String(((i * 7) % 3000) + 10),
      STREET: STREETS[i % STREETS.length],
      ST_TYPE: ['ST', 'AVE', 'BLVD', null][i % 4],
      ODD_EVEN: i % 2 ? 'O' : 'E',
    },
    geometry: { type: i % 50 === 0 ? 'MultiPolygon' : 'Polygon', firstCoordinates: { x: ring[0]![0], y: ring[0]![1], z: 0 }, coordinates: [ring] },
  });
}

const p = (fields: Record<string, unknown>): Record<string, unknown> => ({ properties: fields });
/** event-ruler's own benchmark rules (Benchmarks.java: five per operator). */
const OPERATOR_RULES: Record<string, unknown[]> = {
  exact: ['1430022', '2607117', '2607218', '3745012', 'VACSTWIL'].map((v) => p({ MAPBLKLOT: [v] })),
  wildcard: ['143*', '2*0*1*7', '*218', '3*5*2', 'VA*IL'].map((v) => p({ MAPBLKLOT: [{ wildcard: v }] })),
  prefix: ['AC', 'BL', 'DR', 'FU', 'RH'].map((v) => p({ STREET: [{ prefix: v }] })),
  suffix: ['ON', 'KE', 'MM', 'ING', 'GO'].map((v) => p({ STREET: [{ suffix: v }] })),
  'equals-ignore-case': [p({ STREET: [{ 'equals-ignore-case': 'jefferson' }] }), p({ STREET: [{ 'equals-ignore-case': 'bEaCh' }] }), p({ STREET: [{ 'equals-ignore-case': 'HyDe' }] }), p({ STREET: [{ 'equals-ignore-case': 'CHESTNUT' }] }), p({ ST_TYPE: [{ 'equals-ignore-case': 'st' }] })],
  numeric: [
    { geometry: { type: ['Polygon'], firstCoordinates: { x: [{ numeric: ['=', -122.42916360922355] }] } } },
    { geometry: { type: ['MultiPolygon'], firstCoordinates: { z: [{ numeric: ['=', 0] }] } } },
    { geometry: { firstCoordinates: { x: [{ numeric: ['<', -122.41600944012424] }] } } },
    { geometry: { firstCoordinates: { x: [{ numeric: ['>', -122.41600944012424] }] } } },
    { geometry: { firstCoordinates: { x: [{ numeric: ['>', -122.46471267081272, '<', -122.4063085128395] }] } } },
  ],
  'anything-but': [p({ STREET: [{ 'anything-but': ['FULTON'] }] }), p({ STREET: [{ 'anything-but': ['MASON'] }] }), p({ ST_TYPE: [{ 'anything-but': ['ST'] }] }), { geometry: { type: [{ 'anything-but': ['Polygon'] }] } }, p({ FROM_ST: [{ 'anything-but': ['441'] }] })],
};

// ---- (a2) event-ruler's array scenarios (perf-scenarios.json), generators rebuilt from their notes ----

const GENERATORS: Record<string, (n: number) => unknown> = {
  primArrayPlusScalar: (n) => ({ d: { tags: Array.from({ length: n }, (_, i) => `t${i}`), type: 'x' } }),
  primArrayOnly: (n) => ({ d: { tags: Array.from({ length: n }, (_, i) => `t${i}`) } }),
  objArrayBothFields: (n) => ({ d: Array.from({ length: n }, (_, i) => ({ a: i, b: i })) }),
  objArrayLastValid: (n) => ({ d: Array.from({ length: n }, (_, i) => (i === n - 1 ? { a: i, b: i } : { a: i })) }),
  objArrayAllPartial: (n) => ({ d: Array.from({ length: n }, (_, i) => (i % 2 ? { a: i } : { b: i })) }),
  customerLike: (n) => ({
    detail: {
      data: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, type: 't', domains: i % 2 ? { email: `e${i}@x` } : {} })),
      context: { companyId: 'c', userId: 'u', email: 'e@x' },
    },
  }),
  primInsideObjArray: (n) => ({ detail: { data: [{ name: Array.from({ length: n }, (_, i) => `n${i}`), type: 't' }] } }),
  noObjArrayLargePrim: (n) => ({ detail: { data: { name: Array.from({ length: n }, (_, i) => `n${i}`), type: 't' } } }),
  nested2Level: (n) => ({ a: Array.from({ length: n }, () => ({ b: Array.from({ length: 10 }, (_, k) => ({ x: k, y: k })) })) }),
  deepNestedPrim: (n) => ({ a: Array.from({ length: 3 }, () => ({ b: { tags: Array.from({ length: n }, (_, i) => `t${i}`), type: 't' } })) }),
  wideRulePrimArray: (n) => ({ d: { a: Array.from({ length: n }, (_, i) => i), b: Array.from({ length: n }, (_, i) => i), c: 1 } }),
  twoPrimArrays: (n) => ({ tags: Array.from({ length: n }, (_, i) => `t${i}`), cats: Array.from({ length: n }, (_, i) => `c${i}`), v: '1' }),
  controlScalar: () => ({ a: 1, b: 2 }),
};

// ---- (a3) CloudTrail samples against many rules ----

function loadSamples(): CloudTrailRecord[] {
  const manifest = JSON.parse(readFileSync(join(CONFORMANCE, 'cloudtrail-samples', 'manifest.json'), 'utf8')) as { files: { file: string; shape: string }[] };
  const records: CloudTrailRecord[] = [];
  for (const f of manifest.files) {
    let text: string;
    try {
      const raw = readFileSync(join(CONFORMANCE, 'cloudtrail-samples', f.file));
      text = f.shape.startsWith('gzip') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    } catch {
      continue;
    }
    try {
      if (f.shape === 'Records' || f.shape.startsWith('gzip')) records.push(...(JSON.parse(text) as { Records: CloudTrailRecord[] }).Records);
      else if (f.shape === 'array') records.push(...(JSON.parse(text) as CloudTrailRecord[]));
      else if (f.shape === 'jsonl') for (const l of text.split('\n')) if (l.trim()) records.push(JSON.parse(l) as CloudTrailRecord);
    } catch {
      // a malformed sample: not part of the mix
    }
  }
  return records.filter((r) => r && typeof r.eventSource === 'string' && typeof r.eventID === 'string');
}

/** A realistic rule set of `n` rules over CloudTrail events (ten shapes, each keyed on its own values). */
function cloudTrailRules(n: number, samples: CloudTrailRecord[]): unknown[] {
  const names = [...new Set(samples.map((s) => s.eventName))];
  const sources = [...new Set(samples.map((s) => s.eventSource))];
  const rules: unknown[] = [
    { detail: { userIdentity: { type: ['Root'] } } },
    { detail: { eventName: ['ConsoleLogin'], additionalEventData: { MFAUsed: ['No'] } } },
    { detail: { eventName: ['StopLogging', 'DeleteTrail', 'UpdateTrail'] } },
    { detail: { errorCode: [{ prefix: 'AccessDenied' }, 'UnauthorizedOperation'] } },
  ];
  for (let i = 0; rules.length < n; i++) {
    const name = i % 3 === 0 ? names[i % names.length]! : `Op${i}`;
    const source = i % 5 === 0 ? sources[i % sources.length]! : `svc${i}.amazonaws.com`;
    const shapes = [
      { detail: { eventName: [name] } },
      { source: [`aws.svc${i}`] },
      { detail: { eventSource: [source], eventName: [{ prefix: 'Delete' }] } },
      { detail: { userIdentity: { type: ['Root'] }, eventName: [name] } },
      { detail: { errorCode: [{ exists: true }], eventSource: [source] } },
      { detail: { sourceIPAddress: [{ cidr: `10.${i % 256}.0.0/16` }], eventName: [name] } },
      { source: [`aws.svc${i % 50}`], detail: { eventName: [{ 'equals-ignore-case': name.toLowerCase() }] } },
      { detail: { requestParameters: { bucketName: [`bucket-${i}`] } } },
      { detail: { eventName: [name], readOnly: [false] } },
      { source: [`aws.svc${i % 50}`], detail: { userIdentity: { arn: [{ wildcard: `arn:aws:iam::*:user/user${i}` }] } } },
    ];
    rules.push(shapes[i % shapes.length]);
  }
  return rules.slice(0, n);
}

async function matcherBench(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};
  out('## (a) the matcher alone (JSON text in, matching rules out; one thread)');
  const rand = rng(7);
  const lots = Array.from({ length: 20_000 }, (_, i) => cityLot(i, rand));
  out(`citylots-like events: ${fmt(lots.length)}, ${fmt(lots.reduce((n, t) => n + t.length, 0) / lots.length)} bytes each on average`);
  out('| rule type (5 rules) | events/s | matches per 1,000 events | event-ruler published |');
  out('| --- | ---: | ---: | ---: |');
  const published: Record<string, string> = { exact: '220,000', numeric: '120,000', prefix: '', suffix: '', 'equals-ignore-case': '', wildcard: '', 'anything-but': '' };
  for (const [type, rules] of Object.entries(OPERATOR_RULES)) {
    const idx = new RuleIndex<number>();
    rules.forEach((r, i) => idx.add(i, compilePattern(JSON.stringify(r))));
    const r = throughput(idx, lots);
    const perK = (r.matches / (r.perSec * 1.5)) * 1000;
    figures[`op:${type}`] = fmt(r.perSec);
    out(`| ${type} | ${fmt(r.perSec)} | ${perK.toFixed(0)} | ${published[type] || 'not published'} |`);
  }

  out('');
  out("event-ruler's array scenarios (perf-scenarios.json): ms per match at each size (linear growth is the goal)");
  out('| scenario | sizes → ms per event | matches as expected |');
  out('| --- | --- | --- |');
  const scenarios = JSON.parse(readFileSync(join(CONFORMANCE, 'event-ruler', 'resources', 'perf-scenarios.json'), 'utf8')) as { name: string; rule: unknown; generator: string; sizes: number[]; expectedMatches: number }[];
  let worstRatio = 0;
  for (const s of scenarios) {
    const gen = GENERATORS[s.generator];
    if (!gen) continue;
    const idx = new RuleIndex<number>();
    idx.add(1, compilePattern(JSON.stringify(s.rule)));
    let ok = true;
    const cells: string[] = [];
    let first: { size: number; ms: number } | undefined;
    for (const size of s.sizes) {
      const text = JSON.stringify(gen(size));
      let reps = 0;
      let got = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 200 || reps < 3) {
        got = idx.matchText(text).length;
        reps++;
      }
      const ms = (performance.now() - t0) / reps;
      if (got !== s.expectedMatches) ok = false;
      first ??= { size, ms };
      worstRatio = Math.max(worstRatio, ms / first.ms / (size / first.size));
      cells.push(`${size} → ${ms < 0.1 ? ms.toFixed(3) : ms.toFixed(2)}`);
    }
    out(`| ${s.name} | ${cells.join(', ')} | ${ok ? 'yes' : 'NO'} |`);
  }
  figures.scenarioGrowth = worstRatio.toFixed(1);
  out(`worst growth against linear across the scenarios: ${worstRatio.toFixed(1)}× (1.0 = exactly linear)`);

  out('');
  const samples = loadSamples();
  const texts = samples.map((r) => JSON.stringify(eventBridgeEvent(r)));
  out(`CloudTrail mix: ${fmt(samples.length)} sample records from the conformance set as EventBridge events (${fmt(texts.reduce((n, t) => n + t.length, 0) / texts.length)} bytes on average)`);
  out('| rules | events/s | matches per event | compile + index time |');
  out('| ---: | ---: | ---: | ---: |');
  for (const n of [1, 100, 10_000]) {
    const t0 = performance.now();
    const idx = new RuleIndex<number>();
    cloudTrailRules(n, samples).forEach((r, i) => idx.add(i, compilePattern(JSON.stringify(r))));
    const built = performance.now() - t0;
    const r = throughput(idx, texts, 2000);
    figures[`ct:${n}`] = fmt(r.perSec);
    figures[`ctraw:${n}`] = String(r.perSec);
    out(`| ${fmt(n)} | ${fmt(r.perSec)} | ${(r.matches / (r.perSec * 2)).toFixed(2)} | ${built.toFixed(0)} ms |`);
  }
  const slowdown = Number(figures['ctraw:100']) / Number(figures['ctraw:10000']);
  figures.slowdown = slowdown.toFixed(2);
  out(`10,000 rules against 100: ${slowdown.toFixed(2)}× slower (goal: no worse than 5×)`);
  return figures;
}

async function endToEnd(): Promise<Record<string, string>> {
  out('');
  out(`## (b) end to end: ${fmt(RATE)} events/s into the ingest API for 2 + ${SECONDS} s, every event matched by a rule and sent to a webhook`);
  const received = new Map<string, number>();
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        received.set((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { detail: { eventID: string } }).detail.eventID, at);
      } catch {
        // not ours
      }
      res.writeHead(200).end();
    });
  });
  hook.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const dataDir = join(PROJECT_ROOT, 'bench', '.data', 'rules');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const server = await startBenchServer(dataDir);
  const creds = { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET };
  const events = new SignedHttp({ endpoint: server.url, region: 'us-east-1', service: 'events', credentials: creds });
  const call = async (op: string, body: unknown): Promise<Record<string, unknown>> => {
    const send = () => events.post('/', JSON.stringify(body), { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSEvents.${op}` });
    // A kept-alive connection the server has just closed: once more, on a new one.
    const r = await send().catch(send);
    const j = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
    if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  const conn = await call('CreateConnection', { Name: 'hook', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'k' } } });
  const dest = await call('CreateApiDestination', {
    Name: 'hook',
    ConnectionArn: conn.ConnectionArn,
    InvocationEndpoint: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/events`,
    HttpMethod: 'POST',
    InvocationRateLimitPerSecond: RATE * 3,
  });
  // Noise rules the events do not match, and the one they do.
  for (let i = 0; i < 50; i++) await call('PutRule', { Name: `other-${i}`, EventPattern: JSON.stringify({ detail: { eventName: [`Other${i}`] } }) });
  await call('PutRule', { Name: 'invoices', EventPattern: JSON.stringify({ source: ['billing.example.com'], detail: { eventName: ['VoidInvoice'], userIdentity: { type: ['IAMUser'] } } }) });
  await call('PutTargets', { Rule: 'invoices', Targets: [{ Id: 'hook', Arn: dest.ApiDestinationArn }] });

  const ingest = new SignedHttp({ endpoint: server.url, region: 'us-east-1', service: 'opentrail', credentials: creds });
  const acked = new Map<string, number>();
  const BATCH = 10;
  const perTick = BATCH;
  const intervalMs = (1000 * perTick) / RATE;
  let sent = 0;
  let failedRequests = 0;
  const pending: Promise<void>[] = [];
  // The first WARMUP seconds (JIT, the webhook's first connections) are reported apart.
  const WARMUP = 2;
  const t0 = performance.now();
  let tick = 0;
  while (performance.now() - t0 < (SECONDS + WARMUP) * 1000) {
    const due = t0 + tick * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    tick++;
    const body = JSON.stringify({
      events: Array.from({ length: BATCH }, (_, k) => ({
        id: `b${sent + k}`,
        record: { eventSource: 'billing.example.com', eventName: 'VoidInvoice', userIdentity: { type: 'IAMUser', userName: `u${k}`, accountId: ACCOUNTS[0] }, requestParameters: { invoiceId: `inv-${sent + k}` } },
      })),
    });
    sent += BATCH;
    pending.push(
      ingest.post('/v1/events', body, { 'content-type': 'application/json' }).then((r) => {
        const at = performance.now();
        if (r.status !== 200) return;
        for (const s of (JSON.parse(r.body.toString('utf8')) as { successful: { eventID: string }[] }).successful) acked.set(s.eventID, at);
      }, () => {
        failedRequests++;
      }),
    );
  }
  await Promise.all(pending);
  const deadline = performance.now() + 10_000;
  while (received.size < acked.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lat: number[] = [];
  const warm: number[] = [];
  let early = 0;
  let missing = 0;
  for (const [id, at] of acked) {
    const got = received.get(id);
    if (got === undefined) {
      missing++;
      continue;
    }
    if (got < at) early++;
    (at - t0 < WARMUP * 1000 ? warm : lat).push(Math.max(0, got - at));
  }
  if (process.env.BENCH_RULES_DEBUG) {
    const slow = [...acked].map(([id, at]) => ({ at: at - t0, ms: (received.get(id) ?? at) - at })).filter((x) => x.ms > 50 && x.at > WARMUP * 1000);
    out(`slow events (ack time s: latency ms): ${slow.slice(0, 300).map((x) => `${(x.at / 1000).toFixed(2)}:${x.ms.toFixed(0)}`).join(' ')}`);
  }
  lat.sort((a, b) => a - b);
  warm.sort((a, b) => a - b);
  out(`${fmt(sent)} events sent (${fmt(acked.size / ((performance.now() - t0) / 1000))} acknowledged/s), ${fmt(lat.length + warm.length)} received by the webhook, ${missing} missing, ${failedRequests} ingest requests failed; ${early} arrived before their acknowledgement reached the client (counted as 0 ms)`);
  out(`acknowledgement → webhook, after the first ${WARMUP} s: p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, max ${(lat[lat.length - 1] ?? 0).toFixed(1)} ms (${fmt(lat.length)} events)`);
  out(`the first ${WARMUP} s (cold: JIT, first webhook connections): p50 ${percentile(warm, 50).toFixed(1)} ms, p99 ${percentile(warm, 99).toFixed(1)} ms, max ${(warm[warm.length - 1] ?? 0).toFixed(1)} ms`);
  events.close();
  ingest.close();
  await server.stop();
  hook.close();
  return { e2eP50: percentile(lat, 50).toFixed(1), e2eP99: percentile(lat, 99).toFixed(1), warmP99: percentile(warm, 99).toFixed(0), missing: String(missing) };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_RULES_ONLY;
  out(`bench:rules — machine: ${machine()}`);
  // End to end first: this process is the webhook, and the matcher part leaves a large heap behind.
  const b = only === 'matcher' ? { e2eP50: '-', e2eP99: '-', warmP99: '-', missing: '-' } : await endToEnd();
  const a: Record<string, string> = only === 'e2e' ? {} : await matcherBench();
  for (const k of ['op:exact', 'op:numeric', 'op:prefix', 'op:suffix', 'op:equals-ignore-case', 'op:wildcard', 'op:anything-but', 'ct:1', 'ct:100', 'ct:10000', 'slowdown']) a[k] ??= '-';
  out('');
  out('| figure | result | goal |');
  out('| --- | ---: | ---: |');
  out(`| exact, 5 rules | ${a['op:exact']} events/s | > 220,000 (event-ruler) |`);
  out(`| numeric, 5 rules | ${a['op:numeric']} events/s | > 120,000 (event-ruler) |`);
  for (const t of ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but']) out(`| ${t}, 5 rules | ${a[`op:${t}`]} events/s | above event-ruler |`);
  out(`| CloudTrail mix, 1 / 100 / 10,000 rules | ${a['ct:1']} / ${a['ct:100']} / ${a['ct:10000']} events/s | |`);
  out(`| 10,000 rules vs 100 | ${a.slowdown}× slower | ≤ 5× |`);
  out(`| end to end at ${fmt(RATE)} events/s, p50 / p99 (after 2 s warm-up) | ${b.e2eP50} / ${b.e2eP99} ms | p99 < 50 ms |`);
  out(`| end to end, first 2 s (cold), p99 | ${b.warmP99} ms | |`);
  out(`| events acknowledged but never received | ${b.missing} | 0 |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
