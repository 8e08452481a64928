/** The event log and its history index, in SQLite. */
import type Database from 'better-sqlite3';
import { IDEMPOTENCY_WINDOW_MS, type Appended, type EventLog, type LogEntrySummary, type HistoryCountQuery, type HistoryQuery, type HistoryPage, type HistoryPageEncoder, type HistoryRow, type IndexedEvent, type LogEntry, type BucketCount, type CommitSync } from '../interfaces.js';
import { openSqlite, statementCache } from './open.js';
import { ROWS_AS_JSON } from './rows-as-json.js';
import { FORGET_IDS_SLICE, startLogWorker, type LogWorkerHandle } from './log-worker.js';
import { HISTORY_SCHEMA, HistoryIndex, attachHistory, dropOldHistory, upgradeHistory } from './history-index.js';
import { EncodedEvents } from './encoded-events.js';
import { readIntoMemory, type MemoryReader, type ReadIntoMemory } from './read-into-memory.js';
import { historyCounter, historyPager, historyReader, startHistoryReader, type HistoryReaderHandle } from './history-reader.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  category TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  event_source TEXT NOT NULL,
  username TEXT,
  access_key_id TEXT,
  read_only INTEGER,
  resources TEXT,
  json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (reader TEXT PRIMARY KEY, seq INTEGER NOT NULL, state TEXT);
CREATE TABLE IF NOT EXISTS reader_jobs (reader TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (reader, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ingest_ids (
  account_id TEXT NOT NULL,
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ingest_ids_at ON ingest_ids (at_ms);
${HISTORY_SCHEMA}
`;

/** Data folders written before the history index moved out of the events table. */
function assertCurrentSchema(db: Database.Database): void {
  const cols = db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[];
  if (cols.length > 0 && !cols.some((c) => c.name === 'resources')) {
    throw new Error('This data folder was written by an older opentrail (event log without the resources column); move it aside or delete it to start fresh.');
  }
}

/**
 * Page size of a new log file. Its writer writes each commit's pages to the WAL one `pwrite` a
 * page, and the checkpoints copy them again one a page: with 16 KiB pages, committing
 * bench:ingest's events (16 batches of 100 a transaction, measured alone) cost 6.2–6.3 µs of CPU
 * an event against 8.4–8.6 with SQLite's default 4 KiB, system time 1.2–1.5 against 2.4–2.8.
 * Lookups read few rows from the log (their pages' entries are kept encoded, see EncodedEvents),
 * so the larger page a row costs them little.
 */
const LOG_PAGE_SIZE = 16_384;

/** The log's columns a reader decides on (readFrom adds the record's JSON after them). */
const SUMMARY_COLUMNS = 'seq, account_id, region, category, event_source, event_name, read_only, time_ms';
type SummaryRow = [seq: number, accountId: string, region: string, category: string, eventSource: string, eventName: string, readOnly: number | null, timeMs: number];

function summaryOf([seq, accountId, region, category, eventSource, eventName, ro, timeMs]: SummaryRow | [...SummaryRow, Buffer]): LogEntrySummary {
  return { seq, accountId, region, category, eventSource, eventName, readOnly: ro === null ? null : ro === 1, timeMs };
}

/** Unindexed events a purge indexes first, on the request thread (see purge). */
const PURGE_BACKLOG = 2000;

/** Unindexed events the log indexes while it opens or closes (more are left to the maintenance thread). */
const SHORT_BACKLOG = 50_000;

export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly stmt: (sql: string) => Database.Statement;
  private readonly worker: LogWorkerHandle;
  private readonly history: HistoryIndex;
  private readonly reader: HistoryReaderHandle;
  private readonly warmer: MemoryReader;
  private readonly readHistory: (q: HistoryQuery) => HistoryRow[];
  private readonly countHistoryHere: (q: HistoryCountQuery) => BucketCount[];
  private readonly pageHere: (q: HistoryQuery) => HistoryPage;

  /**
   * `indexIntervalMs`: how often the maintenance thread indexes what the log has taken in;
   * `pageEncoder`: how lookupPage encodes its pages (the rows as JSON unless given);
   * `encodedCacheMiB`: how much encoded text of events lookups keep for later pages (default 256 MiB:
   *   with 64, bench:lookup's AccessKeyId pages — 997 keys of 52 entries, ~78 MB — never stayed,
   *   and read the log afresh at ~1.8 ms a lookup on the reader thread; the reader's GC pauses
   *   stayed ≤ 14 ms with 256);
   * `readerThreads`: threads that read pages (default 1; see startHistoryReader), sharing that cache;
   * `readIntoMemory`: read the log and its index into memory for lookups as it opens (see
   *   readIntoMemory; the server asks for it, a log opened only to write or load into does not).
   */
  constructor(file: string, opts: { indexIntervalMs?: number; pageEncoder?: HistoryPageEncoder; encodedCacheMiB?: number; readerThreads?: number; readIntoMemory?: boolean; commitSync?: CommitSync } = {}) {
    this.db = openSqlite(file, { pageSize: LOG_PAGE_SIZE });
    assertCurrentSchema(this.db);
    dropOldHistory(this.db);
    attachHistory(this.db, file);
    this.stmt = statementCache(this.db);
    upgradeHistory(this.db);
    this.db.exec(SCHEMA);
    // Checkpoints (and history indexing) run on a worker thread; commits here only append to the WAL.
    this.db.pragma('wal_autocheckpoint = 0');
    this.history = new HistoryIndex(this.db, (sql) => this.stmt(sql));
    this.history.buildMinutes();
    this.indexIfShort();
    this.worker = startLogWorker(file, opts.indexIntervalMs, opts.commitSync);
    this.readHistory = historyReader(this.db, this.stmt, this.history);
    this.countHistoryHere = historyCounter(this.db, this.history);
    const encoder = opts.pageEncoder ?? ROWS_AS_JSON;
    // Bytes as V8 keeps the entries' text (see EncodedEvents), not counting each entry's few dozen of bookkeeping.
    const cacheBytes = Math.round((opts.encodedCacheMiB ?? 256) * 2 ** 20);
    // This connection serves pages only when the reader thread has gone: it keeps nothing.
    this.pageHere = historyPager(this.db, this.stmt, this.history, encoder.encodeEvent, new EncodedEvents(0));
    this.reader = startHistoryReader(file, encoder, cacheBytes, opts.readerThreads);
    this.warmer = opts.readIntoMemory ? readIntoMemory(file) : { done: Promise.resolve({ skipped: 'not asked to' }), stop: async () => undefined };
  }

  /** Settles once the log and its index have been read into memory for lookups (see readIntoMemory). */
  get readIntoMemory(): Promise<ReadIntoMemory> {
    return this.warmer.done;
  }

  /**
   * Index what the log holds beyond the index, here and now, when that is little (the usual
   * case at open and close). A long backlog — a data folder whose index is being rebuilt, say —
   * is left to the maintenance thread, so the server starts at once; lookups read the unindexed
   * part from the log meanwhile, and /health's indexLag shows the progress.
   */
  private indexIfShort(most = SHORT_BACKLOG): void {
    if (this.history.pending() <= most) this.history.indexAll();
  }

  onCommitTime(listener: (seconds: number) => void): void {
    this.worker.onCommitTime(listener);
  }

  /** Committed on the log's worker thread, so the fsync never blocks this one. */
  async append(events: IndexedEvent[]): Promise<Appended[]> {
    return this.worker.append(events);
  }

  /** A history read on the reader thread; on this connection if that thread has gone. */
  private async onReader<T>(there: () => Promise<T>, here: () => T): Promise<T> {
    if (this.reader.alive) {
      try {
        return await there();
      } catch (e) {
        if (this.reader.alive) throw e;
      }
    }
    return here();
  }

  async lookup(q: HistoryQuery): Promise<HistoryRow[]> {
    return this.onReader(() => this.reader.lookup(q), () => this.readHistory(q));
  }

  /**
   * LookupEvents entries served so far: encoded entries kept from earlier pages, and rows read;
   * and the pages written into a buffer made for them rather than one given back.
   */
  readonly pageEntries = { cached: 0, read: 0, newBuffers: 0 };

  async lookupPage(q: HistoryQuery): Promise<HistoryPage> {
    const page = await this.onReader(() => this.reader.page(q), () => this.pageHere(q));
    this.pageEntries.cached += page.cached ?? 0;
    this.pageEntries.read += page.read ?? 0;
    if (page.newBuffer) this.pageEntries.newBuffers++;
    return page;
  }

  /** A histogram over a million events is a long range scan: off this thread too. */
  async countHistory(q: HistoryCountQuery): Promise<BucketCount[]> {
    return this.onReader(() => this.reader.count(q), () => this.countHistoryHere(q));
  }

  async readFrom(afterSeq: number, limit: number): Promise<LogEntry[]> {
    const rows = this.stmt(`SELECT ${SUMMARY_COLUMNS}, CAST(json AS BLOB) FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
      .raw(true)
      .all(afterSeq, limit) as [...SummaryRow, Buffer][];
    return rows.map((r) => {
      const e = summaryOf(r) as LogEntry;
      e.json = r[8];
      return e;
    });
  }

  async readSummariesFrom(afterSeq: number, limit: number): Promise<LogEntrySummary[]> {
    const rows = this.stmt(`SELECT ${SUMMARY_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true).all(afterSeq, limit) as SummaryRow[];
    return rows.map(summaryOf);
  }

  async recordsJson(seqs: readonly number[]): Promise<Buffer> {
    if (seqs.length === 0) return Buffer.alloc(0);
    const first = seqs[0]!;
    const last = seqs[seqs.length - 1]!;
    // Seqs without a gap (a trail taking every event of its only account and region, say) are a
    // range of the table, scanned in seq order; others are listed, and looked up one by one from
    // the list, which SQLite keeps sorted. In seq order either way (the test of recordsJson checks
    // it), so not with group_concat's own ORDER BY: SQLite then sorts every row's text in a
    // temporary B-tree first, 250 ms for a file of 20,000 records against 19 (a range) or 43 (a list).
    const [joined] = (
      last - first + 1 === seqs.length
        ? this.stmt(`SELECT CAST(group_concat(json, ',') AS BLOB) FROM events WHERE seq >= ? AND seq <= ?`).raw(true).get(first, last)
        : this.stmt(`SELECT CAST(group_concat(json, ',') AS BLOB) FROM events WHERE seq IN (SELECT value FROM json_each(?))`).raw(true).get(JSON.stringify(seqs))
    ) as [Buffer | null];
    return joined ?? Buffer.alloc(0);
  }

  async getReaderState(reader: string): Promise<{ seq: number; state: string | null }> {
    const row = this.stmt('SELECT seq, state FROM checkpoints WHERE reader = ?').get(reader) as { seq: number; state: string | null } | undefined;
    return row ?? { seq: 0, state: null };
  }

  /** Written on the log's writer thread, like commits. */
  async setReaderState(reader: string, seq: number, state: string | null): Promise<void> {
    await this.worker.setReader(reader, seq, state);
  }

  async deleteReader(reader: string): Promise<void> {
    await this.worker.setReader(reader, null, null);
  }

  /** Written on the log's writer thread, like commits (one transaction, fsynced with them). */
  async saveReaderJobs(reader: string, change: { seq?: number; put?: { key: string; doc: string }[]; delete?: string[] }): Promise<void> {
    await this.worker.saveJobs(reader, change);
  }

  async readerJobs(reader: string): Promise<{ key: string; doc: string }[]> {
    return this.stmt('SELECT key, doc FROM reader_jobs WHERE reader = ? ORDER BY key').all(reader) as { key: string; doc: string }[];
  }

  async indexLag(): Promise<number> {
    return this.history.pending();
  }

  async lastSeq(): Promise<number> {
    return (this.stmt('SELECT coalesce(max(seq), 0) AS s FROM events').get() as { s: number }).s;
  }

  async purge(beforeMs: number): Promise<number> {
    // Idempotency ids are remembered for a day, whatever the history's retention. The writer
    // thread forgets them a slice at a time, between its commits (see FORGET_IDS_SLICE).
    const cutoff = Date.now() - IDEMPOTENCY_WINDOW_MS;
    while ((await this.worker.forgetIds(cutoff)) === FORGET_IDS_SLICE) {
      // next slice
    }
    // Expired events are found through the index; any still behind it are purged next time. Only
    // a short backlog is indexed here first: this is the request thread, and under heavy ingest
    // the index is often tens of thousands of events behind (~8 µs an event to index: 50,000
    // would hold every request for ~0.4 s, each hour). Those are the newest events anyway.
    this.indexIfShort(PURGE_BACKLOG);
    // In slices, so a large purge never blocks ingest for long. Each slice is two transactions,
    // one per file: the index's entries go, and the events' seqs are noted as to be deleted (in
    // the index's file, with them); then the log's rows go, and the note with them. A crash
    // between the two leaves the note, and the next purge finishes it first. Both take the write
    // locks up front, waiting their turn: a deferred transaction would fail when a commit came
    // between its read and its write.
    const take = this.db.transaction((): number => this.history.takeExpired(beforeMs, 5000).length);
    // The newest row stays, even expired (its index entries go, so no lookup shows it): SQLite
    // numbers a new row one past the largest left, and a log emptied by a purge would number its
    // next events from 1 again, below every reader's checkpoint and the index's mark — they would
    // never be delivered, matched or found.
    const remove = this.db.transaction((seqs: number[]) =>
      this.stmt('DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?)) AND seq < (SELECT max(seq) FROM events)').run(JSON.stringify(seqs)),
    );
    /** Events taken out of the history (their rows deleted, but for the newest row of the log). */
    const finish = (): number => {
      const seqs = this.history.toDelete();
      if (seqs.length === 0) return 0;
      remove.immediate(seqs);
      this.history.deleted();
      return seqs.length;
    };
    let total = finish();
    for (;;) {
      if (take.immediate() === 0) break;
      total += finish();
      await new Promise((r) => setImmediate(r));
      if (!this.db.open) return total;
    }
    // The reader thread's encoded entries of purged events would never be asked for again; they
    // go now rather than wait to be pushed out.
    if (total > 0 && this.reader.alive) await this.reader.forgetEncoded().catch(() => undefined);
    return total;
  }

  async count(): Promise<number> {
    return (this.stmt('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.db.open) {
      await this.warmer.stop();
      await this.reader.stop();
      await this.worker.stop();
      this.indexIfShort();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
