/**
 * The CloudTrail Data API (REST-JSON, signing name `cloudtrail-data`): PutAuditEvents sends
 * events from outside AWS into a channel, and so into its integration event data stores.
 *
 *   POST /PutAuditEvents?channelArn=<arn>[&externalId=<id>]   {"auditEvents":[{"id","eventData","eventDataChecksum"?}]}
 *   200 {"successful":[{"id","eventID"}],"failed":[{"id","errorCode","errorMessage"}]}
 *
 * Each event is checked on its own (checksum, JSON, required fields and their sizes, the
 * recipient account): one bad event never fails the batch. The same id on the same channel is
 * recorded once (within a day).
 */
import { createHash, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../types.js';
import type { Ingest } from '../../pipeline/ingest.js';
import type { CloudTrailRecord } from '../../domain/record.js';
import { maySend, parseChannelArn, type Channels, type ChannelDoc } from '../../domain/channels.js';
import {
  ChannelInsufficientPermission,
  ChannelNotFound,
  DuplicatedAuditEventId,
  InternalFailure,
  InvalidChannelARN,
  ServiceError,
  UnknownOperationException,
  ValidationException,
} from '../../protocols/errors.js';
import { parseJsonBody, type WireResponse } from '../../protocols/json11.js';
import { formatEventTime } from '../../domain/record.js';

export const CLOUDTRAIL_DATA_SIGNING_NAME = 'cloudtrail-data';
const MAX_EVENTS = 100;
const MAX_REQUEST_BYTES = 1024 * 1024;
const ID_RE = /^[-_A-Za-z0-9]{1,128}$/;

export interface CloudTrailDataDeps {
  ingest: Ingest;
  channels: Channels;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

interface AuditEvent {
  id?: unknown;
  eventData?: unknown;
  eventDataChecksum?: unknown;
}
type Failure = { id: string; errorCode: string; errorMessage: string };

function respond(statusCode: number, body: unknown, requestId: string, extra: Record<string, string> = {}): WireResponse {
  return { statusCode, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...extra }, body: JSON.stringify(body) };
}

function encodeError(err: ServiceError, requestId: string): WireResponse {
  return respond(err.statusCode, { __type: err.code, message: err.message }, requestId, { 'x-amzn-errortype': err.code });
}

/** Field → most characters, for the event schema of events from outside AWS. */
const STRING_LIMITS: [string, number][] = [
  ['version', 256],
  ['userAgent', 1024],
  ['eventSource', 1024],
  ['eventName', 1024],
  ['UID', 1024],
  ['errorCode', 256],
  ['errorMessage', 256],
];
const JSON_LIMITS: [string, number][] = [
  ['requestParameters', 100 * 1024],
  ['responseElements', 100 * 1024],
  ['additionalEventData', 28 * 1024],
];
const REQUIRED = ['version', 'eventSource', 'eventName', 'eventTime', 'UID', 'recipientAccountId'];

/** Check one event; the problem, or the event data to record. */
function checkEvent(e: AuditEvent, channel: ChannelDoc): { failure: Omit<Failure, 'id'> } | { data: Record<string, unknown> } {
  const text = e.eventData as string;
  if (e.eventDataChecksum !== undefined) {
    const sum = createHash('sha256').update(text, 'utf8').digest('base64');
    if (e.eventDataChecksum !== sum) return { failure: { errorCode: 'InvalidChecksum', errorMessage: 'eventDataChecksum is not the base64 SHA-256 of eventData' } };
  }
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { failure: { errorCode: 'InvalidData', errorMessage: 'eventData is not valid JSON' } };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return { failure: { errorCode: 'InvalidData', errorMessage: 'eventData must be a JSON object' } };
  for (const f of REQUIRED) {
    if (data[f] === undefined || data[f] === null || data[f] === '') return { failure: { errorCode: 'FieldNotFound', errorMessage: `Field ${f} is missing from eventData` } };
  }
  const u = data.userIdentity as Record<string, unknown> | undefined;
  if (!u || typeof u !== 'object') return { failure: { errorCode: 'FieldNotFound', errorMessage: 'Field userIdentity is missing from eventData' } };
  for (const f of ['type', 'principalId']) if (typeof u[f] !== 'string' || !u[f]) return { failure: { errorCode: 'FieldNotFound', errorMessage: `Field userIdentity.${f} is missing from eventData` } };
  if ((u.type as string).length > 128) return { failure: { errorCode: 'FieldTooLong', errorMessage: 'userIdentity.type is longer than 128 characters' } };
  if ((u.principalId as string).length > 1024) return { failure: { errorCode: 'FieldTooLong', errorMessage: 'userIdentity.principalId is longer than 1024 characters' } };
  for (const [f, max] of STRING_LIMITS) {
    const v = data[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return { failure: { errorCode: 'InvalidData', errorMessage: `${f} must be a string` } };
    if (v.length > max) return { failure: { errorCode: 'FieldTooLong', errorMessage: `${f} is longer than ${max} characters` } };
  }
  for (const [f, max] of JSON_LIMITS) {
    const v = data[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) return { failure: { errorCode: 'InvalidData', errorMessage: `${f} must be a JSON object` } };
    if (Buffer.byteLength(JSON.stringify(v)) > max) return { failure: { errorCode: 'FieldTooLong', errorMessage: `${f} is larger than ${max / 1024} kB` } };
  }
  if (typeof data.eventTime !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?$/.test(data.eventTime) || Number.isNaN(Date.parse(data.eventTime))) {
    return { failure: { errorCode: 'InvalidData', errorMessage: 'eventTime must be yyyy-MM-ddTHH:mm:ss (UTC)' } };
  }
  if (data.sourceIPAddress !== undefined && (typeof data.sourceIPAddress !== 'string' || isIP(data.sourceIPAddress) === 0)) {
    return { failure: { errorCode: 'InvalidData', errorMessage: 'sourceIPAddress must be an IPv4 or IPv6 address' } };
  }
  if (data.recipientAccountId !== channel.accountId) {
    return { failure: { errorCode: 'InvalidRecipient', errorMessage: `recipientAccountId must be the channel owner's account, ${channel.accountId}` } };
  }
  return { data };
}

export function createCloudTrailDataService(deps: CloudTrailDataDeps): Service {
  const putAuditEvents = async (req: IncomingRequest, ctx: RequestContext): Promise<{ successful: { id: string; eventID: string }[]; failed: Failure[]; channel: ChannelDoc }> => {
    const q = (k: string): string | undefined => {
      const v = req.query[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const channelRef = q('channelArn');
    if (!channelRef) throw new ValidationException('channelArn is required (a query string parameter).');
    // The ARN, or (as the docs allow) the channel id of the caller's own channel.
    const arn = channelRef.startsWith('arn:') ? channelRef : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:channel/${channelRef}`;
    if (!parseChannelArn(arn)) throw new InvalidChannelARN(`${channelRef} is not a channel ARN.`);
    const channel = await deps.channels.byArn(arn);
    if (!channel) throw new ChannelNotFound(`The channel ${channelRef} was not found.`);
    if (!maySend(channel, ctx.accountId, q('externalId'))) {
      throw new ChannelInsufficientPermission(`Account ${ctx.accountId} may not send events to ${arn}${channel.policy ? ' (not allowed by the channel resource policy, or a wrong externalId)' : ''}.`);
    }
    if (req.body.length > MAX_REQUEST_BYTES) throw new ValidationException(`The request is ${req.body.length} bytes; at most ${MAX_REQUEST_BYTES} may be sent at once.`);
    const events = parseJsonBody(req.body).auditEvents as AuditEvent[] | undefined;
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EVENTS) throw new ValidationException(`auditEvents must hold 1 to ${MAX_EVENTS} events.`);
    const ids = new Set<string>();
    for (const e of events) {
      if (typeof e?.id !== 'string' || !ID_RE.test(e.id)) throw new ValidationException('Each audit event needs an id of 1–128 characters of A–Z, a–z, 0–9, - and _.');
      if (typeof e.eventData !== 'string') throw new ValidationException(`Audit event ${e.id} needs eventData (the event as JSON text).`);
      if (e.eventDataChecksum !== undefined && typeof e.eventDataChecksum !== 'string') throw new ValidationException(`eventDataChecksum of ${e.id} must be a string.`);
      if (ids.has(e.id)) throw new DuplicatedAuditEventId(`The id ${e.id} appears more than once in this request.`);
      ids.add(e.id);
    }
    const failed: Failure[] = [];
    const accepted: { id: string; record: CloudTrailRecord }[] = [];
    const now = new Date();
    for (const e of events) {
      const id = e.id as string;
      const checked = checkEvent(e, channel);
      if ('failure' in checked) {
        failed.push({ id, ...checked.failure });
        continue;
      }
      const record = {
        eventVersion: '2.11',
        eventCategory: 'ActivityAuditLog',
        eventType: 'ActivityLog',
        eventID: randomUUID(),
        eventTime: formatEventTime(new Date(Date.parse(checked.data.eventTime as string))),
        awsRegion: channel.region,
        recipientAccountId: channel.accountId,
        metadata: { ingestionTime: now.toISOString(), channelARN: channel.arn },
        eventData: checked.data,
      } as unknown as CloudTrailRecord;
      accepted.push({ id, record });
    }
    const successful: { id: string; eventID: string }[] = [];
    if (accepted.length > 0) {
      const appended = await deps.ingest.record(
        accepted.map((a) => a.record),
        { idempotencyIds: accepted.map((a) => `channel:${channel.id}:${a.id}`) },
      );
      accepted.forEach((a, i) => successful.push({ id: a.id, eventID: appended[i]!.eventId }));
    }
    const last = successful[successful.length - 1];
    await deps.channels.noteIngestion(channel, last?.eventID ?? '', last ? undefined : failed[0]?.errorCode);
    return { successful, failed, channel };
  };

  return {
    signingName: CLOUDTRAIL_DATA_SIGNING_NAME,
    encodeError: (err, requestId) => encodeError(err, requestId),
    async handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult> {
      const operation = req.method === 'POST' && req.path === '/PutAuditEvents' ? 'PutAuditEvents' : 'Unknown';
      const audit = (err?: ServiceError, result?: { successful: unknown[]; failed: unknown[]; channel: ChannelDoc }): ServiceResult['audit'] => ({
        eventSource: 'cloudtrail-data.amazonaws.com',
        eventName: operation,
        readOnly: false,
        requestParameters: { channelArn: (Array.isArray(req.query.channelArn) ? req.query.channelArn[0] : req.query.channelArn) ?? null },
        responseElements: result ? { successfulCount: result.successful.length, failedCount: result.failed.length } : null,
        errorCode: err?.code,
        errorMessage: err?.message,
        resources: result ? [{ ARN: result.channel.arn, accountId: result.channel.accountId, type: 'AWS::CloudTrail::Channel' }] : undefined,
        managementEvent: false,
        eventCategory: 'Data',
      });
      try {
        if (operation === 'Unknown') throw new UnknownOperationException(`No operation at ${req.method} ${req.path}; events are sent with POST /PutAuditEvents`);
        const result = await putAuditEvents(req, ctx);
        return { operation, response: respond(200, { successful: result.successful, failed: result.failed }, ctx.requestId), audit: audit(undefined, result) };
      } catch (e) {
        let err: ServiceError;
        if (e instanceof ServiceError) err = e;
        else {
          deps.onUnexpectedError?.(e, operation);
          err = new InternalFailure('The events could not be recorded.');
        }
        if (err.code === 'ThrottlingException' || err.statusCode >= 500) throw err;
        return { operation, response: encodeError(err, ctx.requestId), audit: audit(err) };
      }
    },
  };
}
