/**
 * A recorded event as EventBridge delivers it: CloudTrail's record as `detail`
 * inside EventBridge's envelope, and what targets receive of it (Input,
 * InputPath, InputTransformer).
 */
import { createHash } from 'node:crypto';
import type { CloudTrailRecord } from '../domain/record.js';
import { envelopeOf, type EventBridgeEvent } from './envelope-shape.js';
import { newFieldTrie, type FieldTrie } from './json-scan.js';

/** The envelope's id: derived from the record's eventID, so a replay after a crash sends the same id. */
function envelopeId(eventID: string): string {
  const h = createHash('sha256').update(`eventbridge:${eventID}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function eventBridgeEvent(r: CloudTrailRecord): EventBridgeEvent {
  return envelopeOf(r, envelopeId(r.eventID));
}

/** A value at a JSON path in dot notation (`$.detail.userIdentity.arn`, `$.detail.resources[0].ARN`). */
export function atPath(root: unknown, path: string): unknown {
  if (path === '$') return root;
  if (!path.startsWith('$.') && !path.startsWith('$[')) return undefined;
  let v: unknown = root;
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/y;
  let at = 1;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) return undefined;
    at = re.lastIndex;
    if (v === null || typeof v !== 'object') return undefined;
    const key = m[1] ?? m[3] ?? Number(m[2]);
    v = (v as Record<string | number, unknown>)[key];
    if (v === undefined) return undefined;
  }
  return v;
}

/** Is `path` one EventBridge accepts (dot notation from `$`)? */
export function isJsonPath(path: string): boolean {
  return path === '$' || /^\$((\.[^.[\]\s]+)|(\[\d+\]))+$/.test(path);
}

const jsonInner = (s: string): string => JSON.stringify(s).slice(1, -1);

/**
 * EventBridge's InputTemplate: `<name>` placeholders are replaced by the values InputPathsMap
 * extracts (or the predefined `aws.events.*` ones). Inside a JSON string a value goes in as
 * text; elsewhere as JSON (strings quoted, missing values null).
 */
export function renderTemplate(template: string, values: Record<string, unknown>): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '\\' && inString) {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inString = !inString;
    if (c === '<') {
      const end = template.indexOf('>', i);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (name && Object.hasOwn(values, name)) {
        const v = values[name];
        if (inString) out += v === undefined || v === null ? '' : typeof v === 'string' ? jsonInner(v) : jsonInner(JSON.stringify(v));
        else out += JSON.stringify(v ?? null);
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

export interface TargetInput {
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

/** What a target receives for `event`, as text. */
export function targetBody(t: TargetInput, event: EventBridgeEvent, rule: { arn: string; name: string }, ingestionTime: string): string {
  if (t.Input !== undefined) return t.Input;
  if (t.InputPath !== undefined) return JSON.stringify(atPath(event, t.InputPath) ?? null);
  if (t.InputTransformer) {
    const values: Record<string, unknown> = {
      'aws.events.rule-arn': rule.arn,
      'aws.events.rule-name': rule.name,
      'aws.events.event.ingestion-time': ingestionTime,
      'aws.events.event': event,
      'aws.events.event.json': event,
    };
    for (const [k, p] of Object.entries(t.InputTransformer.InputPathsMap ?? {})) values[k] = atPath(event, p);
    return renderTemplate(t.InputTransformer.InputTemplate, values);
  }
  return JSON.stringify(event);
}

/** The record fields the envelope (and the read-only rule) is built from. */
const ENVELOPE_PATHS = [['eventID'], ['eventTime'], ['eventType'], ['eventCategory'], ['eventSource'], ['awsRegion'], ['recipientAccountId'], ['readOnly'], ['userIdentity', 'accountId']];
const recordTries = new WeakMap<FieldTrie, FieldTrie>();

function copyTrie(t: FieldTrie | undefined): FieldTrie {
  const out = newFieldTrie();
  for (const [k, c] of t?.children ?? []) out.children.set(k, copyTrie(c));
  return out;
}

/**
 * The fields of a CloudTrail record to read for matching envelopes against rules that name the
 * envelope fields of `envelopeTrie`: what they name under `detail`, and what the envelope needs.
 */
export function recordTrieFor(envelopeTrie: FieldTrie): FieldTrie {
  let t = recordTries.get(envelopeTrie);
  if (!t) {
    const detail = envelopeTrie.children.get('detail');
    t = copyTrie(detail);
    for (const path of ENVELOPE_PATHS) {
      let n = t;
      for (const k of path) {
        let c = n.children.get(k);
        if (!c) n.children.set(k, (c = newFieldTrie()));
        n = c;
      }
    }
    // A rule naming `detail` itself (not its fields) still sees an object, as with the full record.
    recordTries.set(envelopeTrie, t);
  }
  return t;
}
