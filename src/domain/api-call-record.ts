/** Build the CloudTrail record of an API call answered by this server. */
import { CURRENT_EVENT_VERSION, formatEventTime, type CloudTrailRecord, type RecordResource, type UserIdentity } from './record.js';
import { newEventId } from './event-id.js';

export interface ApiCall {
  accountId: string;
  region: string;
  userIdentity: UserIdentity;
  sourceIPAddress: string;
  userAgent?: string;
  requestId: string;
  /** The record's eventID, when the call was given it beforehand (a new one otherwise). */
  eventId?: string;
  time: Date;
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  resources?: RecordResource[];
  apiVersion?: string;
  managementEvent?: boolean;
  eventCategory?: string;
  tlsDetails?: CloudTrailRecord['tlsDetails'];
}

const MAX_FIELD = 1024;
const MAX_PARAMS = 100 * 1024;

function cap(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s;
}

/** requestParameters/responseElements over 100 KB are omitted, as AWS does. */
function capObject(o: Record<string, unknown> | null): Record<string, unknown> | null | undefined {
  if (o === null) return null;
  return JSON.stringify(o).length > MAX_PARAMS ? undefined : o;
}

export function apiCallRecord(c: ApiCall): CloudTrailRecord {
  const r: CloudTrailRecord = {
    eventVersion: CURRENT_EVENT_VERSION,
    userIdentity: c.userIdentity,
    eventTime: formatEventTime(c.time),
    eventSource: c.eventSource,
    eventName: c.eventName,
    awsRegion: c.region,
    sourceIPAddress: c.sourceIPAddress,
    userAgent: cap(c.userAgent),
    requestParameters: null,
    responseElements: null,
    requestID: c.requestId,
    eventID: c.eventId ?? newEventId(),
    readOnly: c.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: c.managementEvent ?? true,
    recipientAccountId: c.accountId,
    eventCategory: c.eventCategory ?? 'Management',
  };
  if (c.errorCode) {
    r.errorCode = cap(c.errorCode);
    r.errorMessage = cap(c.errorMessage);
  }
  const req = capObject(c.requestParameters);
  const res = capObject(c.responseElements);
  // Keep AWS's key order: parameters and response follow the error fields.
  const ordered: CloudTrailRecord = {
    eventVersion: r.eventVersion,
    userIdentity: r.userIdentity,
    eventTime: r.eventTime,
    eventSource: r.eventSource,
    eventName: r.eventName,
    awsRegion: r.awsRegion,
    sourceIPAddress: r.sourceIPAddress,
    ...(r.userAgent !== undefined ? { userAgent: r.userAgent } : {}),
    ...(r.errorCode ? { errorCode: r.errorCode, errorMessage: r.errorMessage } : {}),
    ...(req !== undefined ? { requestParameters: req } : {}),
    ...(res !== undefined ? { responseElements: res } : {}),
    requestID: r.requestID,
    eventID: r.eventID,
    readOnly: r.readOnly,
    ...(c.resources && c.resources.length ? { resources: c.resources } : {}),
    eventType: r.eventType,
    ...(c.apiVersion ? { apiVersion: c.apiVersion } : {}),
    managementEvent: r.managementEvent,
    recipientAccountId: r.recipientAccountId,
    eventCategory: r.eventCategory,
    ...(c.tlsDetails ? { tlsDetails: c.tlsDetails } : {}),
  } as CloudTrailRecord;
  return ordered;
}
