/**
 * CloudTrail Lake queries: StartQuery checks and translates the statement at
 * once (bad SQL is refused by StartQuery itself), then the query runs on its
 * own embedded DuckDB database, which sees only the Parquet files of the
 * stores the query names (file access outside them is switched off and
 * locked before the statement runs). QUEUED → RUNNING → FINISHED | FAILED |
 * CANCELLED | TIMED_OUT; results (rows of one-entry maps of strings, in column
 * order) are kept for 7 days, in memory and in the data folder.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { Metastore } from '../storage/interfaces.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { EventDataStores } from '../domain/event-data-stores.js';
import { InactiveQueryException, InvalidParameterException, MaxConcurrentQueriesException, QueryIdNotFoundException, InvalidQueryStatementException } from '../protocols/errors.js';
import { prepareQuery, TRINO_SETUP, type PreparedQuery, type StoreRead } from './sql.js';
import { inRange } from './time-range.js';
import { queryResultValue } from './result-values.js';
import { TABLES, type StoreKind } from './schema.js';
import { storeKind } from '../domain/event-data-stores.js';
import { knownRows, readableFiles, rememberRows, storeDir, type LakeFile } from './lake-files.js';
import { resultFolder, resultSign } from './result-files.js';
import type { SigningKeys } from '../integrity/signing-keys.js';

const KIND = 'lake-query';
export const MAX_CONCURRENT_QUERIES = 10;
const KEEP_MS = 7 * 86_400_000;
const MAX_STATEMENT = 10_000;
/** How long DescribeQuery and GetQueryResults wait for a running query's next status (settled). */
const SETTLE_MS = 500;
/** Translated statements kept (least recently used dropped first). */
const PREPARED_KEPT = 500;
/** Idle query connections kept per account. */
const IDLE_KEPT = 4;

export type QueryStatus = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export interface QueryDoc {
  accountId: string;
  region: string;
  id: string;
  statement: string;
  stores: string[];
  status: QueryStatus;
  createdAt: number;
  endedAt?: number;
  errorMessage?: string;
  eventsScanned: number;
  bytesScanned: number;
  resultsCount: number;
  executionMs: number;
  deliveryS3Uri?: string;
  deliveryStatus?: 'SUCCESS' | 'FAILED' | 'PENDING';
}

type Row = Record<string, string | null>[];

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const TERMINAL = new Set<QueryStatus>(['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

function csv(columns: string[], rows: Row[]): string {
  const q = (s: string | null): string => (s === null ? '' : /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [columns.map(q).join(','), ...rows.map((r) => r.map((c) => q(Object.values(c)[0] ?? null)).join(','))].join('\n') + '\n';
}

/**
 * How StartQuery and its query's run meet: the run says when the query is under way (or waiting
 * for a slot, or over), StartQuery whether its QUEUED state was stored.
 */
interface Launch {
  underway: () => void;
  stored: Promise<boolean>;
}

/** What a query runs: its translation, and the kind of each store it reads (from StartQuery's listing). */
interface Plan {
  prepared: PreparedQuery;
  kinds: Map<string, StoreKind>;
}

export class LakeQueries {
  private parser: DuckDBConnection | undefined;
  private parserInstance: DuckDBInstance | undefined;
  /**
   * Queries running on this server now: their connection, how they are being stopped, and the
   * query as RUNNING (kept in memory only: were the server to stop, the stored QUEUED becomes
   * FAILED at the next start all the same, and the query spares a metastore commit).
   */
  private readonly running = new Map<string, { conn: DuckDBConnection; timedOut: boolean; cancelled: boolean; doc: QueryDoc }>();
  /** Queries started on this server and not ended yet (QUEUED or RUNNING here). */
  private readonly pending = new Map<string, string>();
  /** Callers of settled() waiting for a query's next status. */
  private readonly watchers = new Map<string, (() => void)[]>();
  private readonly results = new Map<string, Row[]>();
  private readonly instances = new Map<string, Promise<DuckDBInstance>>();
  /** Translated statements by account, region and text, least recently used first (prepare). */
  private readonly prepared = new Map<string, PreparedQuery>();
  /** Each account's connections not in use (a query's connection, once it finished, serves the next). */
  private readonly idle = new Map<string, DuckDBConnection[]>();
  private active = 0;
  private closed = false;
  private readonly waiting: (() => void)[] = [];
  private readonly maxRunning: number;
  private readonly resultsDir: string;
  /** The results folder, made by the first query that finishes (not again by every one). */
  private resultsDirMade: Promise<unknown> | undefined;

  constructor(
    private readonly meta: Metastore,
    private readonly stores: EventDataStores,
    private readonly lakeRoot: string,
    private readonly opts: { timeoutMs?: number; logger?: Logger; objectStore?: ObjectStore; signingKeys?: SigningKeys; maxRunning?: number } = {},
  ) {
    this.resultsDir = join(lakeRoot, '.results');
    this.maxRunning = Math.max(1, opts.maxRunning ?? 2);
  }

  private async parse(): Promise<DuckDBConnection> {
    if (!this.parser) {
      this.parserInstance = await DuckDBInstance.create(':memory:', { threads: '1' });
      this.parser = await this.parserInstance.connect();
    }
    return this.parser;
  }

  async start(accountId: string, region: string, input: { QueryStatement?: string; DeliveryS3Uri?: string; QueryAlias?: string; QueryParameters?: string[] }): Promise<QueryDoc> {
    if (!input.QueryStatement) {
      if (input.QueryAlias) throw new InvalidParameterException('QueryAlias runs dashboard queries, which opentrail does not have; give a QueryStatement.');
      throw new InvalidParameterException('QueryStatement is required.');
    }
    let statement = input.QueryStatement;
    if (statement.length > MAX_STATEMENT) throw new InvalidQueryStatementException(`The query statement is longer than ${MAX_STATEMENT} characters.`);
    // QueryParameters replace the statement's ? placeholders in order, as string literals.
    for (const p of input.QueryParameters ?? []) {
      if (!statement.includes('?')) throw new InvalidParameterException('There are more QueryParameters than ? placeholders in the statement.');
      statement = statement.replace('?', sqlString(p));
    }
    // Queries run on the server that started them (a stopped server's are FAILED at its next start).
    const active = [...this.pending.values()].filter((a) => a === accountId);
    if (active.length >= MAX_CONCURRENT_QUERIES) throw new MaxConcurrentQueriesException(`You already have ${MAX_CONCURRENT_QUERIES} queries running; wait for one to finish or cancel one.`);
    const mine = (await this.stores.list(accountId, region)).filter((s) => s.status !== 'PENDING_DELETION');
    const prepared = await this.prepare(accountId, region, statement, mine.map((s) => s.id));
    if (prepared.stores.length === 0) throw new InvalidQueryStatementException('The query must read at least one event data store (FROM <event data store id>).');
    if (input.DeliveryS3Uri !== undefined && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(input.DeliveryS3Uri)) {
      throw new InvalidParameterException(`DeliveryS3Uri ${input.DeliveryS3Uri} is not an s3://bucket/prefix URI.`);
    }
    const doc: QueryDoc = {
      accountId,
      region,
      id: randomUUID(),
      statement: input.QueryStatement,
      stores: prepared.stores,
      status: 'QUEUED',
      createdAt: Date.now(),
      eventsScanned: 0,
      bytesScanned: 0,
      resultsCount: 0,
      executionMs: 0,
      ...(input.DeliveryS3Uri ? { deliveryS3Uri: input.DeliveryS3Uri, deliveryStatus: 'PENDING' as const } : {}),
    };
    // The query starts before its QUEUED state is committed, so that commit overlaps the query's
    // first milliseconds; anything the run stores waits for it (launch.stored).
    this.pending.set(doc.id, accountId);
    let stored!: (ok: boolean) => void;
    let underway!: () => void;
    const started = new Promise<void>((r) => (underway = r));
    const kinds = new Map(mine.filter((s) => prepared.stores.includes(s.id)).map((s) => [s.id, storeKind(s)]));
    void this.run(doc, { prepared, kinds }, { underway, stored: new Promise<boolean>((r) => (stored = r)) });
    await started;
    try {
      await this.meta.putDoc(KIND, accountId, doc.id, doc, { durable: false });
      stored(true);
    } catch (e) {
      stored(false); // the caller hears the error; the run, unknown to anyone, stops and stores nothing
      this.running.get(doc.id)?.conn.interrupt();
      throw e;
    }
    return doc;
  }

  /**
   * The statement checked and translated, remembered per account and region: a statement run again
   * (a dashboard's, a script's) is not parsed again while the stores it reads still exist. Only
   * statements that passed are remembered; the translation depends on nothing else.
   */
  private async prepare(accountId: string, region: string, statement: string, storeIds: string[]): Promise<PreparedQuery> {
    const key = `${accountId}\n${region}\n${statement}`;
    const seen = this.prepared.get(key);
    if (seen && seen.stores.every((id) => storeIds.includes(id))) {
      this.prepared.delete(key);
      this.prepared.set(key, seen);
      return seen;
    }
    const p = await prepareQuery(await this.parse(), statement, (name) => storeIds.find((id) => id.toLowerCase() === name.toLowerCase()));
    this.prepared.set(key, p);
    if (this.prepared.size > PREPARED_KEPT) this.prepared.delete(this.prepared.keys().next().value!);
    return p;
  }

  /** Whether the query is still QUEUED or RUNNING on this server (so settled() would wait for it). */
  mayChange(q: QueryDoc): boolean {
    return !TERMINAL.has(q.status) && this.pending.has(q.id);
  }

  /** Whether a query is running on this server now. */
  busy(): boolean {
    return this.active > 0;
  }

  /** A query's state, committed without waiting for the disk (metastore putDoc, durable: false). */
  private async save(doc: QueryDoc): Promise<void> {
    await this.meta.putDoc(KIND, doc.accountId, doc.id, doc, { durable: false });
    this.wake(doc.id);
  }

  private wake(queryId: string): void {
    const waiting = this.watchers.get(queryId);
    this.watchers.delete(queryId);
    for (const w of waiting ?? []) w();
  }

  /**
   * The query, once its status changes or `maxMs` has passed, whichever is first: DescribeQuery
   * and GetQueryResults of a query still QUEUED or RUNNING here hold the answer briefly, so a
   * client polling them learns that it finished the moment it does, not at its next poll.
   */
  async settled(q: QueryDoc, maxMs = SETTLE_MS): Promise<QueryDoc> {
    if (!this.mayChange(q)) return q;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      const list = this.watchers.get(q.id) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.watchers.set(q.id, list);
    });
    return this.get(q.accountId, q.id).catch(() => q); // (gone meanwhile: past its 7 days)
  }

  /** Wait for one of the few running slots (queries beyond them stay QUEUED, as in Lake). */
  private async slot(): Promise<() => void> {
    while (this.active >= this.maxRunning && !this.closed) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }

  private async run(doc: QueryDoc, plan: Plan, launch: Launch): Promise<void> {
    const queued = this.active >= this.maxRunning;
    if (queued) launch.underway(); // waits for a slot: StartQuery answers meanwhile
    const release = await this.slot();
    try {
      if (!this.closed) await this.runNow(doc, plan, launch, queued);
    } catch (err) {
      this.opts.logger?.error({ err, query: doc.id }, 'lake: query could not run');
    } finally {
      launch.underway();
      this.pending.delete(doc.id);
      this.wake(doc.id);
      release();
    }
  }

  /** Queries a stopped server left QUEUED or RUNNING: they will not finish; say so. */
  async recover(): Promise<void> {
    for (const q of await this.meta.listDocs<QueryDoc>(KIND)) {
      if (q.status === 'QUEUED' || q.status === 'RUNNING') await this.save({ ...q, status: 'FAILED', endedAt: Date.now(), errorMessage: 'The server stopped before the query finished; run it again.' });
    }
  }

  private async runNow(doc: QueryDoc, plan: Plan, launch: Launch, queued: boolean): Promise<void> {
    if (queued) {
      if (!(await launch.stored)) return;
      const current = await this.meta.getDoc<QueryDoc>(KIND, doc.accountId, doc.id);
      if (current?.status !== 'QUEUED') return; // cancelled while queued
    }
    const t0 = Date.now();
    let conn: DuckDBConnection | undefined;
    const state: { conn: DuckDBConnection; timedOut: boolean; cancelled: boolean; doc: QueryDoc } = { conn: undefined as unknown as DuckDBConnection, timedOut: false, cancelled: false, doc: { ...doc, status: 'RUNNING' } };
    let timer: NodeJS.Timeout | undefined;
    try {
      conn = this.idle.get(doc.accountId)?.pop() ?? (await (await this.instanceFor(doc.accountId)).connect());
      state.conn = conn;
      this.running.set(doc.id, state);
      this.wake(doc.id);
      // Each read of a store takes the store's files of the days it can need (time-range.ts), and
      // only those days are listed; EventsScanned and BytesScanned count each file read once.
      const now = Date.now();
      const scanned = new Map<string, LakeFile>();
      const sources = new Map<StoreRead, string>();
      for (const read of plan.prepared.reads) {
        const range = read.range;
        const files = readableFiles(storeDir(this.lakeRoot, doc.accountId, read.storeId), range && ((d) => inRange(d, range, now)));
        for (const f of files) scanned.set(f.path, f);
        sources.set(read, files.length ? `read_parquet([${files.map((f) => sqlString(f.path)).join(', ')}], hive_partitioning = false)` : `(${TABLES[plan.kinds.get(read.storeId) ?? 'cloudtrail'].empty})`);
      }
      const bytes = [...scanned.values()].reduce((n, f) => n + f.bytes, 0);
      const events = await this.rowsIn(conn, [...scanned.values()]);
      const sql = plan.prepared.from((read) => sources.get(read)!);
      timer = setTimeout(() => {
        state.timedOut = true;
        conn?.interrupt();
      }, this.opts.timeoutMs ?? 3600_000);
      const running = conn.runAndReadAll(sql);
      launch.underway();
      const reader = await running;
      const names = reader.columnNames();
      const types = reader.columnTypes();
      const rows: Row[] = reader.getRowsJson().map((r) => r.map((v, i) => ({ [names[i]!]: queryResultValue(v, types[i]!) })));
      this.results.set(doc.id, rows);
      const finished: QueryDoc = { ...doc, status: 'FINISHED', endedAt: Date.now(), eventsScanned: events, bytesScanned: bytes, resultsCount: rows.length, executionMs: Date.now() - t0 };
      if (doc.deliveryS3Uri) finished.deliveryStatus = await this.deliver(doc, names, rows);
      // Callers waiting for the query hear it finished first (answered from memory, as RUNNING
      // is). The results file is written off this thread after their answers have gone out, and
      // the stored state (a commit, with its fsync, on this thread) follows it: nothing holds
      // the answers up, nor this server's other requests while a file is written.
      if (!(await launch.stored)) return;
      state.doc = finished;
      this.wake(doc.id);
      await new Promise<void>((r) => setImmediate(r));
      await (this.resultsDirMade ??= mkdir(this.resultsDir, { recursive: true }).catch((e: unknown) => {
        this.resultsDirMade = undefined; // tried again by the next query
        throw e;
      }));
      await writeFile(join(this.resultsDir, `${doc.id}.json`), JSON.stringify(rows));
      await this.save(finished);
      const idle = this.idle.get(doc.accountId) ?? [];
      if (idle.length < IDLE_KEPT && !this.closed) {
        idle.push(conn);
        this.idle.set(doc.accountId, idle);
        conn = undefined;
      }
    } catch (e) {
      launch.underway();
      if (!(await launch.stored)) return;
      const cancelled = state.cancelled || (await this.meta.getDoc<QueryDoc>(KIND, doc.accountId, doc.id))?.status === 'CANCELLED';
      const status: QueryStatus = cancelled ? 'CANCELLED' : state.timedOut ? 'TIMED_OUT' : 'FAILED';
      const message = (e as Error).message.split('\n')[0]!;
      await this.save({
        ...doc,
        status,
        endedAt: Date.now(),
        executionMs: Date.now() - t0,
        ...(status === 'FAILED' ? { errorMessage: message } : {}),
        ...(doc.deliveryS3Uri ? { deliveryStatus: 'FAILED' as const } : {}),
      });
      if (status === 'FAILED') this.opts.logger?.info({ query: doc.id, error: message }, 'lake: query failed');
    } finally {
      if (timer) clearTimeout(timer);
      this.running.delete(doc.id);
      conn?.closeSync();
    }
  }

  /**
   * Results as gzip CSV at DeliveryS3Uri, in AWS's layout, with a signed `result_sign.json`
   * (lake/result-files.ts); the sign file is written last, once every result file is in place.
   */
  private async deliver(doc: QueryDoc, columns: string[], rows: Row[]): Promise<'SUCCESS' | 'FAILED'> {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(doc.deliveryS3Uri!)!;
    const bucket = m[1]!;
    try {
      const store = this.opts.objectStore;
      if (!store || !this.opts.signingKeys) return 'FAILED';
      const done = new Date();
      const folder = resultFolder(m[2]!.replace(/\/$/, ''), doc.accountId, doc.id, done);
      const files = [{ name: 'result_1.csv.gz', body: gzipSync(csv(columns, rows)) }];
      for (const f of files) await store.putObject(bucket, `${folder}/${f.name}`, f.body, { contentType: 'application/gzip' });
      const sign = resultSign(files, doc.region, done, await this.opts.signingKeys.current(doc.region));
      await store.putObject(bucket, `${folder}/result_sign.json`, Buffer.from(JSON.stringify(sign)), { contentType: 'application/json' });
      return 'SUCCESS';
    } catch (e) {
      this.opts.logger?.warn({ query: doc.id, err: e }, 'lake: could not deliver query results');
      return 'FAILED';
    }
  }

  /**
   * The account's query database: its Trino macros, file access limited to the account's own Lake
   * folder (all its stores, none of another account's), then the configuration locked — before any
   * statement of a user runs. Each query has a connection of its own (its views are temporary, so
   * they are the connection's); Parquet metadata stays cached between queries.
   */
  private instanceFor(accountId: string): Promise<DuckDBInstance> {
    let p = this.instances.get(accountId);
    if (!p) {
      p = (async () => {
        const dir = `${storeDir(this.lakeRoot, accountId, '').replace(/\/+$/, '')}/`;
        mkdirSync(dir, { recursive: true });
        const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
        const c = await inst.connect();
        await c.run(TRINO_SETUP.map((m) => `${m};`).join('\n'));
        await c.run('SET enable_object_cache = true');
        await c.run(`SET allowed_directories = [${sqlString(dir)}]`);
        await c.run('SET enable_external_access = false');
        await c.run('SET lock_configuration = true');
        c.closeSync();
        return inst;
      })();
      this.instances.set(accountId, p);
      p.catch(() => this.instances.delete(accountId));
    }
    return p;
  }

  /** Rows in these Parquet files (EventsScanned), from their metadata, remembered per file. */
  private async rowsIn(conn: DuckDBConnection, files: { path: string }[]): Promise<number> {
    const unknown = files.filter((f) => knownRows(f.path) === undefined);
    if (unknown.length) {
      const meta = await conn.runAndReadAll(
        `SELECT file_name AS f, sum(n) AS n FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS n FROM parquet_metadata([${unknown.map((f) => sqlString(f.path)).join(', ')}])) GROUP BY 1`,
      );
      const byPath = new Map(meta.getRowObjects().map((r) => [String(r.f), Number(r.n)]));
      for (const f of unknown) rememberRows(f.path, byPath.get(f.path) ?? 0);
    }
    return files.reduce((n, f) => n + (knownRows(f.path) ?? 0), 0);
  }

  /** A stored query with the status it has on this server now (RUNNING is not stored). */
  private current(q: QueryDoc): QueryDoc {
    const r = this.running.get(q.id);
    return r && q.status === 'QUEUED' ? r.doc : q;
  }

  async get(accountId: string, queryId: string): Promise<QueryDoc> {
    const stored = await this.meta.getDoc<QueryDoc>(KIND, accountId, queryId);
    const q = stored && this.current(stored);
    if (!q || q.createdAt < Date.now() - KEEP_MS) throw new QueryIdNotFoundException(`The query ${queryId} was not found.`);
    return q;
  }

  async rows(q: QueryDoc): Promise<Row[]> {
    let r = this.results.get(q.id);
    if (!r) {
      try {
        r = JSON.parse(readFileSync(join(this.resultsDir, `${q.id}.json`), 'utf8')) as Row[];
      } catch {
        r = [];
      }
      this.results.set(q.id, r);
    }
    return r;
  }

  async list(accountId: string, region: string, filter: { stores?: string[]; start?: number; end?: number; status?: QueryStatus }): Promise<QueryDoc[]> {
    const since = Date.now() - KEEP_MS;
    return (await this.meta.listDocs<QueryDoc>(KIND, accountId))
      .map((q) => this.current(q))
      .filter((q) => q.region === region && q.createdAt >= since)
      .filter((q) => !filter.stores || q.stores.some((s) => filter.stores!.includes(s)))
      .filter((q) => (filter.start === undefined || q.createdAt >= filter.start) && (filter.end === undefined || q.createdAt <= filter.end))
      .filter((q) => !filter.status || q.status === filter.status)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  async cancel(accountId: string, queryId: string): Promise<QueryDoc> {
    const q = await this.get(accountId, queryId);
    if (TERMINAL.has(q.status)) throw new InactiveQueryException(`The query ${queryId} is ${q.status}; only QUEUED or RUNNING queries can be cancelled.`);
    const cancelled: QueryDoc = { ...q, status: 'CANCELLED', endedAt: Date.now() };
    this.pending.delete(queryId); // no longer counts against the limit, though it may take a moment to stop
    await this.save(cancelled);
    const r = this.running.get(queryId);
    if (r) {
      r.cancelled = true;
      r.conn.interrupt();
    }
    return cancelled;
  }

  /** Forget queries (and their results) older than 7 days. */
  async expire(now = Date.now()): Promise<void> {
    for (const q of await this.meta.listDocs<QueryDoc>(KIND)) {
      if (q.createdAt >= now - KEEP_MS || !TERMINAL.has(q.status)) continue;
      await this.meta.deleteDoc(KIND, q.accountId, q.id);
      this.results.delete(q.id);
      rmSync(join(this.resultsDir, `${q.id}.json`), { force: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
    for (const r of this.running.values()) {
      r.cancelled = true;
      r.conn.interrupt();
    }
    while (this.running.size > 0) await new Promise((res) => setTimeout(res, 10));
    for (const list of this.idle.values()) for (const c of list.splice(0)) c.closeSync();
    this.parser?.closeSync();
    this.parserInstance?.closeSync();
    for (const p of this.instances.values()) (await p.catch(() => undefined))?.closeSync();
  }
}
