/**
 * An S3-compatible REST API over the object store, so the embedded default
 * is whole: the AWS CLI and any S3 tool can make the bucket, then list and
 * download what trails deliver. Access: the bucket owner's account, or any
 * principal the bucket policy allows.
 */
import { createHash } from 'node:crypto';
import type { IncomingRequest, RequestContext, Service, ServiceResult } from '../types.js';
import type { BucketInfo, ObjectInfo, ObjectStore } from '../../storage/object-store.js';
import type { RecordResource } from '../../domain/record.js';
import { ServiceError } from '../../protocols/errors.js';
import { invalidBucketName, invalidRange, noSuchBucket, noSuchKey, validBucketName } from '../../storage/object-errors.js';
import { parseXml, xmlDocument, xmlError, escapeXml, type XmlNode } from '../../protocols/rest-xml.js';
import type { WireResponse } from '../../protocols/json11.js';
import { callerBucketAccess, policyProblem } from '../../domain/bucket-policy.js';
import { principalArn } from '../../domain/identity.js';
import { decodeAwsChunked, isAwsChunked } from './chunked.js';
import { route, type S3Operation, type S3Route } from './route.js';

export interface S3ServiceDeps {
  store: ObjectStore;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

/** S3 names for authentication failures raised before the service runs. */
const AUTH_ERRORS: Record<string, [string, number]> = {
  InvalidSignatureException: ['SignatureDoesNotMatch', 403],
  IncompleteSignatureException: ['AuthorizationHeaderMalformed', 400],
  UnrecognizedClientException: ['InvalidAccessKeyId', 403],
  MissingAuthenticationTokenException: ['AccessDenied', 403],
  AccessDeniedException: ['AccessDenied', 403],
  ThrottlingException: ['SlowDown', 503],
  InternalFailure: ['InternalError', 500],
  UnknownOperationException: ['InvalidRequest', 400],
  RequestEntityTooLargeException: ['EntityTooLarge', 400],
};

function toS3Error(err: ServiceError): ServiceError & { bucket?: string; key?: string } {
  const m = AUTH_ERRORS[err.code];
  if (!m) return err;
  const e = new ServiceError(m[0], err.message, m[1]);
  return e;
}

const DATA_EVENTS = new Set<S3Operation>(['ListObjects', 'ListObjectsV2', 'DeleteObjects', 'PutObject', 'GetObject', 'HeadObject', 'DeleteObject']);
const READ_ONLY = new Set<S3Operation>(['ListBuckets', 'HeadBucket', 'GetBucketLocation', 'GetBucketPolicy', 'ListObjects', 'ListObjectsV2', 'GetObject', 'HeadObject']);
/** IAM action each operation is authorized as. */
const ACTION: Record<S3Operation, string> = {
  ListBuckets: 's3:ListAllMyBuckets',
  CreateBucket: 's3:CreateBucket',
  DeleteBucket: 's3:DeleteBucket',
  HeadBucket: 's3:ListBucket',
  GetBucketLocation: 's3:GetBucketLocation',
  GetBucketPolicy: 's3:GetBucketPolicy',
  PutBucketPolicy: 's3:PutBucketPolicy',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  DeleteObjects: 's3:DeleteObject',
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
};

const str = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const httpDate = (d: Date): string => d.toUTCString();

function base(requestId: string): Record<string, string> {
  return { 'x-amz-request-id': requestId, 'x-amz-id-2': Buffer.from(requestId).toString('base64') };
}

function xml(requestId: string, root: string, body: XmlNode, status = 200): WireResponse {
  return { statusCode: status, headers: { ...base(requestId), 'content-type': 'application/xml' }, body: xmlDocument(root, body) };
}

function empty(requestId: string, status: number, extra: Record<string, string> = {}): WireResponse {
  return { statusCode: status, headers: { ...base(requestId), ...extra }, body: '' };
}

function objectHeaders(info: ObjectInfo): Record<string, string> {
  const h: Record<string, string> = {
    etag: info.etag,
    'last-modified': httpDate(info.lastModified),
    'accept-ranges': 'bytes',
    'content-type': info.contentType ?? 'binary/octet-stream',
  };
  for (const [k, v] of Object.entries(info.userMetadata)) h[`x-amz-meta-${k}`] = v;
  return h;
}

function intParam(q: IncomingRequest['query'], name: string, def: number): number {
  const v = str(q[name]);
  if (v === undefined || v === '') return def;
  if (!/^\d+$/.test(v)) throw new ServiceError('InvalidArgument', `Provided ${name} not an integer or within integer range`, 400);
  return Math.min(parseInt(v, 10), 1000);
}

/** Parse `Range: bytes=a-b | a- | -n` against the object size; undefined when absent or not a byte range (S3 then ignores it). */
function parseRange(header: string | undefined, size: number, bucket: string, key: string): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = parseInt(m[2]!, 10);
    if (n === 0) throw invalidRange(bucket, key);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = parseInt(m[1]!, 10);
    end = m[2] === '' ? size - 1 : Math.min(parseInt(m[2]!, 10), size - 1);
    if (m[2] !== '' && parseInt(m[2]!, 10) < start) return undefined;
  }
  if (start >= size) throw invalidRange(bucket, key);
  return { start, end };
}

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function createS3Service(deps: S3ServiceDeps): Service {
  const { store } = deps;

  const owner = (b: BucketInfo): XmlNode => ({ ID: b.ownerAccountId, DisplayName: b.ownerAccountId });

  /** The bucket, if the caller may do the operation on it; NoSuchBucket / AccessDenied otherwise. */
  async function authorize(r: S3Route, ctx: RequestContext): Promise<BucketInfo> {
    const access = await callerBucketAccess(store, r.bucket!, r.key, { accountId: ctx.accountId, arn: principalArn(ctx.principal) }, ACTION[r.operation]);
    if (access === 'missing') throw noSuchBucket(r.bucket!);
    if (access === 'denied') throw new ServiceError('AccessDenied', 'Access Denied', 403);
    return access;
  }

  function body(req: IncomingRequest): Buffer {
    if (!isAwsChunked(req.headers)) return req.body;
    const dl = str(req.headers['x-amz-decoded-content-length']);
    return decodeAwsChunked(req.body, dl === undefined ? undefined : Number(dl)).body;
  }

  async function listObjects(r: S3Route, req: IncomingRequest, ctx: RequestContext, v2: boolean): Promise<WireResponse> {
    const b = await authorize(r, ctx);
    const q = req.query;
    const urlEncode = str(q['encoding-type']) === 'url';
    if (str(q['encoding-type']) !== undefined && !urlEncode) throw new ServiceError('InvalidArgument', 'Invalid Encoding Method specified in Request', 400);
    const enc = (s: string | undefined): string | undefined => (s === undefined ? undefined : urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    const prefix = str(q.prefix) ?? '';
    const delimiter = str(q.delimiter) || undefined;
    const maxKeys = intParam(q, 'max-keys', 1000);
    let after: string | undefined;
    let token: string | undefined;
    if (v2) {
      token = str(q['continuation-token']);
      if (token !== undefined) {
        const decoded = Buffer.from(token, 'base64url').toString('utf8');
        if (!decoded.startsWith('k:')) throw new ServiceError('InvalidArgument', 'The continuation token provided is incorrect', 400);
        after = decoded.slice(2);
      } else after = str(q['start-after']);
    } else after = str(q.marker);
    const res = await store.listObjects(b.name, { prefix, delimiter, after, maxKeys });
    const contents = res.objects.map((o) => ({
      Key: enc(o.key),
      LastModified: o.lastModified,
      ETag: o.etag,
      Size: o.size,
      ...(v2 && str(q['fetch-owner']) !== 'true' ? {} : { Owner: owner(b) }),
      StorageClass: 'STANDARD',
    }));
    const cps = res.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
    if (v2) {
      return xml(ctx.requestId, 'ListBucketResult', {
        Name: b.name,
        Prefix: enc(prefix),
        MaxKeys: maxKeys,
        KeyCount: res.objects.length + res.commonPrefixes.length,
        Delimiter: enc(delimiter),
        EncodingType: urlEncode ? 'url' : undefined,
        IsTruncated: res.isTruncated,
        ContinuationToken: token,
        NextContinuationToken: res.isTruncated && res.nextMarker !== undefined ? Buffer.from(`k:${res.nextMarker}`).toString('base64url') : undefined,
        StartAfter: enc(str(q['start-after'])),
        Contents: contents,
        CommonPrefixes: cps,
      });
    }
    return xml(ctx.requestId, 'ListBucketResult', {
      Name: b.name,
      Prefix: enc(prefix),
      Marker: enc(str(q.marker) ?? ''),
      NextMarker: res.isTruncated && delimiter ? enc(res.nextMarker) : undefined,
      MaxKeys: maxKeys,
      Delimiter: enc(delimiter),
      EncodingType: urlEncode ? 'url' : undefined,
      IsTruncated: res.isTruncated,
      Contents: contents,
      CommonPrefixes: cps,
    });
  }

  async function serve(r: S3Route, req: IncomingRequest, ctx: RequestContext): Promise<WireResponse> {
    const id = ctx.requestId;
    switch (r.operation) {
      case 'ListBuckets': {
        const mine = (await store.listBuckets()).filter((b) => b.ownerAccountId === ctx.accountId);
        return xml(id, 'ListAllMyBucketsResult', {
          Owner: { ID: ctx.accountId, DisplayName: ctx.accountId },
          Buckets: { Bucket: mine.map((b) => ({ Name: b.name, CreationDate: b.createdAt })) },
        });
      }
      case 'CreateBucket': {
        if (!validBucketName(r.bucket!)) throw invalidBucketName(r.bucket!);
        let region = ctx.region;
        const raw = body(req);
        if (raw.length > 0) {
          let doc: Record<string, unknown>;
          try {
            doc = parseXml(raw);
          } catch {
            throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.', 400);
          }
          const cfg = doc.CreateBucketConfiguration as { LocationConstraint?: string } | undefined;
          if (!cfg) throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.', 400);
          if (cfg.LocationConstraint) region = cfg.LocationConstraint;
        }
        if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new ServiceError('InvalidLocationConstraint', 'The specified location-constraint is not valid', 400);
        await store.createBucket(r.bucket!, ctx.accountId, region);
        return empty(id, 200, { location: `/${r.bucket!}` });
      }
      case 'DeleteBucket': {
        const b = await authorize(r, ctx);
        await store.deleteBucket(b.name);
        return empty(id, 204);
      }
      case 'HeadBucket': {
        const b = await authorize(r, ctx);
        return empty(id, 200, { 'x-amz-bucket-region': b.region });
      }
      case 'GetBucketLocation': {
        const b = await authorize(r, ctx);
        const loc = b.region === 'us-east-1' ? '' : escapeXml(b.region);
        return {
          statusCode: 200,
          headers: { ...base(id), 'content-type': 'application/xml' },
          body: `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${loc}</LocationConstraint>`,
        };
      }
      case 'GetBucketPolicy': {
        const b = await authorize(r, ctx);
        const p = await store.getBucketPolicy(b.name);
        if (p === undefined) throw new ServiceError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404);
        return { statusCode: 200, headers: { ...base(id), 'content-type': 'application/json' }, body: p };
      }
      case 'PutBucketPolicy': {
        const b = await authorize(r, ctx);
        const text = body(req).toString('utf8');
        const problem = policyProblem(text);
        if (problem) throw new ServiceError('MalformedPolicy', problem, 400);
        await store.putBucketPolicy(b.name, text);
        return empty(id, 204);
      }
      case 'DeleteBucketPolicy': {
        const b = await authorize(r, ctx);
        await store.deleteBucketPolicy(b.name).catch((e: unknown) => {
          if (!(e instanceof ServiceError && e.code === 'NoSuchBucketPolicy')) throw e;
        });
        return empty(id, 204);
      }
      case 'ListObjects':
        return listObjects(r, req, ctx, false);
      case 'ListObjectsV2':
        return listObjects(r, req, ctx, true);
      case 'DeleteObjects': {
        const b = await authorize(r, ctx);
        let doc: Record<string, unknown>;
        try {
          doc = parseXml(body(req));
        } catch {
          throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.', 400);
        }
        const del = doc.Delete as { Object?: { Key?: string } | { Key?: string }[]; Quiet?: string } | undefined;
        const objs = asArray(del?.Object);
        if (!del || objs.length === 0 || objs.length > 1000) {
          throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.', 400);
        }
        const deleted: XmlNode[] = [];
        for (const o of objs) {
          const key = String(o.Key ?? '');
          await store.deleteObject(b.name, key);
          deleted.push({ Key: key });
        }
        return xml(id, 'DeleteResult', { Deleted: del.Quiet === 'true' ? [] : deleted });
      }
      case 'PutObject': {
        const b = await authorize(r, ctx);
        if (Buffer.byteLength(r.key!) > 1024) throw new ServiceError('KeyTooLongError', 'Your key is too long', 400, );
        const data = body(req);
        const md5 = str(req.headers['content-md5']);
        if (md5 !== undefined && createHash('md5').update(data).digest('base64') !== md5) {
          throw new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);
        }
        const userMetadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && v !== undefined) userMetadata[k.slice(11)] = str(v)!;
        const info = await store.putObject(b.name, r.key!, data, {
          contentType: str(req.headers['content-type']),
          userMetadata,
          ifNoneMatch: str(req.headers['if-none-match']) === '*',
        });
        return empty(id, 200, { etag: info.etag });
      }
      case 'GetObject':
      case 'HeadObject': {
        const b = await authorize(r, ctx);
        const info = await store.headObject(b.name, r.key!);
        if (!info) {
          if (r.operation === 'HeadObject') throw new ServiceError('NotFound', 'Not Found', 404);
          throw noSuchKey(b.name, r.key!);
        }
        const range = parseRange(str(req.headers.range), info.size, b.name, r.key!);
        const headers = { ...base(id), ...objectHeaders(info) };
        if (r.operation === 'HeadObject') return { statusCode: 200, headers: { ...headers, 'content-length': String(info.size) }, body: '' };
        const got = await store.getObject(b.name, r.key!, range);
        if (!got) throw noSuchKey(b.name, r.key!);
        if (range) {
          return { statusCode: 206, headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${info.size}` }, body: got.body };
        }
        return { statusCode: 200, headers, body: got.body };
      }
      case 'DeleteObject': {
        const b = await authorize(r, ctx);
        await store.deleteObject(b.name, r.key!);
        return empty(id, 204);
      }
    }
  }

  function audit(r: S3Route | undefined, req: IncomingRequest, ctx: RequestContext, err?: ServiceError): ServiceResult['audit'] {
    if (!r) return undefined;
    const host = str(req.headers.host);
    const resources: RecordResource[] = [];
    if (r.key !== undefined) resources.push({ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${r.bucket!}/${r.key}` });
    if (r.bucket !== undefined) resources.push({ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${r.bucket}`, accountId: ctx.accountId });
    const data = DATA_EVENTS.has(r.operation);
    const params: Record<string, unknown> = {};
    if (r.bucket !== undefined) params.bucketName = r.bucket;
    if (host) params.Host = host;
    if (r.key !== undefined) params.key = r.key;
    for (const [k, v] of Object.entries(req.query)) params[k] = v;
    return {
      eventSource: 's3.amazonaws.com',
      eventName: r.operation,
      readOnly: READ_ONLY.has(r.operation),
      requestParameters: params,
      responseElements: null,
      errorCode: err?.code,
      errorMessage: err?.message,
      resources,
      managementEvent: !data,
      eventCategory: data ? 'Data' : 'Management',
    };
  }

  return {
    signingName: 's3',
    async handle(req: IncomingRequest, ctx: RequestContext): Promise<ServiceResult> {
      let r: S3Route | undefined;
      try {
        r = route(req);
        const response = await serve(r, req, ctx);
        return { operation: r.operation, response, audit: audit(r, req, ctx) };
      } catch (e) {
        let err: ServiceError;
        if (e instanceof ServiceError) err = e;
        else {
          deps.onUnexpectedError?.(e, r?.operation ?? 'unknown');
          err = new ServiceError('InternalError', 'We encountered an internal error. Please try again.', 500);
        }
        const wire = xmlError(err, ctx.requestId, req.path);
        if (req.method === 'HEAD') wire.body = '';
        return { operation: r?.operation ?? 'unknown', response: wire, audit: audit(r, req, ctx, err) };
      }
    },
    encodeError(err: ServiceError, requestId: string, req: IncomingRequest): WireResponse {
      const wire = xmlError(toS3Error(err), requestId, req.path);
      if (req.method === 'HEAD') wire.body = '';
      return wire;
    },
  };
}
