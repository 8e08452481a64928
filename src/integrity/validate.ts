/**
 * validate-logs on Node: the platform-neutral walk (validate-core.ts) over an
 * ObjectStore, with node:crypto and zlib, log files hashed on this thread or a
 * worker pool.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { listAllObjects, type ObjectStore } from '../storage/object-store.js';
import { checkLogFile, type LogChecker } from './log-check-pool.js';
import { validateLogsWith, type CoreIo, type ValidateBackend, type ValidateOptions, type ValidateSummary } from './validate-core.js';

export { ValidationInputError, type PublicKeyInfo, type ValidateOptions, type ValidateSummary } from './validate-core.js';

export interface ValidateIo extends Omit<CoreIo, 'backend'> {
  store: ObjectStore;
  /** Where log files are read and hashed (default: on this thread, from `store`). */
  logChecker?: LogChecker;
}

/** Log file checks on this thread, `n` reads in flight (the command line spreads them over worker threads instead). */
function inProcessLogChecker(store: ObjectStore, n: number): LogChecker {
  return {
    async check(files, onResult) {
      let i = 0;
      await Promise.all(
        Array.from({ length: Math.max(1, Math.min(n, files.length)) }, async () => {
          while (i < files.length) {
            const k = i++;
            onResult(k, await checkLogFile(store, files[k]!));
          }
        }),
      );
    },
    async close() {},
  };
}

export function nodeBackend(store: ObjectStore, checker: LogChecker): ValidateBackend {
  return {
    async get(bucket, key) {
      const got = await store.getObject(bucket, key).catch((e: unknown) => {
        if ((e as { code?: string }).code === 'NoSuchBucket') return undefined;
        throw e;
      });
      return got && { body: got.body, metadata: got.info.userMetadata };
    },
    async list(bucket, prefix) {
      return (await listAllObjects(store, bucket, { prefix })).objects.map((o) => o.key);
    },
    async gunzip(data) {
      return gunzipSync(data);
    },
    async sha256Hex(data) {
      return createHash('sha256').update(data).digest('hex');
    },
    async importKey(der) {
      return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' });
    },
    async verify(key, data, signature) {
      return verify('sha256', data, key as KeyObject, signature);
    },
    checkLogs: (files, onResult) => checker.check(files, onResult),
  };
}

export async function validateLogs(o: ValidateOptions, io: ValidateIo): Promise<ValidateSummary> {
  const { store, logChecker, ...rest } = io;
  return validateLogsWith(o, { ...rest, backend: nodeBackend(store, logChecker ?? inProcessLogChecker(store, o.concurrency ?? 16)) });
}
