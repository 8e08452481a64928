/** CloudTrail log files: key layout, file names and the gzip JSON body (shared/spec §4). */
import { createHash } from 'node:crypto';
import { gzip, constants } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A 16-character alphanumeric unique part, derived from a seed so a replay names the file the same. */
export function uniquePart(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  let s = '';
  for (let i = 0; i < 16; i++) s += ALNUM[h[i]! % ALNUM.length];
  return s;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `{prefix/}AWSLogs/{acct}/CloudTrail/{region}/YYYY/MM/DD/{acct}_CloudTrail_{region}_YYYYMMDDTHHmmZ_{unique}.json.gz` */
export function logFileKey(opts: { prefix?: string; accountId: string; region: string; time: Date; unique: string }): string {
  const t = opts.time;
  const y = t.getUTCFullYear();
  const m = pad(t.getUTCMonth() + 1);
  const d = pad(t.getUTCDate());
  const stamp = `${y}${m}${d}T${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}Z`;
  const rest = `AWSLogs/${opts.accountId}/CloudTrail/${opts.region}/${y}/${m}/${d}/${opts.accountId}_CloudTrail_${opts.region}_${stamp}_${opts.unique}.json.gz`;
  return opts.prefix ? `${opts.prefix}/${rest}` : rest;
}

const OPEN = Buffer.from('{"Records":[');
const CLOSE = Buffer.from(']}');

/**
 * The uncompressed body, `{"Records":[…]}`, with each record's JSON bytes exactly as committed:
 * from the records already joined by commas (EventLog.recordsJson).
 */
export function logFileFromJoined(joined: Buffer): Buffer {
  return Buffer.concat([OPEN, joined, CLOSE], OPEN.length + joined.length + CLOSE.length);
}

/** Compress off the main thread (libuv's pool), so several files compress at once. */
export function gzipLogFile(json: string | Buffer): Promise<Buffer> {
  // Level 3: about twice as fast as zlib's default 6 on CloudTrail JSON, for ~15% larger files.
  // Fixed here so a replay writes identical bytes.
  // The output buffer is sized to hold the whole file (CloudTrail JSON compresses ~10×), so it
  // compresses in one pass on the pool rather than a round trip per 16 KB of output.
  const chunkSize = Math.min(Math.max(Math.ceil(json.length / 4), 16_384), 8 << 20);
  return gzipAsync(json, { level: 3, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize });
}

/** Services whose events are global (recorded in us-east-1), governed by IncludeGlobalServiceEvents. */
export const GLOBAL_SERVICE_SOURCES = new Set([
  'iam.amazonaws.com',
  'sts.amazonaws.com',
  'cloudfront.amazonaws.com',
  'route53.amazonaws.com',
  'organizations.amazonaws.com',
  'signin.amazonaws.com',
]);
