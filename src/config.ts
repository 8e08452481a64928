/** Server configuration: flags, then environment, then embedded defaults. */
import { join, resolve } from 'node:path';
import type { CommitSync } from './storage/interfaces.js';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Days of event history kept (AWS: 90). */
  retentionDays: number;
  logLevel: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Root credentials of the default account, when given. */
  accountId?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** OPENTRAIL_COMMIT_SYNC: `full` by default (see CommitSync). */
  commitSync: CommitSync;
  /** Most records waiting to be committed before callers are throttled. */
  maxPendingEvents: number;
  /** MiB of encoded LookupEvents entries kept for later pages (0: none). */
  lookupCacheMiB: number;
  /** Threads that read LookupEvents pages (at least 1). */
  lookupThreads: number;
  /** Most ingest API requests (POST /v1/events) being handled at once; more are answered 429. */
  maxIngestRequests: number;
  /** Most bytes of ingest request bodies being handled at once; more are answered 429. */
  maxIngestBytes: number;
  /** Events the history index may fall behind the log before the ingest API answers 429 while it keeps falling behind (0: never). */
  maxIndexLag: number;
  /** Write a notice with the generated credentials to stdout on first start. */
  printCredentials: boolean;
  /** Seconds between trail log file deliveries (AWS: about 300). */
  deliveryIntervalSeconds: number;
  /** Seconds each digest file covers (AWS: an hour). */
  digestIntervalSeconds: number;
  /** Days a signing key signs before the next takes over. */
  keyRotationDays: number;
  /** Most records in one delivered log file. */
  maxRecordsPerFile: number;
  /** An S3 endpoint serving some (or all) buckets instead of the local folder. */
  s3Endpoint?: string;
  /** Buckets served by the S3 endpoint (`*` = all); empty = all, when an endpoint is set. */
  s3Buckets: string[];
  s3Region: string;
  s3ForcePathStyle: boolean;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
  /** Where JSONL sink targets of rules write (`<dir>/<account>/<name>.jsonl`). */
  sinkDir: string;
  /** First retry delay of a failed rule target (ms), doubled per attempt. */
  rulesRetryBaseMs: number;
  /** How often Lake stores take in new events (ms). */
  lakeIntervalMs: number;
  /** Events a Lake store reads from the log at a time (one Parquet file per batch and day; stores take turns a batch each). */
  lakeBatchEvents: number;
  /** A Lake query running longer than this ends TIMED_OUT (AWS: about an hour). */
  lakeQueryTimeoutSeconds: number;
  /** A bucket of the object store that gets a copy of every Lake Parquet file (for Athena, Trino, Spark). */
  lakeBucket?: string;
}

export interface ConfigFlags {
  port?: string | number;
  host?: string;
  dataDir?: string;
  retentionDays?: string | number;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  deliveryInterval?: string | number;
  digestInterval?: string | number;
  keyRotation?: string | number;
  s3Endpoint?: string;
  s3Buckets?: string;
}

function num(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${v}`);
  return n;
}

/** OPENTRAIL_COMMIT_SYNC: `full` (default) or `normal`. */
function commitSync(v: string | undefined): CommitSync {
  if (v === undefined || v === '' || v === 'full') return 'full';
  if (v === 'normal') return 'normal';
  throw new Error(`OPENTRAIL_COMMIT_SYNC must be full or normal, not ${v}`);
}

/** OPENTRAIL_LOOKUP_THREADS: a whole number from 1 to 16 (default 1). */
function threadCount(v: string | undefined): number {
  const n = num(v, 'OPENTRAIL_LOOKUP_THREADS') ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`OPENTRAIL_LOOKUP_THREADS must be a whole number from 1 to 16, not ${v}`);
  return n;
}

export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(flags.dataDir ?? env.OPENTRAIL_DATA_DIR ?? './.opentrail');
  return {
    port: num(flags.port, '--port') ?? num(env.OPENTRAIL_PORT, 'OPENTRAIL_PORT') ?? 4577,
    host: flags.host ?? env.OPENTRAIL_HOST ?? '127.0.0.1',
    dataDir,
    retentionDays: num(flags.retentionDays, '--retention-days') ?? num(env.OPENTRAIL_RETENTION_DAYS, 'OPENTRAIL_RETENTION_DAYS') ?? 90,
    logLevel: flags.logLevel ?? env.OPENTRAIL_LOG_LEVEL ?? 'info',
    tlsCert: flags.tlsCert ?? env.OPENTRAIL_TLS_CERT,
    tlsKey: flags.tlsKey ?? env.OPENTRAIL_TLS_KEY,
    accountId: env.OPENTRAIL_ACCOUNT_ID,
    accessKeyId: env.OPENTRAIL_ACCESS_KEY_ID,
    secretAccessKey: env.OPENTRAIL_SECRET_ACCESS_KEY,
    commitSync: commitSync(env.OPENTRAIL_COMMIT_SYNC),
    maxPendingEvents: num(env.OPENTRAIL_MAX_PENDING_EVENTS, 'OPENTRAIL_MAX_PENDING_EVENTS') ?? 200_000,
    lookupCacheMiB: num(env.OPENTRAIL_LOOKUP_CACHE_MB, 'OPENTRAIL_LOOKUP_CACHE_MB') ?? 256,
    lookupThreads: threadCount(env.OPENTRAIL_LOOKUP_THREADS),
    maxIngestRequests: num(env.OPENTRAIL_MAX_INGEST_REQUESTS, 'OPENTRAIL_MAX_INGEST_REQUESTS') ?? 64,
    maxIngestBytes: (num(env.OPENTRAIL_MAX_INGEST_MB, 'OPENTRAIL_MAX_INGEST_MB') ?? 64) * 2 ** 20,
    maxIndexLag: num(env.OPENTRAIL_MAX_INDEX_LAG, 'OPENTRAIL_MAX_INDEX_LAG') ?? 100_000,
    printCredentials: true,
    deliveryIntervalSeconds:
      num(flags.deliveryInterval, '--delivery-interval') ?? num(env.OPENTRAIL_DELIVERY_INTERVAL, 'OPENTRAIL_DELIVERY_INTERVAL') ?? 60,
    digestIntervalSeconds: Math.max(
      5,
      num(flags.digestInterval, '--digest-interval') ?? num(env.OPENTRAIL_DIGEST_INTERVAL, 'OPENTRAIL_DIGEST_INTERVAL') ?? 3600,
    ),
    keyRotationDays: num(flags.keyRotation, '--key-rotation') ?? num(env.OPENTRAIL_KEY_ROTATION_DAYS, 'OPENTRAIL_KEY_ROTATION_DAYS') ?? 30,
    maxRecordsPerFile: num(env.OPENTRAIL_MAX_RECORDS_PER_FILE, 'OPENTRAIL_MAX_RECORDS_PER_FILE') ?? 20_000,
    s3Endpoint: flags.s3Endpoint ?? env.OPENTRAIL_S3_ENDPOINT,
    s3Buckets: (flags.s3Buckets ?? env.OPENTRAIL_S3_BUCKETS ?? '').split(',').map((b) => b.trim()).filter(Boolean),
    s3Region: env.OPENTRAIL_S3_REGION ?? 'us-east-1',
    s3ForcePathStyle: (env.OPENTRAIL_S3_FORCE_PATH_STYLE ?? 'true') !== 'false',
    s3AccessKeyId: env.OPENTRAIL_S3_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID,
    s3SecretAccessKey: env.OPENTRAIL_S3_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY,
    sinkDir: resolve(env.OPENTRAIL_SINK_DIR ?? join(dataDir, 'sinks')),
    rulesRetryBaseMs: num(env.OPENTRAIL_RULES_RETRY_BASE_MS, 'OPENTRAIL_RULES_RETRY_BASE_MS') ?? 1000,
    lakeIntervalMs: num(env.OPENTRAIL_LAKE_INTERVAL_MS, 'OPENTRAIL_LAKE_INTERVAL_MS') ?? 1000,
    lakeBatchEvents: num(env.OPENTRAIL_LAKE_BATCH_EVENTS, 'OPENTRAIL_LAKE_BATCH_EVENTS') ?? 20_000,
    lakeQueryTimeoutSeconds: num(env.OPENTRAIL_LAKE_QUERY_TIMEOUT_SECONDS, 'OPENTRAIL_LAKE_QUERY_TIMEOUT_SECONDS') ?? 3600,
    lakeBucket: env.OPENTRAIL_LAKE_BUCKET || undefined,
  };
}
