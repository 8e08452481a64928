/**
 * bench:lake — CloudTrail Lake at scale: N synthetic CloudTrail events (default 10,000,000; 30 days,
 * 50 users, 200 event names, 8 sources, 5% errors) in the event log; time for an event data store
 * to take them all in (Parquet), bytes on disk; five typical queries through the API (p50 of 5
 * runs each) beside DuckDB running the same translated SQL straight on the same files (all of the
 * stores' files, and only the days opentrail's partition pruning reads); and
 * PutAuditEvents throughput (100-event calls from 16 clients).
 *
 *   npm run bench:lake [-- --events 10000000 --runs 5 --seconds 15 --reuse no|yes]
 *
 * `--reuse yes` keeps the event log and the stores of an earlier run of the same size (bench/.data/lake)
 * and only measures the queries and PutAuditEvents again.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveConfig } from '../src/config.js';
import { startServer } from '../src/server/app.js';
import { SignedHttp } from '../src/client/signed-http.js';
import { readableFiles, storeDir } from '../src/lake/lake-files.js';
import { prepareQuery, TRINO_SETUP, type StoreRead } from '../src/lake/sql.js';
import { inRange } from '../src/lake/time-range.js';
import { ACCOUNTS, BENCH_KEY, BENCH_SECRET, PROJECT_ROOT, benchArgs, loadEvents, machine, percentile, rng, startBenchServer, syntheticRecord } from './common.js';

const { events: EVENTS, runs: RUNS, seconds: SECONDS, reuse: REUSE } = benchArgs({ events: 10_000_000, runs: 5, seconds: 15, reuse: 'no' }, { reuse: ['no', 'yes'] });
const dataDir = join(PROJECT_ROOT, 'bench', '.data', 'lake');
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ACCOUNT = ACCOUNTS[0]!;
const DAY = 86_400_000;

async function loadLog(spanStart: number): Promise<void> {
  const rand = rng(11);
  const step = (30 * DAY) / EVENTS;
  await loadEvents(
    dataDir,
    EVENTS,
    (j) => {
      const r = syntheticRecord(j, rand, new Date(spanStart + j * step), ACCOUNT);
      if (rand() < 0.05) Object.assign(r, { errorCode: 'AccessDenied', errorMessage: 'User is not authorized to perform this operation' });
      return r;
    },
    { inflight: 20, maxPending: 2_000_000, every: 1_000_000 },
  );
}

async function main(): Promise<void> {
  out(`bench:lake — ${fmt(EVENTS)} events; machine: ${machine()}`);
  const reuse = REUSE === 'yes' && existsSync(join(dataDir, 'bench-span.json'));
  const spanStart = reuse ? (JSON.parse(readFileSync(join(dataDir, 'bench-span.json'), 'utf8')) as { spanStart: number }).spanStart : Date.now() - 30 * DAY;
  if (!reuse) {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    await loadLog(spanStart);
  }

  const env = { OPENTRAIL_ACCOUNT_ID: ACCOUNT, OPENTRAIL_ACCESS_KEY_ID: BENCH_KEY, OPENTRAIL_SECRET_ACCESS_KEY: BENCH_SECRET }; // default settings (Lake's timed passes once a second)
  const app = await startServer({ ...resolveConfig({ dataDir, port: 0 }, env), printCredentials: false }, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  const creds = { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET };
  let ct = new SignedHttp({ endpoint: app.url, region: 'us-east-1', service: 'cloudtrail', credentials: creds });
  const call = async (op: string, body: unknown): Promise<Record<string, unknown>> => {
    const send = () => ct.post('/', JSON.stringify(body), { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.${op}` });
    const r = await send().catch(send);
    const j = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
    if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };

  // Two stores: every management event; the write events of us-east-1 (for the join).
  let t0 = performance.now();
  const existing = reuse ? ((await call('ListEventDataStores', {})).EventDataStores as Record<string, unknown>[]) : [];
  const all = existing.find((s) => s.Name === 'all') ?? (await call('CreateEventDataStore', { Name: 'all', TerminationProtectionEnabled: false }));
  const writes =
    existing.find((s) => s.Name === 'writes') ??
    (await call('CreateEventDataStore', {
      Name: 'writes',
      MultiRegionEnabled: false,
      TerminationProtectionEnabled: false,
      AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] }],
    }));
  // For PutAuditEvents (last): an integration store and a channel, made now so that the store has
  // read the log (a new store starts from its beginning) before the calls are timed.
  const integ =
    existing.find((s) => String(s.Name).startsWith('integ') && s.Status !== 'PENDING_DELETION') ??
    (await call('CreateEventDataStore', { Name: 'integ', TerminationProtectionEnabled: false, AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] }] }));
  const channels = reuse ? ((await call('ListChannels', {})).Channels as Record<string, unknown>[]) : [];
  const ch = channels.find((c) => String(c.Name).startsWith('bench')) ?? (await call('CreateChannel', { Name: 'bench', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: integ.EventDataStoreArn }] }));
  await app.lake.writer.caughtUp();
  const ingestSecs = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await app.lake.writer.compactAll();
  const compactSecs = (performance.now() - t0) / 1000;
  writeFileSync(join(dataDir, 'bench-span.json'), JSON.stringify({ spanStart }));
  if (reuse) out('(reusing the event log and stores of an earlier run: the ingest figures below are not measured)');
  const idAll = String(all.EventDataStoreArn).split('/').pop()!;
  const idWrites = String(writes.EventDataStoreArn).split('/').pop()!;
  const lakeRoot = join(dataDir, 'lake');
  const filesAll = readableFiles(storeDir(lakeRoot, ACCOUNT, idAll));
  const filesWrites = readableFiles(storeDir(lakeRoot, ACCOUNT, idWrites));
  const bytes = [...filesAll, ...filesWrites].reduce((n, f) => n + f.bytes, 0);
  out(`into Lake (both stores, from the log): ${ingestSecs.toFixed(0)} s (${fmt(EVENTS / ingestSecs)} events/s), then ${compactSecs.toFixed(0)} s compacting the closed days; ${fmt(filesAll.length + filesWrites.length)} Parquet files, ${(bytes / 2 ** 20).toFixed(0)} MiB`);

  // The queries and PutAuditEvents go to `opentrail serve` in a process of its own, as users run
  // it: a client in the server's process would share its event loop (the server's work after an
  // answer would hold up the client's reading of it). Taking the events in was timed in process.
  ct.close();
  await app.close();
  const server = await startBenchServer(dataDir);
  ct = new SignedHttp({ endpoint: server.url, region: 'us-east-1', service: 'cloudtrail', credentials: creds });

  const hour = new Date(spanStart + 15 * DAY).toISOString().slice(0, 13).replace('T', ' ');
  const queries: [string, string][] = [
    ['count by eventName over 30 days', `SELECT eventName, count(*) AS n FROM ${idAll} WHERE eventTime > current_timestamp - interval '30' day GROUP BY eventName ORDER BY n DESC`],
    ['top users by errors', `SELECT userIdentity.username, count(*) AS errors FROM ${idAll} WHERE errorCode IS NOT NULL GROUP BY userIdentity.username ORDER BY errors DESC LIMIT 10`],
    ['events of one user in one hour', `SELECT eventTime, eventName, sourceIPAddress FROM ${idAll} WHERE userIdentity.username = 'user7' AND eventTime >= '${hour}:00:00' AND eventTime < '${hour}:59:59' ORDER BY eventTime`],
    ['distinct source IPs per day', `SELECT date_trunc('day', eventTime) AS day, count(DISTINCT sourceIPAddress) AS ips FROM ${idAll} GROUP BY 1 ORDER BY 1`],
    ['join of two stores', `SELECT a.eventName, count(*) AS n FROM ${idAll} a JOIN ${idWrites} b ON a.eventID = b.eventID WHERE a.eventTime > current_timestamp - interval '7' day GROUP BY a.eventName ORDER BY n DESC LIMIT 10`],
  ];

  // DuckDB straight on the same files (the stores' live files as each run starts: the server keeps
  // taking in the calls' own records), with the same translated SQL and the same settings: two
  // threads, UTC, Parquet metadata cached between queries.
  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  const dc = await duck.connect();
  for (const m of TRINO_SETUP) await dc.run(m);
  await dc.run('SET enable_object_cache = true');
  // Every file of the store (the goal's reference: DuckDB on the store's files as they lie), or
  // only the days opentrail reads for that part of the query (its partition pruning), which
  // leaves opentrail's own overhead alone in the ratio.
  const source = (pruned: boolean) => (read: StoreRead): string =>
    `read_parquet([${readableFiles(storeDir(lakeRoot, ACCOUNT, read.storeId)).filter((f) => !pruned || inRange(f.date, read.range)).map((f) => `'${f.path}'`).join(', ')}], hive_partitioning = false)`;

  out('');
  out('| query | opentrail p50 | DuckDB alone p50 | ratio | with DescribeQuery p50 | DuckDB on the days opentrail reads | rows |');
  out('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const results: { name: string; ot: number; dd: number }[] = [];
  const ended = (name: string, d: Record<string, unknown>): boolean => {
    if (d.QueryStatus === 'FINISHED') return true;
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') throw new Error(`${name}: ${String(d.QueryStatus)} ${String(d.ErrorMessage)}`);
    return false;
  };
  for (const [name, sql] of queries) {
    const ot: number[] = [];
    const dd: number[] = [];
    const dp: number[] = [];
    const od: number[] = [];
    let rows = 0;
    for (let r = 0; r < RUNS; r++) {
      // StartQuery, then GetQueryResults, which answers once the query has finished (or after 0.5 s
      // with its status: asked again then).
      t0 = performance.now();
      const q = await call('StartQuery', { QueryStatement: sql });
      let res: Record<string, unknown>;
      do res = await call('GetQueryResults', { QueryId: q.QueryId });
      while (!ended(name, res));
      ot.push(performance.now() - t0);
      rows = (res.QueryResultRows as unknown[]).length;
      // As the console asks: DescribeQuery until FINISHED, then GetQueryResults (one call more).
      t0 = performance.now();
      const q2 = await call('StartQuery', { QueryStatement: sql });
      while (!ended(name, await call('DescribeQuery', { QueryId: q2.QueryId })));
      await call('GetQueryResults', { QueryId: q2.QueryId });
      od.push(performance.now() - t0);
      // DuckDB alone: the translated SQL only (translating it is opentrail's work, timed on its side).
      const prepared = await prepareQuery(dc, sql, (n) => [idAll, idWrites].find((x) => x === n.toLowerCase()));
      for (const [pruned, times] of [[false, dd], [true, dp]] as const) {
        const translated = prepared.from(source(pruned));
        t0 = performance.now();
        (await dc.runAndReadAll(translated)).getRowsJson();
        times.push(performance.now() - t0);
      }
    }
    const a = percentile(ot.sort((x, y) => x - y), 50);
    const b = percentile(dd.sort((x, y) => x - y), 50);
    const c = percentile(od.sort((x, y) => x - y), 50);
    const p = percentile(dp.sort((x, y) => x - y), 50);
    results.push({ name, ot: a, dd: b });
    out(`| ${name} | ${a.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(a / b).toFixed(2)}× | ${c.toFixed(0)} ms (${(c / b).toFixed(2)}×) | ${p.toFixed(0)} ms (opentrail ${(a / p).toFixed(2)}×) | ${rows} |`);
  }
  dc.closeSync();
  duck.closeSync();

  // PutAuditEvents: 16 clients sending 100-event calls to the channel.
  const data = new SignedHttp({ endpoint: server.url, region: 'us-east-1', service: 'cloudtrail-data', credentials: creds });
  let sent = Date.now() * 1000; // ids not used by an earlier run on reused data
  let ok = 0;
  const lat: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const first = sent;
        sent += 100;
        const body = JSON.stringify({
          auditEvents: Array.from({ length: 100 }, (_, k) => ({
            id: `b${first + k}`,
            eventData: JSON.stringify({ version: '1.0', userIdentity: { type: 'User', principalId: `u${k}` }, eventSource: 'app.example', eventName: 'Login', eventTime: '2026-11-29T10:00:00Z', UID: `uid-${first + k}`, recipientAccountId: ACCOUNT, requestParameters: { a: 1 } }),
          })),
        });
        const s0 = performance.now();
        const r = await data.post(`/PutAuditEvents?channelArn=${encodeURIComponent(String(ch.ChannelArn))}`, body, { 'content-type': 'application/json' }).catch(() => ({ status: 0, body: Buffer.from('{}') }));
        lat.push(performance.now() - s0);
        if (r.status === 200) ok += (JSON.parse(r.body.toString('utf8')) as { successful: unknown[] }).successful.length;
      }
    }),
  );
  const paeRate = ok / ((performance.now() - t0) / 1000);
  lat.sort((x, y) => x - y);
  out('');
  out(`PutAuditEvents: ${fmt(paeRate)} events/s accepted (100-event calls, 16 clients, ${SECONDS} s); call p50 ${percentile(lat, 50).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms`);
  data.close();
  ct.close();
  await server.stop();

  out('');
  out('| figure | result | goal |');
  out('| --- | ---: | ---: |');
  out(`| events in the store | ${fmt(EVENTS)} | 10,000,000 |`);
  out(`| time to take them into Lake (two stores) | ${ingestSecs.toFixed(0)} s (+ ${compactSecs.toFixed(0)} s compaction) | |`);
  out(`| bytes on disk (Parquet, zstd) | ${(bytes / 2 ** 20).toFixed(0)} MiB | |`);
  for (const r of results) out(`| ${r.name}, p50 | ${r.ot.toFixed(0)} ms (DuckDB alone ${r.dd.toFixed(0)} ms, ${(r.ot / r.dd).toFixed(2)}×) | < 1 s, ≤ 1.3× |`);
  out(`| PutAuditEvents | ${fmt(paeRate)} events/s | |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
