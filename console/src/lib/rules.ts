/** EventBridge helpers: a recorded event in EventBridge's envelope, and the per-rule counters from /metrics. */
import type { Row } from './events.js';
import type { CloudTrailRecord } from '../../../src/domain/record.js';
import { envelopeOf, type EventBridgeEvent } from '../../../src/rules/envelope-shape.js';

/** The event a rule sees for a recorded call: the server's own envelope (its id aside, which TestEventPattern ignores). */
export function envelopeFor(row: Row): EventBridgeEvent {
  return envelopeOf(row.record as unknown as CloudTrailRecord, row.id);
}

export type RuleCounters = Record<string, { matched: number; invocations: number; failed: number; throttled: number; deadLettered: number }>;

const NAMES: Record<string, keyof RuleCounters[string]> = {
  opentrail_rule_matched_events_total: 'matched',
  opentrail_rule_invocations_total: 'invocations',
  opentrail_rule_failed_invocations_total: 'failed',
  opentrail_rule_throttled_total: 'throttled',
  opentrail_rule_dead_lettered_total: 'deadLettered',
};

/** Per-rule counters by rule ARN, read from the server's public /metrics. */
export async function ruleCounters(): Promise<RuleCounters> {
  const text = await (await fetch('/metrics')).text();
  const out: RuleCounters = {};
  for (const line of text.split('\n')) {
    const m = /^(opentrail_rule_\w+)\{rule="([^"]+)"\} (\S+)$/.exec(line);
    const field = m && NAMES[m[1]!];
    if (!m || !field) continue;
    const c = (out[m[2]!] ??= { matched: 0, invocations: 0, failed: 0, throttled: 0, deadLettered: 0 });
    c[field] = Number(m[3]);
  }
  return out;
}
