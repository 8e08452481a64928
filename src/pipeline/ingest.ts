/**
 * The one way into the event log. Callers hand over records and get a promise
 * that settles once the records are committed. Records arriving close together
 * share a commit (group commit), so durability costs one fsync per group.
 */
import type { CloudTrailRecord } from '../domain/record.js';
import type { Appended, EventLog, IndexedEvent } from '../storage/interfaces.js';
import { ThrottlingException } from '../protocols/errors.js';
import { indexEvent } from './index-keys.js';
import { takeGroup } from '../storage/groups.js';

interface Pending {
  events: IndexedEvent[];
  resolve: (appended: Appended[]) => void;
  reject: (err: Error) => void;
}

export interface IngestOptions {
  /** Most records waiting for a commit before callers are throttled. */
  maxPending?: number;
  /** Most records written in one transaction. */
  maxBatch?: number;
}

export type CommitListener = (count: number) => void;

export class Ingest {
  private queue: Pending[] = [];
  private queued = 0;
  /** Groups sent to the log and not yet answered. */
  private sent = 0;
  private scheduled = false;
  private closed = false;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly listeners: CommitListener[] = [];

  constructor(private readonly log: EventLog, opts: IngestOptions = {}) {
    this.maxPending = opts.maxPending ?? 200_000;
    this.maxBatch = opts.maxBatch ?? 20_000;
  }

  onCommit(l: CommitListener): void {
    this.listeners.push(l);
  }

  /** Records waiting to be committed. */
  get backlog(): number {
    return this.queued;
  }

  /**
   * Commit records; resolves with each one's place in the log. `idempotencyIds[i]`, when given,
   * makes record i a no-op if its account recorded an event under that id in the last 24 hours
   * (the answer then names that event). `jsons[i]`, when given, is record i's JSON text (the
   * caller made it already), stored as it is.
   */
  record(records: CloudTrailRecord[], opts: { idempotencyIds?: (string | undefined)[]; jsons?: string[] } = {}): Promise<Appended[]> {
    if (this.closed) return Promise.reject(new Error('ingest is closed'));
    if (records.length === 0) return Promise.resolve([]);
    if (this.queued + records.length > this.maxPending) {
      return Promise.reject(new ThrottlingException('Rate exceeded: the event log is behind; retry with backoff'));
    }
    const events = records.map((r, i) => indexEvent(r, opts.jsons?.[i]));
    const ids = opts.idempotencyIds ?? [];
    for (let i = 0; i < events.length; i++) if (ids[i] !== undefined) events[i]!.idempotencyId = ids[i];
    return new Promise<Appended[]>((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      this.queued += events.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /**
   * Send what is queued to the log in groups, without waiting for the commits before: the log
   * commits groups in the order sent, and those that reach it during a commit share the next
   * one. (Waiting for each commit's answer before sending the next group left the log idle for
   * a round trip through this thread, busy with other requests, between commits.)
   */
  private flush(): void {
    while (this.queue.length > 0) {
      const { group, items: n } = takeGroup(this.queue, this.maxBatch, (p) => p.events.length);
      const all = group.length === 1 ? group[0]!.events : group.flatMap((p) => p.events);
      // What waits for the commit keeps no event: under heavy ingest thousands of them wait at
      // any time, and every young-generation collection meanwhile copied their texts and keys
      // again (with the ingest API's own change, this thread's scavenges under bench:ingest fell
      // from ~6% of its time to ~3.5% in the sustained phase, from ~30% to ~20% under overload).
      const callers = group.map((p) => ({ count: p.events.length, resolve: p.resolve, reject: p.reject }));
      this.sent++;
      this.log.append(all).then(
        (appended) => {
          this.done(n);
          let i = 0;
          for (const p of callers) {
            p.resolve(appended.slice(i, i + p.count));
            i += p.count;
          }
          for (const l of this.listeners) l(n);
        },
        (err: unknown) => {
          this.done(n);
          for (const p of callers) p.reject(err as Error);
        },
      );
    }
  }

  private done(n: number): void {
    this.queued -= n;
    this.sent--;
  }

  /** Wait for everything queued to be committed, then refuse new records. */
  async close(): Promise<void> {
    while (this.queue.length > 0 || this.sent > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.closed = true;
  }
}
