/**
 * Validate a trail's log files against its digest chain, as `aws cloudtrail
 * validate-logs` does (shared/spec §5.5–5.6: same inputs, same lines, same exit
 * codes), and more: log files that no digest lists and digests the chain never
 * reaches are reported too, and log files are checked in parallel.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { listAllObjects, type ObjectStore } from '../storage/object-store.js';
import { formatEventTime } from '../domain/record.js';
import { signingString } from './digests.js';
import { checkLogFile, type LogChecker } from './log-check-pool.js';

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

export interface ValidateIo {
  store: ObjectStore;
  publicKeys: (start: Date, end: Date) => Promise<PublicKeyInfo[]>;
  out: (line: string) => void;
  err: (line: string) => void;
  progress?: (done: number, total: number) => void;
  /** Where log files are read and hashed (default: on this thread, from `store`). */
  logChecker?: LogChecker;
}

export interface ValidateSummary {
  digests: { valid: number; invalid: number };
  logs: { valid: number; invalid: number };
  exitCode: number;
}

export class ValidationInputError extends Error {}

const ARN_RE = /^arn:[^:]+:cloudtrail:([^:]+):(\d{12}):trail\/(.+)$/;
const HOUR = 3600_000;

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

/** An object, or undefined when it (or its bucket) is gone; other errors abort the validation. */
async function readObject(store: ObjectStore, bucket: string, key: string): ReturnType<ObjectStore['getObject']> {
  return store.getObject(bucket, key).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'NoSuchBucket') return undefined;
    throw e;
  });
}

/** Does the hex signature from the digest's metadata verify over its signing string (shared/spec §5.3)? */
function signatureValid(text: Buffer, d: DigestJson, signatureHex: string | undefined, key: KeyObject): boolean {
  if (!signatureHex || !/^[0-9a-f]+$/i.test(signatureHex)) return false;
  const signed = signingString(d.digestEndTime, d.digestS3Bucket, d.digestS3Object, createHash('sha256').update(text).digest('hex'), d.previousDigestSignature);
  return verify('sha256', Buffer.from(signed), key, Buffer.from(signatureHex, 'hex'));
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

export async function validateLogs(o: ValidateOptions, io: ValidateIo): Promise<ValidateSummary> {
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

  const keys = new Map<string, KeyObject | null>();
  for (const k of await io.publicKeys(o.start, new Date(o.end.getTime() + 2 * HOUR))) {
    try {
      keys.set(k.fingerprint, createPublicKey({ key: Buffer.from(k.der), format: 'der', type: 'pkcs1' }));
    } catch {
      keys.set(k.fingerprint, null);
    }
  }
  if (keys.size === 0) throw new ValidationInputError(`No public keys found between ${formatEventTime(o.start)} and ${formatEventTime(o.end)}`);

  // Every digest of this trail and region whose time falls in [start, end + 1 h], oldest first.
  const startStamp = stampOf(new Date(o.start.getTime() - 60_000));
  const endStamp = stampOf(new Date(o.end.getTime() + HOUR));
  const listed: string[] = [];
  // Digests of other trails writing into the same folder: their files are not "extra" files of ours.
  const othersRe = new RegExp(`^${escapeRe(digestPrefix)}\\d+/\\d+/\\d+/${account}_CloudTrail-Digest_${escapeRe(o.region)}_.+_(\\d{8}T\\d{6}Z)\\.json\\.gz$`);
  const others: string[] = [];
  for (const obj of (await listAllObjects(io.store, o.bucket, { prefix: digestPrefix })).objects) {
    const stamp = keyStamp(obj.key, digestRe);
    if (stamp && stamp >= startStamp && stamp <= endStamp) listed.push(obj.key);
    else if (!stamp) {
      const other = keyStamp(obj.key, othersRe);
      if (other && other >= startStamp && other <= endStamp) others.push(obj.key);
    }
  }
  listed.sort((a, b) => (keyStamp(a, digestRe)! < keyStamp(b, digestRe)! ? -1 : 1));

  const summary: ValidateSummary = { digests: { valid: 0, invalid: 0 }, logs: { valid: 0, invalid: 0 }, exitCode: 0 };
  const bad = (kind: 'Digest' | 'Log', bucket: string, key: string, reason: string): void => {
    io.err(`${kind} file\ts3://${bucket}/${key}\tINVALID: ${reason}`);
    io.err('');
    summary[kind === 'Digest' ? 'digests' : 'logs'].invalid++;
  };
  const good = (kind: 'Digest' | 'Log', bucket: string, key: string): void => {
    if (o.verbose) io.out(`${kind} file\ts3://${bucket}/${key}\tvalid`);
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
    const got = await readObject(io.store, bucket, key);
    if (!got) {
      bad('Digest', bucket, key, 'not found');
      next = olderListed();
      continue;
    }
    let d: DigestJson;
    let text: Buffer;
    try {
      text = gunzipSync(got.body);
      d = JSON.parse(text.toString('utf8')) as DigestJson;
      for (const f of ['digestPublicKeyFingerprint', 'digestS3Bucket', 'digestS3Object', 'previousDigestSignature', 'digestEndTime', 'digestStartTime'] as const) {
        if (!(f in d)) throw new Error(f);
      }
    } catch {
      bad('Digest', bucket, key, 'invalid format');
      next = olderListed();
      continue;
    }
    const sig = got.info.userMetadata.signature;
    if (d.digestS3Bucket !== bucket || d.digestS3Object !== key) {
      bad('Digest', bucket, key, 'has been moved from its original location');
    } else if (!keys.has(d.digestPublicKeyFingerprint)) {
      bad('Digest', bucket, key, `public key not found in region ${homeRegion} for fingerprint ${d.digestPublicKeyFingerprint}`);
    } else if (keys.get(d.digestPublicKeyFingerprint) === null) {
      bad('Digest', bucket, key, `Unable to load PKCS #1 key with fingerprint ${d.digestPublicKeyFingerprint}`);
    } else if (got.info.userMetadata['signature-algorithm'] === undefined || !signatureValid(text, d, sig, keys.get(d.digestPublicKeyFingerprint)!)) {
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
          const prev = await io.store.getObject(d.previousDigestS3Bucket, d.previousDigestS3Object).catch(() => undefined);
          try {
            const pd = prev && (JSON.parse(gunzipSync(prev.body).toString('utf8')) as DigestJson);
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
  const checker = io.logChecker ?? inProcessLogChecker(io.store, o.concurrency ?? 16);
  await checker.check(logChecks, (i, r) => {
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
      const got = await io.store.getObject(o.bucket, key).catch(() => undefined);
      if (!got) continue;
      try {
        const text = gunzipSync(got.body);
        const d = JSON.parse(text.toString('utf8')) as DigestJson;
        const pk = keys.get(d.digestPublicKeyFingerprint);
        const sig = got.info.userMetadata.signature;
        // Only a digest that verifies vouches for its files.
        if (pk && d.digestS3Object === key && signatureValid(text, d, sig, pk)) {
          for (const f of d.logFiles ?? []) listedInDigests.add(`${f.s3Bucket}/${f.s3Object}`);
        }
      } catch {
        // not a digest we can read: it vouches for nothing
      }
    }
    const logPrefix = `${base}/CloudTrail/${o.region}/`;
    const noLaterThan = Date.parse(latest) - (o.deliveryLagMs ?? 120_000);
    const notBefore = Date.parse(earliest);
    for (const obj of (await listAllObjects(io.store, o.bucket, { prefix: logPrefix })).objects) {
      // Files published inside the validated span (by their minute stamp) must be in a digest.
      const st = /_(\d{8}T\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$/.exec(obj.key)?.[1];
      if (!st) continue;
      const minute = Date.parse(`${st.slice(0, 4)}-${st.slice(4, 6)}-${st.slice(6, 8)}T${st.slice(9, 11)}:${st.slice(11, 13)}:00Z`);
      // A file whose minute overlaps the validated span, named early enough to be digested by now.
      if (minute + 60_000 > notBefore && minute <= noLaterThan && !listedInDigests.has(`${o.bucket}/${obj.key}`)) {
        bad('Log', o.bucket, obj.key, 'not listed in any readable digest');
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
