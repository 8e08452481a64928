/**
 * The storage interfaces the domain and pipeline rely on. The embedded shape
 * implements them with SQLite; the shared shape with PostgreSQL.
 */
import type { AccessKey, Account, Principal } from '../domain/identity.js';

/** One event as the log stores it, with the keys the history index needs. */
export interface IndexedEvent {
  accountId: string;
  region: string;
  timeMs: number;
  eventId: string;
  eventName: string;
  eventSource: string;
  username: string | null;
  accessKeyId: string | null;
  readOnly: boolean | null;
  /** Lower-case: `management`, `data`, `insight`, `networkactivity`, … */
  category: string;
  resources: { type: string | null; name: string }[];
  /** The record, serialised once. */
  json: string;
  /**
   * A caller's idempotency id: an event whose id the same account used within the last 24 hours
   * is not appended again; the append answers with the event recorded under that id.
   */
  idempotencyId?: string;
}

/** Where an appended event sits in the log: its own place, or the earlier event its idempotency id names. */
export interface Appended {
  seq: number;
  eventId: string;
  /** True when an earlier event with the same idempotency id was found instead. */
  duplicate: boolean;
}

/** How long an idempotency id is remembered. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export type LookupKey =
  | 'EventId'
  | 'EventName'
  | 'ReadOnly'
  | 'Username'
  | 'ResourceType'
  | 'ResourceName'
  | 'EventSource'
  | 'AccessKeyId';

export interface HistoryQuery {
  accountId: string;
  region: string;
  category: string;
  attribute?: { key: LookupKey; value: string };
  startMs: number;
  endMs: number;
  limit: number;
  /** Keyset position: return events strictly older than this (time, seq). */
  before?: { timeMs: number; seq: number };
  /** The eventID of a record to leave out (a lookup's own, committed while it reads; lookupPage only). */
  exclude?: string;
}

/** Events in the bucket that starts at `startMs`. */
export interface BucketCount {
  startMs: number;
  count: number;
}

/** Events per time bucket for a LookupEvents-style query (the console's histogram). */
export interface HistoryCountQuery extends Omit<HistoryQuery, 'limit' | 'before'> {
  /** Bucket width; buckets start at startMs. */
  bucketMs: number;
}

/** A lookup's hit: the record, with its lookup keys so a lookup answers without parsing `json`. */
export interface HistoryRow extends Pick<IndexedEvent, 'eventId' | 'eventName' | 'eventSource' | 'username' | 'accessKeyId' | 'readOnly' | 'resources'> {
  seq: number;
  timeMs: number;
  json: string;
}

/** A lookup's page, encoded by the log's HistoryPageEncoder, with what its NextToken needs. */
export interface HistoryPage {
  /**
   * The events as the encoder wrote them (LookupEvents' wire form, in the server), in UTF-8: a
   * reader thread hands its bytes over without a copy, and the request thread writes them to the
   * socket as they are. (Sent as a ~75 KB string, every page was created in the request thread's
   * old generation — V8 places a received message's objects there — and full collections every
   * ~1,000 lookups, with the scavenges between them at 4 ms, were that thread's longest stalls.)
   */
  events: Uint8Array;
  /**
   * Gives the bytes back to the thread that wrote them, to write a later page into (set by reader
   * threads): call it once they have been sent, and use them no more. Not calling it only costs
   * that thread an allocation.
   */
  release?: () => void;
  /** The last event of the page, when more events follow it. */
  next?: { timeMs: number; seq: number };
  /** Entries read from the log for this page, and entries that came encoded from the cache. */
  read?: number;
  cached?: number;
  /** The page was written into a buffer made for it (not one given back by release). */
  newBuffer?: boolean;
}

/**
 * How pages are encoded, given to the event log by whoever answers with them (the CloudTrail
 * service): the function that encodes one event as an element of the page's JSON array, and the
 * URL of a module exporting it as `encodeEvent`, for a reader thread. A page is its events'
 * elements in a JSON array; an event's element must depend on the event alone (it is kept and
 * used again in later pages).
 */
export interface HistoryPageEncoder {
  encodeEvent(row: HistoryRow): string;
  module: string;
}

/** A LogEntry without the record's JSON. */
export type LogEntrySummary = Omit<LogEntry, 'json'>;

export interface LogEntry {
  seq: number;
  /**
   * The record's JSON as committed, in UTF-8 bytes, outside the JS heap. (Each is still a Buffer
   * the collector tracks: trail delivery reads its files' records with recordsJson instead.)
   */
  json: Buffer;
  /** Index columns, so readers can often decide without parsing the JSON. */
  accountId: string;
  region: string;
  /** Lower-case event category (`management`, `data`, …). */
  category: string;
  eventSource: string;
  eventName: string;
  readOnly: boolean | null;
  /** The record's eventTime, in ms. */
  timeMs: number;
}

/**
 * How the event log's commits reach the disk: `full`, each synced before the calls it records are
 * answered (survives power loss); `normal`, left to the operating system (survives the process
 * being killed, not power loss).
 */
export type CommitSync = 'full' | 'normal';

export interface EventLog {
  /** Durably append; resolves with each event's place in the log once committed. */
  append(events: IndexedEvent[]): Promise<Appended[]>;
  /**
   * Called with each commit's duration in seconds, the disk's sync included (every acknowledged
   * call waits for one, so this is the part of request latency the disk decides).
   */
  onCommitTime?(listener: (seconds: number) => void): void;
  /** History index lookups (newest first). */
  lookup(q: HistoryQuery): Promise<HistoryRow[]>;
  /** A page of up to `q.limit` events (newest first), encoded where they are read by the log's page encoder. */
  lookupPage(q: HistoryQuery): Promise<HistoryPage>;
  /** How many events match, per bucket (only buckets holding some), oldest first. */
  countHistory(q: HistoryCountQuery): Promise<BucketCount[]>;
  /** Entries after `afterSeq`, in order, for readers. */
  readFrom(afterSeq: number, limit: number): Promise<LogEntry[]>;
  /** As readFrom, without the records' JSON: what a reader decides on before reading the records it keeps. */
  readSummariesFrom(afterSeq: number, limit: number): Promise<LogEntrySummary[]>;
  /**
   * The JSON of the records at `seqs` (ascending), as committed, joined by commas, in UTF-8: a log
   * file's records in one read, built by the database as one buffer.
   */
  recordsJson(seqs: readonly number[]): Promise<Buffer>;
  /** A reader's checkpoint with the state it keeps beside it (e.g. a batch in progress), written together. */
  getReaderState(reader: string): Promise<{ seq: number; state: string | null }>;
  setReaderState(reader: string, seq: number, state: string | null): Promise<void>;
  deleteReader(reader: string): Promise<void>;
  /**
   * A reader's pending work items (e.g. the rules reader's deliveries), kept beside its checkpoint:
   * puts, deletes and (when given) the new checkpoint are one commit, so work derived from events
   * is never lost when the checkpoint moves past them.
   */
  saveReaderJobs(reader: string, change: { seq?: number; put?: { key: string; doc: string }[]; delete?: string[] }): Promise<void>;
  readerJobs(reader: string): Promise<{ key: string; doc: string }[]>;
  /** Sequence number of the newest committed event (0 when empty). */
  lastSeq(): Promise<number>;
  /** Committed events not yet in the history index (lookups scan them; a number that keeps growing means the index cannot keep up). */
  indexLag(): Promise<number>;
  /** Drop events older than `beforeMs` from the history; returns how many. */
  purge(beforeMs: number): Promise<number>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export interface Metastore {
  /** A number that moves whenever another process (or connection) has committed a change since it was last read. */
  changesElsewhere(): number;
  createAccount(a: Account): Promise<void>;
  getAccount(accountId: string): Promise<Account | undefined>;
  listAccounts(): Promise<Account[]>;
  deleteAccount(accountId: string): Promise<void>;
  createPrincipal(p: Principal): Promise<void>;
  getPrincipal(accountId: string, userName: string): Promise<Principal | undefined>;
  listPrincipals(accountId: string): Promise<Principal[]>;
  deletePrincipal(accountId: string, userName: string): Promise<void>;
  createAccessKey(k: AccessKey): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;
  listAccessKeys(accountId: string, userName?: string): Promise<AccessKey[]>;
  deleteAccessKey(accessKeyId: string): Promise<void>;
  getSetting(name: string): Promise<string | undefined>;
  setSetting(name: string, value: string): Promise<void>;
  /** Documents: the domain's resources (trails, their status, …) as JSON, by kind, account and id. */
  /**
   * `durable: false`: committed without waiting for the disk — it survives the process crashing,
   * not the machine losing power (for passing states, such as a query's).
   */
  putDoc(kind: string, accountId: string, id: string, doc: unknown, opts?: { durable?: boolean }): Promise<void>;
  getDoc<T>(kind: string, accountId: string, id: string): Promise<T | undefined>;
  listDocs<T>(kind: string, accountId?: string): Promise<T[]>;
  deleteDoc(kind: string, accountId: string, id: string): Promise<void>;
  /** Several puts and deletes of one kind in one transaction (one commit for a batch). */
  writeDocs(kind: string, puts: { accountId: string; id: string; doc: unknown }[], deletes?: { accountId: string; id: string }[]): Promise<void>;
  close(): Promise<void>;
}
