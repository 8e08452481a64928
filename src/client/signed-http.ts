/** SigV4-signed HTTP POSTs over one keep-alive connection pool: what AuditClient (and the benchmarks' load generators) send with. */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import type { AwsCredentialIdentity } from '@smithy/types';
import { NodeSha256 } from '../protocols/node-sha256.js';

export interface SignedHttpOptions {
  endpoint: string;
  region: string;
  /** SigV4 signing name, e.g. `opentrail` or `cloudtrail`. */
  service: string;
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

/** Most connections open at once; requests beyond wait for one. */
const MAX_SOCKETS = 512;

/** How long a kept-alive connection may sit idle before this side closes it. */
const IDLE_SOCKET_MS = 4000;

export class SignedHttp {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly signer: SignatureV4;

  constructor(private readonly opts: SignedHttpOptions) {
    this.base = new URL(opts.endpoint);
    // Idle connections are dropped before the server's keep-alive timeout (5 s, opentrail's and
    // Node's default) can close them: one reused just as the server closes it ends in a reset.
    const agentOpts = { keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_MS };
    this.agent = this.base.protocol === 'https:' ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    const creds = opts.credentials;
    this.signer = new SignatureV4({
      credentials: typeof creds === 'function' ? creds : async () => creds,
      region: opts.region,
      service: opts.service,
      sha256: NodeSha256,
    });
  }

  /** POST `body` to `path` (which may carry a query string, signed with it); resolves with the status and the whole reply (rejects on network errors). */
  async post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: Buffer }> {
    const url = new URL(path, this.base);
    const signed = await this.signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
        body,
      }),
    );
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', agent: this.agent, headers: signed.headers, timeout: this.opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('the request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
