/**
 * A thread that reads the event log and its history index into memory once, as the log opens, so
 * that the first lookups after a start find their pages in memory rather than on the disk.
 *
 * A server started on a log written earlier found its pages wherever the kernel had left them:
 * on a machine with proactive reclaim (DAMON's) a quarter of the log and of the index had gone
 * back to the disk minutes after the previous server stopped, and lookups waited 90–150 ms on
 * pages no lookup had read yet. This thread walks every page of both files (SQLite's dbstat table
 * walks every b-tree, overflow pages included) through a map of its own, then closes its
 * connection and ends: the pages are then in the kernel's page cache, where lookups read them.
 *
 * (Keeping that map open, so that every page stayed mapped, was tried: the first 1,000 lookups/s
 * after a start then had p99s of 78–144 ms against 11–33 ms without it, with every thread of the
 * server stalled together for ~50 ms now and then.)
 *
 * Only files that fit: when the mapped parts (SQLite maps up to 2 GiB of a file) would take more
 * than a quarter of the machine's memory, nothing is read, and lookups read from the disk as
 * before.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { statSync } from 'node:fs';
import { totalmem } from 'node:os';
import Database from 'better-sqlite3';
import { attachHistory, historyFile } from './history-index.js';
import { lowerThreadPriority } from './thread-priority.js';

/** What the thread did: pages read in and how long it took, or why it read nothing. */
export type ReadIntoMemory = { pages: number; bytes: number; ms: number } | { skipped: string };

export interface MemoryReader {
  /** Settles once the files have been read in (or it was decided not to). */
  readonly done: Promise<ReadIntoMemory>;
  /** Stop reading (the log is closing). */
  stop(): Promise<void>;
}

/** The most of a file SQLite maps (its compiled limit, 2 GiB less 64 KiB; the rest is read as before). */
const MAP_BYTES = 0x7fff0000;

/** The share of the machine's memory the mapped parts of the two files may take. */
const MEMORY_SHARE = 0.25;

function mappedBytes(file: string): number {
  try {
    return Math.min(statSync(file).size, MAP_BYTES);
  } catch {
    return 0;
  }
}

export function readIntoMemory(file: string): MemoryReader {
  const wanted = mappedBytes(file) + mappedBytes(historyFile(file));
  if (wanted > totalmem() * MEMORY_SHARE) {
    const skipped = `the log and its index (${Math.round(wanted / 2 ** 20)} MiB mapped) would take more than ${MEMORY_SHARE * 100}% of memory`;
    return { done: Promise.resolve({ skipped }), stop: async () => undefined };
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: { readIntoMemoryFile: file } });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const done = new Promise<ReadIntoMemory>((resolve) => {
    worker.once('message', (m: ReadIntoMemory) => resolve(m));
    worker.once('error', (e: Error) => resolve({ skipped: e.message }));
    void exited.then(() => resolve({ skipped: 'the thread stopped' }));
  });
  return {
    done,
    async stop() {
      // It may be reading still (a statement is not interrupted; the thread ends after it).
      await worker.terminate();
      await exited;
    },
  };
}

if (!isMainThread && parentPort && (workerData as { readIntoMemoryFile?: string } | null)?.readIntoMemoryFile) {
  const file = (workerData as { readIntoMemoryFile: string }).readIntoMemoryFile;
  lowerThreadPriority();
  const db = new Database(file, { readonly: true });
  db.pragma('busy_timeout = 5000');
  attachHistory(db, file);
  // Through a map of this connection's own, which nobody else's commits drop while it reads (lookups
  // read without one: SQLite drops a connection's map at its first read after another connection
  // has committed, and mapping again cost more than it saved; see the history reader).
  for (const schema of ['main', 'hx']) db.pragma(`${schema}.mmap_size = ${MAP_BYTES}`);
  const started = performance.now();
  let pages = 0;
  let bytes = 0;
  for (const schema of ['hx', 'main']) {
    const size = db.pragma(`${schema}.page_size`, { simple: true }) as number;
    // Every page of every b-tree, overflow pages included (the free list is never read anyway).
    const n = (db.prepare(`SELECT count(*) AS n FROM dbstat('${schema}')`).get() as { n: number }).n;
    pages += n;
    bytes += n * size;
  }
  db.close();
  parentPort.postMessage({ pages, bytes, ms: Math.round(performance.now() - started) } satisfies ReadIntoMemory);
}
