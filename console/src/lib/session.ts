/**
 * The signed-in identity: an access key pair and region, kept in this browser tab's
 * sessionStorage only. Every page calls the same public APIs as the AWS CLI, signed with it.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';

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
  events: EventBridgeClient;
  s3: S3Client;
}

export function clientsFor(session: Session, endpoint = window.location.origin): Clients {
  const common = {
    endpoint,
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    maxAttempts: 2,
  };
  return {
    session,
    cloudtrail: new CloudTrailClient(common),
    events: new EventBridgeClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
  };
}

/** An AWS error's code and message, for showing to the user. */
export function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string };
  if (err && typeof err === 'object' && err.name && err.message) return `${err.name}: ${err.message}`;
  return String(e);
}
