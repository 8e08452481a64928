/**
 * The LookupEvents history index, built behind the log in sorted batches.
 *
 * It lives in a database file of its own (`<log>.history.db`, attached to
 * every connection as `hx`), built on a thread of its own: SQLite lets one
 * writer into a file at a time, and in the log's file every index batch held
 * the commits of new events up. Its tables have names of their own, so the
 * statements below name them unqualified.
 *
 * Maintaining ten B-tree indexes on every commit made each commit rewrite
 * thousands of scattered index pages, and ingest slowed from 10k to 4k
 * events/s as the log grew. Instead the log's rows carry their keys as plain
 * columns, and this index is one WITHOUT ROWID table of chunks of
 * (time, seq) entries by key (scope, kind, value) (see history-chunks.ts),
 * filled every few hundred milliseconds from the rows not yet indexed, a
 * batch gathered and sorted first so it touches each index page once.
 * Lookups read the index and scan the small unindexed tail of the log, so a
 * committed event is visible at once.
 */
import type Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { BucketCount, HistoryCountQuery, HistoryQuery, LookupKey } from '../interfaces.js';
import { CHUNK_SPAN_MS, cutChunks, forEachEntry, sortNewestFirst, type Chunk, type KeyEntries } from './history-chunks.js';

export const HISTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS hx.scopes (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  category TEXT NOT NULL,
  UNIQUE (account_id, region, category)
);
CREATE TABLE IF NOT EXISTS hx.hist (
  scope INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  value TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  n INTEGER NOT NULL,
  older BLOB,
  PRIMARY KEY (scope, kind, value, time_ms, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hx.log_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hx.purge_pending (seq INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS hx.hist_minutes (
  scope INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  value TEXT NOT NULL,
  minute INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (scope, kind, value, minute)
) WITHOUT ROWID;
`;

/** The tables of the index as data folders before the index had its own file kept them. */
const OLD_TABLES = ['hist', 'hist_minutes', 'log_meta', 'scopes'];

/**
 * Page size of a new history index file. When the index took ~8 entries an event, a row each,
 * in sorted batches, its B-tree split and rewrote a quarter as many pages per entry with 16 KiB
 * pages, and indexing cost 10.4 µs an event against 12.1–12.5 with SQLite's default 4 KiB
 * (300,000 events of a bench:ingest log, alone); a chunk of 400 entries (~3.2 KB) also fits a
 * 16 KiB page whole. New logs have 16 KiB pages too (see LOG_PAGE_SIZE).
 */
const HISTORY_PAGE_SIZE = 16_384;

/** The history index's file beside the log's. */
export function historyFile(logFile: string): string {
  return `${logFile.replace(/\.db$/, '')}.history.db`;
}

/**
 * Attach the history index's file to a connection on the log as `hx`. `durable: false` (for the
 * thread that builds the index) commits without an fsync: the index is derived from the log and
 * a batch lost with the machine is indexed again, while the log's own commits stay fsynced.
 */
export function attachHistory(db: Database.Database, logFile: string, opts: { durable?: boolean } = {}): void {
  const file = historyFile(logFile);
  db.prepare('ATTACH DATABASE ? AS hx').run(file);
  db.pragma('hx.cache_size = -65536');
  if (db.readonly) return;
  chmodSync(file, 0o600);
  // Before the file's first table (a file that has pages keeps its size): see HISTORY_PAGE_SIZE.
  db.pragma(`hx.page_size = ${HISTORY_PAGE_SIZE}`);
  db.pragma('hx.journal_mode = WAL');
  db.pragma(`hx.synchronous = ${opts.durable === false ? 'NORMAL' : 'FULL'}`);
}

/**
 * A data folder from before the index had its own file keeps it in the log's: drop it there (it
 * is derived from the log, and is built again in its own file when the log opens).
 */
export function dropOldHistory(db: Database.Database): void {
  const old = db.prepare(`SELECT name FROM main.sqlite_master WHERE type = 'table' AND name IN (${OLD_TABLES.map(() => '?').join(',')})`).all(...OLD_TABLES) as { name: string }[];
  if (old.length === 0) return;
  db.transaction(() => {
    for (const { name } of old) db.exec(`DROP TABLE main.${name}`);
  })();
}

/**
 * An index file from before the entries were kept in chunks (a row an entry, with no `older`
 * column) has its entries and minute counts dropped, to be built again from the log: the index
 * is derived from it. (The scopes stay, and so do the seqs of a purge cut short.) Call before
 * HISTORY_SCHEMA's statements run.
 */
export function upgradeHistory(db: Database.Database): void {
  const cols = db.prepare("SELECT name FROM pragma_table_info('hist', 'hx')").all() as { name: string }[];
  if (cols.length === 0 || cols.some((c) => c.name === 'older')) return;
  db.transaction(() => {
    db.exec('DROP TABLE hx.hist; DROP TABLE IF EXISTS hx.hist_minutes');
    db.exec("DELETE FROM hx.log_meta WHERE name IN ('indexed_seq', 'minutes_built')");
  })();
}

/**
 * Events per minute for the two entry kinds a histogram over many events asks for (every event,
 * ReadOnly), kept with the index: CountEvents sums minutes instead of scanning a million entries.
 */
const MINUTE_KINDS = [0, 5];
const MINUTE = 60_000;

/** Per-minute counts of kinds 0 and 5 for the log's events `where` selects (on `e`), as SQL rows. */
function minutesOf(where: string): string {
  return `
    SELECT s.id AS scope, 0 AS kind, '' AS value, e.time_ms / ${MINUTE} AS minute, count(*) AS n
    FROM events e JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category
    WHERE ${where} GROUP BY 1, 4
    UNION ALL
    SELECT s.id, 5, CASE e.read_only WHEN 1 THEN 'true' ELSE 'false' END, e.time_ms / ${MINUTE}, count(*)
    FROM events e JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category
    WHERE ${where} AND e.read_only IS NOT NULL GROUP BY 1, 3, 4`;
}

/**
 * The log's columns an event's index entries are made of (but its EventId's: see EVENT_ID_ENTRIES
 * for indexing, and the `event_id` a purge reads after them), with its scope's three columns as
 * one text (see scopeKey).
 */
const KEY_COLUMNS = 'seq, account_id || char(10) || region || char(10) || category, time_ms, event_name, event_source, username, access_key_id, read_only, resources';
type KeyRow = [seq: number, scopeKey: string, timeMs: number, eventName: string, eventSource: string, username: string | null, accessKeyId: string | null, readOnly: number | null, resources: string | null];

/** A scope's three columns as one text, as KEY_COLUMNS gives them. */
function scopeKey(account: string, region: string, category: string): string {
  return `${account}\n${region}\n${category}`;
}

/** Entry kinds: 0 is every event (no attribute); the rest are LookupEvents attributes. */
export const KIND: Record<LookupKey | 'Time', number> = {
  Time: 0,
  EventName: 1,
  EventSource: 2,
  Username: 3,
  AccessKeyId: 4,
  ReadOnly: 5,
  EventId: 6,
  ResourceType: 7,
  ResourceName: 8,
};

/** Most entries a LookupEvents page finds: 50 shown, one to learn of a next, one the caller's own. */
const PAGE_CAP = 52;

/** The LIMIT written into a find statement for `limit` (a whole number, checked: it becomes SQL text). */
function limitCap(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`invalid history limit ${limit}`);
  return limit <= PAGE_CAP ? PAGE_CAP : limit;
}

/** Where the unindexed tail filters each attribute (resources are a JSON column there). */
const TAIL_FILTER: Record<LookupKey, string> = {
  EventName: 'event_name = ?',
  EventSource: 'event_source = ?',
  Username: 'username = ?',
  AccessKeyId: 'access_key_id = ?',
  ReadOnly: 'read_only = ?',
  EventId: 'event_id = ?',
  ResourceType: "EXISTS (SELECT 1 FROM json_each(events.resources) j WHERE json_extract(j.value, '$[0]') = ?)",
  ResourceName: "EXISTS (SELECT 1 FROM json_each(events.resources) j WHERE json_extract(j.value, '$[1]') = ?)",
};

/** The unindexed tail's condition on an attribute (none without one), as SQL with its parameters. */
function tailFilter(key: LookupKey | undefined, value: string): { filter: string; filterParams: (string | number)[] } {
  if (key === undefined) return { filter: '', filterParams: [] };
  return { filter: ` AND ${TAIL_FILTER[key]}`, filterParams: [key === 'ReadOnly' ? (value === 'true' ? 1 : 0) : value] };
}

/** The EventId entries of the log's events in a range of seqs (`?` and `?`), each a chunk of one. */
const EVENT_ID_ENTRIES = `
  INSERT OR IGNORE INTO hist (scope, kind, value, time_ms, seq, n, older)
  SELECT s.id, 6, e.event_id, e.time_ms, e.seq, 1, NULL FROM events e JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category
  WHERE e.seq > ? AND e.seq <= ? ORDER BY 1, 3, 4, 5`;

/** Gather an event's entries (of the scope given), its EventId's aside. */
function keysOf(r: KeyRow | [...KeyRow, string], scope: number, g: Gathered): void {
  const t = r[2];
  const seq = r[0];
  g.add(scope, 0, '', t, seq);
  g.add(scope, 1, r[3], t, seq);
  g.add(scope, 2, r[4], t, seq);
  if (r[5] !== null) g.add(scope, 3, r[5], t, seq);
  if (r[6] !== null) g.add(scope, 4, r[6], t, seq);
  if (r[7] !== null) g.add(scope, 5, r[7] === 1 ? 'true' : 'false', t, seq);
  if (r[8] !== null) {
    for (const [type, name] of JSON.parse(r[8]) as [string | null, string | null][]) {
      if (type !== null) g.add(scope, 7, type, t, seq);
      if (name !== null) g.add(scope, 8, name, t, seq);
    }
  }
}

/** A batch's entries grouped by key: per scope, per kind, by value. */
class Gathered {
  readonly keys: KeyEntries[] = [];
  private readonly byScope = new Map<number, Map<string, KeyEntries>[]>();

  add(scope: number, kind: number, value: string, timeMs: number, seq: number): void {
    let kinds = this.byScope.get(scope);
    if (kinds === undefined) this.byScope.set(scope, (kinds = []));
    const values = (kinds[kind] ??= new Map());
    let e = values.get(value);
    if (e === undefined) {
      values.set(value, (e = { scope, kind, value, times: [], seqs: [] }));
      this.keys.push(e);
    } else if (e.seqs[e.seqs.length - 1] === seq) return; // the same event, twice under one key
    e.times.push(timeMs);
    e.seqs.push(seq);
  }
}

/**
 * Used from three connections, each with the index's file attached: the main thread (purge,
 * indexing at open and close, lookups when the reader thread has gone), the reader thread
 * (lookups) and the maintenance thread (indexing as events arrive). All state is read from the
 * database, so they always agree. An indexing batch is a deferred transaction: BEGIN IMMEDIATE
 * would take the write lock of every attached file, the log's included, and hold its commits up.
 */
export class HistoryIndex {
  private readonly batch: (limit: number) => number;

  constructor(
    private readonly db: Database.Database,
    private readonly stmt: (sql: string) => Database.Statement,
  ) {
    // A batch's entries are gathered and chunked here, in JS, and only the chunks go to SQLite
    // (EventIds, one an event, still go in a row each, straight from SQL). Made and sorted
    // inside SQLite a row an entry (nine an event), the index was a third of the server's CPU
    // under bench:ingest; in chunks, 60 s runs sustained 7–10% more (BENCHMARKS.md, 2026-12-01).
    const maxSeq = this.stmt('SELECT coalesce(max(seq), 0) AS s FROM events');
    const save = this.stmt("INSERT INTO log_meta (name, value) VALUES ('indexed_seq', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    const minutes = this.stmt(
      `INSERT INTO hist_minutes (scope, kind, value, minute, n) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, kind, value, minute) DO UPDATE SET n = n + excluded.n`,
    );
    this.batch = this.db.transaction((limit: number): number => {
      const from = this.indexed;
      const last = (maxSeq.get() as { s: number }).s;
      const hi = Math.min(last, from + limit);
      if (hi <= from) return 0;
      const rows = this.stmt(`SELECT ${KEY_COLUMNS} FROM events WHERE seq > ? AND seq <= ?`).raw(true).all(from, hi) as KeyRow[];
      const g = new Gathered();
      for (const r of rows) keysOf(r, this.ensureScope(r[1]), g);
      // EventIds, one an event (a chunk of one each), go in straight from the log, sorted there.
      this.stmt(EVENT_ID_ENTRIES).run(from, hi);
      // In the index's order, so consecutive chunks land on the same pages.
      g.keys.sort((a, b) => a.scope - b.scope || a.kind - b.kind || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
      for (const k of g.keys) {
        sortNewestFirst(k);
        this.putChunks(k);
        if (MINUTE_KINDS.includes(k.kind)) {
          const perMinute = new Map<number, number>();
          for (const t of k.times) {
            const m = Math.floor(t / MINUTE);
            perMinute.set(m, (perMinute.get(m) ?? 0) + 1);
          }
          for (const [m, n] of perMinute) minutes.run(k.scope, k.kind, k.value, m, n);
        }
      }
      save.run(hi);
      return hi - from;
    });
  }

  /** Write a key's entries (sorted newest first) as chunks. */
  private putChunks(k: KeyEntries): void {
    const insert = this.stmt('INSERT OR IGNORE INTO hist (scope, kind, value, time_ms, seq, n, older) VALUES (?, ?, ?, ?, ?, ?, ?)');
    cutChunks(k.times, k.seqs, (c) => insert.run(k.scope, k.kind, k.value, c.timeMs, c.seq, c.n, c.older));
  }

  /**
   * The chunks of a key whose newest entry is within [lo, hi], newest first (`descending`) or
   * oldest first. Iterated: a caller that has enough stops reading.
   */
  private chunks(scope: number, kind: number, value: string, lo: number, hi: number, descending = true): IterableIterator<Chunk> {
    const order = descending ? 'DESC' : 'ASC';
    const rows = this.stmt(
      `SELECT time_ms, seq, n, older FROM hist WHERE scope = ? AND kind = ? AND value = ? AND time_ms >= ? AND time_ms <= ? ORDER BY time_ms ${order}, seq ${order}`,
    )
      .raw(true)
      .iterate(scope, kind, value, lo, hi) as IterableIterator<[number, number, number, Buffer | null]>;
    return (function* () {
      for (const r of rows) yield { timeMs: r[0], seq: r[1], n: r[2], older: r[3] };
    })();
  }

  /** Scope ids found (a scope keeps its id for good; one not there yet is asked for again). */
  private readonly scopes = new Map<string, number>();

  private scopeId(account: string, region: string, category: string): number | undefined {
    const k = scopeKey(account, region, category);
    let id = this.scopes.get(k);
    if (id === undefined) {
      id = (this.stmt('SELECT id FROM scopes WHERE account_id = ? AND region = ? AND category = ?').get(account, region, category) as { id: number } | undefined)?.id;
      if (id !== undefined) this.scopes.set(k, id);
    }
    return id;
  }

  /** A scope's id, made if it is new (in an indexing transaction); `key` is its three columns, a newline between. */
  private ensureScope(key: string): number {
    const id = this.scopes.get(key);
    if (id !== undefined) return id;
    const [account, region, category] = key.split('\n') as [string, string, string];
    this.stmt('INSERT OR IGNORE INTO scopes (account_id, region, category) VALUES (?, ?, ?)').run(account, region, category);
    return this.scopeId(account, region, category)!;
  }

  private scopeIds(): number[] {
    return (this.stmt('SELECT id FROM scopes ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  }

  /** Index up to `limit` pending rows; returns how many were indexed. */
  indexSome(limit = 20_000): number {
    try {
      return this.batch(limit);
    } catch (e) {
      // A scope made in the failed transaction is gone with it: its id is asked for again.
      this.scopes.clear();
      throw e;
    }
  }

  indexAll(): void {
    while (this.indexSome() > 0) {
      // keep going
    }
  }

  /** Committed events not yet indexed. */
  pending(): number {
    return Math.max(0, (this.stmt('SELECT coalesce(max(seq), 0) AS s FROM events').get() as { s: number }).s - this.indexed);
  }

  /** The newest log position the index covers. */
  get indexed(): number {
    return (this.stmt("SELECT value FROM log_meta WHERE name = 'indexed_seq'").get() as { value: number } | undefined)?.value ?? 0;
  }

  /**
   * Matching (seq, time) pairs, newest first: from the index and from the unindexed tail. Call it
   * inside a read transaction, so index and tail are one snapshot (an event never seen twice or missed).
   */
  find(q: HistoryQuery): { seq: number; timeMs: number }[] {
    const indexedSeq = this.indexed;
    const key = q.attribute?.key;
    const value = key === undefined ? '' : q.attribute!.value;
    let out: { seq: number; timeMs: number }[] = [];
    const keyset = q.before ? ' AND (time_ms < ? OR (time_ms = ? AND seq < ?))' : '';
    // The limit is written into the statement, not bound: SQLite plans LIMIT with the value bound
    // and so prepares such a statement again at every call (~15 µs, twice a lookup). Pages take at
    // most PAGE_CAP entries; a larger limit gets a statement of its own.
    const cap = limitCap(q.limit);
    const keysetParams = q.before ? [q.before.timeMs, q.before.timeMs, q.before.seq] : [];
    const scope = this.scopeId(q.accountId, q.region, q.category);
    const newer = (a: { seq: number; timeMs: number }, b: { seq: number; timeMs: number }): number => b.timeMs - a.timeMs || b.seq - a.seq;
    if (scope !== undefined && q.limit > 0) {
      const b = q.before;
      const top = Math.min(q.endMs, b ? b.timeMs : q.endMs);
      // Chunks newest first; once `limit` entries are found that are all newer than a chunk's
      // newest, neither it nor any after it can change the answer.
      for (const c of this.chunks(scope, KIND[key ?? 'Time'], value, q.startMs, top + CHUNK_SPAN_MS)) {
        if (out.length >= q.limit) {
          const last = out[q.limit - 1]!;
          if (last.timeMs > c.timeMs || (last.timeMs === c.timeMs && last.seq > c.seq)) break;
        }
        const before = out.length;
        // A chunk's entries are newest first: past `limit` taken from it, the rest cannot be in the answer.
        forEachEntry(c, (timeMs, seq) => {
          if (timeMs < q.startMs || timeMs > q.endMs) return;
          if (b && !(timeMs < b.timeMs || (timeMs === b.timeMs && seq < b.seq))) return;
          out.push({ seq, timeMs });
          return out.length - before < q.limit;
        });
        // Chunks seldom overlap in time: most add only entries older than those found before.
        if (out.length > before && before > 0) {
          const last = out[before - 1]!;
          const first = out[before]!;
          if (first.timeMs > last.timeMs || (first.timeMs === last.timeMs && first.seq > last.seq)) out.sort(newer);
        }
        if (out.length > q.limit) out = out.slice(0, q.limit);
      }
    }
    const { filter, filterParams } = tailFilter(key, value);
    const tail = this.stmt(
      `SELECT seq, time_ms FROM events
       WHERE seq > ? AND account_id = ? AND region = ? AND category = ? AND time_ms >= ? AND time_ms <= ?${filter}${keyset}
       ORDER BY time_ms DESC, seq DESC LIMIT ${cap}`,
    )
      .raw(true)
      .all(indexedSeq, q.accountId, q.region, q.category, q.startMs, q.endMs, ...filterParams, ...keysetParams) as [number, number][];
    if (tail.length === 0) return out;
    for (const r of tail) out.push({ seq: r[0], timeMs: r[1] });
    out.sort(newer);
    return out.slice(0, q.limit);
  }

  /**
   * Fill the per-minute counts from the events already indexed, once (a data folder made before
   * they existed). Call on the writing connection.
   */
  buildMinutes(): void {
    if (this.stmt("SELECT 1 FROM log_meta WHERE name = 'minutes_built'").get()) return;
    this.db.transaction(() => {
      this.stmt('DELETE FROM hist_minutes').run();
      this.stmt(`INSERT INTO hist_minutes (scope, kind, value, minute, n) ${minutesOf('e.seq <= ?')}`).run(this.indexed, this.indexed);
      this.stmt("INSERT INTO log_meta (name, value) VALUES ('minutes_built', 1)").run();
    })();
  }

  /**
   * Matching events per bucket. Every event and ReadOnly sum the per-minute counts for whole
   * minutes inside one bucket, and count the rest (the range's ragged ends, minutes a bucket
   * boundary cuts) exactly from the index; other attributes count the index's entries in the
   * range. The unindexed tail is counted from the log. Call it inside a read transaction, like find().
   */
  count(q: HistoryCountQuery): BucketCount[] {
    const indexedSeq = this.indexed;
    const key = q.attribute?.key;
    const value = key === undefined ? '' : q.attribute!.value;
    const kind = KIND[key ?? 'Time'];
    const counts = new Map<number, number>();
    const addTo = (b: number, n: number): void => {
      counts.set(b, (counts.get(b) ?? 0) + n);
    };
    const scope = this.scopeId(q.accountId, q.region, q.category);
    if (scope !== undefined) {
      const scan = (from: number, to: number): void => {
        if (from > to) return;
        for (const c of this.chunks(scope, kind, value, from, to + CHUNK_SPAN_MS)) {
          forEachEntry(c, (timeMs) => {
            if (timeMs >= from && timeMs <= to) addTo(Math.trunc((timeMs - q.startMs) / q.bucketMs), 1);
          });
        }
      };
      if (!MINUTE_KINDS.includes(kind)) scan(q.startMs, q.endMs);
      else {
        const first = Math.ceil(q.startMs / MINUTE);
        const last = Math.floor((q.endMs + 1) / MINUTE) - 1;
        if (first > last) scan(q.startMs, q.endMs);
        else {
          scan(q.startMs, first * MINUTE - 1);
          scan((last + 1) * MINUTE, q.endMs);
          const rows = this.stmt('SELECT minute, n FROM hist_minutes WHERE scope = ? AND kind = ? AND value = ? AND minute >= ? AND minute <= ?').all(scope, kind, value, first, last) as {
            minute: number;
            n: number;
          }[];
          for (const r of rows) {
            const lo = r.minute * MINUTE;
            const b = Math.floor((lo - q.startMs) / q.bucketMs);
            if (Math.floor((lo + MINUTE - 1 - q.startMs) / q.bucketMs) === b) addTo(b, r.n);
            else scan(lo, lo + MINUTE - 1);
          }
        }
      }
    }
    const { filter, filterParams } = tailFilter(key, value);
    const tail = this.stmt(
      `SELECT CAST((time_ms - ?) / ? AS INTEGER) AS b, count(*) AS n FROM events
       WHERE seq > ? AND account_id = ? AND region = ? AND category = ? AND time_ms >= ? AND time_ms <= ?${filter} GROUP BY b`,
    ).all(q.startMs, q.bucketMs, indexedSeq, q.accountId, q.region, q.category, q.startMs, q.endMs, ...filterParams) as { b: number; n: number }[];
    for (const r of tail) addTo(r.b, r.n);
    return [...counts].sort((a, b) => a[0] - b[0]).map(([b, count]) => ({ startMs: q.startMs + b * q.bucketMs, count }));
  }

  /** Events whose index entries are gone and whose rows are still to be deleted (see takeExpired). */
  toDelete(): number[] {
    return (this.stmt('SELECT seq FROM purge_pending ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
  }

  /** The events toDelete() named are deleted. */
  deleted(): void {
    this.stmt('DELETE FROM purge_pending').run();
  }

  /**
   * The seqs of some events older than `beforeMs` (about `limit`, the oldest chunks first), with
   * all their index entries removed and their seqs noted for toDelete(): the caller deletes
   * those events next (they live in the other file). Each of their keys' chunks that may hold
   * them is read and written again without them, so a purge costs what it removes, not the
   * size of the index.
   */
  takeExpired(beforeMs: number, limit: number): number[] {
    /** The expired events found, by seq, with their scope and time. */
    const taken = new Map<number, { scope: number; timeMs: number }>();
    for (const scope of this.scopeIds()) {
      for (const c of this.chunks(scope, 0, '', -Infinity, beforeMs - 1 + CHUNK_SPAN_MS, false)) {
        forEachEntry(c, (timeMs, seq) => {
          if (timeMs < beforeMs) taken.set(seq, { scope, timeMs });
        });
        if (taken.size >= limit) break;
      }
      if (taken.size >= limit) break;
    }
    if (taken.size === 0) return [];
    const seqs = [...taken.keys()].sort((a, b) => a - b);
    const list = JSON.stringify(seqs);
    // Every key of theirs, with the span of their times under it, from their rows in the log. An
    // event whose row were gone still leaves its every-event entry, found in the index itself.
    const g = new Gathered();
    const rows = this.stmt(`SELECT ${KEY_COLUMNS}, event_id FROM events WHERE seq IN (SELECT value FROM json_each(?))`).raw(true).all(list) as [...KeyRow, string][];
    const read = new Set<number>();
    for (const r of rows) {
      const t = taken.get(r[0])!;
      keysOf(r, t.scope, g);
      g.add(t.scope, KIND.EventId, r[9], t.timeMs, r[0]);
      read.add(r[0]);
    }
    for (const [seq, t] of taken) if (!read.has(seq)) g.add(t.scope, KIND.Time, '', t.timeMs, seq);
    const drop = this.stmt('DELETE FROM hist WHERE scope = ? AND kind = ? AND value = ? AND time_ms = ? AND seq = ?');
    for (const k of g.keys) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const t of k.times) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
      const rewrite: Chunk[] = [];
      for (const c of this.chunks(k.scope, k.kind, k.value, lo, hi + CHUNK_SPAN_MS)) {
        let hit = false;
        forEachEntry(c, (_t, seq) => {
          if (taken.has(seq)) return !(hit = true);
        });
        if (hit) rewrite.push(c);
      }
      for (const c of rewrite) {
        drop.run(k.scope, k.kind, k.value, c.timeMs, c.seq);
        const left: KeyEntries = { scope: k.scope, kind: k.kind, value: k.value, times: [], seqs: [] };
        forEachEntry(c, (timeMs, seq) => {
          if (!taken.has(seq)) {
            left.times.push(timeMs);
            left.seqs.push(seq);
          }
        });
        this.putChunks(left);
      }
    }
    // Take the purged events out of their minutes' counts before their rows go.
    this.stmt(
      `UPDATE hist_minutes SET n = hist_minutes.n - m.n FROM (${minutesOf('e.seq IN (SELECT value FROM json_each(?))')}) AS m
       WHERE hist_minutes.scope = m.scope AND hist_minutes.kind = m.kind AND hist_minutes.value = m.value AND hist_minutes.minute = m.minute`,
    ).run(list, list);
    this.stmt('DELETE FROM hist_minutes WHERE n <= 0').run();
    this.stmt('INSERT OR IGNORE INTO purge_pending (seq) SELECT value FROM json_each(?)').run(list);
    return seqs;
  }
}
