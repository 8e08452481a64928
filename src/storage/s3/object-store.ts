/** The object store on any S3 endpoint (AWS, MinIO, Ceph, moto, s3rver), through the AWS SDK. */
import {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  DeleteBucketPolicyCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  ListObjectsCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { BucketInfo, ByteRange, ListObjectsOptions, ListObjectsResult, ObjectInfo, ObjectStore, PutObjectOptions } from '../object-store.js';
import { ObjectStoreError, bucketExists, invalidBucketName, noSuchBucket, validBucketName } from '../object-errors.js';

export interface S3StoreOptions {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Account recorded as the owner of buckets found on the endpoint. */
  ownerAccountId: string;
}

interface AwsError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  message?: string;
}

/** Turn an SDK error into the store's typed error. */
function wrap(e: unknown, bucket?: string, key?: string): never {
  const err = e as AwsError;
  const status = err.$metadata?.httpStatusCode;
  // No HTTP status: the endpoint did not answer at all (refused, reset, timed out).
  if (status === undefined) throw new ObjectStoreError('ServiceUnavailable', `The S3 endpoint did not answer: ${err.message ?? err.name ?? 'unknown error'}`, 503, bucket, key);
  const code = err.name === 'NotFound' ? (key ? 'NoSuchKey' : 'NoSuchBucket') : err.name ?? 'InternalError';
  throw new ObjectStoreError(code, err.message ?? code, status, bucket, key);
}

const isNotFound = (e: unknown): boolean => {
  const err = e as AwsError;
  return err.$metadata?.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey' || err.name === 'NoSuchBucket';
};

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      maxAttempts: 2,
      // A stalled endpoint must fail the attempt (delivery then retries with backoff), not hang it.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = new S3Client(config);
  }

  async createBucket(name: string, _owner: string, region: string): Promise<BucketInfo> {
    if (!validBucketName(name)) throw invalidBucketName(name);
    try {
      await this.client.send(
        new CreateBucketCommand({ Bucket: name, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as 'eu-west-1' } } : {}) }),
      );
    } catch (e) {
      const err = e as AwsError;
      if (err.name === 'BucketAlreadyOwnedByYou' || err.name === 'BucketAlreadyExists') throw bucketExists(name, err.name === 'BucketAlreadyOwnedByYou');
      wrap(e, name);
    }
    return { name, ownerAccountId: this.opts.ownerAccountId, region, createdAt: new Date() };
  }

  async deleteBucket(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteBucketCommand({ Bucket: name }));
    } catch (e) {
      wrap(e, name);
    }
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    if (!validBucketName(name)) return undefined;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: name }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      wrap(e, name);
    }
    let region = this.opts.region;
    try {
      const loc = await this.client.send(new GetBucketLocationCommand({ Bucket: name }));
      region = loc.LocationConstraint || 'us-east-1';
    } catch {
      // Some S3 implementations do not answer GetBucketLocation; keep the configured region.
    }
    return { name, ownerAccountId: this.opts.ownerAccountId, region, createdAt: new Date(0) };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    try {
      const r = await this.client.send(new ListBucketsCommand({}));
      return (r.Buckets ?? []).map((b) => ({ name: b.Name!, ownerAccountId: this.opts.ownerAccountId, region: this.opts.region, createdAt: b.CreationDate ?? new Date(0) }));
    } catch (e) {
      wrap(e);
    }
  }

  async getBucketPolicy(name: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetBucketPolicyCommand({ Bucket: name }))).Policy;
    } catch (e) {
      if ((e as AwsError).name === 'NoSuchBucketPolicy') return undefined;
      if (isNotFound(e) && (e as AwsError).name !== 'NoSuchBucket') return undefined;
      wrap(e, name);
    }
  }

  async putBucketPolicy(name: string, policy: string): Promise<void> {
    try {
      await this.client.send(new PutBucketPolicyCommand({ Bucket: name, Policy: policy }));
    } catch (e) {
      wrap(e, name);
    }
  }

  async deleteBucketPolicy(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteBucketPolicyCommand({ Bucket: name }));
    } catch (e) {
      wrap(e, name);
    }
  }

  async putObject(bucket: string, key: string, body: Buffer, opts: PutObjectOptions = {}): Promise<ObjectInfo> {
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: opts.contentType,
          Metadata: opts.userMetadata,
          ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return { key, size: body.length, etag: r.ETag ?? '', lastModified: new Date(), contentType: opts.contentType, userMetadata: opts.userMetadata ?? {} };
    } catch (e) {
      wrap(e, bucket, key);
    }
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Buffer } | undefined> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined }),
      );
      const body = Buffer.from(await r.Body!.transformToByteArray());
      return {
        body,
        info: { key, size: r.ContentLength ?? body.length, etag: r.ETag ?? '', lastModified: r.LastModified ?? new Date(0), contentType: r.ContentType, userMetadata: r.Metadata ?? {} },
      };
    } catch (e) {
      if ((e as AwsError).name === 'NoSuchKey') return undefined;
      if ((e as AwsError).name === 'NoSuchBucket') throw noSuchBucket(bucket);
      wrap(e, bucket, key);
    }
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, etag: r.ETag ?? '', lastModified: r.LastModified ?? new Date(0), contentType: r.ContentType, userMetadata: r.Metadata ?? {} };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      wrap(e, bucket, key);
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      wrap(e, bucket, key);
    }
  }

  async listObjects(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    try {
      const r = await this.client.send(
        new ListObjectsCommand({ Bucket: bucket, Prefix: opts.prefix, Delimiter: opts.delimiter, Marker: opts.after, MaxKeys: opts.maxKeys }),
      );
      const objects: ObjectInfo[] = (r.Contents ?? []).map((o) => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: o.ETag ?? '',
        lastModified: o.LastModified ?? new Date(0),
        userMetadata: {},
      }));
      const commonPrefixes = (r.CommonPrefixes ?? []).map((p) => p.Prefix!);
      const last = [...objects.map((o) => o.key), ...commonPrefixes].sort().pop();
      return { objects, commonPrefixes, isTruncated: Boolean(r.IsTruncated), nextMarker: r.IsTruncated ? r.NextMarker ?? last : undefined };
    } catch (e) {
      wrap(e, bucket);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
