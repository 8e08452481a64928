/**
 * CountEvents (opentrail's extension, POST /v1/event-counts, SigV4 service `opentrail`): exact
 * per-bucket counts of what a LookupEvents filter pages through, for the histograms.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import type { Session } from './session.js';
import type { Filter } from './events.js';

export interface EventCounts {
  Buckets: { StartTime: number; Count: number }[];
  Total: number;
  BucketSeconds: number;
}

export async function countEvents(session: Session, f: Filter, bucketSeconds: number, signal?: AbortSignal): Promise<EventCounts> {
  const value = f.value.trim();
  const body = JSON.stringify({
    LookupAttributes: value ? [{ AttributeKey: f.key, AttributeValue: value }] : f.hideReadOnly ? [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] : undefined,
    StartTime: f.start.getTime() / 1000,
    EndTime: f.end.getTime() / 1000,
    BucketSeconds: bucketSeconds,
  });
  const url = new URL('/v1/event-counts', window.location.origin);
  const signer = new SignatureV4({ credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey }, region: session.region, service: 'opentrail', sha256: Sha256 });
  const signed = await signer.sign(
    new HttpRequest({ method: 'POST', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, headers: { host: url.host, 'content-type': 'application/json' }, body }),
  );
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host'));
  const res = await fetch(url, { method: 'POST', headers, body, signal });
  const json = (await res.json()) as EventCounts & { __type?: string; message?: string };
  if (!res.ok) throw Object.assign(new Error(json.message ?? res.statusText), { name: json.__type ?? 'Error' });
  return json;
}
