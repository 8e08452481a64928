/** What a service handler sees of a request, and what it hands back. */
import type { Principal } from '../domain/identity.js';
import type { RecordResource, UserIdentity } from '../domain/record.js';
import type { WireResponse } from '../protocols/json11.js';
import type { ServiceError } from '../protocols/errors.js';

export interface RequestContext {
  requestId: string;
  /** The eventID the call's own record will carry, known from the start (a lookup leaves its own record out). */
  recordEventId: string;
  accountId: string;
  region: string;
  principal: Principal;
  accessKeyId: string;
  userIdentity: UserIdentity;
  sourceIPAddress: string;
  userAgent?: string;
  tlsDetails?: { tlsVersion?: string; cipherSuite?: string; clientProvidedHostHeader?: string };
  receivedAt: Date;
  /** `http(s)://` and the request's Host header: the address the caller reached this server at. */
  origin?: string;
}

export interface IncomingRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** How the call is to be recorded in the trail (one CloudTrail record). */
export interface AuditFacts {
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  resources?: RecordResource[];
  apiVersion?: string;
  managementEvent?: boolean;
  eventCategory?: string;
}

export interface ServiceResult {
  /**
   * The answer; a promise for a read-only call that waits (a long poll) once it is known to
   * succeed: its record, already complete, commits during the wait.
   */
  response: WireResponse | Promise<WireResponse>;
  /** Operation name for metrics and logs. */
  operation: string;
  /** Absent when the call is not to be recorded. */
  audit?: AuditFacts;
}

export interface Service {
  /** The SigV4 signing name that routes requests here, e.g. `cloudtrail`. */
  readonly signingName: string;
  handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult>;
  /** Encode an error raised before the service ran (authentication, recording); JSON 1.1 when absent. */
  encodeError?(err: ServiceError, requestId: string, req: IncomingRequest): WireResponse;
}
