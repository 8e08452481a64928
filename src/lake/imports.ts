/**
 * Lake imports (StartImport, GetImport, ListImports, StopImport, ListImportFailures): CloudTrail
 * log files (`{"Records":[…]}`, gzip or not — the layout trails write, from AWS or from opentrail)
 * under an S3 location are copied into event data stores, one file at a time, with progress; into
 * AWS Config item stores, the history and snapshot files AWS Config delivers. A
 * file that cannot be read is listed as a failure and the rest go on; a stopped import started
 * again with its ImportId skips the files it has done; a file imported again (by any import, with
 * the same time range) replaces what it brought before instead of adding its events twice.
 */
import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import type { Metastore } from '../storage/interfaces.js';
import { listAllObjects, type ObjectStore } from '../storage/object-store.js';
import { storeKind, type EventDataStores } from '../domain/event-data-stores.js';
import type { CloudTrailRecord } from '../domain/record.js';
import { configFileItems, configItemRecord, type ConfigItemRecord } from '../domain/config-items.js';
import type { LakeWriter } from './lake-writer.js';
import {
  AccountHasOngoingImportException,
  ImportNotFoundException,
  InactiveEventDataStoreException,
  InvalidEventDataStoreCategoryException,
  InvalidImportSourceException,
  InvalidParameterException,
} from '../protocols/errors.js';

const KIND = 'lake-import';

export type ImportStatus = 'INITIALIZING' | 'IN_PROGRESS' | 'FAILED' | 'STOPPED' | 'COMPLETED';

export interface ImportSource {
  S3: { S3LocationUri: string; S3BucketRegion: string; S3BucketAccessRoleArn: string };
}

export interface ImportFailure {
  Location: string;
  Status: 'FAILED' | 'RETRY' | 'SUCCEEDED';
  ErrorType: string;
  ErrorMessage: string;
  LastUpdatedTime: number;
}

export interface ImportDoc {
  accountId: string;
  region: string;
  id: string;
  destinations: string[];
  source: ImportSource;
  startMs?: number;
  endMs?: number;
  status: ImportStatus;
  createdAt: number;
  updatedAt: number;
  stats: { PrefixesFound: number; PrefixesCompleted: number; FilesCompleted: number; EventsCompleted: number; FailedEntries: number };
  /** Keys done (imported or failed), so a restarted import skips them. */
  done: string[];
  failures: ImportFailure[];
}

function parseUri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m) throw new InvalidImportSourceException(`S3LocationUri ${uri} is not an s3://bucket/prefix URI.`);
  return { bucket: m[1]!, prefix: m[2] ?? '' };
}

const invalidFile = (message: string): Error => Object.assign(new Error(message), { type: 'InvalidFileFormat' });

function cloudTrailRecords(text: string): CloudTrailRecord[] {
  try {
    const records = (JSON.parse(text) as { Records?: CloudTrailRecord[] }).Records ?? [];
    if (!Array.isArray(records)) throw new Error('Records is not a list');
    return records;
  } catch (e) {
    throw invalidFile(`not a CloudTrail log file: ${(e as Error).message}`);
  }
}

/** A Config history or snapshot file's items as Config item records; an item without what a record needs makes the file a failure. */
function configRecords(text: string): ConfigItemRecord[] {
  let items: Record<string, unknown>[];
  try {
    items = configFileItems(text);
  } catch (e) {
    throw invalidFile(`not an AWS Config history or snapshot file: ${(e as Error).message}`);
  }
  return items.map((ci, i) => {
    const r = configItemRecord(ci);
    if ('problem' in r) throw invalidFile(`configuration item ${i}: ${r.problem}`);
    return r;
  });
}

export class LakeImports {
  private readonly stopping = new Set<string>();

  constructor(
    private readonly meta: Metastore,
    private readonly stores: EventDataStores,
    private readonly objects: ObjectStore,
    private readonly writer: LakeWriter,
    private readonly opts: { logger?: Logger } = {},
  ) {}

  async get(accountId: string, id: string): Promise<ImportDoc> {
    const d = await this.meta.getDoc<ImportDoc>(KIND, accountId, id);
    if (!d) throw new ImportNotFoundException(`The import ${id} was not found.`);
    return d;
  }

  async list(accountId: string, region: string): Promise<ImportDoc[]> {
    return (await this.meta.listDocs<ImportDoc>(KIND, accountId)).filter((d) => d.region === region).sort((a, b) => b.createdAt - a.createdAt);
  }

  private async save(d: ImportDoc): Promise<void> {
    await this.meta.putDoc(KIND, d.accountId, d.id, { ...d, updatedAt: Date.now() });
  }

  async start(
    accountId: string,
    region: string,
    input: { Destinations?: string[]; ImportSource?: ImportSource; StartEventTime?: Date; EndEventTime?: Date; ImportId?: string },
  ): Promise<ImportDoc> {
    const running = (await this.list(accountId, region)).find((d) => d.status === 'INITIALIZING' || d.status === 'IN_PROGRESS');
    if (input.ImportId) {
      // Start a stopped (or failed) import again: the same source and destinations, files done skipped.
      const d = await this.get(accountId, input.ImportId);
      if (running && running.id !== d.id) throw new AccountHasOngoingImportException(`Import ${running.id} is still running.`);
      if (d.status === 'IN_PROGRESS' || d.status === 'INITIALIZING') return d;
      const restarted: ImportDoc = { ...d, status: 'INITIALIZING' };
      await this.save(restarted);
      setImmediate(() => void this.run(restarted.id, accountId));
      return restarted;
    }
    if (running) throw new AccountHasOngoingImportException(`Import ${running.id} is still running; one import at a time.`);
    if (!input.Destinations?.length || !input.ImportSource) throw new InvalidParameterException('Destinations and ImportSource are required to start a new import.');
    const stores = [];
    for (const ref of input.Destinations) {
      const s = await this.stores.get(accountId, region, ref);
      if (s.status === 'PENDING_DELETION') throw new InactiveEventDataStoreException(`The event data store ${s.arn} is pending deletion.`);
      if (storeKind(s) === 'integration') throw new InvalidEventDataStoreCategoryException(`The event data store ${s.arn} keeps integration events; imports bring CloudTrail events or AWS Config items.`);
      stores.push(s);
    }
    const { bucket } = parseUri(input.ImportSource.S3.S3LocationUri);
    const b = await this.objects.getBucket(bucket);
    if (!b) throw new InvalidImportSourceException(`The bucket ${bucket} does not exist.`);
    if (b.ownerAccountId && b.ownerAccountId !== accountId) throw new InvalidImportSourceException(`The bucket ${bucket} belongs to another account.`);
    if (input.StartEventTime && input.EndEventTime && input.StartEventTime > input.EndEventTime) throw new InvalidParameterException('StartEventTime is after EndEventTime.');
    const now = Date.now();
    const d: ImportDoc = {
      accountId,
      region,
      id: randomUUID(),
      destinations: stores.map((s) => s.arn),
      source: input.ImportSource,
      ...(input.StartEventTime ? { startMs: input.StartEventTime.getTime() } : {}),
      ...(input.EndEventTime ? { endMs: input.EndEventTime.getTime() } : {}),
      status: 'INITIALIZING',
      createdAt: now,
      updatedAt: now,
      stats: { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 },
      done: [],
      failures: [],
    };
    await this.save(d);
    setImmediate(() => void this.run(d.id, accountId));
    return d;
  }

  async stop(accountId: string, id: string): Promise<ImportDoc> {
    const d = await this.get(accountId, id);
    if (d.status === 'INITIALIZING' || d.status === 'IN_PROGRESS') {
      this.stopping.add(id);
      const stopped: ImportDoc = { ...d, status: 'STOPPED' };
      await this.save(stopped);
      return stopped;
    }
    return d;
  }

  private async run(id: string, accountId: string): Promise<void> {
    let d = await this.get(accountId, id);
    this.stopping.delete(id);
    try {
      const { bucket, prefix } = parseUri(d.source.S3.S3LocationUri);
      const { objects } = await listAllObjects(this.objects, bucket, { prefix });
      const stores = await Promise.all(d.destinations.map((arn) => this.stores.get(d.accountId, d.region, arn)));
      const config = storeKind(stores[0]!) === 'config';
      // CloudTrail imports read every log file but digests; Config imports what AWS Config delivers (not CloudTrail's folders).
      const files = objects
        .map((o) => o.key)
        .filter((k) => /\.json(\.gz)?$/.test(k) && !k.includes('/CloudTrail-Digest/') && !(config && /\/CloudTrail(-Insight)?\//.test(k)));
      const dirOf = (k: string): string => k.slice(0, k.lastIndexOf('/') + 1);
      const prefixes = [...new Set(files.map(dirOf))];
      const done = new Set(d.done);
      d = { ...d, status: 'IN_PROGRESS', stats: { ...d.stats, PrefixesFound: prefixes.length } };
      await this.save(d);
      for (const key of files) {
        if (this.stopping.has(id)) return;
        if (done.has(key)) continue;
        const location = `s3://${bucket}/${key}`;
        try {
          const obj = await this.objects.getObject(bucket, key);
          if (!obj) throw Object.assign(new Error('the object is gone'), { type: 'FileNotFound' });
          let text: string;
          try {
            text = (key.endsWith('.gz') ? gunzipSync(obj.body) : obj.body).toString('utf8');
          } catch (e) {
            throw Object.assign(new Error(`not a gzip file: ${(e as Error).message}`), { type: 'InvalidFileFormat' });
          }
          const records = config ? configRecords(text) : cloudTrailRecords(text);
          const inRange = records.filter((r) => {
            const t = Date.parse(r?.eventTime);
            return !Number.isNaN(t) && (d.startMs === undefined || t >= d.startMs) && (d.endMs === undefined || t <= d.endMs);
          });
          // Named by the file and the time range taken, not by the import: importing the same file
          // again (a bucket AWS Config or a trail keeps delivering to) replaces what it brought.
          const tag = createHash('sha1').update(`${location}\u0000${d.startMs ?? ''}\u0000${d.endMs ?? ''}`).digest('hex').slice(0, 32);
          let n = 0;
          for (const s of stores) n = await this.writer.writeImported(s, inRange, tag);
          d = { ...d, stats: { ...d.stats, FilesCompleted: d.stats.FilesCompleted + 1, EventsCompleted: d.stats.EventsCompleted + n } };
        } catch (e) {
          const err = e as Error & { type?: string };
          d = {
            ...d,
            stats: { ...d.stats, FailedEntries: d.stats.FailedEntries + 1 },
            failures: [...d.failures, { Location: location, Status: 'FAILED', ErrorType: err.type ?? 'InternalError', ErrorMessage: err.message, LastUpdatedTime: Date.now() }],
          };
        }
        done.add(key);
        const completedPrefixes = prefixes.filter((p) => files.every((k) => dirOf(k) !== p || done.has(k))).length;
        d = { ...d, done: [...done], stats: { ...d.stats, PrefixesCompleted: completedPrefixes } };
        // Stopped meanwhile: keep the progress, not the status.
        const current = await this.get(accountId, id);
        await this.save({ ...d, status: current.status === 'STOPPED' ? 'STOPPED' : d.status });
      }
      const current = await this.get(accountId, id);
      if (current.status !== 'STOPPED') await this.save({ ...d, status: 'COMPLETED' });
    } catch (e) {
      this.opts.logger?.error({ err: e, import: id }, 'lake: import failed');
      await this.save({ ...d, status: 'FAILED', failures: [...d.failures, { Location: d.source.S3.S3LocationUri, Status: 'FAILED', ErrorType: 'InternalError', ErrorMessage: (e as Error).message, LastUpdatedTime: Date.now() }] });
    } finally {
      this.stopping.delete(id);
    }
  }
}
