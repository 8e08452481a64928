/**
 * bench:delivery — 1,000,000 events through one multi-region trail.
 *
 * Phase 1 (throughput): the events are committed first, then one delivery reader drains them
 *   into gzip log files: events/s delivered, gzip and object writes included.
 * Phase 2 (latency): events arrive at a steady rate while delivery runs with a 1 s interval:
 *   p50/p99 from acknowledgement (the commit that answers the caller) to the object being listable.
 * Peak memory is the process's peak RSS (VmHWM), server and load generator together.
 *
 *   npm run bench:delivery [-- --events 1000000 --rate 5000 --seconds 40]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { resolveConfig } from '../src/config.js';
import { startServer } from '../src/server/app.js';
import { TrailDelivery, type DeliveredFile } from '../src/delivery/trail-delivery.js';
import { deliveryReaderName } from '../src/domain/trail-model.js';
import { ACCOUNTS, BENCH_KEY, BENCH_SECRET, PROJECT_ROOT, benchArgs, machine, peakRssMiB, percentile, rng, startLoggingTrail, syntheticRecord } from './common.js';

const { events: EVENTS, rate: RATE, seconds: SECONDS } = benchArgs({ events: 1_000_000, rate: 5000, seconds: 40 });
const ACCOUNT = ACCOUNTS[0]!;
const KEY = BENCH_KEY;
const SECRET = BENCH_SECRET;
const root = PROJECT_ROOT;
const dataDir = join(root, 'bench', '.data', 'delivery');
const out = (s: string): boolean => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  out(`bench:delivery — ${EVENTS.toLocaleString()} events; then ${RATE.toLocaleString()} events/s for ${SECONDS} s with a 1 s interval`);
  out(`machine: ${machine()}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const env = { OPENTRAIL_ACCOUNT_ID: ACCOUNT, OPENTRAIL_ACCESS_KEY_ID: KEY, OPENTRAIL_SECRET_ACCESS_KEY: SECRET };
  // The server's own delivery loop is parked (1 h interval); each phase drives its own reader.
  const app = await startServer(
    { ...resolveConfig({ dataDir, port: 0, deliveryInterval: 3600 }, env), printCredentials: false, maxPendingEvents: 2_000_000 },
    { logger: pino({ level: 'warn' }) },
  );
  const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
  await startLoggingTrail(app.url, creds, { bucket: 'bench-logs', multiRegion: true });
  const rand = rng(11);

  // ---- Phase 1: throughput ----
  let t0 = performance.now();
  const BATCH = 5000;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, j) => syntheticRecord(i + j, rand, new Date(), ACCOUNT));
    pending.push(app.ingest.record(batch));
    if (pending.length >= 8) await pending.shift();
  }
  await Promise.all(pending);
  const loadSecs = (performance.now() - t0) / 1000;
  out(`phase 1: committed ${EVENTS.toLocaleString()} events in ${loadSecs.toFixed(1)} s (${Math.round(EVENTS / loadSecs).toLocaleString()} events/s ingest)`);
  const files: DeliveredFile[] = [];
  const drain = new TrailDelivery(app.eventLog, app.trails, app.objectStore, { intervalMs: 1000 });
  drain.onDelivered((f) => files.push(...f));
  const last = await app.eventLog.lastSeq();
  t0 = performance.now();
  const reader = deliveryReaderName({ TrailARN: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/bench` });
  while ((await app.eventLog.getReaderState(reader)).seq < last) await drain.tick();
  const drainSecs = (performance.now() - t0) / 1000;
  const delivered = files.reduce((n, f) => n + f.records, 0);
  // Every delivered file is read back: gunzip + JSON.parse, and the records are counted.
  let readBack = 0;
  let bytes = 0;
  for (const f of files) {
    const o = await app.objectStore.getObject(f.bucket, f.key);
    bytes += o!.body.length;
    readBack += (JSON.parse(gunzipSync(o!.body).toString('utf8')) as { Records: unknown[] }).Records.length;
  }
  const p1 = {
    eventsPerSec: delivered / drainSecs,
    files: files.length,
    mib: bytes / 2 ** 20,
  };
  out(`phase 1: delivered ${delivered.toLocaleString()} records (${readBack.toLocaleString()} read back) in ${files.length} files, ${p1.mib.toFixed(0)} MiB gzip, in ${drainSecs.toFixed(1)} s = ${Math.round(p1.eventsPerSec).toLocaleString()} events/s`);

  // ---- Phase 2: latency at a steady rate ----
  const base = await app.eventLog.lastSeq();
  const total = RATE * SECONDS;
  const ackAt = new Float64Array(total + 1);
  const latencies: number[] = [];
  const live = new TrailDelivery(app.eventLog, app.trails, app.objectStore, { intervalMs: 1000 });
  live.onDelivered((fs) => {
    const now = performance.now();
    // All files of one batch are reported together; each event of (fromSeq, toSeq] is in one of them.
    const f = fs[0];
    if (!f) return;
    for (let s = Math.max(f.fromSeq, base) + 1; s <= f.toSeq; s++) {
      const a = ackAt[s - base];
      if (a) latencies.push(now - a);
    }
  });
  const tickMs: number[] = [];
  const tick = live.tick.bind(live);
  live.tick = async (): Promise<void> => {
    const t = performance.now();
    await tick();
    tickMs.push(performance.now() - t);
  };
  live.start();
  const TICK_MS = 20;
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE) + perTick);
    if (due > sent) {
      const batch = Array.from({ length: due - sent }, (_, j) => syntheticRecord(EVENTS + sent + j, rand, new Date(), ACCOUNT));
      sent = due;
      void app.ingest.record(batch).then((appended) => {
        const now = performance.now();
        for (const a of appended) ackAt[a.seq - base] = now;
      });
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const sendSecs = (performance.now() - t0) / 1000;
  const until = performance.now() + 30_000;
  while (latencies.length < total && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
  await live.stop();
  tickMs.sort((a, b) => a - b);
  out(`phase 2: ${tickMs.length} delivery rounds, p50 ${percentile(tickMs, 50).toFixed(0)} ms, max ${tickMs.at(-1)?.toFixed(0)} ms each`);
  latencies.sort((a, b) => a - b);
  out(`phase 2: ${total.toLocaleString()} events at ${Math.round(total / sendSecs).toLocaleString()}/s; ${latencies.length.toLocaleString()} delivered; ack → listable p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms`);
  out(`peak RSS: ${peakRssMiB().toFixed(0)} MiB`);
  await drain.stop();
  await app.close();
  out('');
  out('| figure | result | goal |');
  out('| --- | ---: | ---: |');
  out(`| delivered, gzip included (phase 1) | ${Math.round(p1.eventsPerSec).toLocaleString()} events/s | > 100,000 events/s |`);
  out(`| ack → listable p50 (phase 2, ${RATE.toLocaleString()} ev/s) | ${percentile(latencies, 50).toFixed(0)} ms | |`);
  out(`| ack → listable p99 (phase 2) | ${percentile(latencies, 99).toFixed(0)} ms | < 2,000 ms |`);
  out(`| peak RSS | ${peakRssMiB().toFixed(0)} MiB | |`);
  out(`| ingest (phase 1 load) | ${Math.round(EVENTS / loadSecs).toLocaleString()} events/s | |`);
}

await main();
