/**
 * Activity events from outside AWS (CloudTrail Lake integrations, sent with PutAuditEvents): the
 * checks AWS makes of each event's `eventData`, with its per-event error codes, and the
 * ActivityAuditLog record CloudTrail wraps around it.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { formatEventTime, type CloudTrailRecord } from './record.js';
import type { ChannelDoc } from './channels.js';
import { newEventId } from './event-id.js';

/** Why one event was refused: AWS's per-event code and a message. */
export interface AuditEventProblem {
  errorCode: 'InvalidChecksum' | 'InvalidData' | 'FieldNotFound' | 'FieldTooLong' | 'InvalidRecipient';
  errorMessage: string;
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

/** Check one event's `eventData` (and its checksum, when given): the problem, or the event data to record. */
export function checkAuditEvent(text: string, checksum: string | undefined, channel: ChannelDoc): { failure: AuditEventProblem } | { data: Record<string, unknown> } {
  if (checksum !== undefined) {
    const sum = createHash('sha256').update(text, 'utf8').digest('base64');
    if (checksum !== sum) return { failure: { errorCode: 'InvalidChecksum', errorMessage: 'eventDataChecksum is not the base64 SHA-256 of eventData' } };
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


/** The record CloudTrail keeps for an accepted event: category ActivityAuditLog, the data inside. */
export function activityAuditLogRecord(data: Record<string, unknown>, channel: ChannelDoc, ingestedAt: Date): CloudTrailRecord {
  return {
    eventVersion: '2.11',
    eventCategory: 'ActivityAuditLog',
    eventType: 'ActivityLog',
    eventID: newEventId(),
    eventTime: formatEventTime(new Date(Date.parse(data.eventTime as string))),
    awsRegion: channel.region,
    recipientAccountId: channel.accountId,
    metadata: { ingestionTime: ingestedAt.toISOString(), channelARN: channel.arn },
    eventData: data,
  } as unknown as CloudTrailRecord;
}
