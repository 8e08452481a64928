/**
 * CountEvents (opentrail's extension, POST /v1/event-counts, SigV4 service `opentrail`): exact
 * per-bucket counts of what a LookupEvents filter pages through, for the histograms.
 */
import type { Session } from './session.js';
import { lookupAttributes, type Filter } from './events.js';
import { signedJson } from './signed-fetch.js';

export interface EventCounts {
  Buckets: { StartTime: number; Count: number }[];
  Total: number;
  BucketSeconds: number;
}

export function countEvents(session: Session, f: Filter, bucketSeconds: number, signal?: AbortSignal): Promise<EventCounts> {
  const body = { LookupAttributes: lookupAttributes(f), StartTime: f.start.getTime() / 1000, EndTime: f.end.getTime() / 1000, BucketSeconds: bucketSeconds };
  return signedJson<EventCounts>(session, 'opentrail', '/v1/event-counts', body, { 'content-type': 'application/json' }, signal);
}
