/** Server configuration: flags, then environment, then embedded defaults. */
import { resolve } from 'node:path';

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
  /** Most records waiting to be committed before callers are throttled. */
  maxPendingEvents: number;
  /** Write a notice with the generated credentials to stdout on first start. */
  printCredentials: boolean;
}

export interface ConfigFlags {
  port?: string | number;
  host?: string;
  dataDir?: string;
  retentionDays?: string | number;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function num(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${v}`);
  return n;
}

export function resolveConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: num(flags.port, '--port') ?? num(env.OPENTRAIL_PORT, 'OPENTRAIL_PORT') ?? 4577,
    host: flags.host ?? env.OPENTRAIL_HOST ?? '127.0.0.1',
    dataDir: resolve(flags.dataDir ?? env.OPENTRAIL_DATA_DIR ?? './.opentrail'),
    retentionDays: num(flags.retentionDays, '--retention-days') ?? num(env.OPENTRAIL_RETENTION_DAYS, 'OPENTRAIL_RETENTION_DAYS') ?? 90,
    logLevel: flags.logLevel ?? env.OPENTRAIL_LOG_LEVEL ?? 'info',
    tlsCert: flags.tlsCert ?? env.OPENTRAIL_TLS_CERT,
    tlsKey: flags.tlsKey ?? env.OPENTRAIL_TLS_KEY,
    accountId: env.OPENTRAIL_ACCOUNT_ID,
    accessKeyId: env.OPENTRAIL_ACCESS_KEY_ID,
    secretAccessKey: env.OPENTRAIL_SECRET_ACCESS_KEY,
    maxPendingEvents: num(env.OPENTRAIL_MAX_PENDING_EVENTS, 'OPENTRAIL_MAX_PENDING_EVENTS') ?? 200_000,
    printCredentials: true,
  };
}
