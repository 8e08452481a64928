/**
 * The event log's maintenance thread: it keeps the history index up to date
 * with the log and checkpoints the WAL, on its own connection, so the main
 * thread (better-sqlite3 is synchronous) spends its time answering requests
 * and committing events, not copying pages or building indexes.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { HistoryIndex } from './history-index.js';
import { statementCache } from './open.js';

export interface LogWorkerHandle {
  stop(): Promise<void>;
}

/** Start maintaining `file` every `intervalMs` on another thread. */
export function startLogWorker(file: string, intervalMs = 500): LogWorkerHandle {
  const worker = new Worker(new URL(import.meta.url), { workerData: { file, intervalMs } });
  worker.unref();
  worker.on('error', () => undefined); // the main connection indexes what is left when it closes
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping = false;
  return {
    async stop(): Promise<void> {
      if (!stopping) {
        stopping = true;
        worker.ref(); // keep the process alive until the worker has closed its connection
        worker.postMessage('stop');
      }
      await exited;
    },
  };
}

if (!isMainThread && parentPort && (workerData as { file?: string } | null)?.file) {
  const { file, intervalMs } = workerData as { file: string; intervalMs: number };
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  const index = new HistoryIndex(db, statementCache(db));
  let stopping = false;
  const work = (): void => {
    try {
      // One batch per round: it holds the write lock, which commits on the main thread wait for.
      index.indexSome(20_000);
    } catch {
      // busy or locked: next time
    }
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // next time
    }
  };
  const timer = setInterval(work, intervalMs);
  parentPort.on('message', (m) => {
    if (m === 'stop') {
      stopping = true;
      clearInterval(timer);
      db.close();
      process.exit(0);
    }
  });
}
