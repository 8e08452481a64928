/**
 * Sending one event to one target: an API destination (an HTTP endpoint with
 * its connection's authorization and its own rate limit) or opentrail's JSONL
 * file sink. Results say whether a failure is worth retrying, as EventBridge
 * decides it for API destinations (401, 407, 409, 429 and 5xx are retried;
 * other 4xx are not).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventRules } from '../domain/event-rules.js';
import { fileSinkOfArn, resourceNameOfArn, type ConnectionDoc, type ConnectionHttpParameters, type TargetDoc } from '../domain/rules-model.js';

export type InvokeResult =
  | { ok: true }
  | { ok: false; throttledForMs: number }
  | { ok: false; retryable: boolean; code: string; message: string };

/** How long an API destination may take to answer (EventBridge's limit). */
const TIMEOUT_MS = 5000;
const RETRIED_STATUSES = new Set([401, 407, 409, 429]);
/** EventBridge's default rate for an API destination without InvocationRateLimitPerSecond. */
const DEFAULT_RATE = 300;

class TokenBucket {
  private tokens: number;
  private at = Date.now();
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }
  /** 0 when a token was taken; otherwise how long until one is free. */
  take(): number {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}

function addParams(headers: Record<string, string>, query: URLSearchParams, p: ConnectionHttpParameters | undefined): void {
  for (const h of p?.HeaderParameters ?? []) if (h.Key) headers[h.Key.toLowerCase()] = h.Value ?? '';
  for (const q of p?.QueryStringParameters ?? []) if (q.Key) query.set(q.Key, q.Value ?? '');
}

export class TargetInvoker {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private readonly fileQueues = new Map<string, Promise<void>>();

  constructor(
    private readonly rules: EventRules,
    private readonly sinkDir: string,
  ) {}

  async invoke(accountId: string, target: TargetDoc, body: string): Promise<InvokeResult> {
    const sink = fileSinkOfArn(target.Arn);
    if (sink) return this.writeSink(accountId, sink.name, body);
    if (resourceNameOfArn(target.Arn, 'api-destination')) return this.callApiDestination(target, body);
    return { ok: false, retryable: false, code: 'UnsupportedTarget', message: `Target ${target.Arn} cannot be invoked` };
  }

  private async writeSink(accountId: string, name: string, body: string): Promise<InvokeResult> {
    const dir = join(this.sinkDir, accountId);
    const file = join(dir, `${name}.jsonl`);
    // One writer per file at a time, so lines never interleave.
    const prior = this.fileQueues.get(file) ?? Promise.resolve();
    const mine = prior.then(async () => {
      await mkdir(dir, { recursive: true });
      await appendFile(file, `${body.replace(/\n/g, ' ')}\n`);
    });
    this.fileQueues.set(file, mine.catch(() => undefined));
    try {
      await mine;
      return { ok: true };
    } catch (e) {
      return { ok: false, retryable: true, code: 'SinkWriteFailed', message: (e as Error).message };
    }
  }

  private async callApiDestination(target: TargetDoc, body: string): Promise<InvokeResult> {
    const dest = await this.rules.apiDestinationByArn(target.Arn);
    if (!dest) return { ok: false, retryable: false, code: 'ResourceNotFound', message: `API destination ${target.Arn} no longer exists` };
    const conn = await this.rules.connectionByArn(dest.connectionArn);
    if (!conn) return { ok: false, retryable: false, code: 'ResourceNotFound', message: `Connection ${dest.connectionArn} no longer exists` };
    let bucket = this.buckets.get(dest.arn);
    if (!bucket) this.buckets.set(dest.arn, (bucket = new TokenBucket(dest.rateLimitPerSecond ?? DEFAULT_RATE)));
    const wait = bucket.take();
    if (wait > 0) return { ok: false, throttledForMs: wait };

    let endpoint = dest.invocationEndpoint;
    for (const v of target.HttpParameters?.PathParameterValues ?? []) endpoint = endpoint.replace('*', encodeURIComponent(v));
    const url = new URL(endpoint);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Amazon/EventBridge/ApiDestinations' };
    addParams(headers, url.searchParams, conn.authParameters.InvocationHttpParameters);
    for (const [k, v] of Object.entries(target.HttpParameters?.HeaderParameters ?? {})) headers[k.toLowerCase()] = v;
    for (const [k, v] of Object.entries(target.HttpParameters?.QueryStringParameters ?? {})) url.searchParams.set(k, v);
    try {
      const auth = await this.authorization(conn);
      if (auth) headers[auth[0]] = auth[1];
    } catch (e) {
      return { ok: false, retryable: true, code: 'AuthorizationFailed', message: `Could not obtain an OAuth token: ${(e as Error).message}` };
    }
    const hasBody = dest.httpMethod !== 'GET' && dest.httpMethod !== 'HEAD';
    try {
      const res = await fetch(url, { method: dest.httpMethod, headers, body: hasBody ? body : undefined, signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retryable = res.status >= 500 || RETRIED_STATUSES.has(res.status);
      if (res.status === 401) this.tokens.delete(conn.arn);
      return { ok: false, retryable, code: String(res.status), message: `The endpoint answered ${res.status} ${res.statusText}` };
    } catch (e) {
      const err = e as Error;
      const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
      return { ok: false, retryable: true, code: timeout ? 'Timeout' : 'NetworkError', message: timeout ? `No answer within ${TIMEOUT_MS / 1000} s` : `${err.message}${(err.cause as Error | undefined)?.message ? `: ${(err.cause as Error).message}` : ''}` };
    }
  }

  /** The header a connection authorizes with (OAuth client credentials: a cached bearer token). */
  private async authorization(c: ConnectionDoc): Promise<[string, string] | undefined> {
    const p = c.authParameters;
    if (c.authorizationType === 'API_KEY' && p.ApiKeyAuthParameters) return [p.ApiKeyAuthParameters.ApiKeyName.toLowerCase(), p.ApiKeyAuthParameters.ApiKeyValue];
    if (c.authorizationType === 'BASIC' && p.BasicAuthParameters) {
      return ['authorization', `Basic ${Buffer.from(`${p.BasicAuthParameters.Username}:${p.BasicAuthParameters.Password}`).toString('base64')}`];
    }
    if (c.authorizationType === 'OAUTH_CLIENT_CREDENTIALS' && p.OAuthParameters) {
      const cached = this.tokens.get(c.arn);
      if (cached && cached.until > Date.now()) return ['authorization', `Bearer ${cached.token}`];
      const o = p.OAuthParameters;
      const url = new URL(o.AuthorizationEndpoint);
      const headers: Record<string, string> = {
        authorization: `Basic ${Buffer.from(`${o.ClientParameters.ClientID}:${o.ClientParameters.ClientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      };
      addParams(headers, url.searchParams, o.OAuthHttpParameters);
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      for (const b of o.OAuthHttpParameters?.BodyParameters ?? []) if (b.Key) form.set(b.Key, b.Value ?? '');
      const res = await fetch(url, { method: o.HttpMethod, headers, body: o.HttpMethod === 'GET' ? undefined : form.toString(), signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`the authorization endpoint answered ${res.status}`);
      const j = (await res.json()) as { access_token?: string; expires_in?: number };
      if (!j.access_token) throw new Error('the authorization endpoint gave no access_token');
      this.tokens.set(c.arn, { token: j.access_token, until: Date.now() + Math.max(0, (j.expires_in ?? 3600) - 30) * 1000 });
      return ['authorization', `Bearer ${j.access_token}`];
    }
    return undefined;
  }
}
