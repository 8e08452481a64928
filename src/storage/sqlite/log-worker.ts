/**
 * The event log's writer thread: it commits events on its own connection, so
 * the main thread (better-sqlite3 is synchronous) never waits on an fsync.
 * A second thread maintains the log: it builds the history index behind it
 * (in the index's own file, so no commit waits behind an index batch) and
 * checkpoints the WALs (so no commit waits behind a checkpoint).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { takeGroup } from '../groups.js';
import { statSync } from 'node:fs';
import { lowerThreadPriority } from './thread-priority.js';
import { HistoryIndex, attachHistory, historyFile } from './history-index.js';
import { statementCache } from './open.js';
import { threadFailpoint, threadStall } from '../../failpoints.js';
import { IDEMPOTENCY_WINDOW_MS, type Appended, type CommitSync, type IndexedEvent } from '../interfaces.js';

export interface LogWorkerHandle {
  /** Commit events (synced to disk first unless the log was started with `normal`) and resolve with their places in the log. */
  append(events: IndexedEvent[]): Promise<Appended[]>;
  /** Called with each commit's duration (seconds, its fsync included) as the writer reports it. */
  onCommitTime(listener: (seconds: number) => void): void;
  /** Write a reader's checkpoint and state (`null` seq: forget the reader). */
  setReader(reader: string, seq: number | null, state: string | null): Promise<void>;
  /** A reader's work items and (optionally) checkpoint, in one transaction. */
  saveJobs(reader: string, change: JobsChange): Promise<void>;
  /** Forget up to FORGET_IDS_SLICE idempotency ids remembered before `cutoff` (ms); resolves with how many. */
  forgetIds(cutoff: number): Promise<number>;
  stop(): Promise<void>;
}

/** `ms`: how long the commit took (on the first answer of each commit only). */
type Reply = { id: number; appended?: AppendedColumns; done?: true; error?: string; ms?: number; forgotten?: number };

/**
 * The writer's answer to an append, in columns too: each event's place, and for the events an
 * idempotency id made duplicates, their index with the earlier event's id.
 */
export interface AppendedColumns {
  seqs: number[];
  duplicates: [index: number, eventId: string][];
}

function fromColumns(eventIds: readonly string[], a: AppendedColumns): Appended[] {
  const out: Appended[] = new Array(a.seqs.length);
  for (let i = 0; i < a.seqs.length; i++) out[i] = { seq: a.seqs[i]!, eventId: eventIds[i]!, duplicate: false };
  for (const [i, eventId] of a.duplicates) out[i] = { seq: a.seqs[i]!, eventId, duplicate: true };
  return out;
}
export interface JobsChange {
  seq?: number;
  put?: { key: string; doc: string }[];
  delete?: string[];
}
/**
 * Events as they cross to the writer thread: a column per field. Copying a message between
 * threads costs per object and per property; a batch's hundred objects of twelve properties
 * cost about twice what a dozen arrays of the same values do.
 */
export interface EventColumns {
  accountId: string[];
  region: string[];
  category: string[];
  timeMs: number[];
  eventId: string[];
  eventName: string[];
  eventSource: string[];
  username: (string | null)[];
  accessKeyId: (string | null)[];
  readOnly: (number | null)[];
  /** `[[type, name], …]` as JSON, or null when the event names no resources (the log's column). */
  resources: (string | null)[];
  json: string[];
  idempotencyId: (string | undefined)[];
}

export function toColumns(events: readonly IndexedEvent[]): EventColumns {
  const c: EventColumns = { accountId: [], region: [], category: [], timeMs: [], eventId: [], eventName: [], eventSource: [], username: [], accessKeyId: [], readOnly: [], resources: [], json: [], idempotencyId: [] };
  for (const e of events) {
    c.accountId.push(e.accountId);
    c.region.push(e.region);
    c.category.push(e.category);
    c.timeMs.push(e.timeMs);
    c.eventId.push(e.eventId);
    c.eventName.push(e.eventName);
    c.eventSource.push(e.eventSource);
    c.username.push(e.username);
    c.accessKeyId.push(e.accessKeyId);
    c.readOnly.push(e.readOnly === null ? null : e.readOnly ? 1 : 0);
    c.resources.push(e.resources.length ? JSON.stringify(e.resources.map((r) => [r.type, r.name])) : null);
    c.json.push(e.json);
    c.idempotencyId.push(e.idempotencyId);
  }
  return c;
}

type AppendRequest = { type: 'append'; id: number; events: EventColumns };
type Request =
  | AppendRequest
  | { type: 'reader'; id: number; reader: string; seq: number | null; state: string | null }
  | { type: 'jobs'; id: number; reader: string; change: JobsChange }
  | { type: 'forgetIds'; id: number; cutoff: number };

/**
 * Idempotency ids forgotten at a time. At a steady 1,000 events/s an hour's ids are 3.6 million;
 * one DELETE of a million, on the request thread, took 1.5 s, with every request and the log's
 * commits (its write lock) waiting on it. A slice on this thread holds up the commits queued
 * behind it for a few milliseconds.
 */
export const FORGET_IDS_SLICE = 5000;

/** Largest the WAL may grow before the writer truncates it (bytes). */
const WAL_LIMIT = 512 * 2 ** 20;
/** How long after an unexpected end of the maintenance thread a new one starts. */
const MAINTAINER_RESTART_MS = 1000;
/** How often the maintenance thread copies the WALs into their databases. */
const CHECKPOINT_INTERVAL_MS = 500;
/**
 * Arrivals at this rate (events/s) mean heavy ingest: the index then lets a second's worth
 * accumulate between batches (big sorted batches cost less per entry). Below it, the index
 * follows the log every round, in small batches that never hold a commit up for long.
 */
const HEAVY_RATE = 10_000;
const HEAVY_SPACING_MS = 1000;
/** Most events the writer commits in one transaction (the request thread's groups are as large). */
const TRANSACTION_EVENTS = 20_000;
/** Events per indexing transaction (commits wait for one chunk at most). */
const CHUNK = 20_000;

/**
 * The one INSERT of the log (with its idempotency ids): each set of columns is one caller's
 * batch, and all the sets given go into one transaction (one commit, one fsync).
 */
export function prepareAppend(db: Database.Database): (batches: EventColumns[]) => AppendedColumns[] {
  const insert = db.prepare(
    `INSERT INTO events (account_id, region, category, time_ms, event_id, event_name, event_source, username, access_key_id, read_only, resources, json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const seen = db.prepare('SELECT seq, event_id AS eventId, at_ms AS atMs FROM ingest_ids WHERE account_id = ? AND id = ?');
  // An id is claimed with the event's row in place: for an id not seen before (nearly all of
  // them) that is one statement, where asking first and then remembering it was two B-tree walks.
  const claim = db.prepare('INSERT INTO ingest_ids (account_id, id, seq, event_id, at_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const remember = db.prepare('UPDATE ingest_ids SET seq = ?, event_id = ?, at_ms = ? WHERE account_id = ? AND id = ?');
  // A duplicate's row goes again, in the transaction that wrote it (its seq is the log's newest,
  // and the next event takes it: nothing outside this transaction ever saw it).
  const unwrite = db.prepare('DELETE FROM events WHERE seq = ?');
  const one = (c: EventColumns, now: number): AppendedColumns => {
    const out: AppendedColumns = { seqs: [], duplicates: [] };
    for (let i = 0; i < c.json.length; i++) {
      const info = insert.run(
        c.accountId[i],
        c.region[i],
        c.category[i],
        c.timeMs[i],
        c.eventId[i],
        c.eventName[i],
        c.eventSource[i],
        c.username[i],
        c.accessKeyId[i],
        c.readOnly[i],
        c.resources[i],
        c.json[i],
      );
      const seq = Number(info.lastInsertRowid);
      const idem = c.idempotencyId[i];
      if (idem !== undefined && claim.run(c.accountId[i], idem, seq, c.eventId[i], now).changes === 0) {
        const prior = seen.get(c.accountId[i], idem) as { seq: number; eventId: string; atMs: number };
        if (prior.atMs > now - IDEMPOTENCY_WINDOW_MS) {
          unwrite.run(seq);
          out.duplicates.push([out.seqs.length, prior.eventId]);
          out.seqs.push(prior.seq);
          continue;
        }
        // Remembered more than a day ago: this event is new, and the id is its now.
        remember.run(seq, c.eventId[i], now, c.accountId[i], idem);
      }
      out.seqs.push(seq);
    }
    return out;
  };
  return db.transaction((batches: EventColumns[]): AppendedColumns[] => {
    const now = Date.now();
    return batches.map((c) => one(c, now));
  });
}

/**
 * A check, at most once a second, that truncates `schema`'s WAL once it has grown past WAL_LIMIT
 * (call it on the thread that is that file's only writer).
 */
function walLimiter(db: Database.Database, schema: string, walFile: string): () => void {
  let checkedAt = 0;
  return () => {
    const now = Date.now();
    if (now - checkedAt < 1000) return;
    checkedAt = now;
    try {
      if (statSync(walFile).size > WAL_LIMIT) db.pragma(`${schema}.wal_checkpoint(TRUNCATE)`);
    } catch {
      // no WAL yet, or readers busy past the timeout: next time
    }
  };
}

/**
 * Start committing to `file` on one thread, and indexing it every `intervalMs` on another. 250 ms
 * by default: each batch writes every index page its entries land on, and the events of a
 * quarter of a second (a LookupEvents call records itself, so 1,000 lookups/s are 1,000 events/s)
 * share pages that batches every 50 ms wrote five times over. At 1,000 lookups/s that took the
 * disk writes from 16.6–17.4 to 11.2–12.9 MB/s, and the writer's fsyncs, which every lookup waits
 * for, stalled less behind them (EventSource p99s 17.8/21.9 and 14.4/15.9 ms against 20.6/24.8
 * and 21.9/67.0, runs alternating). The part not indexed yet is read from the log by each lookup,
 * so nothing is found later for it; a second's worth made the lookups cost more.
 */
export function startLogWorker(file: string, intervalMs = 250, sync: CommitSync = 'full'): LogWorkerHandle {
  const worker = new Worker(new URL(import.meta.url), { workerData: { file, sync } });
  worker.unref();
  // WAL checkpoints copy pages and sync the database file (tens of ms on a large log) and index
  // batches take tens of ms under heavy ingest; on their own thread neither holds up a commit (a
  // PASSIVE checkpoint does not block SQLite's writer, and the index has a file of its own).
  // If it ends unexpectedly, a new one takes over after a moment: without it, the index would
  // fall ever further behind the log and every lookup would scan more of the log's tail.
  let stopping = false;
  let maintainer: { worker: Worker; exited: Promise<void> } | undefined;
  const maintain = (attempt: number): void => {
    const w = new Worker(new URL(import.meta.url), { workerData: { maintainFile: file, intervalMs, attempt } });
    w.unref();
    w.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    maintainer = { worker: w, exited };
    void exited.then(() => {
      if (!stopping) setTimeout(() => !stopping && maintain(attempt + 1), MAINTAINER_RESTART_MS).unref();
    });
  };
  maintain(0);
  // If the worker dies, commits fail (calls then fail closed with InternalFailure) and the main
  // connection indexes what is left when it closes.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let commitTime: ((seconds: number) => void) | undefined;
  worker.on('message', (m: Reply) => {
    if (m.ms !== undefined) commitTime?.(m.ms / 1000);
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error === undefined) p.resolve(m);
    else p.reject(new Error(m.error || 'the event log could not commit'));
  });
  let gone = false;
  worker.on('exit', () => {
    gone = true;
    for (const p of pending.values()) p.reject(new Error('the event log worker stopped'));
    pending.clear();
  });
  const call = (req: Request): Promise<Reply> => {
    if (stopping || gone) return Promise.reject(new Error(gone && !stopping ? 'the event log worker stopped' : 'the event log is closed'));
    return new Promise<Reply>((resolve, reject) => {
      pending.set(req.id, { resolve, reject });
      // Referenced while a request is outstanding, so the process waits for it.
      worker.ref();
      worker.postMessage(req);
    }).finally(() => {
      if (pending.size === 0 && !stopping) worker.unref();
    });
  };
  return {
    onCommitTime(listener: (seconds: number) => void): void {
      commitTime = listener;
    },
    // Only the events' ids wait here for the answer: the events themselves (their text, keys
    // and resources) are copied to the writer and left to the collector at once (see Ingest.flush).
    append(events: IndexedEvent[]): Promise<Appended[]> {
      const columns = toColumns(events);
      const eventIds = columns.eventId;
      return call({ type: 'append', id: nextId++, events: columns }).then((r) => fromColumns(eventIds, r.appended!));
    },
    // On the writer thread too: from another connection it would contend for SQLite's write lock,
    // and a busy wait there sleeps the calling thread for milliseconds at a time.
    async setReader(reader: string, seq: number | null, state: string | null): Promise<void> {
      await call({ type: 'reader', id: nextId++, reader, seq, state });
    },
    async saveJobs(reader: string, change: JobsChange): Promise<void> {
      await call({ type: 'jobs', id: nextId++, reader, change });
    },
    async forgetIds(cutoff: number): Promise<number> {
      return (await call({ type: 'forgetIds', id: nextId++, cutoff })).forgotten!;
    },
    async stop(): Promise<void> {
      if (!stopping) {
        stopping = true;
        worker.ref(); // keep the process alive until the worker has closed its connection
        worker.postMessage('stop');
        maintainer!.worker.ref();
        maintainer!.worker.postMessage('stop');
      }
      await Promise.all([exited, maintainer!.exited]);
    },
  };
}

if (!isMainThread && parentPort && (workerData as { file?: string } | null)?.file) {
  const { file, sync } = workerData as { file: string; sync: CommitSync };
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  // A small page cache: this connection appends, touching the log's last pages and the idempotency
  // ids' b-tree. SQLite walks every page its cache holds at the end of each transaction here
  // (pcache1TruncateUnsafe): with 64 MiB that walk was 6–9% of this thread's time under
  // bench:ingest, and with 4 MiB it no longer shows (the thread's share of the server's CPU
  // 21.6% → 16.7%, 19.8% → 18.7% in two pairs of runs).
  db.pragma('cache_size = -4096');
  // Commits happen here: FULL fsyncs the WAL at every commit, so an acknowledged event survives
  // kill -9 and power loss; NORMAL (asked for with OPENTRAIL_COMMIT_SYNC=normal) leaves the WAL to
  // the operating system, so it survives kill -9 but not power loss.
  db.pragma(`synchronous = ${sync === 'normal' ? 'NORMAL' : 'FULL'}`);
  // Never checkpoint inside a commit: the maintenance thread does it, beside the commits.
  db.pragma('wal_autocheckpoint = 0');
  const append = prepareAppend(db);
  // The maintenance thread's PASSIVE checkpoints copy the WAL into the database, but the WAL file
  // only starts over when a checkpoint finds it all copied between two writes — which
  // uninterrupted ingest never leaves room for, so it would grow until the disk is full. Past
  // WAL_LIMIT, this thread (the only writer) truncates it between two commits, waiting for
  // readers if it must.
  const limitWal = walLimiter(db, 'main', `${file}-wal`);
  // Once a second, between two commits, this thread also copies what the maintenance thread's
  // checkpoints have not copied yet: the WAL is then all in the database with no commit since, and
  // the next commit writes the WAL from its start again instead of appending to it. The WAL stays
  // at a few megabytes instead of growing to WAL_LIMIT (~5 MB/s at 1,000 lookups/s) and being
  // truncated with the commits held up, and the fsyncs of a file that no longer grows waited
  // less: bench:lookup EventSource at 1,000/s, three pairs of runs alternating, p99s
  // 20.8/20.6, 17.1/17.0 and 19.2/20.8 ms with it against 34.0/25.2, 98.4/20.8 and 16.3/26.1
  // without; commits over 20 ms 3, 3 and 0 against 5, 5 and 2.
  // A checkpoint that could not copy everything (the maintenance thread's was running, or it was
  // busy) is tried again shortly rather than a second later: on a loaded machine, waiting for the
  // next second let the WAL grow for seconds at a time. At most five tries a second (a reader
  // holding an old snapshot keeps every one short of the end until it finishes).
  let retry: NodeJS.Timeout | undefined;
  let tries = 0;
  const restartWal = (): void => {
    let copied = false;
    try {
      const [r] = db.pragma('main.wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      copied = r !== undefined && r.busy === 0 && r.checkpointed >= r.log;
    } catch {
      // busy: tried again below
    }
    limitWal();
    if (!copied && retry === undefined && tries < 5) {
      tries++;
      retry = setTimeout(() => {
        retry = undefined;
        restartWal();
      }, 50);
    }
  };
  const timer = setInterval(() => {
    tries = 0;
    restartWal();
  }, 1000);
  const setReader = db.prepare('INSERT INTO checkpoints (reader, seq, state) VALUES (?, ?, ?) ON CONFLICT(reader) DO UPDATE SET seq = excluded.seq, state = excluded.state');
  const dropReader = db.prepare('DELETE FROM checkpoints WHERE reader = ?');
  const putJob = db.prepare('INSERT INTO reader_jobs (reader, key, doc) VALUES (?, ?, ?) ON CONFLICT(reader, key) DO UPDATE SET doc = excluded.doc');
  const dropJob = db.prepare('DELETE FROM reader_jobs WHERE reader = ? AND key = ?');
  const keepCheckpoint = db.prepare('INSERT INTO checkpoints (reader, seq, state) VALUES (?, ?, NULL) ON CONFLICT(reader) DO UPDATE SET seq = excluded.seq');
  const forgetIds = db.prepare(
    `DELETE FROM ingest_ids WHERE (account_id, id) IN (SELECT account_id, id FROM ingest_ids WHERE at_ms < ? ORDER BY at_ms LIMIT ${FORGET_IDS_SLICE})`,
  );
  const saveJobs = db.transaction((reader: string, change: JobsChange) => {
    for (const j of change.put ?? []) putJob.run(reader, j.key, j.doc);
    for (const k of change.delete ?? []) dropJob.run(reader, k);
    if (change.seq !== undefined) keepCheckpoint.run(reader, change.seq);
  });
  // Appends that arrived while a commit was being fsynced wait here, and go together into the
  // next transaction: the request thread sends each group as soon as it has one, without waiting
  // for the commit before it, so a commit starts as soon as the one before it has ended.
  const waiting: AppendRequest[] = [];
  let commitScheduled = false;
  /** Commit callers' batches in one transaction and answer each; if it fails, each batch on its own. */
  const commit = (batch: AppendRequest[]): void => {
    try {
      const started = performance.now();
      const done = append(batch.map((m) => m.events));
      const ms = performance.now() - started;
      for (let i = 0; i < batch.length; i++) parentPort!.postMessage({ id: batch[i]!.id, appended: done[i]!, ...(i === 0 ? { ms } : {}) } satisfies Reply);
    } catch (e) {
      // Nothing of the transaction was kept: each caller's batch on its own, so one that cannot
      // be committed fails alone.
      if (batch.length > 1) for (const m of batch) commit([m]);
      else parentPort!.postMessage({ id: batch[0]!.id, error: (e as Error).message } satisfies Reply);
    }
  };
  /** Commit what waits, TRANSACTION_EVENTS events a transaction at most (at least one caller's batch). */
  const commitWaiting = (): void => {
    commitScheduled = false;
    while (waiting.length > 0) commit(takeGroup(waiting, TRANSACTION_EVENTS, (m) => m.events.json.length).group);
  };
  parentPort.on('message', (m: 'stop' | Request) => {
    if (m !== 'stop' && m.type === 'append') {
      waiting.push(m);
      if (!commitScheduled) {
        commitScheduled = true;
        setImmediate(commitWaiting);
      }
      return;
    }
    // Anything else is done after the appends sent before it, as it was sent.
    commitWaiting();
    if (m !== 'stop') {
      try {
        if (m.type === 'jobs') {
          saveJobs(m.reader, m.change);
          parentPort!.postMessage({ id: m.id, done: true } satisfies Reply);
        } else if (m.type === 'forgetIds') {
          parentPort!.postMessage({ id: m.id, done: true, forgotten: forgetIds.run(m.cutoff).changes } satisfies Reply);
        } else {
          if (m.seq === null) {
            dropReader.run(m.reader);
            db.prepare('DELETE FROM reader_jobs WHERE reader = ?').run(m.reader);
          }
          else setReader.run(m.reader, m.seq, m.state);
          parentPort!.postMessage({ id: m.id, done: true } satisfies Reply);
        }
      } catch (e) {
        parentPort!.postMessage({ id: m.id, error: (e as Error).message } satisfies Reply);
      }
      return;
    }
    clearInterval(timer);
    clearTimeout(retry);
    db.close();
    process.exit(0);
  });
}

if (!isMainThread && parentPort && (workerData as { maintainFile?: string } | null)?.maintainFile) {
  const { maintainFile: file, intervalMs, attempt } = workerData as { maintainFile: string; intervalMs: number; attempt: number };
  lowerThreadPriority();
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  attachHistory(db, file, { durable: false });
  const index = new HistoryIndex(db, statementCache(db));
  // Index often, so the unindexed tail every lookup scans stays small.
  const heavyBatch = Math.max(1, Math.round((HEAVY_RATE * intervalMs) / 1000));
  const heavySpacing = Math.max(1, Math.round(HEAVY_SPACING_MS / intervalMs));
  let round = 0;
  let idleUntil = 0;
  let catchingUp = false;
  let stopped = false;
  /** Index what is pending in chunks, yielding between them so the checkpoints get their turn. */
  const catchUp = (): void => {
    if (stopped) return;
    let n = 0;
    threadStall('index-stall', 3000); // test: an index that falls behind the log
    try {
      n = index.indexSome(CHUNK);
    } catch {
      // busy (a purge on the main thread): next round
    }
    if (n > 0 && attempt === 0) threadFailpoint('maintainer-exit'); // test: the thread ends after a batch
    if (n === CHUNK) setImmediate(catchUp);
    else catchingUp = false;
  };
  const work = (): void => {
    round++;
    if (round >= idleUntil && !catchingUp) {
      // Under heavy ingest, let the backlog grow between batches: a sorted batch of tens of
      // thousands costs less per entry than many small ones.
      let pending = 0;
      try {
        pending = index.pending();
      } catch {
        // next round
      }
      idleUntil = pending >= heavyBatch && idleUntil === 0 ? round + heavySpacing : 0;
      if (idleUntil === 0 && pending > 0) {
        catchingUp = true;
        catchUp();
      }
    }
  };
  const indexTimer = setInterval(work, intervalMs);
  // The index's file has one writer, this thread: it keeps that WAL in bounds itself.
  const limitWal = walLimiter(db, 'hx', `${historyFile(file)}-wal`);
  const checkpointTimer = setInterval(() => {
    try {
      // Every attached file: the log's and the index's.
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // busy: next time
    }
    limitWal();
  }, CHECKPOINT_INTERVAL_MS);
  parentPort.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    stopped = true;
    clearInterval(indexTimer);
    clearInterval(checkpointTimer);
    db.close();
    process.exit(0);
  });
}
