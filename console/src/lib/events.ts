/** Event history rows from LookupEvents, and paging through a filtered set. */
import { LookupEventsCommand, type CloudTrailClient, type Event, type LookupAttributeKey } from '@aws-sdk/client-cloudtrail';

export const ATTRIBUTES: { key: LookupAttributeKey; label: string }[] = [
  { key: 'EventName', label: 'Event name' },
  { key: 'EventSource', label: 'Event source' },
  { key: 'Username', label: 'User name' },
  { key: 'ResourceType', label: 'Resource type' },
  { key: 'ResourceName', label: 'Resource name' },
  { key: 'AccessKeyId', label: 'AWS access key' },
  { key: 'EventId', label: 'Event ID' },
  { key: 'ReadOnly', label: 'Read-only' },
];

export interface Row {
  id: string;
  time?: Date;
  user: string;
  name: string;
  resourceType: string;
  resourceName: string;
  source: string;
  accessKey: string;
  sourceIp: string;
  errorCode: string;
  readOnly?: string;
  record: Record<string, unknown>;
}

export function toRow(e: Event): Row {
  let record: Record<string, unknown> = {};
  try {
    record = JSON.parse(e.CloudTrailEvent ?? '{}') as Record<string, unknown>;
  } catch {
    // shown as an empty record
  }
  const res = e.Resources ?? [];
  return {
    id: e.EventId ?? '',
    time: e.EventTime,
    user: e.Username ?? '',
    name: e.EventName ?? '',
    resourceType: res.map((r) => r.ResourceType ?? '').filter(Boolean).join(', '),
    resourceName: res.map((r) => r.ResourceName ?? '').filter(Boolean).join(', '),
    source: e.EventSource ?? '',
    accessKey: e.AccessKeyId ?? '',
    sourceIp: typeof record.sourceIPAddress === 'string' ? record.sourceIPAddress : '',
    errorCode: typeof record.errorCode === 'string' ? record.errorCode : '',
    readOnly: e.ReadOnly,
    record,
  };
}

export interface Filter {
  key: LookupAttributeKey;
  value: string;
  start: Date;
  end: Date;
  /** Hide read-only events (the AWS console's "Read-only: false" default is the opposite toggle). */
  hideReadOnly: boolean;
}

/** Applies the parts of the filter LookupEvents cannot combine with another attribute. */
export function keep(f: Filter, r: Row): boolean {
  return !(f.hideReadOnly && r.readOnly === 'true');
}

export async function lookupPage(ct: CloudTrailClient, f: Filter, nextToken?: string, maxResults = 50, signal?: AbortSignal): Promise<{ rows: Row[]; next?: string }> {
  const value = f.value.trim();
  const out = await ct.send(
    new LookupEventsCommand({
      LookupAttributes: value ? [{ AttributeKey: f.key, AttributeValue: value }] : f.hideReadOnly ? [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] : undefined,
      StartTime: f.start,
      EndTime: f.end,
      MaxResults: maxResults,
      NextToken: nextToken,
    }),
    { abortSignal: signal },
  );
  return { rows: (out.Events ?? []).map(toRow).filter((r) => keep(f, r)), next: out.NextToken };
}

export const CSV_HEADER = ['eventTime', 'userName', 'eventName', 'resourceType', 'resourceName', 'eventSource', 'accessKeyId', 'sourceIPAddress', 'errorCode', 'eventId', 'readOnly'];

export function csvFields(r: Row): unknown[] {
  return [r.time?.toISOString(), r.user, r.name, r.resourceType, r.resourceName, r.source, r.accessKey, r.sourceIp, r.errorCode, r.id, r.readOnly];
}
