/**
 * SigV4 verification. The canonical request and signature are computed by the
 * AWS signer (@smithy/signature-v4) over the request as received; we only parse
 * the credential, look up the secret, check the clock and compare.
 */
import {
  ALGORITHM_IDENTIFIER,
  AMZ_DATE_HEADER,
  SignatureV4,
  SignatureV4Base,
  createScope,
  getCanonicalHeaders,
  getPayloadHash,
  getSigningKey,
  prepareRequest,
} from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { NodeSha256 } from '../protocols/node-sha256.js';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  IncompleteSignatureException,
  InvalidSignatureException,
  MissingAuthenticationTokenException,
  ServiceError,
} from '../protocols/errors.js';

export interface SignedRequest {
  method: string;
  /** Raw path as sent (still percent-encoded), without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  presigned: boolean;
  expiresIn?: number;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

function header(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
function queryOne(req: SignedRequest, name: string): string | undefined {
  const v = req.query[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parse the SigV4 credential from the Authorization header or the presigned query. */
export function parseCredential(req: SignedRequest): Credential {
  const auth = header(req, 'authorization');
  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(auth.trim());
    if (!m) {
      throw new IncompleteSignatureException(`Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters of AWS4-HMAC-SHA256. Authorization=${auth.slice(0, 40)}`);
    }
    const parts: Record<string, string> = {};
    for (const piece of m[1]!.split(',')) {
      const eq = piece.indexOf('=');
      if (eq > 0) parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
    }
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !parts[k]);
    if (missing.length) {
      throw new IncompleteSignatureException(`Authorization header requires '${missing.join("', '")}' parameter(s). Authorization=${auth.slice(0, 40)}`);
    }
    const amzDate = header(req, 'x-amz-date') ?? '';
    return { ...splitScope(parts.Credential!), signedHeaders: parts.SignedHeaders!.split(';'), signature: parts.Signature!, amzDate, presigned: false };
  }
  const alg = queryOne(req, 'X-Amz-Algorithm');
  if (alg) {
    if (alg !== 'AWS4-HMAC-SHA256') throw new IncompleteSignatureException(`Unsupported X-Amz-Algorithm: ${alg}`);
    const cred = queryOne(req, 'X-Amz-Credential');
    const sig = queryOne(req, 'X-Amz-Signature');
    const sh = queryOne(req, 'X-Amz-SignedHeaders');
    const date = queryOne(req, 'X-Amz-Date');
    if (!cred || !sig || !sh || !date) {
      throw new IncompleteSignatureException('Presigned requests need X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature');
    }
    const expires = Number(queryOne(req, 'X-Amz-Expires') ?? '900');
    return { ...splitScope(cred), signedHeaders: sh.split(';'), signature: sig, amzDate: date, presigned: true, expiresIn: expires };
  }
  throw new MissingAuthenticationTokenException('Missing Authentication Token');
}

function splitScope(credential: string): Pick<Credential, 'accessKeyId' | 'date' | 'region' | 'service'> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') {
    throw new IncompleteSignatureException(`Credential should be scoped to a valid region, not '${parts[2] ?? ''}'. Credential=${credential}`);
  }
  return { accessKeyId: parts[0]!, date: parts[1]!, region: parts[2]!, service: parts[3]! };
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function fmt(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Most signers of each kind kept (all are dropped when there would be more). */
const SIGNERS_KEPT = 1000;

/**
 * A signer per access key, secret and scope, kept in `kept`: each keeps the day's signing key it
 * derived (four HMACs) for the next request of the same key.
 */
function keptFor<T>(kept: Map<string, T>, cred: Credential, secret: string, make: () => T): T {
  const k = `${cred.accessKeyId}\n${secret}\n${cred.region}\n${cred.service}`;
  let signer = kept.get(k);
  if (!signer) {
    if (kept.size >= SIGNERS_KEPT) kept.clear();
    signer = make();
    kept.set(k, signer);
  }
  return signer;
}

/** Signers of presigned requests. */
const presigners = new Map<string, SignatureV4>();

function presignerFor(cred: Credential, secret: string): SignatureV4 {
  return keptFor(presigners, cred, secret, () =>
    new SignatureV4({
      credentials: { accessKeyId: cred.accessKeyId, secretAccessKey: secret },
      region: cred.region,
      service: cred.service,
      sha256: NodeSha256,
      uriEscapePath: cred.service !== 's3',
      applyChecksum: false,
    }),
  );
}

/**
 * The signature a header-signed request should carry: the steps of smithy's SignatureV4.sign, by
 * smithy's own functions (the request prepared, the payload hashed, the canonical headers and
 * request and the string to sign), without what signing an outgoing request adds — resolving
 * credentials and region, hashing the credentials again for the signing key's cache, writing an
 * Authorization header that would then be parsed back. The day's signing key is derived once (by
 * smithy) and kept. Presigned requests go through SignatureV4.presign.
 */
export class HeaderSignature extends SignatureV4Base {
  private day?: { shortDate: string; key: Uint8Array };

  constructor(
    private readonly creds: AwsCredentialIdentity,
    private readonly scopeRegion: string,
    service: string,
    uriEscapePath: boolean,
  ) {
    super({ credentials: creds, region: scopeRegion, service, sha256: NodeSha256, uriEscapePath, applyChecksum: false });
  }

  async expected(request: HttpRequest, signingDate: Date, signed: Set<string>): Promise<string> {
    const { longDate, shortDate } = this.formatDate(signingDate);
    const req = prepareRequest(request);
    req.headers[AMZ_DATE_HEADER] = longDate;
    const payloadHash = await getPayloadHash(req, NodeSha256);
    const canonical = this.createCanonicalRequest(req, getCanonicalHeaders(req, undefined, signed), payloadHash);
    const toSign = await this.createStringToSign(longDate, createScope(shortDate, this.scopeRegion, this.service), canonical, ALGORITHM_IDENTIFIER);
    if (this.day?.shortDate !== shortDate) this.day = { shortDate, key: await getSigningKey(NodeSha256, this.creds, shortDate, this.scopeRegion, this.service) };
    return createHmac('sha256', this.day.key).update(toSign).digest('hex');
  }
}

const headerSignatures = new Map<string, HeaderSignature>();

function headerSignatureFor(cred: Credential, secret: string): HeaderSignature {
  return keptFor(headerSignatures, cred, secret, () => new HeaderSignature({ accessKeyId: cred.accessKeyId, secretAccessKey: secret }, cred.region, cred.service, cred.service !== 's3'));
}

/** Check the request's signature against `secret`. Throws a typed error when it does not match. */
export async function verifySignature(req: SignedRequest, cred: Credential, secret: string, now = new Date()): Promise<void> {
  const signingDate = parseAmzDate(cred.amzDate);
  if (!signingDate) {
    throw new IncompleteSignatureException(`Date must be in ISO-8601 'basic format'. Got '${cred.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  if (cred.date !== cred.amzDate.slice(0, 8)) {
    throw new InvalidSignatureException(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${cred.date}' != '${cred.amzDate.slice(0, 8)}', from '${cred.amzDate}'.`);
  }
  if (cred.presigned) {
    const exp = cred.expiresIn ?? 900;
    if (now.getTime() > signingDate.getTime() + exp * 1000) {
      throw new ServiceError('AccessDenied', `Request has expired (X-Amz-Date ${cred.amzDate}, X-Amz-Expires ${exp})`, 403);
    }
  } else if (signingDate.getTime() < now.getTime() - MAX_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature expired: ${cred.amzDate} is now earlier than ${fmt(new Date(now.getTime() - MAX_SKEW_MS))} (${fmt(now)} - 15 min.)`,
    );
  } else if (signingDate.getTime() > now.getTime() + MAX_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature not yet current: ${cred.amzDate} is still later than ${fmt(new Date(now.getTime() + MAX_SKEW_MS))} (${fmt(now)} + 15 min.)`,
    );
  }
  const signed = new Set(cred.signedHeaders.map((h) => h.toLowerCase()));
  if (!signed.has('host')) throw new InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = header(req, name);
    if (v !== undefined) headers[name] = v;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.query)) {
    if (k === 'X-Amz-Signature') continue;
    query[k] = v;
  }
  const isS3 = cred.service === 's3';
  // The signer trusts x-amz-content-sha256 as the payload hash, so hold it to the body actually received.
  const declared = header(req, 'x-amz-content-sha256');
  if (declared && /^[0-9a-f]{64}$/i.test(declared)) {
    const actual = createHash('sha256').update(req.body).digest('hex');
    if (actual !== declared.toLowerCase()) {
      if (isS3) {
        throw new ServiceError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      throw new InvalidSignatureException('The request body does not match the x-amz-content-sha256 it was signed with.');
    }
  }
  const hostHeader = headers.host ?? 'localhost';
  const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname: hostHeader, path: req.path, query, headers, body: req.body });
  let expected: string | undefined;
  if (cred.presigned) {
    const signer = presignerFor(cred, secret);
    if (isS3 && !headers['x-amz-content-sha256']) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const out = await signer.presign(request, {
      signingDate,
      expiresIn: cred.expiresIn ?? 900,
      signableHeaders: signed,
      unsignableHeaders: new Set(['x-amz-content-sha256'].filter((h) => !signed.has(h))),
      unhoistableHeaders: new Set([...signed, 'x-amz-content-sha256']),
    });
    const q = out.query?.['X-Amz-Signature'];
    expected = Array.isArray(q) ? q[0] : q ?? undefined;
  } else {
    expected = await headerSignatureFor(cred, secret).expected(request, signingDate, signed);
  }
  const a = Buffer.from(expected ?? '', 'utf8');
  const b = Buffer.from(cred.signature, 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new InvalidSignatureException(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}
