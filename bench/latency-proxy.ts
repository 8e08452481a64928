/**
 * An HTTP proxy that holds every response for a fixed time before passing it on: the
 * first-byte latency a GET to a real S3 endpoint has (typically 10–30 ms), on a machine
 * where the endpoint is on loopback. Requests are forwarded unchanged (the Host header
 * included, so SigV4 signatures still verify).
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startLatencyProxy(target: string, delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const t = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const up = request(
      { agent, host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        setTimeout(() => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        }, delayMs);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
