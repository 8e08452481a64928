/** Decode `aws-chunked` request bodies (SigV4 streaming uploads, signed or unsigned, with trailers). */
import { ServiceError } from '../../protocols/errors.js';

export interface Dechunked {
  body: Buffer;
  trailers: Record<string, string>;
}

export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const enc = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return enc.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

/**
 * Strip the chunk framing: `<hex size>[;chunk-signature=…]\r\n<data>\r\n`… `0…\r\n<trailers>\r\n`.
 * Chunk signatures are not re-verified: the seed signature covers the headers, and the decoded
 * length is checked against x-amz-decoded-content-length.
 */
export function decodeAwsChunked(raw: Buffer, decodedLength?: number): Dechunked {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  const bad = (): never => {
    throw new ServiceError('IncompleteBody', 'The request body is not valid aws-chunked encoding', 400);
  };
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) bad();
    const header = raw.subarray(pos, eol).toString('latin1');
    const size = parseInt(header.split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) bad();
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size > raw.length) bad();
    parts.push(raw.subarray(pos, pos + size));
    pos += size;
    if (raw.toString('latin1', pos, pos + 2) === '\r\n') pos += 2;
  }
  // Trailers: `name:value\r\n` lines until an empty line or the end.
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = Buffer.concat(parts);
  if (decodedLength !== undefined && Number.isFinite(decodedLength) && body.length !== decodedLength) {
    throw new ServiceError('IncompleteBody', `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${decodedLength}, got ${body.length})`, 400);
  }
  return { body, trailers };
}
