/**
 * AuditClient: records your own service's audit events in opentrail.
 *
 *   const audit = new AuditClient({ endpoint, region, credentials });
 *   await audit.record({ eventSource: 'billing.example.com', eventName: 'VoidInvoice', userIdentity: { type: 'IAMUser', userName: 'ana' } });
 *   await audit.close();
 *
 * Records are buffered and sent in batches (by count and by time), SigV4-signed, each with an
 * idempotency id so a retried batch is recorded once. Throttling, server errors and network
 * errors are retried with jittered exponential backoff; records the server refuses as invalid
 * are reported to `onRecordFailed` and not retried. Memory is bounded: when `maxBufferedRecords`
 * are waiting, `whenFull` decides — `block` (record() waits for room), `drop-oldest` (the oldest
 * record not yet sent makes room, or the new one is dropped when all are in requests; counted in
 * `stats.dropped`) or `error` (record() rejects with BufferFullError).
 */
import { newEventId } from '../domain/event-id.js';
import { SignedHttp } from './signed-http.js';
import type { AuditRecordInput, RecordFailure } from './types.js';

export interface AuditCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AuditClientOptions {
  /** opentrail's URL, e.g. `http://127.0.0.1:4577`. */
  endpoint: string;
  /** Region the requests are signed for; records without awsRegion are recorded in it. */
  region: string;
  credentials: AuditCredentials | (() => Promise<AuditCredentials>);
  /** Records per request (1–1000; default 100). */
  maxBatchSize?: number;
  /** Longest a record waits for its batch to fill, in ms (default 1000). */
  maxBatchDelayMs?: number;
  /** Records held in memory at most, sent or not yet acknowledged (default 10,000). */
  maxBufferedRecords?: number;
  /** What record() does when the buffer is full (default `block`). */
  whenFull?: 'block' | 'drop-oldest' | 'error';
  /** Requests in flight at once (default 2). */
  maxInFlight?: number;
  /** Backoff between retries: full jitter over base·2^attempt, capped (defaults 100 ms, 10 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called for each record the server refused (invalid; never retried). */
  onRecordFailed?: (failure: RecordFailure) => void;
  /** Called when a request fails and will be retried (network error, throttling, 5xx). */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
}

export class BufferFullError extends Error {
  constructor(n: number) {
    super(`The audit buffer is full (${n} records waiting); the server is unreachable or slower than the records arrive`);
    this.name = 'BufferFullError';
  }
}

export class ClientClosedError extends Error {
  constructor() {
    super('The audit client is closed');
    this.name = 'ClientClosedError';
  }
}

interface Queued {
  id: string;
  record: AuditRecordInput;
}

export interface AuditClientStats {
  /** Records the server acknowledged (committed), duplicates of a retried batch included once. */
  recorded: number;
  /** Records the server refused as invalid. */
  failed: number;
  /** Records dropped to make room (`drop-oldest`). */
  dropped: number;
  /** Requests retried. */
  retries: number;
  /** Records given up on by `close({ timeoutMs })`. */
  abandoned: number;
  /** Records waiting (unsent or in flight). */
  buffered: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AuditClient {
  private readonly http: SignedHttp;
  private readonly maxBatch: number;
  private readonly maxDelay: number;
  private readonly maxBuffered: number;
  private readonly whenFull: 'block' | 'drop-oldest' | 'error';
  private readonly maxInFlight: number;
  private queue: Queued[] = [];
  private inFlightRecords = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private abandoning = false;
  private flushing = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  readonly stats: AuditClientStats = { recorded: 0, failed: 0, dropped: 0, retries: 0, abandoned: 0, buffered: 0 };

  constructor(private readonly opts: AuditClientOptions) {
    this.http = new SignedHttp({ endpoint: opts.endpoint, region: opts.region, service: 'opentrail', credentials: opts.credentials });
    this.maxBatch = Math.min(1000, Math.max(1, opts.maxBatchSize ?? 100));
    this.maxDelay = opts.maxBatchDelayMs ?? 1000;
    this.maxBuffered = Math.max(this.maxBatch, opts.maxBufferedRecords ?? 10_000);
    this.whenFull = opts.whenFull ?? 'block';
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
  }

  private get buffered(): number {
    return this.queue.length + this.inFlightRecords;
  }

  /**
   * Queue a record. Resolves once it is buffered (with `block`, once there is room); it is sent
   * in the background — `flush()` waits until everything queued is acknowledged.
   */
  async record(record: AuditRecordInput): Promise<void> {
    if (this.closed) throw new ClientClosedError();
    while (this.buffered >= this.maxBuffered) {
      if (this.whenFull === 'error') throw new BufferFullError(this.buffered);
      if (this.whenFull === 'drop-oldest') {
        this.stats.dropped++;
        // The oldest record not yet sent; when every buffered record is in a request, this one.
        if (this.queue.length === 0) return;
        this.queue.shift();
        break;
      }
      // block: wait for room.
      await new Promise<void>((r) => this.roomWaiters.push(r));
      if (this.closed) throw new ClientClosedError();
    }
    // A time-ordered id (UUID v7): the server keeps each account's ids of the last 24 hours in a
    // B-tree, where ids made in the same moment land together at its end. Random ones (v4) each
    // went to a page of their own: under bench:ingest, 23,205 events/s against 58,578.
    this.queue.push({ id: newEventId(), record });
    this.stats.buffered = this.buffered;
    this.pump();
  }

  /** Wait until every record queued so far is acknowledged (or refused). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.pump();
      while (this.buffered > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    } finally {
      this.flushing--;
    }
  }

  /**
   * Send what is buffered, then refuse new records. With `timeoutMs`, give up after that long:
   * retries stop and what is still unacknowledged is counted in `stats.abandoned`.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    for (const w of this.roomWaiters.splice(0)) w();
    let timer: NodeJS.Timeout | undefined;
    const deadline = opts.timeoutMs === undefined ? undefined : new Promise<void>((r) => (timer = setTimeout(r, opts.timeoutMs)));
    await Promise.race([this.flush(), ...(deadline ? [deadline] : [])]);
    clearTimeout(timer);
    if (this.buffered > 0) {
      this.abandoning = true;
      this.stats.abandoned += this.queue.length;
      this.queue = [];
      if (this.timer) clearTimeout(this.timer);
      await this.flush(); // in-flight batches end at their next retry
    }
    this.stats.buffered = this.buffered;
    this.http.close();
  }

  /** Start requests while a batch is due: full, its oldest record has waited long enough (`now`), or a flush is on. */
  private pump(now = false): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0 && (now || this.flushing > 0 || this.queue.length >= this.maxBatch)) {
      this.sendBatch(this.queue.splice(0, this.maxBatch));
    }
    if (this.queue.length > 0 && !this.timer && this.inFlight < this.maxInFlight) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.maxDelay);
      this.timer.unref();
    }
  }

  private sendBatch(batch: Queued[]): void {
    this.inFlight++;
    this.inFlightRecords += batch.length;
    void this.deliver(batch).finally(() => {
      this.inFlight--;
      this.inFlightRecords -= batch.length;
      this.stats.buffered = this.buffered;
      for (const w of this.roomWaiters.splice(0)) w();
      if (this.buffered === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    });
  }

  /** Send one batch until the server answers it (retrying the same ids), and account for the answer. */
  private async deliver(batch: Queued[]): Promise<void> {
    const body = JSON.stringify({ events: batch.map((q) => ({ id: q.id, record: q.record })) });
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.post(body);
        if (res.status === 200) {
          const out = JSON.parse(res.text) as { successful: { id: string }[]; failed: RecordFailure[] };
          this.stats.recorded += out.successful.length;
          this.stats.failed += out.failed.length;
          for (const f of out.failed) this.opts.onRecordFailed?.(f);
          return;
        }
        const err = JSON.parse(res.text || '{}') as { __type?: string; message?: string };
        const retryable = res.status === 429 || res.status >= 500;
        if (!retryable) {
          // The whole request was refused (e.g. bad credentials): every record in it failed.
          this.stats.failed += batch.length;
          for (const q of batch) this.opts.onRecordFailed?.({ id: q.id, index: -1, errorCode: err.__type ?? `HTTP${res.status}`, errorMessage: err.message ?? '' });
          return;
        }
        throw new Error(`${err.__type ?? `HTTP ${res.status}`}: ${err.message ?? ''}`);
      } catch (e) {
        if (this.abandoning) {
          this.stats.abandoned += batch.length;
          return;
        }
        const base = this.opts.retryBaseMs ?? 100;
        const cap = this.opts.retryMaxMs ?? 10_000;
        const delay = Math.random() * Math.min(cap, base * 2 ** Math.min(attempt, 20));
        this.stats.retries++;
        this.opts.onRetry?.(e as Error, attempt + 1, delay);
        await sleep(delay);
      }
    }
  }

  private async post(body: string): Promise<{ status: number; text: string }> {
    const r = await this.http.post('/v1/events', body, { 'content-type': 'application/json' });
    return { status: r.status, text: r.body.toString('utf8') };
  }
}
