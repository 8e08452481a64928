/**
 * LookupEvents' Events as AWS JSON 1.1 sends them (EventTime in epoch seconds, the record itself
 * as the CloudTrailEvent string), encoded as text. The event log is given this module (HistoryPageEncoder)
 * and its history reader thread encodes each event where it reads it (and keeps the text for the
 * next page that shows it), so the request thread neither copies fifty records across threads as
 * objects nor encodes ~100 KB of them: it splices the page's text into the answer (RawJson).
 */
import type { HistoryPageEncoder, HistoryRow } from '../../storage/interfaces.js';

/** A LookupEvents entry in its wire shape (members AWS leaves out when empty are left out). */
interface WireLookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources: { ResourceType?: string; ResourceName: string }[];
  CloudTrailEvent: string;
}

/** One entry of the Events array, as JSON text. */
export function encodeEvent(r: HistoryRow): string {
  const ev: WireLookupEvent = {
    EventId: r.eventId,
    EventName: r.eventName,
    EventTime: r.timeMs / 1000,
    EventSource: r.eventSource,
    Resources: r.resources.map((x) => (x.type === null ? { ResourceName: x.name } : { ResourceType: x.type, ResourceName: x.name })),
    CloudTrailEvent: r.json,
  };
  if (r.readOnly !== null) ev.ReadOnly = String(r.readOnly);
  if (r.accessKeyId) ev.AccessKeyId = r.accessKeyId;
  if (r.username) ev.Username = r.username;
  return JSON.stringify(ev);
}

/** This module, as the event log takes it: the function, and where a thread can import it from. */
export const LOOKUP_EVENTS_ENCODER: HistoryPageEncoder = { encodeEvent, module: import.meta.url };
