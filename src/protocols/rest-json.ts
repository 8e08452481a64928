/**
 * Single-operation REST-JSON services (opentrail's ingest API, the CloudTrail Data API): the
 * response and error shapes, and the one way an operation's outcome becomes a ServiceResult.
 */
import type { AuditFacts, ServiceResult } from '../services/types.js';
import { InternalFailure, ServiceError } from './errors.js';
import type { WireResponse } from './json11.js';

export function restJsonResponse(statusCode: number, body: unknown, requestId: string, extra: Record<string, string> = {}): WireResponse {
  return { statusCode, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...extra }, body: JSON.stringify(body) };
}

/** AWS's REST-JSON error: the code in `x-amzn-ErrorType` and `__type`, the message in `message`. */
export function restJsonError(err: ServiceError, requestId: string, statusCode = err.statusCode): WireResponse {
  return restJsonResponse(statusCode, { __type: err.code, message: err.message }, requestId, { 'x-amzn-errortype': err.code });
}

/**
 * Run an operation: its answer, or its typed error answered and recorded. Throttling and server
 * faults go up to the server, which answers them without recording the call.
 */
export async function runRestJsonOperation<R>(opts: {
  operation: string;
  run: () => Promise<R>;
  ok: (result: R) => WireResponse;
  encodeError: (err: ServiceError) => WireResponse;
  audit: (err?: ServiceError, result?: R) => AuditFacts;
  onUnexpectedError?: (err: unknown, operation: string) => void;
  /** Message of the InternalFailure an unexpected error becomes. */
  internalMessage: string;
}): Promise<ServiceResult> {
  try {
    const result = await opts.run();
    return { operation: opts.operation, response: opts.ok(result), audit: opts.audit(undefined, result) };
  } catch (e) {
    let err: ServiceError;
    if (e instanceof ServiceError) err = e;
    else {
      opts.onUnexpectedError?.(e, opts.operation);
      err = new InternalFailure(opts.internalMessage);
    }
    if (err.code === 'ThrottlingException' || err.statusCode >= 500) throw err;
    return { operation: opts.operation, response: opts.encodeError(err), audit: opts.audit(err) };
  }
}
