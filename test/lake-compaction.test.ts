/**
 * Which files of an open day a compaction merges: the newest run of small files, so the day's big
 * file is not rewritten at every merge; and the merged file hides exactly the files it replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newestRun } from '../src/lake/lake-writer.js';
import { liveFiles, type LakeFile } from '../src/lake/lake-files.js';

const file = (from: number, to: number, bytes: number): LakeFile => ({ path: `/x/${from}-${to}.parquet`, date: '2026-11-29', from, to, bytes, imported: false });

test('newestRun leaves a big file alone until the small ones beside it add up to half its size', () => {
  const big = file(0, 1000, 1_000_000);
  const small = Array.from({ length: 8 }, (_, i) => file(1000 + i * 10, 1010 + i * 10, 1000));
  assert.deepEqual(newestRun([big, ...small]).map((f) => f.from), small.map((f) => f.from));
  const grown = [big, file(1000, 2000, 400_000), ...small.map((f) => ({ ...f, from: f.from + 1000, to: f.to + 1000, bytes: 30_000 }))];
  assert.equal(newestRun(grown).length, grown.length, 'the small ones now outweigh half the big one: all merged');
  // Steeply growing sizes: still at least the newest two.
  const steep = [1000, 400, 160, 64, 25, 10, 4, 1].map((b, i) => file(i * 10, i * 10 + 10, b * 1000));
  steep.push(file(80, 90, 10));
  assert.deepEqual(newestRun(steep).map((f) => f.from), [70, 80]);
});

test('a merged run hides the files it replaced and nothing else', () => {
  const files = [file(0, 1000, 1_000_000), file(1000, 1010, 10), file(1010, 1020, 10), file(1020, 1030, 10)];
  const run = newestRun(files);
  const merged = file(run[0]!.from, run[run.length - 1]!.to, 30);
  assert.deepEqual(liveFiles([...files, merged]).map((f) => `${f.from}-${f.to}`), ['0-1000', '1000-1030']);
});

test('a partition listing is never stale: files another writer adds appear at once, however soon after the last listing', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { listFiles, fileWritten } = await import('../src/lake/lake-files.js');
  const dir = mkdtempSync(join(tmpdir(), 'ot-listing-'));
  const part = join(dir, 'eventdate=2026-11-29');
  mkdirSync(part);
  try {
    writeFileSync(join(part, '0-10.parquet'), 'x');
    await new Promise((r) => setTimeout(r, 250)); // the folder has been still: its listing is kept
    assert.equal(listFiles(dir).length, 1);
    // Added behind this process's back, many times in quick succession, each listed at once.
    for (let i = 1; i <= 200; i++) {
      writeFileSync(join(part, `${i * 10}-${i * 10 + 10}.parquet`), 'x');
      assert.equal(listFiles(dir).length, i + 1, `file ${i} listed at once`);
    }
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(listFiles(dir).length, 201);
    // Written by this process (the Lake writer says so): listed at once too.
    writeFileSync(join(part, '5000-5010.parquet'), 'x');
    fileWritten(join(part, '5000-5010.parquet'), 3);
    assert.equal(listFiles(dir).length, 202);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
