/**
 * The signed-in identity: an access key pair and region, kept in this browser tab's
 * sessionStorage only. Every page calls the same public APIs as the AWS CLI, signed with it.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const KEY = 'opentrail.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Partial<Session>;
    return s.accessKeyId && s.secretAccessKey && s.region ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, region: s.region } : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export interface Clients {
  session: Session;
  cloudtrail: CloudTrailClient;
}

/** What every SDK client of this session is made with: this server, this key pair and region. */
export function clientConfig(session: Session, endpoint = window.location.origin) {
  return {
    endpoint,
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    maxAttempts: 2,
  };
}

/** CloudTrail's client; the EventBridge and S3 clients load with the pages that use them (lib/more-clients). */
export function clientsFor(session: Session): Clients {
  return { session, cloudtrail: new CloudTrailClient(clientConfig(session)) };
}

/** An AWS error's code and message, for showing to the user. */
export function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  if (err && typeof err === 'object' && err.name && err.message) return `${err.name}: ${err.message}`;
  return String(e);
}
