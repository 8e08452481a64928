/**
 * Trail delivery: a reader of the event log per trail. Each batch is first
 * written down as an intent (positions, time, nonce) beside the checkpoint;
 * its files are named and built deterministically from that intent, so a
 * replay after a crash rewrites the same keys with the same bytes. Delivery is
 * at-least-once internally and exactly once in the bucket.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventLog, LogEntrySummary } from '../storage/interfaces.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Trails } from '../domain/trails.js';
import { deliveryReaderName, type TrailDoc, type TrailLogging } from '../domain/trail-model.js';
import type { CloudTrailRecord } from '../domain/record.js';
import { selectsEvent, summaryDecides } from '../domain/selectors.js';
import { trailBucketAccess } from '../domain/bucket-policy.js';
import { failpoint } from '../failpoints.js';
import { ServiceError } from '../protocols/errors.js';
import type { Digests, DigestLogFile } from '../integrity/digests.js';
import { GLOBAL_SERVICE_SOURCES, gzipLogFile, logFileFromJoined, logFileKey, uniquePart } from './log-file.js';

export interface DeliveryOptions {
  /** How often each trail flushes what it has (ms). */
  intervalMs: number;
  /** Most records in one log file. */
  maxRecordsPerFile?: number;
  /** Most log entries read per batch. */
  batchEntries?: number;
  logger?: Logger;
  /** Digest files for trails with log file validation. */
  digests?: Digests;
}

interface Intent {
  from: number;
  to: number;
  at: number;
  nonce: string;
}

export interface DeliveredFile {
  trailArn: string;
  bucket: string;
  key: string;
  records: number;
  /** The log positions the file's batch covers: (fromSeq, toSeq]. */
  fromSeq: number;
  toSeq: number;
}

export type DeliveryListener = (files: DeliveredFile[]) => void;

class DeliveryError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}


/** Entries whose index columns delivery reads at a time (see readForSelection). */
const SUMMARY_PIECE = 10_000;

/** An event a trail delivers: its file's account and region, and where its record is in the log. */
interface Selected {
  account: string;
  region: string;
  seq: number;
  timeMs: number;
}

/** The event log's lower-case category column, as records spell it. */
const CATEGORY: Record<string, string> = { management: 'Management', data: 'Data', insight: 'Insight', networkactivity: 'NetworkActivity' };

function inIntervals(seq: number, l: TrailLogging): boolean {
  return l.intervals.some((i) => seq > i.from && (i.to === undefined || seq <= i.to));
}

export class TrailDelivery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private readonly listeners: DeliveryListener[] = [];
  private readonly maxRecords: number;
  private readonly batchEntries: number;

  constructor(
    private readonly log: EventLog,
    private readonly trails: Trails,
    private readonly store: ObjectStore,
    private readonly opts: DeliveryOptions,
  ) {
    this.maxRecords = opts.maxRecordsPerFile ?? 20_000;
    this.batchEntries = opts.batchEntries ?? 50_000;
  }

  onDelivered(l: DeliveryListener): void {
    this.listeners.push(l);
  }

  start(): void {
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.opts.intervalMs);
      });
    };
    this.timer = setTimeout(loop, this.opts.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Deliver what every logging trail has pending. */
  async tick(): Promise<void> {
    let trails: TrailDoc[];
    try {
      trails = await this.trails.everyTrail();
    } catch (err) {
      this.opts.logger?.error({ err }, 'delivery: cannot list trails');
      return;
    }
    for (const t of trails) {
      if (this.stopped) return;
      const f = this.failures.get(t.TrailARN);
      if (f && Date.now() < f.retryAt) continue;
      try {
        await this.deliverTrail(t);
        if (this.opts.digests) {
          const logging = await this.trails.logging(t);
          try {
            if ((await this.opts.digests.emitDue(t, logging.IsLogging && t.LogFileValidationEnabled)) > 0) {
              const d = await this.trails.delivery(t);
              await this.trails.setDelivery(t, { ...d, LatestDigestDeliveryTime: Date.now(), LatestDigestDeliveryError: undefined });
            }
          } catch (err) {
            const d = await this.trails.delivery(t);
            const code = err instanceof ServiceError ? err.code : (err as { name?: string }).name ?? 'InternalError';
            await this.trails.setDelivery(t, { ...d, LatestDigestDeliveryError: code });
            throw err;
          }
        }
        this.failures.delete(t.TrailARN);
      } catch (err) {
        const count = (f?.count ?? 0) + 1;
        const backoff = Math.min(60_000, 500 * 2 ** Math.min(count, 7));
        this.failures.set(t.TrailARN, { count, retryAt: Date.now() + backoff });
        const code = err instanceof DeliveryError ? err.code : (err as { name?: string }).name ?? 'InternalError';
        this.opts.logger?.warn({ trail: t.TrailARN, code, err: (err as Error).message, retryInMs: backoff }, 'delivery failed; will retry');
        const d = await this.trails.delivery(t);
        await this.trails.setDelivery(t, { ...d, LatestDeliveryError: code, LatestDeliveryAttemptTime: Date.now() });
      }
    }
  }

  private async deliverTrail(t: TrailDoc): Promise<void> {
    const reader = deliveryReaderName(t);
    let { seq, state } = await this.log.getReaderState(reader);
    if (state) {
      // A batch was started and not finished: write it again, identically.
      const intent = JSON.parse(state) as Intent;
      await this.writeIntent(t, intent, await this.trails.logging(t));
      await this.log.setReaderState(reader, intent.to, null);
      seq = intent.to;
    }
    // Pipelined: while batch N's files compress and land, batch N+1 is read and selected.
    // Batch N+1's intent is written only once N is checkpointed, so a crash replays at most one batch.
    let inflight: { intent: Intent; done: Promise<void> } | undefined;
    const finish = async (): Promise<void> => {
      if (!inflight) return;
      const { intent, done } = inflight;
      await done;
      inflight = undefined;
      await this.log.setReaderState(reader, intent.to, null);
    };
    try {
      for (let round = 0; round < 100 && !this.stopped; round++) {
        const logging = await this.trails.logging(t);
        const firstFrom = logging.intervals.length ? Math.min(...logging.intervals.map((i) => i.from)) : undefined;
        if (firstFrom === undefined) break; // never logged: nothing to deliver yet
        const lastTo = logging.IsLogging ? undefined : Math.max(...logging.intervals.map((i) => i.to ?? 0));
        if (lastTo !== undefined && seq >= lastTo) break; // stopped, and everything logged is read
        if (firstFrom > seq) {
          await finish();
          seq = firstFrom;
          await this.log.setReaderState(reader, seq, null);
        }
        const entries = await this.readForSelection(t, seq, this.batchEntries);
        if (entries.length === 0) break;
        const intent: Intent = { from: seq, to: entries[entries.length - 1]!.seq, at: Date.now(), nonce: randomBytes(8).toString('hex') };
        const selected = this.select(t, entries, logging);
        await finish();
        if (selected.length > 0) {
          await this.log.setReaderState(reader, seq, JSON.stringify(intent));
          const done = this.writeFiles(t, intent, selected);
          done.catch(() => undefined); // awaited in finish(); this only keeps it from counting as unhandled meanwhile
          inflight = { intent, done };
        } else {
          await this.log.setReaderState(reader, intent.to, null);
        }
        seq = intent.to;
        if (entries.length < this.batchEntries) break;
      }
    } catch (err) {
      if (inflight) await inflight.done.catch(() => undefined);
      throw err;
    }
    await finish();
  }

  /**
   * The log's entries after `after`, for select: without their records' JSON when the trail's
   * selectors decide every entry on the index columns (the usual case: the JSON is then read
   * once, joined by the database, for each file), with it when they do not.
   */
  private async readForSelection(t: TrailDoc, after: number, limit: number): Promise<(LogEntrySummary & { json?: Buffer })[]> {
    const sel = this.trails.eventSelectorsOf(t);
    // In pieces, with this thread's other work (requests) between them: 50,000 rows at once held
    // it for ~100 ms.
    const entries: LogEntrySummary[] = [];
    for (let from = after; entries.length < limit; ) {
      const piece = await this.log.readSummariesFrom(from, Math.min(SUMMARY_PIECE, limit - entries.length));
      for (const e of piece) entries.push(e);
      if (piece.length < SUMMARY_PIECE) break;
      from = piece[piece.length - 1]!.seq;
      await new Promise((r) => setImmediate(r));
    }
    if (entries.every((e) => summaryDecides(sel, CATEGORY[e.category] ?? e.category))) return entries;
    return this.log.readFrom(after, entries.length);
  }

  private select(t: TrailDoc, entries: (LogEntrySummary & { json?: Buffer })[], logging: TrailLogging): Selected[] {
    const sel = this.trails.eventSelectorsOf(t);
    const out: Selected[] = [];
    for (const e of entries) {
      if (!inIntervals(e.seq, logging)) continue;
      if (e.accountId !== t.accountId) continue;
      const category = CATEGORY[e.category] ?? e.category;
      if (category === 'Insight') continue;
      if (!t.IsMultiRegionTrail && e.region !== t.HomeRegion) continue;
      if (!t.IncludeGlobalServiceEvents && GLOBAL_SERVICE_SOURCES.has(e.eventSource)) continue;
      // Most events are decided on the index columns; only the rest are parsed (readForSelection
      // read their JSON).
      const view = summaryDecides(sel, category)
        ? ({ eventCategory: category, eventSource: e.eventSource, eventName: e.eventName, readOnly: e.readOnly ?? undefined, awsRegion: e.region } as CloudTrailRecord)
        : (JSON.parse(e.json!.toString('utf8')) as CloudTrailRecord);
      if (!selectsEvent(view, sel)) continue;
      out.push({ account: e.accountId, region: e.region, seq: e.seq, timeMs: e.timeMs });
    }
    return out;
  }

  private async writeIntent(t: TrailDoc, intent: Intent, logging: TrailLogging): Promise<void> {
    const entries: (LogEntrySummary & { json?: Buffer })[] = [];
    let after = intent.from;
    while (after < intent.to) {
      const chunk = await this.readForSelection(t, after, this.batchEntries);
      if (chunk.length === 0) break;
      for (const e of chunk) if (e.seq <= intent.to) entries.push(e);
      after = chunk[chunk.length - 1]!.seq;
    }
    const selected = this.select(t, entries, logging);
    if (selected.length > 0) await this.writeFiles(t, intent, selected);
  }

  private async checkBucket(t: TrailDoc): Promise<void> {
    const access = await trailBucketAccess(this.store, t.S3BucketName, t.accountId, t.S3KeyPrefix);
    if (access === 'missing') throw new DeliveryError('NoSuchBucket', `The specified bucket does not exist: ${t.S3BucketName}`);
    if (access === 'denied') throw new DeliveryError('AccessDenied', `The bucket policy of ${t.S3BucketName} does not let CloudTrail write`);
  }

  private async writeFiles(t: TrailDoc, intent: Intent, selected: Selected[]): Promise<void> {
    const attempt = Date.now();
    await this.checkBucket(t);
    const groups = new Map<string, { account: string; region: string; seqs: number[]; times: number[] }>();
    for (const s of selected) {
      const k = `${s.account}/${s.region}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { account: s.account, region: s.region, seqs: [], times: [] }));
      g.seqs.push(s.seq);
      g.times.push(s.timeMs);
    }
    const files: DeliveredFile[] = [];
    const parts: { key: string; region: string; seqs: number[]; times: number[] }[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i * this.maxRecords < g.seqs.length; i++) {
        const key = logFileKey({
          prefix: t.S3KeyPrefix,
          accountId: g.account,
          region: g.region,
          time: new Date(intent.at),
          unique: uniquePart(`${t.TrailARN}|${intent.from}|${intent.nonce}|${g.account}|${g.region}|${i}`),
        });
        parts.push({ key, region: g.region, seqs: g.seqs.slice(i * this.maxRecords, (i + 1) * this.maxRecords), times: g.times.slice(i * this.maxRecords, (i + 1) * this.maxRecords) });
      }
    }
    // Each file's records come from the log in one read, joined there: one buffer a file rather
    // than one an event held across the compression (see BENCHMARKS.md, bench:ingest --trail yes).
    const texts: Buffer[] = [];
    for (const p of parts) texts.push(logFileFromJoined(await this.log.recordsJson(p.seqs)));
    const digests = t.LogFileValidationEnabled ? this.opts.digests : undefined;
    // Compressed and, for the digest files, hashed on libuv's pool, not on this thread (which
    // answers requests): a file of 20,000 records is ~14 MB to hash.
    const [bodies, hashes] = await Promise.all([
      Promise.all(texts.map((text) => gzipLogFile(text))),
      digests ? Promise.all(texts.map(async (text) => Buffer.from(await webcrypto.subtle.digest('SHA-256', text)).toString('hex'))) : Promise.resolve([]),
    ]);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      await this.store.putObject(t.S3BucketName, p.key, bodies[i]!);
      failpoint('delivery-after-put'); // crash test: the file is written, the checkpoint is not
      files.push({ trailArn: t.TrailARN, bucket: t.S3BucketName, key: p.key, records: p.seqs.length, fromSeq: intent.from, toSeq: intent.to });
    }
    if (digests) {
      // Noted before the checkpoint: a replay re-notes the same keys, which the digest state ignores.
      const noted: (DigestLogFile & { region: string })[] = parts.map((p, i) => ({
        region: p.region,
        s3Bucket: t.S3BucketName,
        s3Object: p.key,
        hashValue: hashes[i]!,
        oldestEventTime: Math.min(...p.times),
        newestEventTime: Math.max(...p.times),
      }));
      await digests.recordFiles(t, noted);
    }
    const now = Date.now();
    const d = await this.trails.delivery(t);
    await this.trails.setDelivery(t, {
      ...d,
      LatestDeliveryError: undefined,
      LatestDeliveryAttemptTime: attempt,
      LatestDeliverySucceededTime: now,
      LatestDeliveryTime: now,
    });
    for (const l of this.listeners) l(files);
  }
}
