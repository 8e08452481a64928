/**
 * Event history: LookupEvents with AWS's semantics over the history index.
 * One lookup attribute at most, inclusive time range, newest first, opaque
 * signed NextToken bound to the query's other parameters.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { EventLog, LookupKey } from '../storage/interfaces.js';
import { RawJson } from '../protocols/raw-json.js';
import {
  InvalidEventCategoryException,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  ValidationException,
} from '../protocols/errors.js';

export const LOOKUP_KEYS: readonly LookupKey[] = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
];
const INSIGHT_KEYS: readonly LookupKey[] = ['EventId', 'EventName', 'EventSource'];

export interface LookupRequest {
  LookupAttributes?: { AttributeKey?: string; AttributeValue?: string }[];
  StartTime?: Date;
  EndTime?: Date;
  EventCategory?: string;
  MaxResults?: number;
  NextToken?: string;
}

export interface CountRequest extends Pick<LookupRequest, 'LookupAttributes' | 'StartTime' | 'EndTime' | 'EventCategory'> {
  /** Bucket width in seconds (default 3600). */
  BucketSeconds?: number;
}

export interface CountResult {
  Buckets: { StartTime: Date; Count: number }[];
  Total: number;
  BucketSeconds: number;
}

/** Most buckets one CountEvents answers. */
export const MAX_BUCKETS = 1000;

export interface LookupResult {
  /** The page's events, as JSON in their wire form (encoded where they were read). */
  Events: RawJson;
  NextToken?: string;
}

export interface EventHistoryOptions {
  /** Days of history kept and searchable (AWS: 90). */
  retentionDays: number;
  /** Secret that signs NextTokens; keep it stable so tokens survive restarts. */
  tokenKey: Buffer;
  /** How long a NextToken stays valid. */
  tokenTtlMs?: number;
}

interface TokenBody {
  v: 1;
  t: number; // time of the last event returned
  s: number; // its sequence number
  h: string; // hash of the query's other parameters
  i: number; // issued at
}

/** AttributeValue length as AWS counts it: `_`, space, `,` and newline count twice. */
export function attributeValueLength(v: string): number {
  let n = 0;
  for (const ch of v) n += ch === '_' || ch === ' ' || ch === ',' || ch === '\n' ? 2 : 1;
  return n;
}

export class EventHistory {
  private readonly ttl: number;
  constructor(private readonly log: EventLog, private readonly opts: EventHistoryOptions) {
    this.ttl = opts.tokenTtlMs ?? 24 * 3600 * 1000;
  }

  get retentionMs(): number {
    return this.opts.retentionDays * 24 * 3600 * 1000;
  }

  /** The attribute and category of a LookupEvents-style request, checked as AWS checks them. */
  private attributeOf(req: Pick<LookupRequest, 'LookupAttributes' | 'EventCategory'>): { attribute?: { key: LookupKey; value: string }; category?: string } {
    const attrs = req.LookupAttributes ?? [];
    if (attrs.length > 1) {
      throw new InvalidLookupAttributesException('You cannot specify more than one lookup attribute.');
    }
    const category = req.EventCategory;
    if (category !== undefined && category !== 'insight') {
      throw new InvalidEventCategoryException(`Event category ${category} is not valid. Valid value is insight.`);
    }
    let attribute: { key: LookupKey; value: string } | undefined;
    if (attrs.length === 1) {
      const a = attrs[0]!;
      const key = a.AttributeKey as LookupKey | undefined;
      if (!key || !LOOKUP_KEYS.includes(key)) {
        throw new InvalidLookupAttributesException(`The lookup attribute key ${a.AttributeKey ?? 'null'} is not valid. Valid keys are ${LOOKUP_KEYS.join(', ')}.`);
      }
      if (category === 'insight' && !INSIGHT_KEYS.includes(key)) {
        throw new InvalidLookupAttributesException(`The lookup attribute key ${key} is not valid for Insights events. Valid keys are ${INSIGHT_KEYS.join(', ')}.`);
      }
      const value = a.AttributeValue;
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidLookupAttributesException(`The lookup attribute value for ${key} must not be empty.`);
      }
      if (attributeValueLength(value) > 2000) {
        throw new InvalidLookupAttributesException(`The lookup attribute value for ${key} is longer than 2000 characters.`);
      }
      if (key === 'ReadOnly' && value !== 'true' && value !== 'false') {
        throw new InvalidLookupAttributesException(`The lookup attribute value for ReadOnly must be true or false, not ${value}.`);
      }
      attribute = { key, value };
    }
    return { attribute, category };
  }

  /** The searchable span of a request: clipped to the retention window; start after end refused. */
  private spanOf(req: Pick<LookupRequest, 'StartTime' | 'EndTime'>, now: Date): { startMs: number; endMs: number } {
    if (req.StartTime && req.EndTime && req.StartTime.getTime() > req.EndTime.getTime()) {
      throw new InvalidTimeRangeException('Start time must be earlier than or equal to end time.');
    }
    const earliest = now.getTime() - this.retentionMs;
    return { startMs: Math.max(req.StartTime?.getTime() ?? earliest, earliest), endMs: req.EndTime?.getTime() ?? now.getTime() };
  }

  /**
   * opentrail's extension for histograms: how many events a LookupEvents request would page
   * through, per time bucket (every bucket of the span, empty ones included), and in all.
   */
  async countEvents(accountId: string, region: string, req: CountRequest, now = new Date()): Promise<CountResult> {
    const { attribute, category } = this.attributeOf(req);
    const { startMs, endMs } = this.spanOf(req, now);
    const bucketSeconds = req.BucketSeconds ?? 3600;
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) {
      throw new ValidationException('BucketSeconds must be a whole number of seconds, at least 1.');
    }
    const bucketMs = bucketSeconds * 1000;
    const n = Math.floor((endMs - startMs) / bucketMs) + 1;
    if (n > MAX_BUCKETS) {
      throw new ValidationException(`The time range holds ${n} buckets of ${bucketSeconds} seconds; at most ${MAX_BUCKETS} are allowed. Choose wider buckets.`);
    }
    const found = await this.log.countHistory({ accountId, region, category: category === 'insight' ? 'insight' : 'management', attribute, startMs, endMs, bucketMs });
    const counts = new Map(found.map((b) => [b.startMs, b.count]));
    const Buckets = Array.from({ length: Math.max(0, n) }, (_, i) => ({ StartTime: new Date(startMs + i * bucketMs), Count: counts.get(startMs + i * bucketMs) ?? 0 }));
    return { Buckets, Total: found.reduce((t, b) => t + b.count, 0), BucketSeconds: bucketSeconds };
  }

  /**
   * LookupEvents in two steps: the request is checked at once (its errors thrown here), and the
   * page it names is read after (the promise), so the caller can commit the call's record while
   * the page is read; `ownEventId` names that record, which the page leaves out (a call does not
   * find itself). The read itself fails only when the store does. The page comes encoded by the
   * event log's page encoder (the CloudTrail service's, lookup-events-wire.ts).
   */
  lookupEvents(accountId: string, region: string, req: LookupRequest, ownEventId?: string, now = new Date()): Promise<LookupResult> {
    const { attribute, category } = this.attributeOf(req);
    const maxResults = req.MaxResults ?? 50;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
      throw new InvalidMaxResultsException('Value for MaxResults is invalid. Valid values are 1 through 50.');
    }
    const { startMs, endMs } = this.spanOf(req, now);
    const paramHash = createHash('sha256')
      .update(JSON.stringify([accountId, region, category ?? 'management', attribute ?? null, req.StartTime?.getTime() ?? null, req.EndTime?.getTime() ?? null]))
      .digest('base64url')
      .slice(0, 22);
    let before: { timeMs: number; seq: number } | undefined;
    if (req.NextToken !== undefined) {
      const tok = this.openToken(req.NextToken, now);
      if (tok.h !== paramHash) {
        throw new InvalidNextTokenException('The NextToken was issued for a different request. Pass the same parameters as the call that returned it.');
      }
      before = { timeMs: tok.t, seq: tok.s };
    }
    const query = { accountId, region, category: category === 'insight' ? 'insight' : 'management', attribute, startMs, endMs, limit: maxResults, before, exclude: ownEventId };
    return this.log.lookupPage(query).then((page) => {
      const result: LookupResult = { Events: new RawJson(page.events, page.release) };
      if (page.next) result.NextToken = this.sealToken({ v: 1, t: page.next.timeMs, s: page.next.seq, h: paramHash, i: now.getTime() });
      return result;
    });
  }

  private sealToken(body: TokenBody): string {
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    const mac = createHmac('sha256', this.opts.tokenKey).update(payload).digest('base64url');
    return `${payload}.${mac}`;
  }

  private openToken(token: string, now: Date): TokenBody {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) throw new InvalidNextTokenException('Invalid NextToken.');
    const want = createHmac('sha256', this.opts.tokenKey).update(payload).digest();
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new InvalidNextTokenException('Invalid NextToken.');
    let body: TokenBody;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenBody;
    } catch {
      throw new InvalidNextTokenException('Invalid NextToken.');
    }
    if (body.v !== 1 || typeof body.t !== 'number' || typeof body.s !== 'number') throw new InvalidNextTokenException('Invalid NextToken.');
    if (now.getTime() - body.i > this.ttl) throw new InvalidNextTokenException('The NextToken has expired. Start the lookup again without it.');
    return body;
  }
}
