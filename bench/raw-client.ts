/**
 * A lean load generator for AWS JSON 1.1 calls: SigV4 with node:crypto, one keep-alive HTTP
 * agent, JSON.parse of the reply — no SDK middleware stack. It exists so a benchmark that
 * shares two cores with the server spends as little of them as it can on the client side
 * (the SDK client spends ~0.8 ms of CPU per LookupEvents page of 50 events).
 */
import { Agent, request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { NodeSha256 } from '../src/server/node-sha256.js';

export class RawJsonClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(endpoint: string, private readonly opts: { region: string; service: string; targetPrefix: string; accessKeyId: string; secretAccessKey: string }) {
    this.url = new URL(endpoint);
    this.signer = new SignatureV4({
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      region: opts.region,
      service: opts.service,
      sha256: NodeSha256,
    });
  }

  /** Call `operation` with `input`; resolves to the parsed output, rejects with the AWS error code. */
  async call<T>(operation: string, input: unknown): Promise<T> {
    const body = JSON.stringify(input);
    const signed = await this.signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: this.url.hostname,
        port: Number(this.url.port),
        path: '/',
        headers: {
          host: this.url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `${this.opts.targetPrefix}.${operation}`,
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      }),
    );
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { agent: this.agent, host: this.url.hostname, port: this.url.port, method: 'POST', path: '/', headers: signed.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T & { __type?: string; message?: string };
            if (res.statusCode === 200) resolve(parsed);
            else reject(new Error(`${parsed.__type ?? res.statusCode}: ${parsed.message ?? ''}`));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
