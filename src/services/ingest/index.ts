/**
 * opentrail's native ingest API (our extension, not an AWS API): people's own
 * services send their audit events here, signed with SigV4 for the service
 * `opentrail`.
 *
 *   POST /v1/events   {"events":[{"id":"<idempotency id>","record":{…CloudTrail record…}}, …]}
 *   200               {"successful":[{"id","eventID","duplicate"?}],"failed":[{"id","errorCode","errorMessage","field"?}]}
 *
 * Each record is checked on its own: one bad record never fails the batch. The
 * response is sent once every accepted record is committed.
 */
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../types.js';
import { restJsonError, restJsonResponse, runRestJsonOperation } from '../../protocols/rest-json.js';
import type { Ingest } from '../../pipeline/ingest.js';
import type { Appended } from '../../storage/interfaces.js';
import type { EventHistory } from '../../domain/event-history.js';
import { COUNT_PATH, countEvents, countResultJson } from './count-events.js';
import { formatEventTime, type CloudTrailRecord } from '../../domain/record.js';
import { IDEMPOTENCY_ID_RE, normalizeIngestRecord, type RecordProblem } from '../../domain/ingest-record.js';
import { ServiceError, UnknownOperationException, ValidationException } from '../../protocols/errors.js';
import { parseJsonBody, type WireResponse } from '../../protocols/json11.js';

export const INGEST_SIGNING_NAME = 'opentrail';
/** The one operation's path. */
export const INGEST_PATH = '/v1/events';
export const INGEST_EVENT_SOURCE = 'ingest.opentrail.dev';
/** Event source of CountEvents in event history. */
export const HISTORY_EVENT_SOURCE = 'history.opentrail.dev';
export const MAX_EVENTS_PER_BATCH = 1000;

export interface IngestServiceDeps {
  ingest: Ingest;
  history: EventHistory;
  onUnexpectedError?: (err: unknown, operation: string) => void;
  /** Told of each request whose accepted events carry random UUIDs (v4) as idempotency ids: how many. */
  onRandomIds?: (accountId: string, count: number) => void;
}

/**
 * A random UUID (version 4). The log keeps the ids of the last 24 hours in a B-tree keyed by id,
 * where each random one lands on a page of its own that the commit writes out: they halve the
 * rate the server takes events in (README, ingest API), and operators are told of them.
 */
const RANDOM_UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function isRandomUuid(id: string): boolean {
  return id.length === 36 && id.charCodeAt(14) === 0x34 /* '4' */ && RANDOM_UUID_RE.test(id);
}

interface Sent {
  id?: unknown;
  record?: unknown;
}

export interface PutEventsResponse {
  successful: { id: string; eventID: string; duplicate?: true }[];
  failed: ({ id: string | null; index: number } & RecordProblem)[];
}

function encodeError(err: ServiceError, requestId: string): WireResponse {
  // Throttling is HTTP 429 here (a plain JSON API), so any HTTP client backs off on it.
  return restJsonError(err, requestId, err.code === 'ThrottlingException' ? 429 : err.statusCode);
}

function parseBatch(body: Buffer): Sent[] {
  const events = parseJsonBody(body).events;
  if (!Array.isArray(events)) throw new ValidationException('The body must be a JSON object with an "events" array');
  if (events.length === 0) throw new ValidationException('"events" must hold at least one event');
  if (events.length > MAX_EVENTS_PER_BATCH) throw new ValidationException(`"events" holds ${events.length} events; at most ${MAX_EVENTS_PER_BATCH} may be sent at once`);
  return events as Sent[];
}

export function createIngestService(deps: IngestServiceDeps): Service {
  const putEvents = async (req: IncomingRequest, ctx: RequestContext): Promise<PutEventsResponse> => {
    const out: PutEventsResponse = { successful: [], failed: [] };
    const { ids, committed } = submit(req.body, ctx, out);
    const appended = await committed;
    for (let i = 0; i < ids.length; i++) {
      const r = appended[i]!;
      out.successful.push(r.duplicate ? { id: ids[i]!, eventID: r.eventId, duplicate: true } : { id: ids[i]!, eventID: r.eventId });
    }
    return out;
  };

  /**
   * Check and normalise a batch's records (refusals go into `out.failed`) and hand the good ones
   * to the log. Only their ids are given back to wait with: the parsed batch and the records
   * become garbage here, before the commit is awaited, rather than being kept (and copied by
   * every young-generation collection) until it is done.
   */
  const submit = (body: Buffer, ctx: RequestContext, out: PutEventsResponse): { ids: string[]; committed: Promise<Appended[]> } => {
    const sent = parseBatch(body);
    const ids: string[] = [];
    const records: CloudTrailRecord[] = [];
    const jsons: string[] = [];
    const caller = { accountId: ctx.accountId, region: ctx.region, sourceIPAddress: ctx.sourceIPAddress, userAgent: ctx.userAgent };
    const now = new Date();
    const nowText = formatEventTime(now);
    for (let index = 0; index < sent.length; index++) {
      const s = sent[index];
      const id = typeof s?.id === 'string' ? s.id : null;
      if (id === null || !IDEMPOTENCY_ID_RE.test(id)) {
        out.failed.push({ id, index, errorCode: 'InvalidIdempotencyId', field: '/id', errorMessage: 'id must be 1–128 characters of A–Z, a–z, 0–9, -, _, : and .' });
        continue;
      }
      const n = normalizeIngestRecord(s!.record, caller, now, nowText);
      if ('problem' in n) out.failed.push({ id, index, ...n.problem });
      else {
        ids.push(id);
        records.push(n.record);
        jsons.push(n.json);
      }
    }
    if (deps.onRandomIds) {
      let random = 0;
      for (const id of ids) if (isRandomUuid(id)) random++;
      if (random > 0) deps.onRandomIds(ctx.accountId, random);
    }
    // A batch of refusals only is answered without the log (which refuses even an empty batch once closing).
    const committed = ids.length > 0 ? deps.ingest.record(records, { idempotencyIds: ids, jsons }) : Promise.resolve([]);
    return { ids, committed };
  };

  return {
    signingName: INGEST_SIGNING_NAME,
    encodeError: (err, requestId) => encodeError(err, requestId),
    async handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult> {
      if (req.method === 'POST' && req.path === COUNT_PATH) {
        const parsed: { body?: Record<string, unknown> } = {};
        return runRestJsonOperation({
          operation: 'CountEvents',
          run: () => countEvents(deps.history, ctx.accountId, ctx.region, req.body, parsed),
          ok: (result) => restJsonResponse(200, countResultJson(result), ctx.requestId),
          encodeError: (err) => encodeError(err, ctx.requestId),
          audit: (err) => ({
            eventSource: HISTORY_EVENT_SOURCE,
            eventName: 'CountEvents',
            readOnly: true,
            requestParameters: err ? null : (parsed.body ?? null),
            responseElements: null,
            errorCode: err?.code,
            errorMessage: err?.message,
          }),
          onUnexpectedError: deps.onUnexpectedError,
          internalMessage: 'The events could not be counted.',
        });
      }
      const operation = req.method === 'POST' && req.path === INGEST_PATH ? 'PutEvents' : 'Unknown';
      return runRestJsonOperation({
        operation,
        run: () => {
          if (operation === 'Unknown') throw new UnknownOperationException(`No operation at ${req.method} ${req.path}; events are sent with POST ${INGEST_PATH}, counted with POST ${COUNT_PATH}`);
          return putEvents(req, ctx);
        },
        ok: (result) => restJsonResponse(200, result, ctx.requestId),
        encodeError: (err) => encodeError(err, ctx.requestId),
        audit: (err, result) => ({
          eventSource: INGEST_EVENT_SOURCE,
          eventName: operation,
          readOnly: false,
          requestParameters: result ? { eventCount: result.successful.length + result.failed.length } : null,
          responseElements: result ? { successfulCount: result.successful.length, failedCount: result.failed.length } : null,
          errorCode: err?.code,
          errorMessage: err?.message,
          // Like CloudTrail Lake's PutAuditEvents: a data event, recorded when a trail selects it.
          managementEvent: false,
          eventCategory: 'Data',
        }),
        onUnexpectedError: deps.onUnexpectedError,
        internalMessage: 'The events could not be recorded.',
      });
    },
  };
}
