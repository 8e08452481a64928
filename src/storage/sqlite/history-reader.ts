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
import { threadFailpoint, threadStall } from '../../failpoints.js';
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
  bytes: (n: number) => ArrayBuffer = (n) => new ArrayBuffer(n),
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
    const shown: EncodedEvent[] = [];
    let last: { timeMs: number; seq: number } | undefined;
    let more = false;
    for (let i = 0; i < hits.length; i++) {
      const e = entries[i];
      if (!e || e.eventId === own) continue;
      if (shown.length === q.limit) {
        more = true;
        break;
      }
      shown.push(e);
      last = hits[i]!;
    }
    return { events: pageBytes(shown, bytes), ...(more && last ? { next: { timeMs: last.timeMs, seq: last.seq } } : {}), read: missing.length, cached: hits.length - missing.length };
  });
}

/**
 * A page's entries as a JSON array in UTF-8, written straight into an ArrayBuffer from `bytes`
 * (one of at least the length asked for, that nothing else uses): no joined string is made.
 */
function pageBytes(entries: readonly EncodedEvent[], bytes: (n: number) => ArrayBuffer): Uint8Array {
  let n = 2 + Math.max(0, entries.length - 1);
  for (const e of entries) n += e.utf8 ??= Buffer.byteLength(e.text);
  const out = Buffer.from(bytes(n), 0, n);
  let at = 0;
  out[at++] = 0x5b; // [
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    at += out.write(entries[i]!.text, at, 'utf8');
  }
  out[at++] = 0x5d; // ]
  return new Uint8Array(out.buffer, 0, at);
}

/** Per-bucket counts, in one snapshot. */
export function historyCounter(db: Database.Database, index: HistoryIndex): (q: HistoryCountQuery) => BucketCount[] {
  return db.transaction((q: HistoryCountQuery) => index.count(q));
}


export interface HistoryReaderHandle {
  lookup(q: HistoryQuery): Promise<HistoryRow[]>;
  page(q: HistoryQuery): Promise<HistoryPage>;
  count(q: HistoryCountQuery): Promise<BucketCount[]>;
  /** Drop the encoded entries the threads keep (after a purge: they would not be asked for again). */
  forgetEncoded(): Promise<void>;
  /** False once every thread has gone (the caller then reads on its own connection). */
  readonly alive: boolean;
  stop(): Promise<void>;
}

type Reply = { id: number; rows?: HistoryRow[]; page?: HistoryPage; counts?: BucketCount[]; error?: string };
/** `back`: buffers of pages sent, given back to be written again (see PageBuffers). */
type Request = ({ id: number; q: HistoryQuery } | { id: number; p: HistoryQuery } | { id: number; c: HistoryCountQuery } | { id: number; forget: true }) & { back?: ArrayBuffer[] };

/** One reader thread, the requests it has not answered yet, and the buffers to give back to it. */
interface ReaderThread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>;
  readonly exited: Promise<void>;
  readonly back: ArrayBuffer[];
  alive: boolean;
}

/** Buffers given back to a thread at most, between two requests to it. */
const MAX_BACK = 64;

/**
 * The ArrayBuffers a reader thread writes pages into. A page's buffer moves to the request thread
 * (no copy), and comes back with a later request once the answer has been sent: the request
 * thread then makes no ~75 KB allocation per lookup. (Each new buffer there counts as memory
 * outside V8's heap, and V8 ran a full collection every ~150 lookups to keep up with them; a
 * page sent as a string was created in the old generation, with full collections every ~1,000.)
 */
export class PageBuffers {
  private readonly free: ArrayBuffer[] = [];
  private held = 0;
  /** Buffers made so far (the others were given back). */
  made = 0;

  /** `maxBytes`: most bytes kept; `minBytes`: the least a new buffer has (a page is ~75 KB). */
  constructor(
    private readonly maxBytes = 16 * 2 ** 20,
    private readonly minBytes = 128 * 2 ** 10,
  ) {}

  /** A buffer of at least `n` bytes, nothing else's. */
  take(n: number): ArrayBuffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.byteLength < n) continue;
      this.free[i] = this.free[this.free.length - 1]!;
      this.free.pop();
      this.held -= b.byteLength;
      return b;
    }
    this.made++;
    return new ArrayBuffer(Math.max(n, this.minBytes));
  }

  give(b: ArrayBuffer): void {
    if (b.byteLength === 0 || this.held + b.byteLength > this.maxBytes) return;
    this.free.push(b);
    this.held += b.byteLength;
  }
}

const STOPPED = 'the history reader stopped';

function startThread(file: string, encoder: HistoryPageEncoder, cacheBytes: number): ReaderThread {
  // The young generation's size sets how long each scavenge holds every lookup up. Each one copies
  // what survives since the last, and here that is mostly the entries the cache (EncodedEvents)
  // kept meanwhile; a page also allocates ~100 KB that dies at once. At 48 MiB a scavenge came
  // every ~150 ms and took p50 7.9, p90 22.3, up to 39.6 ms (bench:lookup Username, 32,000
  // lookups, `--trace-gc`); at 12 MiB three times as many came, p50 3.5, p90 6.2, up to 15.2 ms,
  // for the same total (1,039 ms against 1,008).
  const worker = new Worker(new URL(import.meta.url), { workerData: { historyReaderFile: file, pageEncoder: encoder.module, cacheBytes }, resourceLimits: { maxYoungGenerationSizeMb: 12 } });
  worker.unref();
  worker.on('error', () => undefined);
  const t: ReaderThread = { worker, pending: new Map(), exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())), back: [], alive: true };
  worker.on('message', (m: Reply) => {
    const p = t.pending.get(m.id);
    if (!p) return;
    if (m.page) m.page.release = giveBack(t, m.page.events.buffer as ArrayBuffer);
    t.pending.delete(m.id);
    if (t.pending.size === 0) worker.unref();
    if (m.error === undefined) p.resolve(m);
    else p.reject(new Error(m.error ?? 'the history lookup failed'));
  });
  worker.on('exit', () => {
    t.alive = false;
    for (const p of t.pending.values()) p.reject(new Error(STOPPED));
    t.pending.clear();
  });
  return t;
}

/** A page's release: its buffer goes back to the thread with the next request (once, however often called). */
function giveBack(t: ReaderThread, b: ArrayBuffer): () => void {
  let given = false;
  return () => {
    if (given || !t.alive || t.back.length >= MAX_BACK) return;
    given = true;
    t.back.push(b);
  };
}

function ask(t: ReaderThread, m: Request): Promise<Reply> {
  if (!t.alive) return Promise.reject(new Error(STOPPED));
  return new Promise((resolve, reject) => {
    t.pending.set(m.id, { resolve, reject });
    t.worker.ref();
    if (t.back.length === 0) {
      t.worker.postMessage(m);
      return;
    }
    const back = t.back.splice(0).filter((b) => b.byteLength > 0); // a detached buffer cannot be moved
    t.worker.postMessage({ ...m, back }, back);
  });
}

/** FNV-1a: which thread a query's key belongs to. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The thread of a query: the same scope and attribute go to the same thread, whose kept entries they use. */
function keyOf(q: HistoryQuery | HistoryCountQuery): string {
  return `${q.accountId}\n${q.region}\n${q.category}\n${q.attribute?.key ?? ''}\n${q.attribute?.value ?? ''}`;
}

/**
 * A query's own thread with this many requests unanswered sends it to the thread with fewest
 * instead: pages no lookup has read yet wait on the disk, and a single thread reads them one
 * after the other while the cores idle (after the OS dropped the files' pages, a thread ran
 * AccessKeyId at ~500 lookups/s with ~40% of a core).
 */
const SPILL_AT = 2;

/**
 * `threads` reader threads; `cacheBytes`: most bytes of encoded entries they keep, shared out
 * evenly (see EncodedEvents).
 */
export function startHistoryReader(file: string, encoder: HistoryPageEncoder, cacheBytes: number, threads = 1): HistoryReaderHandle {
  const count = Math.max(1, Math.floor(threads));
  const all = Array.from({ length: count }, () => startThread(file, encoder, Math.floor(cacheBytes / count)));
  let nextId = 0;
  /**
   * The query's own thread among those alive, or the least busy one when its own is busy (no
   * array made, and no key when one thread is up: every lookup comes here).
   */
  const pick = (q: HistoryQuery | HistoryCountQuery): ReaderThread | undefined => {
    let up = 0;
    let last: ReaderThread | undefined;
    for (const t of all) {
      if (!t.alive) continue;
      up++;
      last = t;
    }
    if (up <= 1) return last;
    let nth = hashOf(keyOf(q)) % up;
    let own: ReaderThread | undefined;
    let least: ReaderThread | undefined;
    for (const t of all) {
      if (!t.alive) continue;
      if (nth-- === 0) own = t;
      if (!least || t.pending.size < least.pending.size) least = t;
    }
    return own!.pending.size < SPILL_AT || own!.pending.size <= least!.pending.size ? own : least;
  };
  /** Ask the query's thread; if that thread goes before answering, another one. */
  const call = async (q: HistoryQuery | HistoryCountQuery, make: (id: number) => Request): Promise<Reply> => {
    for (;;) {
      const t = pick(q);
      if (!t) throw new Error(STOPPED);
      try {
        return await ask(t, make(nextId++));
      } catch (e) {
        if (t.alive) throw e;
      }
    }
  };
  return {
    get alive() {
      return all.some((t) => t.alive);
    },
    async lookup(q: HistoryQuery): Promise<HistoryRow[]> {
      return (await call(q, (id) => ({ id, q }))).rows ?? [];
    },
    async page(p: HistoryQuery): Promise<HistoryPage> {
      const r = await call(p, (id) => ({ id, p }));
      if (!r.page) throw new Error('the history reader sent no page');
      return r.page;
    },
    async count(c: HistoryCountQuery): Promise<BucketCount[]> {
      return (await call(c, (id) => ({ id, c }))).counts ?? [];
    },
    async forgetEncoded(): Promise<void> {
      await Promise.all(all.filter((t) => t.alive).map((t) => ask(t, { id: nextId++, forget: true }).catch(() => undefined)));
    },
    async stop(): Promise<void> {
      for (const t of all) {
        if (!t.alive) continue;
        t.worker.ref(); // keep the process alive until the thread has closed its connection
        t.worker.postMessage('stop');
      }
      await Promise.all(all.map((t) => t.exited));
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
  // Read with pread(2), not through a memory map: SQLite drops a connection's map of a file (and its
  // page cache) at the first read after another connection has committed to it — for the log, at
  // every lookup, as each records itself. Unmapping and faulting the pages back in took a third of
  // this thread's time; without the map the server spent 25–30% less CPU a lookup (bench:lookup,
  // Username: 1.06/1.30/1.50 ms against 1.57/1.76/1.93, runs alternating).
  const stmt = statementCache(db);
  const index = new HistoryIndex(db, stmt);
  const read = historyReader(db, stmt, index);
  const counter = historyCounter(db, index);
  const cache = new EncodedEvents(cacheBytes);
  const buffers = new PageBuffers();
  const pager = historyPager(db, stmt, index, encodeEvent, cache, (n) => buffers.take(n));
  const answer = (m: Request): Reply => {
    if ('p' in m) {
      threadStall('history-page-slow', 50); // test: the lookup's own record commits first
      threadFailpoint('history-reader-exit'); // test: a thread that ends with a page asked of it
      const made = buffers.made;
      const page = pager(m.p);
      if (buffers.made > made) page.newBuffer = true;
      return { id: m.id, page };
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
    if (m.back) for (const b of m.back) buffers.give(b);
    try {
      const reply = answer(m);
      // A page's bytes move to the request thread; they are not copied.
      parentPort!.postMessage(reply, reply.page ? [reply.page.events.buffer as ArrayBuffer] : undefined);
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies Reply);
    }
  });
}
