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
 * columns, and this index is one WITHOUT ROWID table of
 * (scope, kind, value, time, seq) entries, filled every hundred
 * milliseconds from the rows not yet indexed, sorted first so each batch
 * touches each index page once. Lookups read the index and scan the small
 * unindexed tail of the log, so a committed event is visible at once.
 */
import type Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { BucketCount, HistoryCountQuery, HistoryQuery, LookupKey } from '../interfaces.js';

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
 * Page size of a new history index file. The index takes ~8 entries an event in sorted batches;
 * with 16 KiB pages its B-tree splits and rewrites a quarter as many pages per entry, and
 * indexing cost 10.4 µs an event against 12.1–12.5 with SQLite's default 4 KiB (300,000 events
 * of a bench:ingest log, alone). New logs have 16 KiB pages too (see LOG_PAGE_SIZE).
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
 * Events per minute for the two entry kinds a histogram over many events asks for (every event,
 * ReadOnly), kept with the index: CountEvents sums minutes instead of scanning a million entries.
 */
const MINUTE_KINDS = [0, 5];
const MINUTE = 60_000;

/**
 * Per-minute counts of kinds 0 and 5 for the events `where` selects (on `e`), as SQL rows. `from`:
 * where those events are read (the log, or a batch's copy of their keys: see BATCH_TABLE).
 */
function minutesOf(where: string, from = 'events'): string {
  return `
    SELECT s.id AS scope, 0 AS kind, '' AS value, e.time_ms / ${MINUTE} AS minute, count(*) AS n
    FROM ${from} e JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category
    WHERE ${where} GROUP BY 1, 4
    UNION ALL
    SELECT s.id, 5, CASE e.read_only WHEN 1 THEN 'true' ELSE 'false' END, e.time_ms / ${MINUTE}, count(*)
    FROM ${from} e JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category
    WHERE ${where} AND e.read_only IS NOT NULL GROUP BY 1, 3, 4`;
}

/**
 * A batch's events, their keys only, copied out of the log once: the log's rows carry each
 * event's whole text, and the scopes, the entries and the per-minute counts each read them again
 * (four passes over ~1.2 KB rows, mostly fetched from the log's WAL by pread, for ~100 bytes of
 * keys). A temporary table of this connection's own, in memory.
 */
const BATCH_TABLE = 'temp.hx_batch';
/** The batch's events with their scopes' ids, as kindEntries reads them. */
const SCOPED_TABLE = 'temp.hx_scoped';
const KEY_COLUMNS = 'seq, account_id, region, category, time_ms, event_id, event_name, event_source, username, access_key_id, read_only, resources';

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

/**
 * Each kind's entries of the events in `t` (a relation with their scope and key columns), a
 * SELECT of (scope, kind, value, time_ms, seq) each.
 */
function kindEntries(t: string): string[] {
  return [
    `SELECT scope, 0 AS kind, '' AS value, time_ms, seq FROM ${t}`,
    `SELECT scope, 1, event_name, time_ms, seq FROM ${t}`,
    `SELECT scope, 2, event_source, time_ms, seq FROM ${t}`,
    `SELECT scope, 3, username, time_ms, seq FROM ${t} WHERE username IS NOT NULL`,
    `SELECT scope, 4, access_key_id, time_ms, seq FROM ${t} WHERE access_key_id IS NOT NULL`,
    `SELECT scope, 5, CASE read_only WHEN 1 THEN 'true' ELSE 'false' END, time_ms, seq FROM ${t} WHERE read_only IS NOT NULL`,
    `SELECT scope, 6, event_id, time_ms, seq FROM ${t}`,
    `SELECT t.scope, 7, json_extract(j.value, '$[0]'), t.time_ms, t.seq FROM ${t} t, json_each(t.resources) j
      WHERE t.resources IS NOT NULL AND json_extract(j.value, '$[0]') IS NOT NULL`,
    `SELECT t.scope, 8, json_extract(j.value, '$[1]'), t.time_ms, t.seq FROM ${t} t, json_each(t.resources) j
      WHERE t.resources IS NOT NULL`,
  ];
}

/** The columns kindEntries reads, the scope's id first, of the events `e` joined with their scopes `s`. */
const SCOPED_COLUMNS = 's.id AS scope, e.seq, e.time_ms, e.event_id, e.event_name, e.event_source, e.username, e.access_key_id, e.read_only, e.resources';
const SCOPE_JOIN = 'JOIN scopes s ON s.account_id = e.account_id AND s.region = e.region AND s.category = e.category';

/** The index entries of the log's events `where` selects (a condition on `e`), as SQL. */
function entriesOf(where: string): string {
  return `
    WITH t AS MATERIALIZED (SELECT ${SCOPED_COLUMNS} FROM events e ${SCOPE_JOIN} WHERE ${where})
    SELECT scope, kind, value, time_ms, seq FROM (${kindEntries('t').join('\n UNION ALL ')})`;
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
    // Entries are generated and sorted inside SQLite: a JS loop of nine inserts per event cost
    // more than the log itself. One statement per kind, each sorting its own entries: SQLite's
    // sort of a batch's entries cost as much as putting them into the B-tree, and nine sorts of
    // a ninth cost ~15% less than one of all (fewer comparisons, of entries of one kind).
    // Prepared at the first batch: they name the batch's tables, made then (the reader thread's
    // connection, which never indexes, makes none).
    let copy: Database.Statement, scoped: Database.Statement, clear: Database.Statement[], addScopes: Database.Statement, entries: Database.Statement[], minutes: Database.Statement;
    const prepare = (): void => {
      this.db.pragma('temp_store = MEMORY');
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${BATCH_TABLE} AS SELECT ${KEY_COLUMNS} FROM events WHERE false`);
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${SCOPED_TABLE} AS SELECT ${SCOPED_COLUMNS} FROM events e ${SCOPE_JOIN} WHERE false`);
      copy = this.stmt(`INSERT INTO ${BATCH_TABLE} SELECT ${KEY_COLUMNS} FROM events WHERE seq > ? AND seq <= ?`);
      addScopes = this.stmt(`INSERT OR IGNORE INTO scopes (account_id, region, category) SELECT DISTINCT account_id, region, category FROM ${BATCH_TABLE}`);
      scoped = this.stmt(`INSERT INTO ${SCOPED_TABLE} SELECT ${SCOPED_COLUMNS} FROM ${BATCH_TABLE} e ${SCOPE_JOIN}`);
      entries = kindEntries(SCOPED_TABLE).map((sql) => this.stmt(`INSERT OR IGNORE INTO hist (scope, kind, value, time_ms, seq) ${sql} ORDER BY 1, 3, 4, 5`));
      minutes = this.stmt(
        `INSERT INTO hist_minutes (scope, kind, value, minute, n) SELECT * FROM (${minutesOf('true', BATCH_TABLE)}) WHERE true
         ON CONFLICT (scope, kind, value, minute) DO UPDATE SET n = n + excluded.n`,
      );
      clear = [this.stmt(`DELETE FROM ${BATCH_TABLE}`), this.stmt(`DELETE FROM ${SCOPED_TABLE}`)];
    };
    const maxSeq = this.stmt('SELECT coalesce(max(seq), 0) AS s FROM events');
    const save = this.stmt("INSERT INTO log_meta (name, value) VALUES ('indexed_seq', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    this.batch = this.db.transaction((limit: number): number => {
      const from = this.indexed;
      const last = (maxSeq.get() as { s: number }).s;
      const hi = Math.min(last, from + limit);
      if (hi <= from) return 0;
      if (copy === undefined) prepare();
      copy.run(from, hi);
      try {
        addScopes.run();
        scoped.run();
        for (const e of entries) e.run();
        minutes.run();
      } finally {
        for (const c of clear) c.run();
      }
      save.run(hi);
      return hi - from;
    });
  }

  /** Scope ids found (a scope keeps its id for good; one not there yet is asked for again). */
  private readonly scopes = new Map<string, number>();

  private scopeId(account: string, region: string, category: string): number | undefined {
    const k = `${account}\n${region}\n${category}`;
    let id = this.scopes.get(k);
    if (id === undefined) {
      id = (this.stmt('SELECT id FROM scopes WHERE account_id = ? AND region = ? AND category = ?').get(account, region, category) as { id: number } | undefined)?.id;
      if (id !== undefined) this.scopes.set(k, id);
    }
    return id;
  }

  private scopeIds(): number[] {
    return (this.stmt('SELECT id FROM scopes ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  }

  /** Index up to `limit` pending rows; returns how many were indexed. */
  indexSome(limit = 20_000): number {
    return this.batch(limit);
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
    const out: { seq: number; timeMs: number }[] = [];
    const keyset = q.before ? ' AND (time_ms < ? OR (time_ms = ? AND seq < ?))' : '';
    // The limit is written into the statement, not bound: SQLite plans LIMIT with the value bound
    // and so prepares such a statement again at every call (~15 µs, twice a lookup). Pages take at
    // most PAGE_CAP entries; a larger limit gets a statement of its own.
    const cap = limitCap(q.limit);
    const keysetParams = q.before ? [q.before.timeMs, q.before.timeMs, q.before.seq] : [];
    const scope = this.scopeId(q.accountId, q.region, q.category);
    // Rows as arrays (cheaper than the objects better-sqlite3 would make), turned into pairs here.
    if (scope !== undefined) {
      const rows = this.stmt(
        `SELECT seq, time_ms FROM hist WHERE scope = ? AND kind = ? AND value = ? AND time_ms >= ? AND time_ms <= ?${keyset}
         ORDER BY time_ms DESC, seq DESC LIMIT ${cap}`,
      )
        .raw(true)
        .all(scope, KIND[key ?? 'Time'], value, q.startMs, q.endMs, ...keysetParams) as [number, number][];
      for (const r of rows) out.push({ seq: r[0], timeMs: r[1] });
    }
    const filter = key === undefined ? '' : ` AND ${TAIL_FILTER[key]}`;
    const filterParams = key === undefined ? [] : [key === 'ReadOnly' ? (value === 'true' ? 1 : 0) : value];
    const tail = this.stmt(
      `SELECT seq, time_ms FROM events
       WHERE seq > ? AND account_id = ? AND region = ? AND category = ? AND time_ms >= ? AND time_ms <= ?${filter}${keyset}
       ORDER BY time_ms DESC, seq DESC LIMIT ${cap}`,
    )
      .raw(true)
      .all(indexedSeq, q.accountId, q.region, q.category, q.startMs, q.endMs, ...filterParams, ...keysetParams) as [number, number][];
    if (tail.length === 0) return out.length > q.limit ? out.slice(0, q.limit) : out;
    for (const r of tail) out.push({ seq: r[0], timeMs: r[1] });
    out.sort((a, b) => b.timeMs - a.timeMs || b.seq - a.seq);
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
   * boundary cuts) exactly from the index; other attributes scan the index range, grouped. The
   * unindexed tail is counted from the log. Call it inside a read transaction, like find().
   */
  count(q: HistoryCountQuery): BucketCount[] {
    const indexedSeq = this.indexed;
    const key = q.attribute?.key;
    const value = key === undefined ? '' : q.attribute!.value;
    const kind = KIND[key ?? 'Time'];
    const counts = new Map<number, number>();
    const add = (rows: { b: number; n: number }[]): void => {
      for (const r of rows) counts.set(r.b, (counts.get(r.b) ?? 0) + r.n);
    };
    const scope = this.scopeId(q.accountId, q.region, q.category);
    if (scope !== undefined) {
      const exact = this.stmt(
        `SELECT CAST((time_ms - ?) / ? AS INTEGER) AS b, count(*) AS n FROM hist
         WHERE scope = ? AND kind = ? AND value = ? AND time_ms >= ? AND time_ms <= ? GROUP BY b`,
      );
      const scan = (from: number, to: number): void => {
        if (from <= to) add(exact.all(q.startMs, q.bucketMs, scope, kind, value, from, to) as { b: number; n: number }[]);
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
            if (Math.floor((lo + MINUTE - 1 - q.startMs) / q.bucketMs) === b) add([{ b, n: r.n }]);
            else scan(lo, lo + MINUTE - 1);
          }
        }
      }
    }
    const filter = key === undefined ? '' : ` AND ${TAIL_FILTER[key]}`;
    const filterParams = key === undefined ? [] : [key === 'ReadOnly' ? (value === 'true' ? 1 : 0) : value];
    add(
      this.stmt(
        `SELECT CAST((time_ms - ?) / ? AS INTEGER) AS b, count(*) AS n FROM events
         WHERE seq > ? AND account_id = ? AND region = ? AND category = ? AND time_ms >= ? AND time_ms <= ?${filter} GROUP BY b`,
      ).all(q.startMs, q.bucketMs, indexedSeq, q.accountId, q.region, q.category, q.startMs, q.endMs, ...filterParams) as { b: number; n: number }[],
    );
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
   * The seqs of up to `limit` events older than `beforeMs`, oldest first, with all their index
   * entries removed and their seqs noted for toDelete(): the caller deletes those events next
   * (they live in the other file). Each entry is removed by its key, so a purge costs what it
   * removes, not the size of the index.
   */
  takeExpired(beforeMs: number, limit: number): number[] {
    const seqs: number[] = [];
    for (const scope of this.scopeIds()) {
      const rows = this.stmt("SELECT seq FROM hist WHERE scope = ? AND kind = 0 AND value = '' AND time_ms < ? ORDER BY time_ms LIMIT ?").all(scope, beforeMs, limit - seqs.length) as { seq: number }[];
      for (const r of rows) seqs.push(r.seq);
      if (seqs.length >= limit) break;
    }
    if (seqs.length > 0) {
      const list = JSON.stringify(seqs);
      // Take the purged events out of their minutes' counts before their rows go.
      this.stmt(
        `UPDATE hist_minutes SET n = hist_minutes.n - m.n FROM (${minutesOf('e.seq IN (SELECT value FROM json_each(?))')}) AS m
         WHERE hist_minutes.scope = m.scope AND hist_minutes.kind = m.kind AND hist_minutes.value = m.value AND hist_minutes.minute = m.minute`,
      ).run(list, list);
      this.stmt('DELETE FROM hist_minutes WHERE n <= 0').run();
      this.stmt(`DELETE FROM hist WHERE (scope, kind, value, time_ms, seq) IN (${entriesOf('e.seq IN (SELECT value FROM json_each(?))')})`).run(list);
      this.stmt('INSERT OR IGNORE INTO purge_pending (seq) SELECT value FROM json_each(?)').run(list);
    }
    return seqs;
  }
}
