/**
 * LookupEvents reads on their own thread and connection. Finding a page in
 * the index and reading its fifty records out of SQLite is most of a
 * lookup's cost, and better-sqlite3 is synchronous: on the main thread it
 * would serialise every lookup behind the HTTP, signature and encoding work
 * of every other request. Here it runs beside that work, on the other core.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { BucketCount, HistoryCountQuery, HistoryPage, HistoryPageEncoder, HistoryQuery, HistoryRow } from '../interfaces.js';
import { threadStall } from '../../failpoints.js';
import { HistoryIndex, attachHistory } from './history-index.js';
import { statementCache } from './open.js';
import { EncodedEvents, type EncodedEvent } from './encoded-events.js';

/** seq, json, event_id, event_name, event_source, username, access_key_id, read_only, resources */
type Row = [number, string, string, string, string, string | null, string | null, number | null, string | null];

/** Rows by log position, read by the positions (in one statement); rows purged meanwhile are absent. */
function rowsAt(stmt: (sql: string) => Database.Statement, seqs: readonly number[]): Map<number, Row> {
  const rows = new Map<number, Row>();
  if (seqs.length === 0) return rows;
  const select = stmt(
    `SELECT seq, json, event_id, event_name, event_source, username, access_key_id, read_only, resources FROM events WHERE seq IN (${seqs.map(() => '?').join(',')})`,
  );
  // Rows as arrays: fifty records a page, and objects per row cost more than the columns.
  for (const r of select.raw(true).all(...seqs) as Row[]) rows.set(r[0], r);
  return rows;
}

function historyRow(h: { seq: number; timeMs: number }, r: Row): HistoryRow {
  const [, json, eventId, eventName, eventSource, username, accessKeyId, readOnly, resources] = r;
  return {
    seq: h.seq,
    timeMs: h.timeMs,
    json,
    eventId,
    eventName,
    eventSource,
    username,
    accessKeyId,
    readOnly: readOnly === null ? null : readOnly === 1,
    resources: resources ? (JSON.parse(resources) as [string | null, string][]).map(([type, name]) => ({ type, name })) : [],
  };
}

/**
 * Find a page of events and read their records, in one snapshot of each file: the index's is
 * taken first (find() reads how far it goes before anything else), so the log's, taken after it,
 * holds every event the index names.
 */
export function historyReader(db: Database.Database, stmt: (sql: string) => Database.Statement, index: HistoryIndex): (q: HistoryQuery) => HistoryRow[] {
  return db.transaction((q: HistoryQuery): HistoryRow[] => {
    const hits = index.find(q);
    const rows = rowsAt(
      stmt,
      hits.map((h) => h.seq),
    );
    const out: HistoryRow[] = [];
    for (const h of hits) {
      const r = rows.get(h.seq);
      if (r) out.push(historyRow(h, r));
    }
    return out;
  });
}

/**
 * A page of `q.limit` events, encoded, in one snapshot (as historyReader): one more is found to
 * learn whether the page has a next. Entries encoded before come from `cache`; only the others
 * are read from the log (and kept).
 */
export function historyPager(
  db: Database.Database,
  stmt: (sql: string) => Database.Statement,
  index: HistoryIndex,
  encodeEvent: (row: HistoryRow) => string,
  cache: EncodedEvents,
): (q: HistoryQuery) => HistoryPage {
  return db.transaction((q: HistoryQuery): HistoryPage => {
    // The caller's own record may have committed before this read (see HistoryQuery.exclude):
    // one more is found in case it is there, and it is left out.
    const own = q.exclude;
    const hits = index.find({ ...q, limit: q.limit + (own === undefined ? 1 : 2) });
    const entries: (EncodedEvent | undefined)[] = new Array(hits.length);
    const missing: number[] = [];
    for (let i = 0; i < hits.length; i++) {
      const h = hits[i]!;
      const e = cache.get(h.seq, h.timeMs);
      if (e) entries[i] = e;
      else missing.push(h.seq);
    }
    if (missing.length > 0) {
      const rows = rowsAt(stmt, missing);
      for (let i = 0; i < hits.length; i++) {
        if (entries[i]) continue;
        const h = hits[i]!;
        const r = rows.get(h.seq);
        if (!r) continue;
        const e: EncodedEvent = { timeMs: h.timeMs, eventId: r[2], text: encodeEvent(historyRow(h, r)) };
        cache.set(h.seq, e);
        entries[i] = e;
      }
    }
    const shown: string[] = [];
    let last: { timeMs: number; seq: number } | undefined;
    let more = false;
    for (let i = 0; i < hits.length; i++) {
      const e = entries[i];
      if (!e || e.eventId === own) continue;
      if (shown.length === q.limit) {
        more = true;
        break;
      }
      shown.push(e.text);
      last = hits[i]!;
    }
    return { events: `[${shown.join(',')}]`, ...(more && last ? { next: { timeMs: last.timeMs, seq: last.seq } } : {}), read: missing.length, cached: hits.length - missing.length };
  });
}

/** Per-bucket counts, in one snapshot. */
export function historyCounter(db: Database.Database, index: HistoryIndex): (q: HistoryCountQuery) => BucketCount[] {
  return db.transaction((q: HistoryCountQuery) => index.count(q));
}


export interface HistoryReaderHandle {
  lookup(q: HistoryQuery): Promise<HistoryRow[]>;
  page(q: HistoryQuery): Promise<HistoryPage>;
  count(q: HistoryCountQuery): Promise<BucketCount[]>;
  /** Drop the encoded entries the thread keeps (after a purge: they would not be asked for again). */
  forgetEncoded(): Promise<void>;
  /** False once the thread has gone (the caller then reads on its own connection). */
  readonly alive: boolean;
  stop(): Promise<void>;
}

type Reply = { id: number; rows?: HistoryRow[]; page?: HistoryPage; counts?: BucketCount[]; error?: string };
type Request = { id: number; q: HistoryQuery } | { id: number; p: HistoryQuery } | { id: number; c: HistoryCountQuery } | { id: number; forget: true };

/** `cacheBytes`: most bytes of encoded entries the thread keeps (see EncodedEvents). */
export function startHistoryReader(file: string, encoder: HistoryPageEncoder, cacheBytes: number): HistoryReaderHandle {
  // A roomier young generation: each page allocates ~100 KB of strings, and scavenging a small
  // one every few lookups showed as latency spikes.
  const worker = new Worker(new URL(import.meta.url), { workerData: { historyReaderFile: file, pageEncoder: encoder.module, cacheBytes }, resourceLimits: { maxYoungGenerationSizeMb: 48 } });
  worker.unref();
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let alive = true;
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  worker.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.error === undefined) p.resolve(m);
    else p.reject(new Error(m.error ?? 'the history lookup failed'));
  });
  worker.on('exit', () => {
    alive = false;
    for (const p of pending.values()) p.reject(new Error('the history reader stopped'));
    pending.clear();
  });
  const ask = (m: Request): Promise<Reply> => {
    if (!alive) return Promise.reject(new Error('the history reader stopped'));
    return new Promise((resolve, reject) => {
      pending.set(m.id, { resolve, reject });
      worker.ref();
      worker.postMessage(m);
    });
  };
  return {
    get alive() {
      return alive;
    },
    async lookup(q: HistoryQuery): Promise<HistoryRow[]> {
      return (await ask({ id: nextId++, q })).rows ?? [];
    },
    async page(p: HistoryQuery): Promise<HistoryPage> {
      const r = await ask({ id: nextId++, p });
      if (!r.page) throw new Error('the history reader sent no page');
      return r.page;
    },
    async count(c: HistoryCountQuery): Promise<BucketCount[]> {
      return (await ask({ id: nextId++, c })).counts ?? [];
    },
    async forgetEncoded(): Promise<void> {
      await ask({ id: nextId++, forget: true });
    },
    async stop(): Promise<void> {
      if (alive) {
        worker.ref(); // keep the process alive until the thread has closed its connection
        worker.postMessage('stop');
      }
      await exited;
    },
  };
}

if (!isMainThread && parentPort && (workerData as { historyReaderFile?: string } | null)?.historyReaderFile) {
  const { historyReaderFile: file, pageEncoder, cacheBytes } = workerData as { historyReaderFile: string; pageEncoder: string; cacheBytes: number };
  // Messages wait on the port until its listener is attached below.
  const { encodeEvent } = (await import(pageEncoder)) as Pick<HistoryPageEncoder, 'encodeEvent'>;
  const db = new Database(file, { readonly: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  attachHistory(db, file);
  const stmt = statementCache(db);
  const index = new HistoryIndex(db, stmt);
  const read = historyReader(db, stmt, index);
  const counter = historyCounter(db, index);
  const cache = new EncodedEvents(cacheBytes);
  const pager = historyPager(db, stmt, index, encodeEvent, cache);
  const answer = (m: Request): Reply => {
    if ('p' in m) {
      threadStall('history-page-slow', 50); // test: the lookup's own record commits first
      return { id: m.id, page: pager(m.p) };
    }
    if ('q' in m) return { id: m.id, rows: read(m.q) };
    if ('c' in m) return { id: m.id, counts: counter(m.c) };
    cache.clear(); // forget
    return { id: m.id };
  };
  parentPort.on('message', (m: 'stop' | Request) => {
    if (m === 'stop') {
      db.close();
      process.exit(0);
    }
    try {
      parentPort!.postMessage(answer(m));
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies Reply);
    }
  });
}
