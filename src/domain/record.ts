/** The CloudTrail record, in AWS's field names (see shared/spec/cloudtrail.md §3). */

export interface UserIdentity {
  type: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface RecordResource {
  ARN?: string;
  accountId?: string;
  type?: string;
}

export interface CloudTrailRecord {
  eventVersion: string;
  userIdentity: UserIdentity;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  requestID?: string;
  eventID: string;
  readOnly?: boolean;
  resources?: RecordResource[];
  eventType: string;
  apiVersion?: string;
  managementEvent?: boolean;
  recipientAccountId?: string;
  sharedEventID?: string;
  vpcEndpointId?: string;
  eventCategory: string;
  tlsDetails?: { tlsVersion?: string; cipherSuite?: string; clientProvidedHostHeader?: string; keyExchange?: string };
  sessionCredentialFromConsole?: string;
  insightDetails?: Record<string, unknown>;
  [extra: string]: unknown;
}

export const CURRENT_EVENT_VERSION = '1.11';

/** CloudTrail's eventTime format: UTC, seconds precision, `Z`. */
export function formatEventTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The user name LookupEvents shows for a record (Username). */
export function lookupUsername(r: CloudTrailRecord): string | undefined {
  const u = r.userIdentity;
  if (!u) return undefined;
  if (u.userName) return u.userName;
  if (u.type === 'Root') return 'root';
  const issuer = (u.sessionContext as { sessionIssuer?: { userName?: string } } | undefined)?.sessionIssuer;
  if (u.type === 'AssumedRole' && u.arn) return u.arn.split('/').pop();
  if (issuer?.userName) return issuer.userName;
  return undefined;
}
