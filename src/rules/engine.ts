/**
 * The rules reader: every recorded event, in log order, is wrapped in
 * EventBridge's envelope and offered to the enabled rules of its account and
 * region (default bus) in one pass of the rule index. Each (event, rule,
 * target) match becomes a job, committed together with the reader's
 * checkpoint (on the log's writer thread), then sent at once; failures are retried with exponential
 * backoff and jitter within the target's RetryPolicy, and what is exhausted
 * goes to the target's dead-letter queue. A crash loses no match: the
 * outbox is re-sent on start (at-least-once; the envelope id is stable, so
 * receivers can drop repeats).
 */
import type { Logger } from 'pino';
import type { EventLog } from '../storage/interfaces.js';
import type { Metastore } from '../storage/interfaces.js';
import type { EventRules } from '../domain/event-rules.js';
import type { CloudTrailRecord } from '../domain/record.js';
import { DEFAULT_BUS, DEFAULT_MAX_EVENT_AGE_SECONDS, DEFAULT_MAX_RETRY_ATTEMPTS, type RuleDoc, type TargetDoc } from '../domain/rules-model.js';
import { RuleIndex } from './rule-index.js';
import { eventBridgeEvent, recordTrieFor, targetBody } from './envelope.js';
import { extractFields } from './json-scan.js';
import type { TargetInvoker, InvokeResult } from './targets.js';
import { failpoint } from '../failpoints.js';
import { DLQ, READER, REDRIVE, jobKey, type DeadLetter, type RuleJob } from './jobs.js';


export interface RuleCounters {
  matched(rule: string): void;
  invoked(rule: string): void;
  failed(rule: string): void;
  throttled(rule: string): void;
  deadLettered(rule: string): void;
}

export interface RulesEngineOptions {
  logger?: Logger;
  counters?: RuleCounters;
  /** First retry delay (ms), doubled per attempt, capped at `maxRetryDelayMs`. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  /** Most invocations in flight at once. */
  concurrency?: number;
}

const noCounters: RuleCounters = { matched() {}, invoked() {}, failed() {}, throttled() {}, deadLettered() {} };


export class RulesEngine {
  private readonly scopes = new Map<string, RuleIndex<RuleDoc>>();
  private readonly byArn = new Map<string, RuleDoc>();
  private readonly jobs = new Map<string, RuleJob>();
  private readonly queue: RuleJob[] = [];
  private readonly done: string[] = [];
  private inFlight = 0;
  private seq = 0;
  private savedAt = 0;
  /** Jobs found in the outbox at start, until the reader has passed their events again (a replay must not send them twice). */
  private recovered = new Set<string>();
  private recoveredUpTo = 0;
  private running = false;
  private again = false;
  private stopped = true;
  private timers: NodeJS.Timeout[] = [];
  private readonly counters: RuleCounters;
  private readonly retryBaseMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly concurrency: number;
  private idle: (() => void)[] = [];
  /** When the end of the log was last noted while no rule was there to read it. */
  private idleNotedAt = 0;

  constructor(
    private readonly log: EventLog,
    private readonly store: Metastore,
    private readonly rules: EventRules,
    private readonly invoker: TargetInvoker,
    private readonly opts: RulesEngineOptions = {},
  ) {
    this.counters = opts.counters ?? noCounters;
    this.retryBaseMs = opts.retryBaseMs ?? 1000;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 300_000;
    this.concurrency = opts.concurrency ?? 64;
    rules.onChange((a, r) => void this.rebuild(a, r));
  }

  async start(): Promise<void> {
    this.stopped = false;
    const byScope = new Map<string, RuleDoc[]>();
    for (const r of await this.rules.allRules()) {
      const k = `${r.accountId}|${r.region}`;
      byScope.set(k, [...(byScope.get(k) ?? []), r]);
    }
    for (const [k, list] of byScope) this.index(k, list);
    this.seq = (await this.log.getReaderState(READER)).seq;
    if (this.seq === 0 && (await this.rules.allRules()).length === 0) {
      // No rule has ever existed: start at the end of the log (rules see events from their creation on).
      this.seq = await this.log.lastSeq();
      await this.log.setReaderState(READER, this.seq, null);
    }
    for (const { doc } of await this.log.readerJobs(READER)) {
      const j = JSON.parse(doc) as RuleJob;
      this.recovered.add(j.key);
      this.recoveredUpTo = Math.max(this.recoveredUpTo, j.seq ?? 0);
      this.schedule(j);
    }
    const tick = setInterval(() => this.wake(), 1000);
    const flush = setInterval(() => void this.flushDone(), 50);
    const redrive = setInterval(() => void this.pickUpRedrives(), 1000);
    for (const t of [tick, flush, redrive]) t.unref();
    this.timers.push(tick, flush, redrive);
    this.wake();
  }

  /** New events were committed: look at them now. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.pass();
  }

  private index(scope: string, rules: RuleDoc[]): void {
    const idx = new RuleIndex<RuleDoc>();
    for (const [arn, r] of this.byArn) if (`${r.accountId}|${r.region}` === scope) this.byArn.delete(arn);
    for (const r of rules) {
      this.byArn.set(r.arn, r);
      if (r.bus !== DEFAULT_BUS || r.state === 'DISABLED' || r.targets.length === 0) continue;
      const p = this.rules.patternOf(r);
      if (p) idx.add(r, p);
    }
    if (idx.size > 0) this.scopes.set(scope, idx);
    else this.scopes.delete(scope);
  }

  private async rebuild(accountId: string, region: string): Promise<void> {
    const rules = await this.rules.rulesOf(accountId, region);
    if (this.scopes.size === 0) this.seq = Math.max(this.seq, await this.log.lastSeq()); // the first rule: from now on
    this.index(`${accountId}|${region}`, rules);
  }

  private async pass(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        for (;;) {
          if (this.stopped) return;
          if (this.scopes.size === 0) {
            // No enabled rule with targets anywhere: nothing to read; rules see events from their
            // creation on (rebuild() moves to the end of the log when the first one comes). The
            // end of the log is noted once a second, not at every commit.
            if (Date.now() - this.idleNotedAt >= 1000) {
              this.idleNotedAt = Date.now();
              this.seq = await this.log.lastSeq();
              await this.saveCheckpoint(false);
            }
            break;
          }
          const entries = await this.log.readFrom(this.seq, 1000);
          if (entries.length === 0) break;
          const jobs: RuleJob[] = [];
          const now = Date.now();
          const ingestion = new Date(now).toISOString();
          for (const e of entries) {
            const idx = this.scopes.get(`${e.accountId}|${e.region}`);
            if (!idx) continue;
            const text = e.json.toString('utf8');
            // Match on the fields rules name (read out of the text); parse the whole record only for a match.
            const trie = idx.fieldTrie();
            let record = (trie ? extractFields(text, recordTrieFor(trie)) : JSON.parse(text)) as CloudTrailRecord;
            let event = eventBridgeEvent(record);
            const matched = idx.match(event);
            if (matched.length === 0) continue;
            if (trie) {
              record = JSON.parse(text) as CloudTrailRecord;
              event = eventBridgeEvent(record);
            }
            // Read-only management events reach only rules that asked for all of them (as EventBridge).
            const readOnlyManagement = record.readOnly === true && e.category === 'management';
            for (const rule of matched) {
              if (readOnlyManagement && rule.state !== 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') continue;
              this.counters.matched(rule.arn);
              for (const t of rule.targets) {
                const key = jobKey(event.id, rule.arn, t.Id);
                if (this.recovered.has(key) || this.jobs.has(key)) continue; // already on its way
                jobs.push({
                  key,
                  accountId: rule.accountId,
                  region: rule.region,
                  ruleArn: rule.arn,
                  targetId: t.Id,
                  eventId: event.id,
                  seq: e.seq,
                  body: targetBody(t, event, rule, ingestion),
                  attempts: 0,
                  firstAt: now,
                  nextAt: now,
                });
              }
            }
          }
          this.seq = entries[entries.length - 1]!.seq;
          if (jobs.length > 0) {
            // The matches and the checkpoint past their events: one commit. Sending starts at once,
            // beside it: a crash before the commit replays these events (at-least-once, same ids),
            // one after it finds the jobs; either way nothing matched is lost. Deletes of sent jobs
            // queue behind this put on the writer thread.
            const saved = this.log.saveReaderJobs(READER, { seq: this.seq, put: jobs.map((j) => ({ key: j.key, doc: JSON.stringify(j) })) });
            failpoint('rules-before-send'); // crash test: matched, not yet sent
            for (const j of jobs) this.schedule(j);
            await saved;
            this.savedAt = Date.now();
          } else await this.saveCheckpoint(false);
          if (this.recovered.size > 0 && this.seq >= this.recoveredUpTo) this.recovered.clear();
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.opts.logger?.error({ err }, 'rules: could not process events; retrying');
    } finally {
      this.running = false;
    }
  }

  /**
   * Moved past events that matched: written now. Past events that did not: at most once a second
   * (a replay of those after a crash produces nothing).
   */
  private async saveCheckpoint(matched: boolean): Promise<void> {
    if (!matched && Date.now() - this.savedAt < 1000) return;
    await this.log.setReaderState(READER, this.seq, null);
    this.savedAt = Date.now();
  }

  private schedule(j: RuleJob): void {
    if (this.stopped) return;
    this.jobs.set(j.key, j);
    const delay = j.nextAt - Date.now();
    if (delay <= 0) {
      this.queue.push(j);
      this.drain();
    } else {
      const t = setTimeout(() => {
        this.timers = this.timers.filter((x) => x !== t);
        this.queue.push(j);
        this.drain();
      }, delay);
      t.unref();
      this.timers.push(t);
    }
  }

  private drain(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0 && !this.stopped) {
      const j = this.queue.shift()!;
      this.inFlight++;
      void this.attempt(j).finally(() => {
        this.inFlight--;
        this.drain();
        if (this.inFlight === 0 && this.queue.length === 0) for (const f of this.idle.splice(0)) f();
      });
    }
  }

  private targetOf(j: RuleJob): { rule: RuleDoc; target: TargetDoc } | undefined {
    const rule = this.byArn.get(j.ruleArn);
    const target = rule?.targets.find((t) => t.Id === j.targetId);
    return rule && target ? { rule, target } : undefined;
  }

  private async attempt(j: RuleJob): Promise<void> {
    const found = this.targetOf(j);
    if (!found) {
      // The rule or the target is gone: EventBridge no longer sends to it.
      this.finish(j);
      return;
    }
    const { target } = found;
    let r: InvokeResult;
    try {
      r = await this.invoker.invoke(j.accountId, target, j.body);
    } catch (e) {
      r = { ok: false, retryable: true, code: 'InternalError', message: (e as Error).message };
    }
    if (r.ok) {
      this.counters.invoked(j.ruleArn);
      this.finish(j);
      return;
    }
    if ('throttledForMs' in r) {
      this.counters.throttled(j.ruleArn);
      this.schedule({ ...j, nextAt: Date.now() + r.throttledForMs });
      return;
    }
    this.counters.invoked(j.ruleArn);
    const attempts = j.attempts + 1;
    const maxAttempts = target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
    const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000;
    const delay = Math.min(this.maxRetryDelayMs, this.retryBaseMs * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
    const failed: RuleJob = { ...j, attempts, lastError: { code: r.code, message: r.message } };
    let exhausted: string | undefined;
    if (!r.retryable) exhausted = 'NonRetryableError';
    else if (attempts > maxAttempts) exhausted = 'MaximumRetryAttempts';
    else if (Date.now() + delay - j.firstAt > maxAgeMs) exhausted = 'MaximumEventAgeInSeconds';
    if (!exhausted) {
      const next = { ...failed, nextAt: Date.now() + delay };
      await this.log.saveReaderJobs(READER, { put: [{ key: j.key, doc: JSON.stringify(next) }] });
      this.schedule(next);
      return;
    }
    this.counters.failed(j.ruleArn);
    this.jobs.delete(j.key);
    const dlq = target.DeadLetterConfig?.Arn;
    if (dlq) {
      const letter: DeadLetter = {
        key: j.key,
        queueArn: dlq,
        accountId: j.accountId,
        job: failed,
        attributes: {
          RULE_ARN: j.ruleArn,
          TARGET_ARN: target.Arn,
          ERROR_CODE: r.code,
          ERROR_MESSAGE: r.message,
          EXHAUSTED_RETRY_CONDITION: exhausted,
          RETRY_ATTEMPTS: attempts - 1,
        },
        sentAt: Date.now(),
      };
      await this.store.writeDocs(DLQ, [{ accountId: j.accountId, id: j.key, doc: letter }]);
      this.counters.deadLettered(j.ruleArn);
      this.opts.logger?.warn({ rule: j.ruleArn, target: target.Id, error: r.code, exhausted }, 'rules: event sent to the dead-letter queue');
    } else {
      this.opts.logger?.warn({ rule: j.ruleArn, target: target.Id, error: r.code, exhausted }, 'rules: event dropped after its retries (no dead-letter queue)');
    }
    await this.log.saveReaderJobs(READER, { delete: [j.key] });
  }

  private finish(j: RuleJob): void {
    this.jobs.delete(j.key);
    this.done.push(j.key);
  }

  private async flushDone(): Promise<void> {
    if (this.done.length === 0) return;
    const batch = this.done.splice(0);
    try {
      await this.log.saveReaderJobs(READER, { delete: batch });
    } catch (err) {
      this.done.push(...batch);
      this.opts.logger?.error({ err }, 'rules: could not clear sent jobs');
    }
  }

  private async pickUpRedrives(): Promise<void> {
    try {
      const jobs = await this.store.listDocs<RuleJob>(REDRIVE);
      if (jobs.length === 0) return;
      await this.log.saveReaderJobs(READER, { put: jobs.map((j) => ({ key: j.key, doc: JSON.stringify(j) })) });
      await this.store.writeDocs(REDRIVE, [], jobs.map((j) => ({ accountId: j.accountId, id: j.key })));
      for (const j of jobs) this.schedule(j);
    } catch (err) {
      this.opts.logger?.error({ err }, 'rules: could not pick up redriven events');
    }
  }

  /** Jobs not yet sent (in memory). */
  get pending(): number {
    return this.jobs.size;
  }

  /** Resolves when nothing is being sent or queued (retries waiting on a timer do not count). */
  settled(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0 && !this.running) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    while (this.running || this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    await this.flushDone();
    if (this.seq > 0) await this.log.setReaderState(READER, this.seq, null).catch(() => undefined);
  }
}
