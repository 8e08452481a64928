/** AWS JSON 1.1 wire format: request body decoding and response/error encoding. */
import { SerializationException, ServiceError } from './errors.js';

export const JSON11_CONTENT_TYPE = 'application/x-amz-json-1.1';

export interface WireResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
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

/** Serialise an output shape: Date → epoch seconds, Uint8Array → base64, undefined dropped. */
export function toWire(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = toWire(value[i]);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v !== undefined) out[k] = toWire(v);
  }
  return out;
}

export function json11Success(output: unknown, requestId: string): WireResponse {
  return {
    statusCode: 200,
    headers: { 'content-type': JSON11_CONTENT_TYPE, 'x-amzn-requestid': requestId },
    body: JSON.stringify(toWire(output ?? {})),
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
