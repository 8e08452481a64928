/**
 * Digest files: for each trail with log file validation, per region, every
 * period (an hour, as AWS; `--digest-interval` for tests) a signed digest of
 * the log files delivered in that period, chained to the previous digest by
 * its hash and signature — exactly the format `aws cloudtrail validate-logs`
 * checks (shared/spec §5).
 *
 * The state of each chain (open period, files so far, previous digest) lives
 * in the metastore. A digest is first written down as an intent (its end
 * time); it is built from the state alone, so a replay after a crash writes the
 * same object, and the chain never forks.
 */
import { createHash, sign } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TrailDoc } from '../domain/trail-model.js';
import type { SigningKeys } from './signing-keys.js';
import { failpoint } from '../failpoints.js';
import { formatEventTime } from '../domain/record.js';
import { gzipLogFile } from '../delivery/log-file.js';
import { signingString } from './validate-core.js';

export { signingString } from './validate-core.js';

const KIND = 'digest-state';

export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  /** Hex SHA-256 of the uncompressed log file. */
  hashValue: string;
  oldestEventTime: number;
  newestEventTime: number;
}

interface ChainState {
  trailArn: string;
  region: string;
  periodStart: number;
  files: DigestLogFile[];
  previous: { bucket: string; key: string; hash: string; signature: string } | null;
  /** Set when a digest for (periodStart, pendingEnd] is being written. */
  pendingEnd?: number;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DDTHH:MM:SSZ`, as digests write times. */
export function digestTime(ms: number): string {
  return formatEventTime(new Date(ms));
}

export function digestKey(t: Pick<TrailDoc, 'S3KeyPrefix' | 'Name' | 'HomeRegion'>, accountId: string, region: string, endMs: number): string {
  const d = new Date(endMs);
  const y = d.getUTCFullYear();
  const m = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  const stamp = `${y}${m}${day}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  const rest = `AWSLogs/${accountId}/CloudTrail-Digest/${region}/${y}/${m}/${day}/${accountId}_CloudTrail-Digest_${region}_${t.Name}_${t.HomeRegion}_${stamp}.json.gz`;
  return t.S3KeyPrefix ? `${t.S3KeyPrefix}/${rest}` : rest;
}


export class Digests {
  constructor(
    private readonly meta: Metastore,
    private readonly store: ObjectStore,
    private readonly keys: SigningKeys,
    private readonly intervalMs: number,
  ) {}

  private id(t: TrailDoc, region: string): string {
    return `${t.TrailARN}|${region}`;
  }

  private async states(t: TrailDoc): Promise<ChainState[]> {
    return (await this.meta.listDocs<ChainState>(KIND, t.accountId)).filter((s) => s.trailArn === t.TrailARN);
  }

  private async save(t: TrailDoc, s: ChainState): Promise<void> {
    await this.meta.putDoc(KIND, t.accountId, this.id(t, s.region), s);
  }

  private fresh(t: TrailDoc, region: string, now: number): ChainState {
    return { trailArn: t.TrailARN, region, periodStart: Math.floor(now / 1000) * 1000, files: [], previous: null };
  }

  /** Note delivered log files in their region's open period (idempotent: a replayed file is noted once). */
  async recordFiles(t: TrailDoc, files: (DigestLogFile & { region: string })[], now = Date.now()): Promise<void> {
    const byRegion = new Map<string, (DigestLogFile & { region: string })[]>();
    for (const f of files) (byRegion.get(f.region) ?? byRegion.set(f.region, []).get(f.region)!).push(f);
    for (const [region, list] of byRegion) {
      const s = (await this.meta.getDoc<ChainState>(KIND, t.accountId, this.id(t, region))) ?? this.fresh(t, region, now);
      const seen = new Set(s.files.map((f) => f.s3Object));
      for (const { region: _r, ...f } of list) if (!seen.has(f.s3Object)) s.files.push(f);
      await this.save(t, s);
    }
  }

  /**
   * Write the digests that are due: every period while the trail logs with validation on (the
   * home region's chain exists from the start, so empty periods get their digest too); and once,
   * a final digest when logging stops or validation is turned off, which ends the chain.
   */
  /** Returns how many digests were written. */
  async emitDue(t: TrailDoc, active: boolean, now = Date.now()): Promise<number> {
    let written = 0;
    const states = await this.states(t);
    if (active && !states.some((s) => s.region === t.HomeRegion)) {
      const s = this.fresh(t, t.HomeRegion, now);
      await this.save(t, s);
      states.push(s);
    }
    for (const s of states) {
      if (s.pendingEnd !== undefined) {
        await this.write(t, s, s.pendingEnd);
        written++;
        continue;
      }
      if (active && now - s.periodStart < this.intervalMs) continue;
      const end = Math.max(Math.floor(now / 1000) * 1000, s.periodStart + 1000);
      s.pendingEnd = end;
      await this.save(t, s);
      await this.write(t, s, end);
      written++;
      if (!active) await this.meta.deleteDoc(KIND, t.accountId, this.id(t, s.region));
    }
    return written;
  }

  private async write(t: TrailDoc, s: ChainState, end: number): Promise<void> {
    const key = await this.keys.current(s.region, end);
    const objectKey = digestKey(t, t.accountId, s.region, end);
    const times = s.files.flatMap((f) => [f.oldestEventTime, f.newestEventTime]);
    const body = JSON.stringify({
      awsAccountId: t.accountId,
      digestStartTime: digestTime(s.periodStart),
      digestEndTime: digestTime(end),
      digestS3Bucket: t.S3BucketName,
      digestS3Object: objectKey,
      digestPublicKeyFingerprint: key.fingerprint,
      digestSignatureAlgorithm: 'SHA256withRSA',
      newestEventTime: times.length ? digestTime(Math.max(...times)) : null,
      oldestEventTime: times.length ? digestTime(Math.min(...times)) : null,
      previousDigestS3Bucket: s.previous?.bucket ?? null,
      previousDigestS3Object: s.previous?.key ?? null,
      previousDigestHashValue: s.previous?.hash ?? null,
      previousDigestHashAlgorithm: s.previous ? 'SHA-256' : null,
      previousDigestSignature: s.previous?.signature ?? null,
      logFiles: s.files.map((f) => ({
        s3Bucket: f.s3Bucket,
        s3Object: f.s3Object,
        hashValue: f.hashValue,
        hashAlgorithm: 'SHA-256',
        newestEventTime: digestTime(f.newestEventTime),
        oldestEventTime: digestTime(f.oldestEventTime),
      })),
    });
    const hash = createHash('sha256').update(body).digest('hex');
    const signature = sign('sha256', Buffer.from(signingString(digestTime(end), t.S3BucketName, objectKey, hash, s.previous?.signature ?? null), 'utf8'), key.privateKeyPem).toString('hex');
    await this.store.putObject(t.S3BucketName, objectKey, await gzipLogFile(body), {
      contentType: 'application/json',
      userMetadata: { signature, 'signature-algorithm': 'SHA256withRSA' },
    });
    failpoint('digest-after-put'); // crash test: the digest is written, the chain state is not
    const next: ChainState = {
      trailArn: s.trailArn,
      region: s.region,
      periodStart: end,
      files: [],
      previous: { bucket: t.S3BucketName, key: objectKey, hash, signature },
    };
    await this.save(t, next);
  }
}
