/**
 * Checkpoints a WAL-mode SQLite database from a worker thread, so the main
 * thread never stalls copying WAL pages into the database (better-sqlite3 is
 * synchronous: an automatic checkpoint inside a commit blocks every request).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointerHandle {
  stop(): Promise<void>;
}

/** Start checkpointing `file` every `intervalMs` on another thread. */
export function startCheckpointer(file: string, intervalMs = 200): CheckpointerHandle {
  const worker = new Worker(new URL(import.meta.url), { workerData: { file, intervalMs } });
  worker.unref();
  worker.on('error', () => undefined); // the main connection still works; checkpoints then happen at close
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
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy or locked: try again next time
    }
  }, intervalMs);
  parentPort.on('message', (m) => {
    if (m === 'stop') {
      clearInterval(timer);
      db.close();
      process.exit(0);
    }
  });
}
