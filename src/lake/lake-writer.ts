/**
 * Lake ingestion: each event data store is a reader of the event log (its own
 * checkpoint, `lake:<id>`). The events its selectors keep are written as
 * Parquet files (zstd), one per batch and event date, named by the log
 * positions they cover, so a batch replayed after a crash rewrites the same
 * file. In the background, small files of a date are compacted into one,
 * partitions older than the store's retention are dropped, and stores
 * pending deletion for 7 days are removed with their files.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { EventLog } from '../storage/interfaces.js';
import type { CloudTrailRecord } from '../domain/record.js';
import type { ConfigItemRecord } from '../domain/config-items.js';
import { storeKeeps, storeKind, type EventDataStoreDoc, type EventDataStores } from '../domain/event-data-stores.js';
import { lakeTime, TABLES } from './schema.js';
import { fileWritten, forgetFile, knownRows, listFiles, liveFiles, readableFiles, storeDir, type LakeFile } from './lake-files.js';
import type { LakeMirror } from './lake-mirror.js';

const BATCH = 20_000;
/** A date partition with more live files than this has its newest small ones merged (newestRun). */
const COMPACT_AT = 8;
const HOUSEKEEPING_MS = 3600_000;
/** Longest a timed pass waits for running queries. */
const DEFER_MAX_MS = 2000;
/** How often the background looks for a closed day to compact. */
const TIDY_INTERVAL_MS = 60_000;
/** Files a compaction replaced are kept this long for queries already reading them (longer than a query may run). */
const REPLACED_KEEP_MS = 2 * 3600_000;

export const lakeReader = (storeId: string): string => `lake:${storeId}`;

/**
 * The files of an open day to merge: the newest ones back to (not including) the first file
 * bigger than twice all of them together — so a day's big file is rewritten only once the small
 * ones beside it add up to half its size, not at every merge (each byte is rewritten a few times
 * a day, not once per merge). At least the newest two.
 */
export function newestRun(live: LakeFile[]): LakeFile[] {
  const byPosition = [...live].sort((a, b) => a.from - b.from);
  if (byPosition.length < 2) return byPosition;
  let i = byPosition.length - 1;
  let sum = byPosition[i]!.bytes;
  while (i > 0 && byPosition[i - 1]!.bytes <= 2 * sum) sum += byPosition[--i]!.bytes;
  return byPosition.slice(Math.min(i, byPosition.length - 2));
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A partition's files a merge may take: the live ones the writer wrote (imported files stay as they are). */
const mergeable = (dir: string, date: string): LakeFile[] => readableFiles(dir, date).filter((f) => !f.imported);

export class LakeWriter {
  private conn: DuckDBConnection | undefined;
  private instance: DuckDBInstance | undefined;
  private running: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private tidiedAt = 0;

  constructor(
    private readonly log: EventLog,
    private readonly stores: EventDataStores,
    readonly root: string,
    private readonly opts: { intervalMs?: number; logger?: Logger; mirror?: LakeMirror; queriesRunning?: () => boolean; batchEvents?: number } = {},
  ) {}

  /** When the last timed pass ran. */
  private passedAt = 0;

  /**
   * A timed pass: skipped while a query runs (writing Parquet takes both cores for a moment, and
   * an interactive query should not wait behind it), but never for longer than DEFER_MAX_MS.
   */
  private tick(): void {
    if (this.opts.queriesRunning?.() && Date.now() - this.passedAt < DEFER_MAX_MS) return;
    this.passedAt = Date.now();
    void this.pass();
  }

  private async db(): Promise<DuckDBConnection> {
    if (!this.conn) {
      this.instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      this.conn = await this.instance.connect();
    }
    return this.conn;
  }

  start(): void {
    const tick = setInterval(() => this.tick(), this.opts.intervalMs ?? 1000);
    const house = setInterval(() => void this.housekeeping(), HOUSEKEEPING_MS);
    tick.unref();
    house.unref();
    this.timers.push(tick, house);
    void this.housekeeping();
  }

  /** Bring every store up to the end of the log now (resolves when done). */
  async pass(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const stores = await this.stores.all();
        // Stores take turns, a batch each, until none has more: a new store reading the whole log
        // from its start does not hold back the new events of the others.
        for (let more = true; more; ) {
          more = false;
          for (const s of stores) {
            if (this.stopped) return;
            if (await this.ingest(s)) more = true;
          }
        }
        // Then, at most once a minute, tidy one closed day (before today, UTC) of one store:
        // fewer, larger files read faster.
        if (Date.now() - this.tidiedAt >= TIDY_INTERVAL_MS) {
          this.tidiedAt = Date.now();
          const day = this.untidyDays(stores.filter((s) => s.status !== 'PENDING_DELETION'))[0];
          if (day) await this.compact(day.dir, day.date);
        }
        await this.opts.mirror?.syncChanged(stores);
      } catch (err) {
        this.opts.logger?.error({ err }, 'lake: ingestion failed; retrying');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Wait until every store has read the log up to where it ends now. */
  async caughtUp(): Promise<void> {
    const last = await this.log.lastSeq();
    for (;;) {
      await this.pass();
      const states = await Promise.all((await this.stores.all()).filter((s) => s.status !== 'PENDING_DELETION').map((s) => this.log.getReaderState(lakeReader(s.id))));
      if (states.every((st) => st.seq >= last)) return;
    }
  }

  /** One batch of the log into a store; true when the store has more to read. */
  private async ingest(s: EventDataStoreDoc): Promise<boolean> {
    const reader = lakeReader(s.id);
    const { seq } = await this.log.getReaderState(reader);
    if (s.status === 'PENDING_DELETION') return false;
    // AWS Config items come in by import only: no event in the log is one (the ingest API takes
    // no ConfigurationItem records), so a Config item store passes over the log without reading it.
    if (s.status === 'STOPPED_INGESTION' || s.status === 'STOPPING_INGESTION' || storeKind(s) === 'config') {
      // Events while ingestion is stopped are not kept, as in CloudTrail Lake.
      const last = await this.log.lastSeq();
      if (last > seq) await this.log.setReaderState(reader, last, null);
      return false;
    }
    const dir = storeDir(this.root, s.accountId, s.id);
    const table = TABLES[storeKind(s)];
    const batch = this.opts.batchEvents ?? BATCH;
    const entries = await this.log.readFrom(seq, batch);
    if (entries.length === 0 || this.stopped) return false;
    const from = seq;
    const to = entries[entries.length - 1]!.seq;
    const byDate = new Map<string, string[]>();
    for (const e of entries) {
      if (e.accountId !== s.accountId || (!s.multiRegionEnabled && e.region !== s.region)) continue;
      const json = e.json.toString('utf8');
      const record = JSON.parse(json) as CloudTrailRecord;
      if (!storeKeeps(s, record, e.accountId)) continue;
      const time = lakeTime(record.eventTime);
      if (time === null) {
        // Not a time (records written before eventTime was checked): no partition to put it in.
        this.opts.logger?.warn({ store: s.arn, eventID: record.eventID, eventTime: record.eventTime }, 'lake: skipped an event whose eventTime is not a time');
        continue;
      }
      const date = time.slice(0, 10);
      let rows = byDate.get(date);
      if (!rows) byDate.set(date, (rows = []));
      rows.push(JSON.stringify(table.row(record as CloudTrailRecord & Record<string, unknown>, json)));
    }
    for (const [date, rows] of byDate) await this.writeFile(dir, date, `${from}-${to}`, rows, table.readColumns);
    await this.log.setReaderState(reader, to, null);
    return entries.length === batch;
  }

  /**
   * Records imported (StartImport: CloudTrail log files, or AWS Config's files into a Config item
   * store) into a store, as `imp-<tag>.parquet` per date: not from the event log, so outside
   * compaction; a repeated import of the same file rewrites the same files.
   */
  async writeImported(s: EventDataStoreDoc, records: readonly (CloudTrailRecord | ConfigItemRecord)[], tag: string): Promise<number> {
    const table = TABLES[storeKind(s)];
    const byDate = new Map<string, string[]>();
    let n = 0;
    for (const r of records) {
      const time = lakeTime(r.eventTime);
      if (time === null) continue;
      const date = time.slice(0, 10);
      let rows = byDate.get(date);
      if (!rows) byDate.set(date, (rows = []));
      rows.push(JSON.stringify(table.row(r as CloudTrailRecord & Record<string, unknown>, JSON.stringify(r))));
      n++;
    }
    for (const [date, rows] of byDate) await this.writeFile(storeDir(this.root, s.accountId, s.id), date, `imp-${tag}`, rows, table.readColumns);
    return n;
  }

  private async writeFile(dir: string, date: string, name: string, rows: string[], columns: string): Promise<void> {
    const part = join(dir, `eventdate=${date}`);
    mkdirSync(part, { recursive: true });
    const tmpDir = join(this.root, '.tmp');
    mkdirSync(tmpDir, { recursive: true });
    const ndjson = join(tmpDir, `${name}-${date}.ndjson`);
    writeFileSync(ndjson, rows.join('\n'));
    const tmp = join(part, `.${name}.parquet.tmp`);
    const conn = await this.db();
    try {
      await conn.run(
        `COPY (SELECT * FROM read_json(${sqlString(ndjson)}, format = 'newline_delimited', columns = ${columns}) ORDER BY eventtime)
         TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const file = join(part, `${name}.parquet`);
      renameSync(tmp, file);
      fileWritten(file, rows.length);
      this.touched(dir);
    } finally {
      rmSync(ndjson, { force: true });
    }
    const live = mergeable(dir, date);
    if (live.length > COMPACT_AT) await this.compact(dir, date, newestRun(live));
  }

  /** A store's files changed: the bucket copy follows at the end of the pass. */
  private touched(dir: string): void {
    const [accountId, storeId] = relative(this.root, dir).split(sep);
    if (accountId && storeId) this.opts.mirror?.touch(accountId, storeId);
  }

  /** Closed days (before today, UTC) that have more than one file from the log, of these stores. */
  private untidyDays(stores: EventDataStoreDoc[]): { dir: string; date: string }[] {
    const today = new Date().toISOString().slice(0, 10);
    const out: { dir: string; date: string }[] = [];
    for (const s of stores) {
      const dir = storeDir(this.root, s.accountId, s.id);
      const days = new Map<string, number>();
      for (const f of readableFiles(dir)) if (!f.imported && f.date < today) days.set(f.date, (days.get(f.date) ?? 0) + 1);
      for (const [date, n] of days) if (n > 1) out.push({ dir, date });
    }
    return out;
  }

  /** Compact every closed day of every store now (the background does one a minute). */
  async compactAll(): Promise<void> {
    for (const d of this.untidyDays((await this.stores.all()).filter((s) => s.status !== 'PENDING_DELETION'))) await this.compact(d.dir, d.date);
  }

  /** Merge a partition's live files (or `only` these of them, consecutive) into one covering all their positions. */
  async compact(dir: string, date: string, only?: LakeFile[]): Promise<void> {
    const files = only ?? mergeable(dir, date);
    if (files.length < 2) return;
    const from = Math.min(...files.map((f) => f.from));
    const to = Math.max(...files.map((f) => f.to));
    const part = join(dir, `eventdate=${date}`);
    const tmp = join(part, `.${from}-${to}.parquet.tmp`);
    const conn = await this.db();
    await conn.run(`COPY (SELECT * FROM read_parquet([${files.map((f) => sqlString(f.path)).join(', ')}]) ORDER BY eventtime) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    const merged = join(part, `${from}-${to}.parquet`);
    renameSync(tmp, merged);
    const counts = files.map((f) => knownRows(f.path));
    fileWritten(merged, counts.every((n) => n !== undefined) ? counts.reduce((a, b) => a! + b!, 0) : undefined);
    this.touched(dir);
    // The merged file contains these, so new queries skip them; queries running now, or readers
    // of the folder, may still be reading them: housekeeping removes them after two hours.
  }

  /** Drop partitions past each store's retention; remove stores pending deletion for 7 days. */
  async housekeeping(now = Date.now()): Promise<void> {
    try {
      const removed = await this.stores.expirePendingDeletion(now);
      for (const s of removed) {
        rmSync(storeDir(this.root, s.accountId, s.id), { recursive: true, force: true });
        await this.log.deleteReader(lakeReader(s.id));
        this.opts.logger?.info({ store: s.arn }, 'lake: event data store deleted after 7 days pending deletion');
      }
      for (const s of await this.stores.all()) {
        const oldest = new Date(now - s.retentionPeriod * 86_400_000).toISOString().slice(0, 10);
        const dir = storeDir(this.root, s.accountId, s.id);
        const files = listFiles(dir);
        const live = new Set(liveFiles(files));
        for (const f of files) {
          if (!live.has(f) && now - statSync(f.path).mtimeMs > REPLACED_KEEP_MS) {
            rmSync(f.path, { force: true });
            forgetFile(f.path);
          }
        }
        const expired = [...new Set(files.map((f) => f.date))].filter((d) => d < oldest);
        for (const d of expired) rmSync(join(dir, `eventdate=${d}`), { recursive: true, force: true });
        if (expired.length) this.opts.logger?.info({ store: s.arn, partitions: expired.length }, 'lake: dropped partitions past retention');
      }
      // Hourly, the bucket copy is checked against every store (and emptied of removed ones).
      await this.opts.mirror?.syncChanged([...(await this.stores.all()), ...removed], true);
    } catch (err) {
      this.opts.logger?.error({ err }, 'lake: housekeeping failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.running;
    this.conn?.closeSync();
    this.instance?.closeSync();
  }
}
