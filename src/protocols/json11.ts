/** AWS JSON 1.1 wire format: request body decoding and response/error encoding. */
import { randomBytes } from 'node:crypto';
import { SerializationException, ServiceError } from './errors.js';
import { RawJson, utf8Text } from './raw-json.js';

export const JSON11_CONTENT_TYPE = 'application/x-amz-json-1.1';

export interface WireResponse {
  statusCode: number;
  headers: Record<string, string>;
  /** Parts (text or bytes) are sent one after another, as they are (no joined copy of a large page). */
  body: string | Buffer | readonly (string | Uint8Array)[];
  /** Called once the whole body has gone to the socket (not when the connection went first). */
  sent?: () => void;
}

export function parseJsonBody(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SerializationException(`Unable to parse request body as JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SerializationException('Request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Serialise an output shape: Date → epoch seconds, Uint8Array → base64, undefined dropped. A
 * RawJson value becomes a placeholder string, its text kept in `raws` (see encodeWire).
 */
export function toWire(value: unknown, raws?: RawJson[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = toWire(value[i], raws);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof RawJson) {
    if (!raws) return JSON.parse(value.text) as unknown;
    raws.push(value);
    return `${RAW_MARK}${raws.length - 1}`;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v !== undefined) out[k] = toWire(v, raws);
  }
  return out;
}

/** Placeholders for RawJson values: no text of a caller's can hold this process's random mark. */
const RAW_MARK = `ot-raw-json-${randomBytes(12).toString('hex')}-`;

/** An output shape as JSON text, RawJson values spliced in where they stand. */
export function encodeWire(output: unknown): string {
  const { parts, sent } = encodeWireParts(output);
  const text = parts.map((p) => (typeof p === 'string' ? p : utf8Text(p))).join('');
  sent?.();
  return text;
}

/**
 * encodeWire's text in the parts it is made of (the RawJson values among them, as they are):
 * written to the socket one after another, a ~75 KB LookupEvents page is never copied into a
 * joined string on the request thread.
 */
export function encodeWireParts(output: unknown): { parts: (string | Uint8Array)[]; sent?: () => void } {
  const raws: RawJson[] = [];
  const text = JSON.stringify(toWire(output, raws));
  if (raws.length === 0) return { parts: [text] };
  const parts: (string | Uint8Array)[] = [];
  let at = 0;
  for (let i = 0; i < raws.length; i++) {
    const mark = `"${RAW_MARK}${i}"`;
    const j = text.indexOf(mark, at);
    parts.push(text.slice(at, j), raws[i]!.json);
    at = j + mark.length;
  }
  parts.push(text.slice(at));
  const released = raws.filter((r) => r.release);
  return released.length === 0 ? { parts } : { parts, sent: () => released.forEach((r) => r.release!()) };
}

export function json11Success(output: unknown, requestId: string): WireResponse {
  const { parts, sent } = encodeWireParts(output ?? {});
  return {
    statusCode: 200,
    headers: { 'content-type': JSON11_CONTENT_TYPE, 'x-amzn-requestid': requestId },
    body: parts,
    ...(sent ? { sent } : {}),
  };
}

export function json11Error(err: ServiceError, requestId: string): WireResponse {
  return {
    statusCode: err.statusCode,
    headers: {
      'content-type': JSON11_CONTENT_TYPE,
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': err.code,
    },
    body: JSON.stringify({ __type: err.code, message: err.message }),
  };
}
