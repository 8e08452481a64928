/** EventBridge helpers: a recorded event in EventBridge's envelope, and the per-rule counters from /metrics. */
import type { Row } from './events.js';

const DETAIL_TYPES: Record<string, string> = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
};

/** The event a rule sees for a recorded call (the server builds the same envelope for delivery). */
export function envelopeFor(row: Row): Record<string, unknown> {
  const r = row.record;
  const src = String(r.eventSource ?? '');
  const m = /^([a-z0-9-]+)\.amazonaws\.com$/.exec(src);
  return {
    version: '0',
    id: row.id,
    'detail-type': DETAIL_TYPES[String(r.eventType ?? '')] ?? DETAIL_TYPES.AwsApiCall,
    source: m ? `aws.${m[1]}` : src,
    account: String(r.recipientAccountId ?? ''),
    time: String(r.eventTime ?? ''),
    region: String(r.awsRegion ?? ''),
    resources: [],
    detail: r,
  };
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
