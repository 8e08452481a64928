/**
 * CountEvents, opentrail's extension beside the ingest API (same SigV4 service `opentrail`):
 * how many events a LookupEvents request would page through, per time bucket. The console's
 * histogram uses it; any signed client may.
 *
 *   POST /v1/event-counts  {"LookupAttributes"?:[{"AttributeKey","AttributeValue"}], "StartTime"?, "EndTime"?,
 *                           "EventCategory"?: "insight", "BucketSeconds"?: 3600}
 *   200                    {"Buckets":[{"StartTime": <epoch seconds>, "Count"}], "Total", "BucketSeconds"}
 *
 * Times are epoch seconds (as the AWS JSON protocols send them) or ISO 8601 strings.
 */
import type { CountRequest, CountResult, EventHistory } from '../../domain/event-history.js';
import { ValidationException } from '../../protocols/errors.js';
import { parseJsonBody } from '../../protocols/json11.js';

export const COUNT_PATH = '/v1/event-counts';

function time(v: unknown, name: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const d = typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? new Date(/^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new ValidationException(`${name} must be epoch seconds or an ISO 8601 time`);
  return d;
}

/** The request, from the body parsed once (the record keeps the same object as requestParameters). */
export function parseCountRequest(b: Record<string, unknown>): CountRequest {
  const attrs = b.LookupAttributes;
  if (attrs !== undefined && (!Array.isArray(attrs) || attrs.some((a) => typeof a !== 'object' || a === null))) {
    throw new ValidationException('LookupAttributes must be a list of {AttributeKey, AttributeValue}');
  }
  if (b.EventCategory !== undefined && typeof b.EventCategory !== 'string') throw new ValidationException('EventCategory must be a string');
  if (b.BucketSeconds !== undefined && typeof b.BucketSeconds !== 'number') throw new ValidationException('BucketSeconds must be a number');
  return {
    LookupAttributes: attrs as CountRequest['LookupAttributes'],
    StartTime: time(b.StartTime, 'StartTime'),
    EndTime: time(b.EndTime, 'EndTime'),
    EventCategory: b.EventCategory as string | undefined,
    BucketSeconds: b.BucketSeconds as number | undefined,
  };
}

/** The wire shape: times as epoch seconds. */
export function countResultJson(r: CountResult): unknown {
  return { Buckets: r.Buckets.map((b) => ({ StartTime: b.StartTime.getTime() / 1000, Count: b.Count })), Total: r.Total, BucketSeconds: r.BucketSeconds };
}

/** CountEvents: the parsed body (kept in `parsed` for the call's record), counted by the domain. */
export async function countEvents(history: EventHistory, accountId: string, region: string, body: Buffer, parsed: { body?: Record<string, unknown> }): Promise<CountResult> {
  parsed.body = parseJsonBody(body);
  return history.countEvents(accountId, region, parseCountRequest(parsed.body));
}
