/**
 * validate-logs on Node: the platform-neutral walk (validate-core.ts) over an
 * ObjectStore, with node:crypto and zlib, log files hashed on this thread or a
 * worker pool.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { listAllObjects, type ObjectStore } from '../storage/object-store.js';
import { storeReader, type LogChecker } from './log-check-pool.js';
import { checkLogsWith, validateLogsWith, type CoreIo, type ValidateBackend, type ValidateOptions, type ValidateSummary } from './validate-core.js';

export { ValidationInputError, type PublicKeyInfo, type ValidateOptions, type ValidateSummary } from './validate-core.js';

export interface ValidateIo extends Omit<CoreIo, 'backend'> {
  store: ObjectStore;
  /** Where log files are read and hashed (default: on this thread, from `store`). */
  logChecker?: LogChecker;
}

function nodeBackend(store: ObjectStore, checker?: LogChecker, concurrency = 16): ValidateBackend {
  const reader = storeReader(store);
  return {
    ...reader,
    async list(bucket, prefix) {
      return (await listAllObjects(store, bucket, { prefix })).objects.map((o) => o.key);
    },
    async importKey(der) {
      return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' });
    },
    async verify(key, data, signature) {
      return verify('sha256', data, key as KeyObject, signature);
    },
    // In-process by default; the command line spreads the reads over worker threads instead.
    checkLogs: checker ? (files, onResult) => checker.check(files, onResult) : checkLogsWith(reader, concurrency),
  };
}

export async function validateLogs(o: ValidateOptions, io: ValidateIo): Promise<ValidateSummary> {
  const { store, logChecker, ...rest } = io;
  return validateLogsWith(o, { ...rest, backend: nodeBackend(store, logChecker, o.concurrency ?? 16) });
}
