/**
 * Turning a request to your own HTTP API into a CloudTrail record: the part
 * the Express and Fastify adapters share. eventName from the route, client
 * address through trusted proxies only, request parameters with secrets
 * redacted, the error from the response.
 */
import { BlockList, isIP } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AuditRecordInput, RecordResource, UserIdentity } from '../client/types.js';

/** What the adapters know about a finished request. */
export interface RequestFacts {
  method: string;
  /** The matched route pattern, e.g. `/invoices/:id/void` (undefined when no route matched). */
  route?: string;
  /** The path as requested, without the query string. */
  path: string;
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** The TCP peer's address. */
  socketAddress: string;
  statusCode: number;
  /** An error the handler raised or set, when there was one. */
  error?: { code?: string; message?: string; name?: string };
}

export interface AuditMiddlewareOptions<Req = unknown, Res = unknown> {
  /** Where records go: an AuditClient, or anything with its `record`. */
  client: { record(r: AuditRecordInput): Promise<void> };
  /** eventSource of every record, e.g. `billing.example.com`. */
  eventSource: string;
  /** Who made the request (e.g. from your session or token). Default: `{ type: 'Unknown' }`. */
  userIdentity?: (req: Req) => UserIdentity | undefined | Promise<UserIdentity | undefined>;
  /** eventName for a request; return undefined for the default derived from method and route. */
  eventName?: (facts: RequestFacts, req: Req) => string | undefined;
  /** Resources the request touched. */
  resources?: (req: Req, res: Res) => RecordResource[] | undefined;
  /**
   * Proxies whose X-Forwarded-For is believed: addresses or CIDR blocks (`10.0.0.0/8`). Default:
   * none — the TCP peer is the source address, whatever headers say.
   */
  trustedProxies?: string[];
  /** Extra parameter names to redact (matched case-insensitively, anywhere in the parameters). */
  redact?: (string | RegExp)[];
  /** Use only `redact`, not the default list (DEFAULT_REDACT). */
  replaceDefaultRedactions?: boolean;
  /** Leave the request body out of requestParameters. */
  omitBody?: boolean;
  /** Requests not to record (e.g. health checks). */
  skip?: (req: Req) => boolean;
  /** Called when a record could not be built or buffered (the response is never affected). */
  onError?: (err: unknown) => void;
}

/** CloudTrail's own marker for values it does not show. */
export const REDACTED = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/** Parameter names redacted by default: passwords, secrets, tokens, credentials, card data. */
export const DEFAULT_REDACT: RegExp[] = [
  /passw(or)?d|passphrase|^pass$/i,
  /secret/i,
  /token/i,
  /^authorization$/i,
  /^(set-)?cookie$/i,
  /api[-_]?key/i,
  /private[-_]?key/i,
  /^(credit[-_]?)?card([-_]?(number|no|num))?$/i,
  /^(pan|cvc|cvv2?|ssn)$/i,
];

/** A 13–19 digit number (spaces or dashes allowed) that passes the Luhn check: a card number. */
function looksLikeCardNumber(v: string): boolean {
  if (!/^[0-9][0-9 -]{11,21}[0-9]$/.test(v)) return false;
  const digits = v.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** A deep copy of `value` with secret-named members and card-number-like strings replaced. */
export function redactParameters(value: unknown, patterns: (string | RegExp)[], depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (typeof value === 'string') return looksLikeCardNumber(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redactParameters(v, patterns, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const secret = patterns.some((p) => (typeof p === 'string' ? p.toLowerCase() === k.toLowerCase() : p.test(k)));
      out[k] = secret ? REDACTED : redactParameters(v, patterns, depth + 1);
    }
    return out;
  }
  return value;
}

function pascal(word: string): string {
  return word
    .split(/[-_.\s]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

function singular(word: string): string {
  if (/ies$/i.test(word)) return word.slice(0, -3) + 'y';
  if (/(ss|us|is)$/i.test(word)) return word;
  if (/(sh|ch|x|z|ss)es$/i.test(word)) return word.slice(0, -2);
  if (/s$/i.test(word)) return word.slice(0, -1);
  return word;
}

const isParam = (seg: string): boolean => seg.startsWith(':') || seg.startsWith('{') || seg === '*';

/**
 * The default eventName: CloudTrail style, from the method and the route pattern.
 * `GET /invoices` → ListInvoices, `GET /invoices/:id` → GetInvoice, `POST /invoices` → CreateInvoice,
 * `PUT|PATCH /invoices/:id` → UpdateInvoice, `DELETE /invoices/:id` → DeleteInvoice, and an action
 * after an item, `POST /invoices/:id/void` → VoidInvoice.
 */
export function eventNameFor(method: string, route: string | undefined): string {
  const m = method.toUpperCase();
  if (!route) return `${pascal(m.toLowerCase())}UnmatchedRoute`;
  const segs = route.split('/').filter(Boolean);
  const statics = segs.filter((s) => !isParam(s)).map((s) => s.replace(/[^A-Za-z0-9_.-]/g, ''));
  if (statics.length === 0) return `${pascal(m.toLowerCase())}Root`;
  const last = segs[segs.length - 1]!;
  const lastStatic = statics[statics.length - 1]!;
  const prevIsParam = segs.length >= 2 && isParam(segs[segs.length - 2]!);
  // RPC-style action on an item: POST /orders/:id/cancel (an action word, not a plural collection).
  if (m === 'POST' && !isParam(last) && prevIsParam && !/s$/i.test(lastStatic) && statics.length >= 2) {
    return `${pascal(lastStatic)}${pascal(singular(statics[statics.length - 2]!))}`;
  }
  const item = isParam(last);
  const noun = pascal(lastStatic);
  const one = pascal(singular(lastStatic));
  switch (m) {
    case 'GET':
    case 'HEAD':
      return item ? `Get${one}` : `List${noun}`;
    case 'POST':
      return `Create${one}`;
    case 'PUT':
    case 'PATCH':
      return `Update${item ? one : noun}`;
    case 'DELETE':
      return `Delete${item ? one : noun}`;
    default:
      return `${pascal(m.toLowerCase())}${item ? one : noun}`;
  }
}

/** Trusted proxies as a matcher (addresses and CIDR blocks, IPv4 and IPv6). */
export function proxyMatcher(trusted: string[] = []): (ip: string) => boolean {
  if (trusted.length === 0) return () => false;
  const list = new BlockList();
  for (const t of trusted) {
    const [addr, bits] = t.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr ?? '')) throw new Error(`trustedProxies: ${t} is not an address or CIDR block`);
    if (bits === undefined) list.addAddress(addr!, family);
    else list.addSubnet(addr!, Number(bits), family);
  }
  return (ip) => {
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const v = isIP(plain);
    return v !== 0 && list.check(plain, v === 6 ? 'ipv6' : 'ipv4');
  };
}

/** The client's address: the TCP peer, or — only when the peer is a trusted proxy — the nearest untrusted X-Forwarded-For hop. */
export function clientAddress(socketAddress: string, forwardedFor: string | string[] | undefined, trusted: (ip: string) => boolean): string {
  const peer = socketAddress.startsWith('::ffff:') ? socketAddress.slice(7) : socketAddress;
  if (!trusted(peer) || !forwardedFor) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted(hops[i]!)) return isIP(hops[i]!) ? hops[i]! : peer;
  }
  return hops[0] && isIP(hops[0]) ? hops[0] : peer;
}

/** An HTTP status as an error code: 404 → NotFound, 500 → InternalServerError. */
function statusErrorCode(status: number): string {
  const text = STATUS_CODES[status];
  return text ? pascal(text.replace(/[^A-Za-z0-9 ]/g, '')) : `Http${status}`;
}

/** Options worked out once per middleware: the proxy matcher and the redaction list. */
export interface CompiledAuditOptions<Req, Res> {
  opts: AuditMiddlewareOptions<Req, Res>;
  trusted: (ip: string) => boolean;
  redact: (string | RegExp)[];
}

export function compileAuditOptions<Req, Res>(opts: AuditMiddlewareOptions<Req, Res>): CompiledAuditOptions<Req, Res> {
  return { opts, trusted: proxyMatcher(opts.trustedProxies), redact: [...(opts.replaceDefaultRedactions ? [] : DEFAULT_REDACT), ...(opts.redact ?? [])] };
}

/** Build the record for a finished request. */
export async function buildAuditRecord<Req, Res>(facts: RequestFacts, req: Req, res: Res, c: CompiledAuditOptions<Req, Res>): Promise<AuditRecordInput> {
  const { opts, trusted } = c;
  const params: Record<string, unknown> = { ...facts.params, ...facts.query };
  if (!opts.omitBody && facts.body && typeof facts.body === 'object' && !Buffer.isBuffer(facts.body)) Object.assign(params, facts.body as Record<string, unknown>);
  const m = facts.method.toUpperCase();
  const failed = facts.statusCode >= 400;
  const ua = facts.headers['user-agent'];
  const rid = facts.headers['x-request-id'];
  const identity = (await opts.userIdentity?.(req)) ?? { type: 'Unknown' };
  const record: AuditRecordInput = {
    eventSource: opts.eventSource,
    eventName: opts.eventName?.(facts, req) ?? eventNameFor(m, facts.route),
    userIdentity: identity,
    sourceIPAddress: clientAddress(facts.socketAddress, facts.headers['x-forwarded-for'], trusted),
    ...(ua ? { userAgent: Array.isArray(ua) ? ua.join(' ') : ua } : {}),
    requestParameters: Object.keys(params).length ? (redactParameters(params, c.redact) as Record<string, unknown>) : null,
    responseElements: null,
    requestID: (Array.isArray(rid) ? rid[0] : rid) ?? randomUUID(),
    readOnly: m === 'GET' || m === 'HEAD' || m === 'OPTIONS',
  };
  if (failed) {
    record.errorCode = facts.error?.code ?? facts.error?.name ?? statusErrorCode(facts.statusCode);
    record.errorMessage = facts.error?.message ?? `HTTP ${facts.statusCode}`;
  }
  const resources = opts.resources?.(req, res);
  if (resources?.length) record.resources = resources;
  return record;
}

/** Build and buffer the record of a finished request; failures go to onError, never to the response. */
export async function recordRequest<Req, Res>(facts: RequestFacts, req: Req, res: Res, c: CompiledAuditOptions<Req, Res>): Promise<void> {
  try {
    await c.opts.client.record(await buildAuditRecord(facts, req, res, c));
  } catch (err) {
    c.opts.onError?.(err);
  }
}
