/**
 * The web console's files (built by `npm ci` into dist/console) at /console/. Only unsigned
 * GET/HEAD requests are answered here, so a signed S3 request for a bucket named "console"
 * still reaches S3. The console itself calls the public, signed APIs like any other client.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { WireResponse } from '../protocols/json11.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** dist/console beside dist/src (this file runs from dist/src/server). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

function unsigned(req: IncomingMessage, search: string): boolean {
  return !req.headers.authorization && !/[?&]X-Amz-(Signature|Credential)=/i.test(search);
}

/** Is this a request for the console (or a browser asking for the root page)? */
export function isConsoleRequest(req: IncomingMessage, pathname: string, search: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!unsigned(req, search)) return false;
  if (pathname === '/console' || pathname.startsWith('/console/')) return true;
  return pathname === '/' && (req.headers.accept ?? '').includes('text/html');
}

export class ConsoleFiles {
  private readonly cache = new Map<string, { body: Buffer; gz?: Buffer }>();
  constructor(private readonly root = CONSOLE_DIR) {}

  async respond(req: IncomingMessage, pathname: string, requestId: string): Promise<WireResponse> {
    const base = { 'x-amzn-requestid': requestId };
    if (pathname === '/' || pathname === '/console') return { statusCode: 302, headers: { ...base, location: '/console/' }, body: '' };
    if (!existsSync(join(this.root, 'index.html'))) {
      return { statusCode: 503, headers: { ...base, 'content-type': 'text/plain' }, body: 'The console is not built: run `npm run build` (npm ci builds it).\n' };
    }
    let rel: string;
    try {
      rel = decodeURIComponent(pathname.slice('/console/'.length)) || 'index.html';
    } catch {
      return { statusCode: 400, headers: { ...base, 'content-type': 'text/plain' }, body: 'Malformed path\n' };
    }
    const file = normalize(join(this.root, rel));
    if (!file.startsWith(normalize(this.root + sep)) && file !== normalize(this.root)) return { statusCode: 404, headers: base, body: '' };
    // Paths without an extension are the app's own routes: serve the page.
    const path = extname(file) ? file : join(this.root, 'index.html');
    let entry = this.cache.get(path);
    if (!entry) {
      const body = await readFile(path).catch(() => undefined);
      if (!body) return { statusCode: 404, headers: { ...base, 'content-type': 'text/plain' }, body: 'Not found\n' };
      entry = { body };
      this.cache.set(path, entry);
    }
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    const immutable = path.includes(`${sep}assets${sep}`);
    const headers: Record<string, string> = { ...base, 'content-type': type, 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' };
    let body = entry.body;
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && /text|json|svg/.test(type)) {
      entry.gz ??= gzipSync(entry.body);
      body = entry.gz;
      headers['content-encoding'] = 'gzip';
      headers.vary = 'accept-encoding';
    }
    headers['content-length'] = String(body.length);
    return { statusCode: 200, headers, body: req.method === 'HEAD' ? '' : body };
  }
}
