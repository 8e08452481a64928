/** Which S3 operation a REST request names, and on which bucket and key. */
import type { IncomingRequest } from '../types.js';
import { ServiceError } from '../../protocols/errors.js';

export type S3Operation =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'GetBucketPolicy'
  | 'PutBucketPolicy'
  | 'DeleteBucketPolicy'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'DeleteObjects'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject';

export interface S3Route {
  operation: S3Operation;
  bucket?: string;
  key?: string;
  /** How the bucket was named: in the path or in the Host header. */
  style: 'path' | 'virtual';
}

export class NotImplemented extends ServiceError {
  constructor(what: string) {
    super('NotImplemented', `A header or query you provided implies functionality that is not implemented: ${what}`, 501);
  }
}

/**
 * The bucket named by a virtual-host-style Host header: `<bucket>.localhost`,
 * `<bucket>.s3.localhost`, `<bucket>.s3.<anything>` or `<bucket>.s3-<region>.<anything>`.
 */
export function virtualHostBucket(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith('[')) return undefined;
  let m = /^(.+?)\.s3[.-][^]*$/.exec(name);
  if (m) return m[1];
  m = /^(.+)\.localhost$/.exec(name);
  if (m && m[1] !== 's3') return m[1];
  return undefined;
}

const has = (q: IncomingRequest['query'], k: string): boolean => Object.prototype.hasOwnProperty.call(q, k);

/** Bucket sub-resources we do not serve: answered with NotImplemented rather than guessed at. */
const UNSUPPORTED = ['acl', 'cors', 'lifecycle', 'versioning', 'tagging', 'website', 'logging', 'notification', 'replication', 'encryption', 'uploads', 'uploadId', 'versions', 'object-lock', 'ownershipControls', 'publicAccessBlock', 'accelerate', 'requestPayment', 'analytics', 'inventory', 'metrics', 'intelligent-tiering', 'retention', 'legal-hold', 'torrent', 'restore', 'select', 'attributes'];

export function route(req: IncomingRequest): S3Route {
  const host = Array.isArray(req.headers.host) ? req.headers.host[0] : req.headers.host;
  const vbucket = virtualHostBucket(host);
  const segments = req.path.replace(/^\//, '');
  let bucket: string | undefined;
  let rawKey: string;
  if (vbucket) {
    bucket = vbucket;
    rawKey = segments;
  } else {
    const i = segments.indexOf('/');
    bucket = i < 0 ? segments : segments.slice(0, i);
    rawKey = i < 0 ? '' : segments.slice(i + 1);
    if (bucket === '') bucket = undefined;
    else bucket = decodeURIComponent(bucket);
  }
  let key: string | undefined;
  try {
    key = rawKey === '' ? undefined : decodeURIComponent(rawKey);
  } catch {
    throw new ServiceError('InvalidURI', "Couldn't parse the specified URI.", 400);
  }
  const style = vbucket ? 'virtual' : 'path';
  const q = req.query;
  const m = req.method.toUpperCase();
  for (const sub of UNSUPPORTED) if (has(q, sub)) throw new NotImplemented(`?${sub}`);
  if (!bucket) {
    if (m === 'GET') return { operation: 'ListBuckets', style };
    throw new ServiceError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }
  if (key === undefined) {
    if (has(q, 'policy')) {
      if (m === 'GET') return { operation: 'GetBucketPolicy', bucket, style };
      if (m === 'PUT') return { operation: 'PutBucketPolicy', bucket, style };
      if (m === 'DELETE') return { operation: 'DeleteBucketPolicy', bucket, style };
    }
    if (m === 'GET' && has(q, 'location')) return { operation: 'GetBucketLocation', bucket, style };
    if (m === 'POST' && has(q, 'delete')) return { operation: 'DeleteObjects', bucket, style };
    if (m === 'GET') return { operation: q['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects', bucket, style };
    if (m === 'PUT') return { operation: 'CreateBucket', bucket, style };
    if (m === 'DELETE') return { operation: 'DeleteBucket', bucket, style };
    if (m === 'HEAD') return { operation: 'HeadBucket', bucket, style };
    throw new ServiceError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }
  if (m === 'PUT') {
    if (req.headers['x-amz-copy-source']) throw new NotImplemented('x-amz-copy-source (CopyObject)');
    return { operation: 'PutObject', bucket, key, style };
  }
  if (m === 'GET') return { operation: 'GetObject', bucket, key, style };
  if (m === 'HEAD') return { operation: 'HeadObject', bucket, key, style };
  if (m === 'DELETE') return { operation: 'DeleteObject', bucket, key, style };
  throw new ServiceError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
}
