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
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../types.js';
import type { Ingest } from '../../pipeline/ingest.js';
import type { CloudTrailRecord } from '../../domain/record.js';
import { maySend, parseChannelArn, type Channels, type ChannelDoc } from '../../domain/channels.js';
import { activityAuditLogRecord, checkAuditEvent, type AuditEventProblem } from '../../domain/audit-events.js';
import { ChannelInsufficientPermission, ChannelNotFound, DuplicatedAuditEventId, InvalidChannelARN, UnknownOperationException, ValidationException } from '../../protocols/errors.js';
import { parseJsonBody } from '../../protocols/json11.js';
import { restJsonError, restJsonResponse, runRestJsonOperation } from '../../protocols/rest-json.js';

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
type Failure = { id: string } & AuditEventProblem;

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
      const checked = checkAuditEvent(e.eventData as string, e.eventDataChecksum as string | undefined, channel);
      if ('failure' in checked) {
        failed.push({ id, ...checked.failure });
        continue;
      }
      const record = activityAuditLogRecord(checked.data, channel, now);
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
    encodeError: (err, requestId) => restJsonError(err, requestId),
    async handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult> {
      const operation = req.method === 'POST' && req.path === '/PutAuditEvents' ? 'PutAuditEvents' : 'Unknown';
      return runRestJsonOperation({
        operation,
        run: () => {
          if (operation === 'Unknown') throw new UnknownOperationException(`No operation at ${req.method} ${req.path}; events are sent with POST /PutAuditEvents`);
          return putAuditEvents(req, ctx);
        },
        ok: (result) => restJsonResponse(200, { successful: result.successful, failed: result.failed }, ctx.requestId),
        encodeError: (err) => restJsonError(err, ctx.requestId),
        audit: (err, result) => ({
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
        }),
        onUnexpectedError: deps.onUnexpectedError,
        internalMessage: 'The events could not be recorded.',
      });
    },
  };
}
