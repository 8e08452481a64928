/**
 * The local-folder object store. Object bytes live in files named by a hash
 * of the key (so no key can ever name a path outside the bucket's folder);
 * bucket and object metadata live in SQLite, which also gives S3's key order
 * for listings. A put writes a new file (fsynced), then commits the metadata
 * that points to it, then removes the file it replaced: a crash at any point
 * leaves either the old or the new object, never a torn one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite, statementCache } from '../sqlite/open.js';
import type { BucketInfo, ByteRange, ListObjectsOptions, ListObjectsResult, ObjectInfo, ObjectStore, PutObjectOptions } from '../object-store.js';
import { bucketExists, bucketNotEmpty, invalidBucketName, invalidRange, noSuchBucket, noSuchBucketPolicy, preconditionFailed, validBucketName } from '../object-errors.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, owner TEXT NOT NULL, region TEXT NOT NULL, created_at INTEGER NOT NULL, policy TEXT);
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL REFERENCES buckets(name),
  key TEXT NOT NULL,
  file TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT,
  user_meta TEXT NOT NULL,
  last_modified INTEGER NOT NULL,
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
`;

interface ObjectRow {
  key: string;
  file: string;
  size: number;
  etag: string;
  content_type: string | null;
  user_meta: string;
  last_modified: number;
}
interface BucketRow {
  name: string;
  owner: string;
  region: string;
  created_at: number;
  policy: string | null;
}

const toInfo = (r: ObjectRow): ObjectInfo => ({
  key: r.key,
  size: r.size,
  etag: r.etag,
  lastModified: new Date(r.last_modified),
  contentType: r.content_type ?? undefined,
  userMetadata: JSON.parse(r.user_meta) as Record<string, string>,
});
const toBucket = (r: BucketRow): BucketInfo => ({ name: r.name, ownerAccountId: r.owner, region: r.region, createdAt: new Date(r.created_at) });

/** The smallest string greater than every string starting with `p`. */
function prefixEnd(p: string): string | undefined {
  for (let i = p.length - 1; i >= 0; i--) {
    const c = p.charCodeAt(i);
    if (c < 0xffff) return p.slice(0, i) + String.fromCharCode(c + 1);
  }
  return undefined;
}

export class FsObjectStore implements ObjectStore {
  private readonly db: Database.Database;
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    this.db = openSqlite(join(root, 'objects.db'));
    this.db.exec(SCHEMA);
    this.stmt = statementCache(this.db);
  }

  private bucketDir(bucket: string): string {
    if (!validBucketName(bucket)) throw invalidBucketName(bucket);
    return join(this.root, 'buckets', bucket);
  }

  private bucketRow(name: string): BucketRow | undefined {
    return this.stmt('SELECT * FROM buckets WHERE name = ?').get(name) as BucketRow | undefined;
  }

  private requireBucket(name: string): BucketRow {
    const b = this.bucketRow(name);
    if (!b) throw noSuchBucket(name);
    return b;
  }

  async createBucket(name: string, ownerAccountId: string, region: string): Promise<BucketInfo> {
    const dir = this.bucketDir(name);
    const existing = this.bucketRow(name);
    if (existing) throw bucketExists(name, existing.owner === ownerAccountId);
    mkdirSync(dir, { recursive: true });
    const now = Date.now();
    this.stmt('INSERT INTO buckets (name, owner, region, created_at) VALUES (?, ?, ?, ?)').run(name, ownerAccountId, region, now);
    return { name, ownerAccountId, region, createdAt: new Date(now) };
  }

  async deleteBucket(name: string): Promise<void> {
    this.requireBucket(name);
    const any = this.stmt('SELECT 1 FROM objects WHERE bucket = ? LIMIT 1').get(name);
    if (any) throw bucketNotEmpty(name);
    this.stmt('DELETE FROM buckets WHERE name = ?').run(name);
    rmSync(this.bucketDir(name), { recursive: true, force: true });
  }

  async getBucket(name: string): Promise<BucketInfo | undefined> {
    if (!validBucketName(name)) return undefined;
    const r = this.bucketRow(name);
    return r && toBucket(r);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return (this.stmt('SELECT * FROM buckets ORDER BY name').all() as BucketRow[]).map(toBucket);
  }

  async getBucketPolicy(name: string): Promise<string | undefined> {
    return this.requireBucket(name).policy ?? undefined;
  }

  async putBucketPolicy(name: string, policy: string): Promise<void> {
    this.requireBucket(name);
    this.stmt('UPDATE buckets SET policy = ? WHERE name = ?').run(policy, name);
  }

  async deleteBucketPolicy(name: string): Promise<void> {
    const b = this.requireBucket(name);
    if (b.policy === null) throw noSuchBucketPolicy(name);
    this.stmt('UPDATE buckets SET policy = NULL WHERE name = ?').run(name);
  }

  async putObject(bucket: string, key: string, body: Buffer, opts: PutObjectOptions = {}): Promise<ObjectInfo> {
    this.requireBucket(bucket);
    const dir = this.bucketDir(bucket);
    const h = createHash('sha256').update(key).digest('hex');
    const sub = join(dir, h.slice(0, 2));
    mkdirSync(sub, { recursive: true });
    const file = `${h.slice(0, 2)}/${h}-${randomBytes(6).toString('hex')}`;
    const tmp = join(dir, `${file}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let off = 0;
      while (off < body.length) off += writeSync(fd, body, off, body.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, file));
    const dfd = openSync(sub, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    const info: ObjectInfo = {
      key,
      size: body.length,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(),
      contentType: opts.contentType,
      userMetadata: opts.userMetadata ?? {},
    };
    let replaced: string | undefined;
    try {
      this.db.transaction(() => {
        const old = this.stmt('SELECT file FROM objects WHERE bucket = ? AND key = ?').get(bucket, key) as { file: string } | undefined;
        if (old && opts.ifNoneMatch) throw preconditionFailed(bucket, key);
        replaced = old?.file;
        this.stmt(
            `INSERT INTO objects (bucket, key, file, size, etag, content_type, user_meta, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(bucket, key) DO UPDATE SET file = excluded.file, size = excluded.size, etag = excluded.etag,
               content_type = excluded.content_type, user_meta = excluded.user_meta, last_modified = excluded.last_modified`,
          )
          .run(bucket, key, file, info.size, info.etag, info.contentType ?? null, JSON.stringify(info.userMetadata), info.lastModified.getTime());
      })();
    } catch (e) {
      unlinkSync(join(dir, file));
      throw e;
    }
    if (replaced) rmSync(join(dir, replaced), { force: true });
    return info;
  }

  private row(bucket: string, key: string): ObjectRow | undefined {
    this.requireBucket(bucket);
    return this.stmt('SELECT * FROM objects WHERE bucket = ? AND key = ?').get(bucket, key) as ObjectRow | undefined;
  }

  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Buffer } | undefined> {
    const r = this.row(bucket, key);
    if (!r) return undefined;
    const data = readFileSync(join(this.bucketDir(bucket), r.file));
    if (!range) return { info: toInfo(r), body: data };
    if (range.start >= data.length) throw invalidRange(bucket, key);
    const end = Math.min(range.end ?? data.length - 1, data.length - 1);
    return { info: toInfo(r), body: data.subarray(range.start, end + 1) };
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const r = this.row(bucket, key);
    return r && toInfo(r);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const r = this.row(bucket, key);
    if (!r) return;
    this.stmt('DELETE FROM objects WHERE bucket = ? AND key = ?').run(bucket, key);
    rmSync(join(this.bucketDir(bucket), r.file), { force: true });
  }

  async listObjects(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const maxKeys = Math.max(0, Math.min(opts.maxKeys ?? 1000, 1000));
    const end = prefix ? prefixEnd(prefix) : undefined;
    const objects: ObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    if (maxKeys === 0) return { objects, commonPrefixes, isTruncated: false };
    // Where to resume: strictly after a marker, or at the prefix itself.
    let cursor = prefix;
    let inclusive = true;
    if (opts.after !== undefined && opts.after >= prefix) {
      cursor = opts.after;
      inclusive = false;
      // A marker that is a common prefix skips everything under it.
      if (delimiter && opts.after.endsWith(delimiter) && opts.after.length > prefix.length) {
        const skip = prefixEnd(opts.after);
        if (skip === undefined) return { objects, commonPrefixes, isTruncated: false };
        cursor = skip;
        inclusive = true;
      }
    }
    const range = end ? 'AND key < ?' : '';
    const gt = this.stmt(`SELECT * FROM objects WHERE bucket = ? AND key > ? ${range} ORDER BY key LIMIT ?`);
    const ge = this.stmt(`SELECT * FROM objects WHERE bucket = ? AND key >= ? ${range} ORDER BY key LIMIT ?`);
    let last: string | undefined;
    for (;;) {
      const params: unknown[] = [bucket, cursor];
      if (end) params.push(end);
      params.push(maxKeys + 1);
      const rows = (inclusive ? ge : gt).all(...params) as ObjectRow[];
      if (rows.length === 0) return { objects, commonPrefixes, isTruncated: false };
      let jumped = false;
      for (const r of rows) {
        if (objects.length + commonPrefixes.length >= maxKeys) return { objects, commonPrefixes, isTruncated: true, nextMarker: last };
        const i = delimiter ? r.key.indexOf(delimiter, prefix.length) : -1;
        if (i >= 0) {
          const cp = r.key.slice(0, i + delimiter!.length);
          commonPrefixes.push(cp);
          last = cp;
          const skip = prefixEnd(cp);
          if (skip === undefined) return { objects, commonPrefixes, isTruncated: false };
          cursor = skip;
          inclusive = true;
          jumped = true;
          break;
        }
        objects.push(toInfo(r));
        last = r.key;
        cursor = r.key;
        inclusive = false;
      }
      if (!jumped && rows.length <= maxKeys) return { objects, commonPrefixes, isTruncated: false };
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

