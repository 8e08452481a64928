/**
 * A lean load generator for AWS JSON 1.1 calls over WireClient (SigV4 with node:crypto, requests
 * written straight onto at most 50 keep-alive sockets): the reply parsed (call) or left to the
 * caller (callRaw). It exists so a benchmark that shares two cores with the server spends as
 * little of them as it can on the client side (the SDK client spends ~0.8 ms of CPU per
 * LookupEvents page of 50 events).
 */
import { WireClient } from './wire-client.js';

export class RawJsonClient {
  private readonly wire: WireClient;

  constructor(endpoint: string, private readonly opts: { region: string; service: string; targetPrefix: string; accessKeyId: string; secretAccessKey: string }) {
    // At most 50 connections, as the AWS SDK's HTTP handler keeps: without a bound, a stall of the
    // server or of this client made a paced run open a connection for every lookup due meanwhile —
    // ~500 in 300 ms at the start of bench:lookup's first paced case, which the server's accepting
    // and the new sockets then stalled for hundreds of milliseconds more.
    this.wire = new WireClient({ endpoint, region: opts.region, service: opts.service, accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, maxSockets: 50 });
  }

  /** Call `operation` with `input`; resolves to the parsed output, rejects with the AWS error code. */
  async call<T>(operation: string, input: unknown): Promise<T> {
    return RawJsonClient.parse<T>(await this.callRaw(operation, input));
  }

  /**
   * Call `operation` with `input`; resolves with the reply's status and bytes, unparsed: parsing
   * a LookupEvents page of fifty records took a third of this client's CPU, which a benchmark
   * sharing two cores with the server takes from the server.
   */
  callRaw(operation: string, input: unknown): Promise<{ status: number; body: Buffer }> {
    return this.wire.post('/', JSON.stringify(input), { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${this.opts.targetPrefix}.${operation}` });
  }

  /** A reply's output, or an error named with its AWS error code. */
  static parse<T>(r: { status: number; body: Buffer }): T {
    const parsed = JSON.parse(r.body.toString('utf8')) as T & { __type?: string; message?: string };
    if (r.status === 200) return parsed;
    throw new Error(`${parsed.__type ?? r.status}: ${parsed.message ?? ''}`);
  }

  close(): void {
    this.wire.close();
  }
}
