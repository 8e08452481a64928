/**
 * Lake's Parquet files copied into the object store (`OPENTRAIL_LAKE_BUCKET`), so Athena, Trino or
 * Spark can read the same tables when a user outgrows one node:
 * `s3://<bucket>/lake/<account>/<store id>/eventdate=YYYY-MM-DD/<file>.parquet`.
 *
 * The local files stay what queries read; the bucket follows them. A sync of a store makes its
 * prefix hold exactly the store's live files: it uploads the missing ones and deletes the rest
 * (files a compaction replaced, dropped partitions, a removed store). A failed sync changes
 * nothing that matters and the next one repairs it, so an unreachable bucket loses nothing.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { listAllObjects, type ObjectStore } from '../storage/object-store.js';
import { readableFiles, storeDir } from './lake-files.js';

export const LAKE_PREFIX = 'lake';

export function mirrorPrefix(accountId: string, storeId: string): string {
  return `${LAKE_PREFIX}/${accountId}/${storeId}/`;
}

export class LakeMirror {
  /** Stores whose files changed since their last sync (`account/store`). */
  private readonly dirty = new Set<string>();
  private syncedAt = 0;
  private warnedAt = 0;

  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
    private readonly root: string,
    private readonly opts: { logger?: Logger; /** Least time between two syncs of changed stores (listing a big prefix is not free). */ intervalMs?: number } = {},
  ) {}

  touch(accountId: string, storeId: string): void {
    this.dirty.add(`${accountId}/${storeId}`);
  }

  /** Sync the stores that changed (or all of `all` when `full`); a store that fails stays dirty. */
  async syncChanged(all: { accountId: string; id: string }[], full = false): Promise<void> {
    if (!full && Date.now() - this.syncedAt < (this.opts.intervalMs ?? 10_000)) return;
    this.syncedAt = Date.now();
    const targets = full ? all.map((s) => `${s.accountId}/${s.id}`) : [...this.dirty];
    for (const key of targets) {
      const [accountId, storeId] = key.split('/') as [string, string];
      this.dirty.delete(key);
      try {
        await this.sync(accountId, storeId);
      } catch (err) {
        this.dirty.add(key);
        if (Date.now() - this.warnedAt > 60_000) {
          this.warnedAt = Date.now();
          this.opts.logger?.warn({ err, bucket: this.bucket, store: storeId }, 'lake: could not copy files to the bucket; retrying');
        }
      }
    }
  }

  /** Make the store's prefix hold exactly its live local files. */
  async sync(accountId: string, storeId: string): Promise<{ uploaded: number; deleted: number }> {
    const prefix = mirrorPrefix(accountId, storeId);
    const want = new Map<string, { path: string; bytes: number }>();
    for (const f of readableFiles(storeDir(this.root, accountId, storeId))) {
      want.set(`${prefix}eventdate=${f.date}/${basename(f.path)}`, { path: f.path, bytes: f.bytes });
    }
    const have = new Map((await listAllObjects(this.store, this.bucket, { prefix })).objects.map((o) => [o.key, o.size]));
    let uploaded = 0;
    let deleted = 0;
    // Upload first, delete after: a reader of the bucket never sees a partition with fewer events.
    for (const [key, f] of want) {
      if (have.get(key) === f.bytes) continue;
      await this.store.putObject(this.bucket, key, readFileSync(f.path), { contentType: 'application/vnd.apache.parquet' });
      uploaded++;
    }
    for (const key of have.keys()) {
      if (want.has(key)) continue;
      await this.store.deleteObject(this.bucket, key);
      deleted++;
    }
    return { uploaded, deleted };
  }
}
