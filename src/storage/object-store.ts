/**
 * The object store: where trails deliver log and digest files. Two real
 * implementations: a local folder (embedded default) and any S3 endpoint.
 */

export interface BucketInfo {
  name: string;
  /** Account that created (owns) the bucket. */
  ownerAccountId: string;
  region: string;
  createdAt: Date;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Quoted hex MD5, as S3 returns it. */
  etag: string;
  lastModified: Date;
  contentType?: string;
  /** `x-amz-meta-*` values, keyed without the prefix, lower-case. */
  userMetadata: Record<string, string>;
}

export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  /** Keys strictly after this (ListObjects Marker / ListObjectsV2 StartAfter or continuation). */
  after?: string;
  maxKeys?: number;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Last key or common prefix returned, when truncated. */
  nextMarker?: string;
}

export interface PutObjectOptions {
  contentType?: string;
  userMetadata?: Record<string, string>;
  /** Fail with PreconditionFailed when the key already exists (If-None-Match: *). */
  ifNoneMatch?: boolean;
}

export interface ByteRange {
  start: number;
  /** Inclusive; undefined = to the end. */
  end?: number;
}

export interface ObjectStore {
  createBucket(name: string, ownerAccountId: string, region: string): Promise<BucketInfo>;
  deleteBucket(name: string): Promise<void>;
  getBucket(name: string): Promise<BucketInfo | undefined>;
  listBuckets(): Promise<BucketInfo[]>;
  getBucketPolicy(name: string): Promise<string | undefined>;
  putBucketPolicy(name: string, policy: string): Promise<void>;
  deleteBucketPolicy(name: string): Promise<void>;
  putObject(bucket: string, key: string, body: Buffer, opts?: PutObjectOptions): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Buffer } | undefined>;
  headObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  deleteObject(bucket: string, key: string): Promise<void>;
  listObjects(bucket: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;
  close(): Promise<void>;
}

/** Every object and common prefix under `prefix`, following the pages. */
export async function listAllObjects(
  store: ObjectStore,
  bucket: string,
  opts: Pick<ListObjectsOptions, 'prefix' | 'delimiter'> = {},
): Promise<{ objects: ObjectInfo[]; commonPrefixes: string[] }> {
  const objects: ObjectInfo[] = [];
  const commonPrefixes: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listObjects(bucket, { ...opts, after, maxKeys: 1000 });
    objects.push(...page.objects);
    commonPrefixes.push(...page.commonPrefixes);
    after = page.nextMarker ?? page.objects.at(-1)?.key;
    if (!page.isTruncated || after === undefined) return { objects, commonPrefixes };
  }
}
