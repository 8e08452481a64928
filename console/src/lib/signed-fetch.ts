/**
 * A SigV4-signed JSON POST from the browser (smithy's signer, the SDK's own): what the histogram's
 * CountEvents and event history's LookupEvents use. A page of event history needs no SDK client
 * warm-up this way (the SDK's first call in a new page costs ~100 ms of middleware set-up).
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import type { Session } from './session.js';

const signers = new WeakMap<Session, Map<string, SignatureV4>>();

function signer(session: Session, service: string): SignatureV4 {
  let bySession = signers.get(session);
  if (!bySession) signers.set(session, (bySession = new Map()));
  let s = bySession.get(service);
  if (!s) {
    s = new SignatureV4({ credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey }, region: session.region, service, sha256: Sha256 });
    bySession.set(service, s);
  }
  return s;
}

/** POST `body` as JSON, signed for `service`; the parsed answer, or an Error named by the AWS error code. */
export async function signedJson<T>(session: Session, service: string, path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const url = new URL(path, window.location.origin);
  const text = JSON.stringify(body);
  const signed = await signer(session, service).sign(
    new HttpRequest({ method: 'POST', protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, headers: { host: url.host, ...headers }, body: text }),
  );
  const send = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host'));
  const res = await fetch(url, { method: 'POST', headers: send, body: text, signal });
  const json = (await res.json()) as T & { __type?: string; message?: string; Message?: string };
  if (!res.ok) {
    const code = (json.__type ?? 'Error').split('#').pop()!;
    throw Object.assign(new Error(json.message ?? json.Message ?? res.statusText), { name: code });
  }
  return json;
}
