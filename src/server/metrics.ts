/** Prometheus metrics for one server instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'opentrail_requests_total',
    help: 'API requests answered, by service, operation and HTTP status',
    labelNames: ['service', 'operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'opentrail_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames: ['service', 'operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly eventsRecorded = new Counter({
    name: 'opentrail_events_recorded_total',
    help: 'Events committed to the event log',
    registers: [this.registry],
  });
  readonly logCommit = new Histogram({
    name: 'opentrail_log_commit_duration_seconds',
    help: "Time the event log took to commit each group of events, the disk's sync included (every recorded call waits for one)",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly ingestBacklog = new Gauge({
    name: 'opentrail_ingest_backlog',
    help: 'Events waiting to be committed',
    registers: [this.registry],
  });
  readonly historyIndexLag = new Gauge({
    name: 'opentrail_history_index_lag',
    help: 'Committed events the LookupEvents history index has not reached yet',
    registers: [this.registry],
  });
  readonly ingestRandomIds = new Counter({
    name: 'opentrail_ingest_random_ids_total',
    help: 'Events sent to the ingest API with a random UUID (version 4) as idempotency id: each costs the log a page write that a time-ordered id (UUID v7, ULID) does not',
    registers: [this.registry],
  });
  readonly ingestRefusedForIndex = new Gauge({
    name: 'opentrail_ingest_refused_for_index',
    help: 'Whether the ingest API answers 429 because the LookupEvents history index is falling behind the log (1) or not (0)',
    registers: [this.registry],
  });

  /** Per-rule counters (EventBridge's rule metrics), labelled by rule ARN. */
  readonly ruleMatched = this.ruleCounter('opentrail_rule_matched_events_total', 'Events a rule matched');
  readonly ruleInvocations = this.ruleCounter('opentrail_rule_invocations_total', 'Attempts to send a matched event to a target');
  readonly ruleFailed = this.ruleCounter('opentrail_rule_failed_invocations_total', 'Matched events that could not be delivered after their retries');
  readonly ruleThrottled = this.ruleCounter('opentrail_rule_throttled_total', 'Invocations held back by an API destination rate limit');
  readonly ruleDeadLettered = this.ruleCounter('opentrail_rule_dead_lettered_total', 'Matched events sent to a dead-letter queue');

  private ruleCounter(name: string, help: string): Counter<'rule'> {
    return new Counter({ name, help, labelNames: ['rule'] as const, registers: [this.registry] });
  }

  /** `lookupEntries`: LookupEvents entries served so far, kept encoded (cache) and read from the log (read). */
  constructor(opts: { lookupEntries?: () => { cached: number; read: number } } = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'opentrail_' });
    const served = opts.lookupEntries;
    if (served) {
      new Counter({
        name: 'opentrail_lookup_entries_total',
        help: 'LookupEvents entries served, by source: encoded entries kept from earlier pages (cache) or rows read from the event log (log)',
        labelNames: ['source'] as const,
        registers: [this.registry],
        // Read at each scrape from the event log's own counts.
        collect() {
          const n = served();
          this.reset();
          this.inc({ source: 'cache' }, n.cached);
          this.inc({ source: 'log' }, n.read);
        },
      });
    }
  }
}
