/**
 * A generic AWS JSON 1.1 service: routes X-Amz-Target to an operation,
 * validates the input against the service model, calls the handler and
 * encodes the output or the typed error. Knows nothing of the domain.
 */
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../services/types.js';
import { InternalFailure, ServiceError, SerializationException, UnknownOperationException, ValidationException } from './errors.js';
import { json11Error, json11Success, parseJsonBody, toWire } from './json11.js';
import { formatViolations, redactSensitive, validateInput, type ServiceModel } from './model.js';
import type { RecordResource } from '../domain/record.js';

type ErrorClass = new (message: string) => ServiceError;

export interface OperationSpec<I = Record<string, unknown>, O = unknown> {
  handler: (input: I, ctx: RequestContext) => Promise<O | AnswerLater<O>>;
  /** Errors the operation declares for invalid values of a top-level member (instead of ValidationException). */
  memberErrors?: Record<string, ErrorClass>;
  /** Resources the call touched, for the record. */
  resources?: (input: I, output: O | undefined, ctx: RequestContext) => RecordResource[] | undefined;
}

export interface Json11ServiceOptions {
  signingName: string;
  eventSource: string;
  model: ServiceModel;
  operations: Record<string, OperationSpec>;
  /** Operations CloudTrail records as data events (e.g. SQS's ReceiveMessage); the rest are management events. */
  dataEvents?: ReadonlySet<string>;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

/**
 * A read-only handler's answer that is still to come, for calls that wait (long polls): the
 * handler has checked the call (its errors are thrown before), so the call succeeds and its record,
 * which holds no response for a read-only call, can commit while it waits. `output` must not fail.
 */
export class AnswerLater<O> {
  constructor(readonly output: Promise<O>) {}
}

/** Erase an operation's input/output types so it can sit in the operation table. */
export function operation<I, O>(spec: OperationSpec<I, O>): OperationSpec {
  return spec as unknown as OperationSpec;
}

const READ_PREFIXES = ['Get', 'Describe', 'List', 'Lookup', 'Search'];

export function isReadOnlyOperation(name: string): boolean {
  return READ_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length && /[A-Z]/.test(name[p.length]!));
}

function lowerFirstKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(lowerFirstKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k.charAt(0).toLowerCase() + k.slice(1)] = lowerFirstKeys(x);
    return out;
  }
  return v;
}

export class Json11Service implements Service {
  readonly signingName: string;
  /** Accepted X-Amz-Target prefixes: the model's, and its last segment (what Smithy-generated SDKs send). */
  private readonly prefixes: string[];

  constructor(private readonly opts: Json11ServiceOptions) {
    this.signingName = opts.signingName;
    const full = opts.model.metadata.targetPrefix ?? '';
    this.prefixes = [full, full.split('.').pop() ?? full];
  }

  /** The input as the record keeps it: members the model marks sensitive (passwords, API keys) hidden. */
  private redact(name: string, raw: Record<string, unknown>): unknown {
    const input = this.opts.model.operations[name]?.input?.shape;
    return input ? redactSensitive(this.opts.model, input, raw) : raw;
  }

  async handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult> {
    // Presigned requests carry X-Amz-Target hoisted into the query string.
    const hoisted = Object.keys(req.query).find((k) => k.toLowerCase() === 'x-amz-target');
    const targetHeader = req.headers['x-amz-target'] ?? (hoisted ? req.query[hoisted] : undefined);
    const target = Array.isArray(targetHeader) ? targetHeader[0] : targetHeader;
    const dot = (target ?? '').lastIndexOf('.');
    const name = dot >= 0 ? target!.slice(dot + 1) : target ?? '';
    const known = dot >= 0 && this.prefixes.includes(target!.slice(0, dot)) && this.opts.model.operations[name] !== undefined;
    const readOnly = isReadOnlyOperation(name);
    let raw: Record<string, unknown> | null = null;
    const audit = (err?: ServiceError, output?: unknown, resources?: RecordResource[]): ServiceResult['audit'] => ({
      eventSource: this.opts.eventSource,
      eventName: name || 'Unknown',
      readOnly,
      requestParameters: raw && Object.keys(raw).length ? (lowerFirstKeys(this.redact(name, raw)) as Record<string, unknown>) : null,
      responseElements: readOnly || err || output === undefined || output === null || (typeof output === 'object' && Object.keys(output).length === 0)
        ? null
        : (lowerFirstKeys(toWire(output)) as Record<string, unknown>),
      errorCode: err?.code,
      errorMessage: err?.message,
      resources,
      apiVersion: this.opts.model.metadata.apiVersion,
      ...(this.opts.dataEvents?.has(name) ? { managementEvent: false, eventCategory: 'Data' } : {}),
    });
    const fail = (err: ServiceError): ServiceResult => ({
      response: json11Error(err, ctx.requestId),
      operation: name || 'Unknown',
      audit: audit(err),
    });
    try {
      if (req.method !== 'POST') throw new SerializationException(`Only POST is supported for this service, not ${req.method}`);
      raw = parseJsonBody(req.body);
      if (!known) {
        throw new UnknownOperationException(target ? `Unknown operation ${target}` : 'Missing X-Amz-Target header');
      }
      const opModel = this.opts.model.operations[name]!;
      const spec: OperationSpec | undefined = this.opts.operations[name];
      if (!spec) {
        throw new ServiceError('UnsupportedOperationException', `${name} is not supported by this server yet.`);
      }
      const { value, violations } = opModel.input
        ? validateInput(this.opts.model, opModel.input.shape, raw)
        : { value: {}, violations: [] };
      if (violations.length) {
        const own = spec.memberErrors?.[violations[0]!.member];
        if (own) throw new own(formatViolations(violations.filter((v) => v.member === violations[0]!.member)));
        throw new ValidationException(formatViolations(violations));
      }
      const output = await spec.handler(value, ctx);
      if (output instanceof AnswerLater) {
        if (!readOnly) throw new InternalFailure(`${name} is not read-only and cannot answer later.`);
        return {
          response: (output.output as Promise<unknown>).then(
            (o) => json11Success(o, ctx.requestId),
            (e: unknown) => {
              this.opts.onUnexpectedError?.(e, name);
              return json11Error(new InternalFailure('The request processing has failed because of an unknown error, exception or failure.'), ctx.requestId);
            },
          ),
          operation: name,
          audit: audit(undefined, undefined, spec.resources?.(value, undefined, ctx)),
        };
      }
      return {
        response: json11Success(output, ctx.requestId),
        operation: name,
        audit: audit(undefined, output, spec.resources?.(value, output, ctx)),
      };
    } catch (e) {
      if (e instanceof ServiceError) return fail(e);
      this.opts.onUnexpectedError?.(e, name);
      return fail(new InternalFailure('The request processing has failed because of an unknown error, exception or failure.'));
    }
  }
}
