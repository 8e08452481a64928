/** Derive the history-index keys of a record (what LookupEvents can filter on). */
import { lookupUsername, type CloudTrailRecord } from '../domain/record.js';
import type { IndexedEvent } from '../storage/interfaces.js';

/** `json`: the record's text, when the caller has it already. */
export function indexEvent(record: CloudTrailRecord, json = JSON.stringify(record)): IndexedEvent {
  // Integration events (ActivityAuditLog) carry their source and name inside eventData.
  const data = (record as { eventData?: { eventSource?: string; eventName?: string } }).eventData;
  const timeMs = Date.parse(record.eventTime);
  const resources: IndexedEvent['resources'] = [];
  for (const r of record.resources ?? []) {
    if (r && typeof r.ARN === 'string') resources.push({ type: typeof r.type === 'string' ? r.type : null, name: r.ARN });
  }
  return {
    accountId: record.recipientAccountId ?? record.userIdentity?.accountId ?? '',
    region: record.awsRegion,
    timeMs: Number.isNaN(timeMs) ? Date.now() : timeMs,
    eventId: record.eventID,
    eventName: record.eventName ?? data?.eventName ?? '',
    eventSource: record.eventSource ?? data?.eventSource ?? '',
    username: lookupUsername(record) ?? null,
    accessKeyId: record.userIdentity?.accessKeyId || null,
    readOnly: typeof record.readOnly === 'boolean' ? record.readOnly : null,
    category: (record.eventCategory ?? 'Management').toLowerCase(),
    resources,
    json,
  };
}
