/**
 * Records sent by people's own services (opentrail's ingest API): checked
 * against the published JSON Schema (schemas/ingest-record.schema.json), then
 * completed the way CloudTrail completes its own records, so every reader
 * treats them exactly like AWS API events.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { CURRENT_EVENT_VERSION, formatEventTime, type CloudTrailRecord, type UserIdentity } from './record.js';
import { newEventId } from './event-id.js';

/** Largest record accepted, as serialised JSON (CloudTrail's own event size limit). */
export const MAX_RECORD_BYTES = 256 * 1024;
/** How far in the future an eventTime may be (clock skew between the caller and us). */
const MAX_FUTURE_MS = 15 * 60_000;

export const IDEMPOTENCY_ID_RE = /^[-_A-Za-z0-9:.]{1,128}$/;

/** Why one record was refused: AWS-style code, the field at fault (a JSON pointer) and the reason. */
export interface RecordProblem {
  errorCode: 'InvalidRecord' | 'RecordTooLarge' | 'AccountMismatch' | 'InvalidIdempotencyId';
  field?: string;
  errorMessage: string;
}

/** What the server knows about the caller, used to fill what the record leaves out. */
export interface IngestCaller {
  accountId: string;
  region: string;
  sourceIPAddress: string;
  userAgent?: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The repo's schemas folder, from src/domain or dist/src/domain. */
function schemaPath(): string {
  let root = join(here, '..', '..');
  if (root.endsWith('dist')) root = join(root, '..');
  return join(root, 'schemas', 'ingest-record.schema.json');
}

let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: false, strict: true });
    // ajv-formats is CommonJS; under ESM its function is the default export's default.
    const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv2020) => void;
    addFormats(ajv);
    validator = ajv.compile(JSON.parse(readFileSync(schemaPath(), 'utf8')) as object);
  }
  return validator;
}

function describe(e: ErrorObject): RecordProblem {
  const field = e.instancePath || (e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : undefined);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return { errorCode: 'InvalidRecord', field: `${e.instancePath}/${extra}`, errorMessage: `${extra} is not a CloudTrail record field` };
  }
  if (e.keyword === 'enum') message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`;
  if (e.keyword === 'required') message = 'is required';
  return { errorCode: 'InvalidRecord', field, errorMessage: `${field ?? 'record'} ${message}` };
}

/**
 * Check one sent record and complete it: a server-assigned eventID; eventVersion, eventTime
 * (now), awsRegion (the request's), eventType (AwsApiCall), eventCategory (Management),
 * managementEvent, recipientAccountId (the caller's account), sourceIPAddress, and null
 * requestParameters/responseElements where absent. A record for another account is refused.
 * `nowText` is `now` as an eventTime (a batch's records share it: the caller formats it once).
 */
export function normalizeIngestRecord(raw: unknown, caller: IngestCaller, now = new Date(), nowText = formatEventTime(now)): { record: CloudTrailRecord; json: string } | { problem: RecordProblem } {
  const check = validate();
  if (!check(raw)) return { problem: describe(check.errors![0]!) };
  const r = raw as Partial<CloudTrailRecord> & { userIdentity: UserIdentity; eventSource: string; eventName: string };
  if (r.recipientAccountId !== undefined && r.recipientAccountId !== caller.accountId) {
    return { problem: { errorCode: 'AccountMismatch', field: '/recipientAccountId', errorMessage: `A principal of account ${caller.accountId} may only record events for that account, not ${r.recipientAccountId}` } };
  }
  let eventTime = nowText;
  if (r.eventTime !== undefined) {
    const t = Date.parse(r.eventTime);
    if (t > now.getTime() + MAX_FUTURE_MS) {
      return { problem: { errorCode: 'InvalidRecord', field: '/eventTime', errorMessage: `/eventTime ${r.eventTime} is more than 15 minutes in the future` } };
    }
    eventTime = formatEventTime(new Date(t));
  }
  const category = r.eventCategory ?? 'Management';
  const record: CloudTrailRecord = {
    eventVersion: r.eventVersion ?? CURRENT_EVENT_VERSION,
    userIdentity: { ...r.userIdentity, ...(r.userIdentity.accountId === undefined ? { accountId: caller.accountId } : {}) },
    eventTime,
    eventSource: r.eventSource,
    eventName: r.eventName,
    awsRegion: r.awsRegion ?? caller.region,
    sourceIPAddress: r.sourceIPAddress ?? caller.sourceIPAddress,
    ...(r.userAgent ?? caller.userAgent ? { userAgent: r.userAgent ?? caller.userAgent } : {}),
    ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
    ...(r.errorMessage !== undefined ? { errorMessage: r.errorMessage } : {}),
    requestParameters: r.requestParameters ?? null,
    responseElements: r.responseElements ?? null,
    ...(r.additionalEventData !== undefined ? { additionalEventData: r.additionalEventData } : {}),
    ...(r.requestID !== undefined ? { requestID: r.requestID } : {}),
    eventID: newEventId(now.getTime()),
    ...(r.readOnly !== undefined ? { readOnly: r.readOnly } : {}),
    ...(r.resources !== undefined ? { resources: r.resources } : {}),
    eventType: r.eventType ?? 'AwsApiCall',
    ...(r.apiVersion !== undefined ? { apiVersion: r.apiVersion } : {}),
    managementEvent: r.managementEvent ?? category === 'Management',
    recipientAccountId: caller.accountId,
    ...(r.sharedEventID !== undefined ? { sharedEventID: r.sharedEventID } : {}),
    ...(r.vpcEndpointId !== undefined ? { vpcEndpointId: r.vpcEndpointId } : {}),
    eventCategory: category,
    ...(r.tlsDetails !== undefined ? { tlsDetails: r.tlsDetails } : {}),
    ...(r.sessionCredentialFromConsole !== undefined ? { sessionCredentialFromConsole: r.sessionCredentialFromConsole } : {}),
  };
  // The limit is on the event as it is recorded; its text is what the log stores.
  const json = JSON.stringify(record);
  // UTF-8 takes at most three bytes for each UTF-16 unit: shorter text cannot be over the limit.
  const size = json.length * 3 <= MAX_RECORD_BYTES ? 0 : Buffer.byteLength(json);
  if (size > MAX_RECORD_BYTES) {
    return { problem: { errorCode: 'RecordTooLarge', errorMessage: `The record is ${size} bytes as recorded; the most a record may be is ${MAX_RECORD_BYTES}` } };
  }
  return { record, json };
}
