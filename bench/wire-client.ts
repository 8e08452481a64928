/**
 * A load generator's HTTP client: SigV4-signed POSTs written straight onto keep-alive sockets, and
 * replies read by their Content-Length — no http.ClientRequest, no streams, no SDK. It exists for
 * benchmarks that share the machine's two cores with the server they measure: every microsecond
 * the load generator spends is taken from the server. (Through node:http and @smithy/signature-v4,
 * bench:lookup's client took 0.54–0.64 ms of CPU per LookupEvents; a third of that was building
 * and signing the request, most of the rest node:http's machinery around 75 KB replies.)
 *
 * The server verifies these signatures with @smithy/signature-v4, as it does every client's; a
 * request signed wrong here is answered 403 and fails the benchmark.
 */
import { connect, type Socket } from 'node:net';
import { createHash, createHmac } from 'node:crypto';

export interface WireClientOptions {
  /** http://host:port (plain HTTP only). */
  endpoint: string;
  region: string;
  /** SigV4 signing name, e.g. `cloudtrail` or `opentrail`. */
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Most connections open at once; requests beyond wait for one (default 50, as the AWS SDK's handler). */
  maxSockets?: number;
}

/**
 * A reply. Its body is a view of the connection's own buffer, which the next reply on that
 * connection overwrites: read it (or copy it) before awaiting anything else.
 */
export interface WireReply {
  status: number;
  body: Buffer;
}

interface Waiting {
  bytes: Buffer;
  resolve: (r: WireReply) => void;
  reject: (e: Error) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Bytes a connection's reply buffer starts with (a LookupEvents page is ~75 KB); it grows as needed. */
const REPLY_BYTES = 128 * 1024;
/** What the socket reads into, shared: replies are copied out of it at once. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * One keep-alive connection with at most one request on it. Its socket reads into one shared
 * buffer and each reply is gathered in a buffer of the connection's own, used again for the
 * next reply: a 75 KB reply read as new Buffers each time made the client's V8 run a full
 * collection every few hundred lookups (a fifth of its CPU) to account for the memory outside it.
 */
class Connection {
  private reply = Buffer.allocUnsafe(REPLY_BYTES);
  private have = 0;
  /** Bytes of the reply's head (with its blank line), once read, and of its body. */
  private head = -1;
  private length = -1;
  private status = 0;
  current: Waiting | undefined;
  closed = false;
  /** Replies read on this connection. */
  private served = 0;
  readonly socket: Socket;

  constructor(
    port: number,
    host: string,
    private readonly done: (c: Connection) => void,
    private readonly retry: (w: Waiting) => void,
  ) {
    this.socket = connect({ port, host, noDelay: true, onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf) } });
    const fail = (e: Error): void => {
      if (this.closed) return;
      this.closed = true;
      const w = this.current;
      this.current = undefined;
      // A kept-alive connection the server closed as the request went out (its idle timeout):
      // nothing of the reply came, so the request goes again, on another connection.
      if (w && this.served > 0 && this.have === 0) this.retry(w);
      else if (w) w.reject(e);
      this.done(this);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('the server closed the connection')));
  }

  send(w: Waiting): void {
    this.current = w;
    this.socket.write(w.bytes);
  }

  private onRead(n: number, buf: Uint8Array): boolean {
    if (this.have + n > this.reply.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.reply.length, this.have + n));
      this.reply.copy(bigger, 0, 0, this.have);
      this.reply = bigger;
    }
    this.reply.set(buf.subarray(0, n), this.have);
    this.have += n;
    if (this.head < 0) {
      const end = this.reply.subarray(0, this.have).indexOf(HEADER_END);
      if (end < 0) return true;
      const head = this.reply.toString('latin1', 0, end);
      this.status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!m) {
        this.socket.destroy(new Error(`a reply without Content-Length: ${head.split('\r\n')[0]}`));
        return false;
      }
      this.head = end + HEADER_END.length;
      this.length = Number(m[1]);
    }
    if (this.have < this.head + this.length) return true;
    if (this.have > this.head + this.length) {
      this.socket.destroy(new Error('the server sent more than one reply'));
      return false;
    }
    const reply = { status: this.status, body: this.reply.subarray(this.head, this.have) };
    const w = this.current!;
    this.have = 0;
    this.head = -1;
    this.length = -1;
    this.current = undefined;
    this.served++;
    this.done(this);
    w.resolve(reply);
    return true;
  }
}

export class WireClient {
  private readonly host: string;
  private readonly port: number;
  private readonly idle: Connection[] = [];
  private readonly queue: Waiting[] = [];
  private open = 0;
  private readonly maxSockets: number;
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);
  private stampSecond = -1;
  private stamp = '';

  constructor(private readonly opts: WireClientOptions) {
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'http:') throw new Error('WireClient speaks plain HTTP only');
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.maxSockets = opts.maxSockets ?? 50;
  }

  /**
   * POST `body` to `path` (plain: no query string, nothing to percent-encode) with `headers`
   * (lower-case names, signed with the rest).
   */
  post(path: string, body: string, headers: Record<string, string>): Promise<WireReply> {
    if (!/^\/[A-Za-z0-9\-._~/]*$/.test(path)) throw new Error(`WireClient sends plain paths only, not ${path}`);
    return new Promise((resolve, reject) => {
      this.dispatch({ bytes: this.request(path, body, headers), resolve, reject });
    });
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  private dispatch(w: Waiting): void {
    const c = this.idle.pop();
    if (c) return c.send(w);
    if (this.open < this.maxSockets) {
      this.open++;
      const conn = new Connection(this.port, this.host, (x) => this.released(x), (x) => this.dispatch(x));
      return conn.send(w);
    }
    this.queue.push(w);
  }

  private released(c: Connection): void {
    if (c.closed) {
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      if (!c.socket.destroyed) c.socket.destroy();
      this.open--;
      const w = this.queue.shift();
      if (w) this.dispatch(w);
      return;
    }
    const w = this.queue.shift();
    if (w) c.send(w);
    else this.idle.push(c);
  }

  /** X-Amz-Date for now (made once a second). */
  private amzDate(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.stampSecond) {
      this.stampSecond = second;
      this.stamp = new Date(second * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    }
    return this.stamp;
  }

  /** The signing key for a day (derived once a day). */
  private signingKey(date: string): Buffer {
    if (date !== this.keyDate) {
      const hmac = (k: string | Buffer, s: string): Buffer => createHmac('sha256', k).update(s).digest();
      this.key = hmac(hmac(hmac(hmac(`AWS4${this.opts.secretAccessKey}`, date), this.opts.region), this.opts.service), 'aws4_request');
      this.keyDate = date;
    }
    return this.key;
  }

  /** The whole request, signed (SigV4, AWS4-HMAC-SHA256, every header signed). */
  private request(path: string, body: string, extra: Record<string, string>): Buffer {
    const amzDate = this.amzDate();
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = { ...extra, host: `${this.host}:${this.port}`, 'x-amz-date': amzDate };
    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${headers[n]!.trim()}\n`;
    const signedHeaders = names.join(';');
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const canonicalRequest = `POST\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${date}/${this.opts.region}/${this.opts.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(date)).update(stringToSign).digest('hex');
    let head = `POST ${path} HTTP/1.1\r\n`;
    for (const n of names) head += `${n}: ${headers[n]}\r\n`;
    head += `authorization: AWS4-HMAC-SHA256 Credential=${this.opts.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}\r\n`;
    head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return Buffer.from(head + body);
  }
}
