/** Event history rows from LookupEvents, and paging through a filtered set. */
import type { Event, LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import type { Session } from './session.js';
import { signedJson } from './signed-fetch.js';

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

/** The filter as LookupEvents' one attribute (read-only events hidden server-side when no value is set). */
export function lookupAttributes(f: Filter): { AttributeKey: LookupAttributeKey; AttributeValue: string }[] | undefined {
  const value = f.value.trim();
  return value ? [{ AttributeKey: f.key, AttributeValue: value }] : f.hideReadOnly ? [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] : undefined;
}

type WireEvent = Omit<Event, 'EventTime'> & { EventTime?: number };

/** One page of LookupEvents (AWS JSON 1.1, signed in the browser). */
export async function lookupPage(session: Session, f: Filter, nextToken?: string, maxResults = 50, signal?: AbortSignal): Promise<{ rows: Row[]; next?: string }> {
  const out = await signedJson<{ Events?: WireEvent[]; NextToken?: string }>(
    session,
    'cloudtrail',
    '/',
    { LookupAttributes: lookupAttributes(f), StartTime: f.start.getTime() / 1000, EndTime: f.end.getTime() / 1000, MaxResults: maxResults, NextToken: nextToken },
    { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents' },
    signal,
  );
  const events = (out.Events ?? []).map((e): Event => ({ ...e, EventTime: e.EventTime === undefined ? undefined : new Date(e.EventTime * 1000) }));
  return { rows: events.map(toRow).filter((r) => keep(f, r)), next: out.NextToken };
}

export const CSV_HEADER = ['eventTime', 'userName', 'eventName', 'resourceType', 'resourceName', 'eventSource', 'accessKeyId', 'sourceIPAddress', 'errorCode', 'eventId', 'readOnly'];

export function csvFields(r: Row): unknown[] {
  return [r.time?.toISOString(), r.user, r.name, r.resourceType, r.resourceName, r.source, r.accessKey, r.sourceIp, r.errorCode, r.id, r.readOnly];
}
