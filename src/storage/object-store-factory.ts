/** Choose, per bucket, the local folder or the configured S3 endpoint. */
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { BucketInfo, ObjectStore } from './object-store.js';
import { FsObjectStore } from './fs/object-store.js';
import { S3ObjectStore } from './s3/object-store.js';

/** Routes each call to the backend that serves the bucket. */
export class ObjectStoreRouter implements ObjectStore {
  constructor(
    private readonly local: ObjectStore,
    private readonly remote: ObjectStore | undefined,
    private readonly remoteBuckets: string[],
  ) {}

  private pick(bucket: string): ObjectStore {
    if (this.remote && (this.remoteBuckets.includes('*') || this.remoteBuckets.includes(bucket))) return this.remote;
    return this.local;
  }

  createBucket(name: string, owner: string, region: string): Promise<BucketInfo> {
    return this.pick(name).createBucket(name, owner, region);
  }
  deleteBucket(name: string): Promise<void> {
    return this.pick(name).deleteBucket(name);
  }
  getBucket(name: string): Promise<BucketInfo | undefined> {
    return this.pick(name).getBucket(name);
  }
  async listBuckets(): Promise<BucketInfo[]> {
    const local = await this.local.listBuckets();
    if (!this.remote) return local;
    const remote = (await this.remote.listBuckets()).filter((b) => this.remoteBuckets.includes('*') || this.remoteBuckets.includes(b.name));
    const all = new Map<string, BucketInfo>();
    for (const b of [...local.filter((b) => this.pick(b.name) === this.local), ...remote]) all.set(b.name, b);
    return [...all.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  getBucketPolicy(name: string): Promise<string | undefined> {
    return this.pick(name).getBucketPolicy(name);
  }
  putBucketPolicy(name: string, policy: string): Promise<void> {
    return this.pick(name).putBucketPolicy(name, policy);
  }
  deleteBucketPolicy(name: string): Promise<void> {
    return this.pick(name).deleteBucketPolicy(name);
  }
  putObject(...a: Parameters<ObjectStore['putObject']>): ReturnType<ObjectStore['putObject']> {
    return this.pick(a[0]).putObject(...a);
  }
  getObject(...a: Parameters<ObjectStore['getObject']>): ReturnType<ObjectStore['getObject']> {
    return this.pick(a[0]).getObject(...a);
  }
  headObject(...a: Parameters<ObjectStore['headObject']>): ReturnType<ObjectStore['headObject']> {
    return this.pick(a[0]).headObject(...a);
  }
  deleteObject(...a: Parameters<ObjectStore['deleteObject']>): ReturnType<ObjectStore['deleteObject']> {
    return this.pick(a[0]).deleteObject(...a);
  }
  listObjects(...a: Parameters<ObjectStore['listObjects']>): ReturnType<ObjectStore['listObjects']> {
    return this.pick(a[0]).listObjects(...a);
  }
  async close(): Promise<void> {
    await this.local.close();
    await this.remote?.close();
  }
}

export function createObjectStore(config: Config, defaultAccountId: string): ObjectStoreRouter {
  const local = new FsObjectStore(join(config.dataDir, 'objects'));
  const remote = config.s3Endpoint || config.s3Buckets.length
    ? new S3ObjectStore({
        endpoint: config.s3Endpoint,
        region: config.s3Region,
        forcePathStyle: config.s3ForcePathStyle,
        credentials: config.s3AccessKeyId && config.s3SecretAccessKey ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } : undefined,
        ownerAccountId: defaultAccountId,
      })
    : undefined;
  return new ObjectStoreRouter(local, remote, config.s3Buckets.length ? config.s3Buckets : ['*']);
}
