/**
 * bench:disk — how long this disk takes to make a small write durable, the wait every recorded
 * call has before its answer (opentrail fails closed: a call is answered once its record is
 * committed and synced). Nothing of opentrail runs: a write of `--bytes` and an fsync, one after
 * the other every `--every` ms, for `--seconds`, in the folder `--dir` (the data folder's disk).
 *
 *   npm run bench:disk [-- --seconds 60 --every 2 --bytes 8192 --dir bench/.data]
 *
 * Prints p50/p99/p99.9/max and every sync over 20 ms with when it happened. A disk whose syncs
 * stall for tens of milliseconds now and then (as virtual disks do) holds every call waiting
 * meanwhile, whatever the server does: read bench:lookup's p99s beside this.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, benchArgs, machine, percentile } from './common.js';

const { seconds: SECONDS, every: EVERY, bytes: BYTES, dir: DIR } = benchArgs({ seconds: 60, every: 2, bytes: 8192, dir: join(PROJECT_ROOT, 'bench', '.data') });

/** Like a log's WAL: writes go round a 4 MiB region, so after the first lap they overwrite. */
const REGION = 4 * 2 ** 20;

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `disk-probe-${process.pid}`);
  const fd = openSync(file, 'w+');
  const block = Buffer.alloc(BYTES, 0x61);
  const times: number[] = [];
  const stalls: string[] = [];
  let offset = 0;
  const end = performance.now() + SECONDS * 1000;
  process.stdout.write(`bench:disk — ${BYTES} bytes and an fsync every ${EVERY} ms for ${SECONDS} s in ${DIR}\nmachine: ${machine()}\n`);
  try {
    while (performance.now() < end) {
      writeSync(fd, block, 0, BYTES, offset);
      offset = (offset + BYTES) % REGION;
      const t0 = performance.now();
      fsyncSync(fd);
      const ms = performance.now() - t0;
      times.push(ms);
      if (ms > 20) stalls.push(`  ${new Date(performance.timeOrigin + t0).toISOString()}  ${ms.toFixed(1)} ms`);
      await new Promise((r) => setTimeout(r, EVERY));
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const over = (ms: number): number => times.filter((t) => t > ms).length;
  process.stdout.write(
    `${times.length.toLocaleString()} syncs: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms, ` +
      `p99.9 ${percentile(times, 99.9).toFixed(2)} ms, max ${times.at(-1)!.toFixed(1)} ms; over 20 ms: ${over(20)}, over 50 ms: ${over(50)}\n` +
      (stalls.length ? `syncs over 20 ms:\n${stalls.join('\n')}\n` : ''),
  );
}

await main();
