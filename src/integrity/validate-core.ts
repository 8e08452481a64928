/**
 * Validate a trail's log files against its digest chain, as `aws cloudtrail
 * validate-logs` does (shared/spec §5.5–5.6: same inputs, same lines, same exit
 * codes), and more: log files that no digest lists and digests the chain never
 * reaches are reported too. Platform-neutral: the object store, gzip and
 * crypto come from a backend, so the command line (Node) and the web console
 * (the browser's WebCrypto) run this same walk.
 */
import { formatEventTime } from '../domain/record.js';

export interface PublicKeyInfo {
  fingerprint: string;
  /** DER PKCS#1 bytes. */
  der: Uint8Array;
}

export interface ValidateOptions {
  trailArn: string;
  start: Date;
  end: Date;
  /** Region whose files are validated (the CLI's --region). */
  region: string;
  bucket: string;
  prefix?: string;
  accountId?: string;
  verbose?: boolean;
  /** Parallel log file reads. */
  concurrency?: number;
  /**
   * How long after its name's minute a log file may be delivered (default 120 s). Unlisted log
   * files are reported only where every legitimate file would already be in a digest.
   */
  deliveryLagMs?: number;
}

/** A log file's SHA-256 (hex, over the decompressed content), or why there is none. */
export type LogCheckResult = { status: 'hashed'; hash: string } | { status: 'missing' } | { status: 'invalid' } | { status: 'error'; message: string };

export interface LogFileRef {
  bucket: string;
  key: string;
}

export interface ValidateBackend {
  /** An object's bytes and user metadata; undefined when it (or its bucket) is gone. Other errors abort. */
  get(bucket: string, key: string): Promise<{ body: Uint8Array; metadata: Record<string, string> } | undefined>;
  /** Every key under a prefix. */
  list(bucket: string, prefix: string): Promise<string[]>;
  gunzip(data: Uint8Array): Promise<Uint8Array>;
  sha256Hex(data: Uint8Array): Promise<string>;
  /** A verification key from DER PKCS#1 bytes; rejects when they are not a key. */
  importKey(der: Uint8Array): Promise<unknown>;
  /** RSA PKCS#1 v1.5 / SHA-256 verification. */
  verify(key: unknown, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Read, decompress and hash every listed log file; `onResult` gets each index as it completes. */
  checkLogs(files: LogFileRef[], onResult: (index: number, result: LogCheckResult) => void): Promise<void>;
}

/** Run `task(i)` for every i below `count`, at most `n` at a time. */
export async function eachConcurrently(count: number, n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(n, count)) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** What reading and hashing a log file needs of a backend. */
export type LogReader = Pick<ValidateBackend, 'get' | 'gunzip' | 'sha256Hex'>;

/** Read, decompress and hash one log file (SHA-256 of the decompressed content). */
export async function checkLog(r: LogReader, f: LogFileRef): Promise<LogCheckResult> {
  let body: Uint8Array;
  try {
    const got = await r.get(f.bucket, f.key);
    if (!got) return { status: 'missing' };
    body = got.body;
  } catch (e) {
    return { status: 'error', message: (e as Error).message };
  }
  let plain: Uint8Array;
  try {
    plain = await r.gunzip(body);
  } catch {
    return { status: 'invalid' };
  }
  return { status: 'hashed', hash: await r.sha256Hex(plain) };
}

/** Log file checks on this thread, `n` reads in flight. */
export function checkLogsWith(r: LogReader, n: number): ValidateBackend['checkLogs'] {
  return (files, onResult) => eachConcurrently(files.length, n, async (k) => onResult(k, await checkLog(r, files[k]!)));
}

export interface FileResult {
  kind: 'Digest' | 'Log';
  bucket: string;
  key: string;
  valid: boolean;
  reason?: string;
}

export interface CoreIo {
  backend: ValidateBackend;
  publicKeys: (start: Date, end: Date) => Promise<PublicKeyInfo[]>;
  out: (line: string) => void;
  err: (line: string) => void;
  progress?: (done: number, total: number) => void;
  /** Each file's verdict as it is reached (the console's per-file table). */
  onFile?: (r: FileResult) => void;
}

export interface ValidateSummary {
  digests: { valid: number; invalid: number };
  logs: { valid: number; invalid: number };
  exitCode: number;
}

export class ValidationInputError extends Error {}

const ARN_RE = /^arn:[^:]+:cloudtrail:([^:]+):(\d{12}):trail\/(.+)$/;
const HOUR = 3600_000;

/** The string a digest's signature covers (shared/spec §5.3). */
export function signingString(endTime: string, bucket: string, key: string, digestHashHex: string, previousSignature: string | null): string {
  return `${endTime}\n${bucket}/${key}\n${digestHashHex}\n${previousSignature ?? 'null'}`;
}

const utf8 = (b: Uint8Array): string => new TextDecoder().decode(b);

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

interface DigestJson {
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestSignature: string | null;
  logFiles?: { s3Bucket: string; s3Object: string; hashValue: string }[];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** The digest key's `YYYYMMDDTHHMMSSZ`, or undefined when the key is not one of this trail's digests. */
function keyStamp(key: string, re: RegExp): string | undefined {
  const m = re.exec(key);
  return m ? m[1] : undefined;
}

const stampOf = (d: Date): string => formatEventTime(d).replace(/[-:]/g, '');

/** Does the hex signature from the digest's metadata verify over its signing string (shared/spec §5.3)? */
async function signatureValid(b: ValidateBackend, text: Uint8Array, d: DigestJson, signatureHex: string | undefined, key: unknown): Promise<boolean> {
  if (!signatureHex || !/^[0-9a-f]+$/i.test(signatureHex) || signatureHex.length % 2) return false;
  const signed = signingString(d.digestEndTime, d.digestS3Bucket, d.digestS3Object, await b.sha256Hex(text), d.previousDigestSignature);
  return b.verify(key, new TextEncoder().encode(signed), hexBytes(signatureHex));
}

export async function validateLogsWith(o: ValidateOptions, io: CoreIo): Promise<ValidateSummary> {
  const b = io.backend;
  const m = ARN_RE.exec(o.trailArn);
  if (!m) throw new ValidationInputError(`Invalid trail ARN provided: ${o.trailArn}`);
  if (o.start.getTime() > o.end.getTime()) throw new ValidationInputError('Invalid time range specified: start-time must occur before end-time');
  const [, homeRegion, arnAccount, trailName] = m as unknown as [string, string, string, string];
  const account = o.accountId ?? arnAccount;
  const base = `${o.prefix ? `${o.prefix}/` : ''}AWSLogs/${account}`;
  const digestPrefix = `${base}/CloudTrail-Digest/${o.region}/`;
  const digestRe = new RegExp(
    `^${escapeRe(digestPrefix)}\\d+/\\d+/\\d+/${account}_CloudTrail-Digest_${escapeRe(o.region)}_${escapeRe(trailName)}_${escapeRe(homeRegion)}_(\\d{8}T\\d{6}Z)\\.json\\.gz$`,
  );
  io.out(`Validating log files for trail ${o.trailArn} between ${formatEventTime(o.start)} and ${formatEventTime(o.end)}`);
  io.out('');

  const keys = new Map<string, unknown>();
  for (const k of await io.publicKeys(o.start, new Date(o.end.getTime() + 2 * HOUR))) {
    keys.set(k.fingerprint, await b.importKey(k.der).catch(() => null));
  }
  if (keys.size === 0) throw new ValidationInputError(`No public keys found between ${formatEventTime(o.start)} and ${formatEventTime(o.end)}`);

  // Every digest of this trail and region whose time falls in [start, end + 1 h], oldest first.
  const startStamp = stampOf(new Date(o.start.getTime() - 60_000));
  const endStamp = stampOf(new Date(o.end.getTime() + HOUR));
  const listed: string[] = [];
  // Digests of other trails writing into the same folder: their files are not "extra" files of ours.
  const othersRe = new RegExp(`^${escapeRe(digestPrefix)}\\d+/\\d+/\\d+/${account}_CloudTrail-Digest_${escapeRe(o.region)}_.+_(\\d{8}T\\d{6}Z)\\.json\\.gz$`);
  const others: string[] = [];
  for (const objKey of await b.list(o.bucket, digestPrefix)) {
    const stamp = keyStamp(objKey, digestRe);
    if (stamp && stamp >= startStamp && stamp <= endStamp) listed.push(objKey);
    else if (!stamp) {
      const other = keyStamp(objKey, othersRe);
      if (other && other >= startStamp && other <= endStamp) others.push(objKey);
    }
  }
  listed.sort((a, b) => (keyStamp(a, digestRe)! < keyStamp(b, digestRe)! ? -1 : 1));

  const summary: ValidateSummary = { digests: { valid: 0, invalid: 0 }, logs: { valid: 0, invalid: 0 }, exitCode: 0 };
  const bad = (kind: 'Digest' | 'Log', bucket: string, key: string, reason: string): void => {
    io.err(`${kind} file\ts3://${bucket}/${key}\tINVALID: ${reason}`);
    io.onFile?.({ kind, bucket, key, valid: false, reason });
    io.err('');
    summary[kind === 'Digest' ? 'digests' : 'logs'].invalid++;
  };
  const good = (kind: 'Digest' | 'Log', bucket: string, key: string): void => {
    if (o.verbose) io.out(`${kind} file\ts3://${bucket}/${key}\tvalid`);
    io.onFile?.({ kind, bucket, key, valid: true });
    summary[kind === 'Digest' ? 'digests' : 'logs'].valid++;
  };

  const visited = new Set<string>();
  const listedInDigests = new Set<string>();
  const logChecks: { bucket: string; key: string; hash: string }[] = [];
  let earliest: string | undefined;
  let latest: string | undefined;
  let next: { bucket: string; key: string } | undefined = listed.length ? { bucket: o.bucket, key: listed.at(-1)! } : undefined;
  while (next) {
    const { bucket, key } = next;
    visited.add(`${bucket}/${key}`);
    next = undefined;
    const olderListed = (): { bucket: string; key: string } | undefined => {
      const i = listed.indexOf(key);
      for (let j = (i < 0 ? listed.length : i) - 1; j >= 0; j--) if (!visited.has(`${o.bucket}/${listed[j]}`)) return { bucket: o.bucket, key: listed[j]! };
      return undefined;
    };
    const got = await b.get(bucket, key);
    if (!got) {
      bad('Digest', bucket, key, 'not found');
      next = olderListed();
      continue;
    }
    let d: DigestJson;
    let text: Uint8Array;
    try {
      text = await b.gunzip(got.body);
      d = JSON.parse(utf8(text)) as DigestJson;
      for (const f of ['digestPublicKeyFingerprint', 'digestS3Bucket', 'digestS3Object', 'previousDigestSignature', 'digestEndTime', 'digestStartTime'] as const) {
        if (!(f in d)) throw new Error(f);
      }
    } catch {
      bad('Digest', bucket, key, 'invalid format');
      next = olderListed();
      continue;
    }
    const sig = got.metadata.signature;
    if (d.digestS3Bucket !== bucket || d.digestS3Object !== key) {
      bad('Digest', bucket, key, 'has been moved from its original location');
    } else if (!keys.has(d.digestPublicKeyFingerprint)) {
      bad('Digest', bucket, key, `public key not found in region ${homeRegion} for fingerprint ${d.digestPublicKeyFingerprint}`);
    } else if (keys.get(d.digestPublicKeyFingerprint) === null) {
      bad('Digest', bucket, key, `Unable to load PKCS #1 key with fingerprint ${d.digestPublicKeyFingerprint}`);
    } else if (got.metadata['signature-algorithm'] === undefined || !(await signatureValid(b, text, d, sig, keys.get(d.digestPublicKeyFingerprint)))) {
      bad('Digest', bucket, key, 'signature verification failed');
    } else {
      good('Digest', bucket, key);
      earliest = d.digestStartTime;
      latest ??= d.digestEndTime;
      for (const f of d.logFiles ?? []) {
        listedInDigests.add(`${f.s3Bucket}/${f.s3Object}`);
        logChecks.push({ bucket: f.s3Bucket, key: f.s3Object, hash: f.hashValue });
      }
      if (d.digestStartTime < formatEventTime(o.start)) {
        // The walk ends here; the digest before it still tells which boundary files are legitimate.
        if (d.previousDigestS3Bucket && d.previousDigestS3Object) {
          const prev = await b.get(d.previousDigestS3Bucket, d.previousDigestS3Object).catch(() => undefined);
          try {
            const pd = prev && (JSON.parse(utf8(await b.gunzip(prev.body))) as DigestJson);
            for (const f of pd?.logFiles ?? []) listedInDigests.add(`${f.s3Bucket}/${f.s3Object}`);
          } catch {
            // not readable: the boundary minute is then judged without it
          }
        }
        break;
      }
      if (d.previousDigestS3Object && d.previousDigestS3Bucket) {
        next = { bucket: d.previousDigestS3Bucket, key: d.previousDigestS3Object };
      } else {
        next = olderListed();
        const olderEnd = next && keyStamp(next.key, digestRe);
        if (olderEnd) {
          const iso = `${olderEnd.slice(0, 4)}-${olderEnd.slice(4, 6)}-${olderEnd.slice(6, 8)}T${olderEnd.slice(9, 11)}:${olderEnd.slice(11, 13)}:${olderEnd.slice(13, 15)}Z`;
          io.err(`No log files were delivered by CloudTrail between ${iso} and ${d.digestStartTime}`);
          io.err('');
        }
      }
      continue;
    }
    next = olderListed();
  }

  // Digests of this trail in the range that the chain never reached.
  for (const key of listed) {
    if (!visited.has(`${o.bucket}/${key}`)) bad('Digest', o.bucket, key, 'not part of the digest chain');
  }

  // Log files: every listed one hashed (in parallel); then any file in the range no digest lists.
  let done = 0;
  await b.checkLogs(logChecks, (i, r) => {
    const c = logChecks[i]!;
    if (r.status === 'missing') bad('Log', c.bucket, c.key, 'not found');
    else if (r.status === 'invalid') bad('Log', c.bucket, c.key, 'invalid format');
    else if (r.status === 'error') bad('Log', c.bucket, c.key, `could not be read: ${r.message}`);
    else if (r.hash === c.hash.toLowerCase()) good('Log', c.bucket, c.key);
    else bad('Log', c.bucket, c.key, "hash value doesn't match");
    io.progress?.(++done, logChecks.length);
  });
  if (earliest && latest) {
    for (const key of others) {
      const got = await b.get(o.bucket, key).catch(() => undefined);
      if (!got) continue;
      try {
        const text = await b.gunzip(got.body);
        const d = JSON.parse(utf8(text)) as DigestJson;
        const pk = keys.get(d.digestPublicKeyFingerprint);
        const sig = got.metadata.signature;
        // Only a digest that verifies vouches for its files.
        if (pk && d.digestS3Object === key && (await signatureValid(b, text, d, sig, pk))) {
          for (const f of d.logFiles ?? []) listedInDigests.add(`${f.s3Bucket}/${f.s3Object}`);
        }
      } catch {
        // not a digest we can read: it vouches for nothing
      }
    }
    const logPrefix = `${base}/CloudTrail/${o.region}/`;
    const noLaterThan = Date.parse(latest) - (o.deliveryLagMs ?? 120_000);
    const notBefore = Date.parse(earliest);
    for (const objKey of await b.list(o.bucket, logPrefix)) {
      // Files published inside the validated span (by their minute stamp) must be in a digest.
      const st = /_(\d{8}T\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$/.exec(objKey)?.[1];
      if (!st) continue;
      const minute = Date.parse(`${st.slice(0, 4)}-${st.slice(4, 6)}-${st.slice(6, 8)}T${st.slice(9, 11)}:${st.slice(11, 13)}:00Z`);
      // A file whose minute overlaps the validated span, named early enough to be digested by now.
      if (minute + 60_000 > notBefore && minute <= noLaterThan && !listedInDigests.has(`${o.bucket}/${objKey}`)) {
        bad('Log', o.bucket, objKey, 'not listed in any readable digest');
      }
    }
  }

  io.out('');
  io.out(`Results requested for ${formatEventTime(o.start)} to ${formatEventTime(o.end)}`);
  const nd = summary.digests.valid + summary.digests.invalid;
  const nl = summary.logs.valid + summary.logs.invalid;
  if (listed.length === 0) io.out('No digests found');
  else if (summary.digests.valid === 0) io.out('No valid digests found in range');
  else io.out(`Results found for ${earliest} to ${latest}:`);
  io.out('');
  io.out(`${summary.digests.valid}/${nd} digest files valid${summary.digests.invalid ? `, ${summary.digests.invalid}/${nd} digest files INVALID` : ''}`);
  io.out(`${summary.logs.valid}/${nl} log files valid${summary.logs.invalid ? `, ${summary.logs.invalid}/${nl} log files INVALID` : ''}`);
  summary.exitCode = summary.digests.invalid || summary.logs.invalid ? 1 : 0;
  return summary;
}
