/**
 * Log file checks on worker threads: each thread opens its own object store
 * (the data folder, or an S3 client) and reads, decompresses and hashes
 * whole batches of log files, so the work spreads over every core and the
 * main thread only hands out batches and compares hashes.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ObjectStore } from '../storage/object-store.js';

/** Enough to open the same object store in another thread. */
export type StoreSpec =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      endpoint?: string;
      region: string;
      forcePathStyle: boolean;
      /** Resolved once by the caller, so each thread does not walk the provider chain again. */
      credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    };

import { checkLog, eachConcurrently, type LogCheckResult, type LogFileRef, type LogReader } from './validate-core.js';

export type { LogCheckResult, LogFileRef } from './validate-core.js';

export interface LogChecker {
  /** Check every file; `onResult` gets each file's index and result as it completes. */
  check(files: LogFileRef[], onResult: (index: number, result: LogCheckResult) => void): Promise<void>;
  close(): Promise<void>;
}

/** Open the store a spec names (loading only that backend: the S3 SDK takes a while to load). */
export async function openStore(spec: StoreSpec): Promise<ObjectStore> {
  if (spec.kind === 'fs') return new (await import('../storage/fs/object-store.js')).FsObjectStore(spec.root);
  const { S3ObjectStore } = await import('../storage/s3/object-store.js');
  return new S3ObjectStore({ endpoint: spec.endpoint, region: spec.region, forcePathStyle: spec.forcePathStyle, credentials: spec.credentials, ownerAccountId: '' });
}

/** Reading from an object store for the log checks: a missing object or bucket is "not there". */
export function storeReader(store: ObjectStore): LogReader {
  return {
    async get(bucket, key) {
      try {
        const got = await store.getObject(bucket, key);
        return got && { body: got.body, metadata: got.info.userMetadata };
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'NoSuchBucket' || code === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async gunzip(data) {
      return gunzipSync(data);
    },
    async sha256Hex(data) {
      return createHash('sha256').update(data).digest('hex');
    },
  };
}

const BATCH = 64;
/** Reads in flight per thread (they overlap the network or disk with hashing). */
const READS_PER_THREAD = 8;

type Job = { id: number; files: LogFileRef[] };
type Done = { id: number; results: LogCheckResult[] };

export function workerLogChecker(spec: StoreSpec, threads = Math.max(1, availableParallelism())): LogChecker {
  const workers = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { logCheckStore: spec } }));
  const exited = workers.map((w) => new Promise<void>((r) => w.once('exit', () => r())));
  return {
    async check(files, onResult) {
      let next = 0;
      let nextJob = 0;
      const starts = new Map<number, number>();
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const send = (): boolean => {
                if (next >= files.length) return false;
                const id = nextJob++;
                starts.set(id, next);
                w.postMessage({ id, files: files.slice(next, next + BATCH) } satisfies Job);
                next += BATCH;
                return true;
              };
              let outstanding = 0;
              const onMessage = (m: Done): void => {
                const from = starts.get(m.id)!;
                starts.delete(m.id);
                m.results.forEach((r, i) => onResult(from + i, r));
                outstanding--;
                if (send()) outstanding++;
                if (outstanding === 0) finish(undefined);
              };
              const onExit = (): void => finish(new Error('a log check thread stopped'));
              const finish = (err: Error | undefined): void => {
                w.off('message', onMessage);
                w.off('exit', onExit);
                if (err) reject(err);
                else resolve();
              };
              w.on('message', onMessage);
              w.once('exit', onExit);
              // Two batches each, so a thread never waits for its next one.
              for (let k = 0; k < 2 && send(); k++) outstanding++;
              if (outstanding === 0) finish(undefined);
            }),
        ),
      );
    },
    async close() {
      for (const w of workers) w.postMessage('stop');
      await Promise.all(exited);
    },
  };
}

if (!isMainThread && parentPort && (workerData as { logCheckStore?: StoreSpec } | null)?.logCheckStore) {
  const opened = openStore((workerData as { logCheckStore: StoreSpec }).logCheckStore);
  parentPort.on('message', (m: Job | 'stop') => {
    if (m === 'stop') {
      void opened.then((store) => store.close()).finally(() => process.exit(0));
      return;
    }
    void (async () => {
      const reader = storeReader(await opened);
      const results = new Array<LogCheckResult>(m.files.length);
      await eachConcurrently(m.files.length, READS_PER_THREAD, async (k) => {
        results[k] = await checkLog(reader, m.files[k]!);
      });
      parentPort!.postMessage({ id: m.id, results } satisfies Done);
    })();
  });
}
