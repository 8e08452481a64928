/**
 * Where a store's Parquet files live and which of them a query reads:
 * `<lake dir>/<account>/<store id>/eventdate=YYYY-MM-DD/<fromSeq>-<toSeq>.parquet`.
 * A file covers the event log positions (fromSeq, toSeq]; a compacted file
 * covers the union of the files it replaced, so a query reads only files no
 * other file contains — a crash in the middle of a compaction never makes an
 * event count twice.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface LakeFile {
  path: string;
  date: string;
  /** Log positions covered (an imported file: -1, -1; it never contains another or is contained). */
  from: number;
  to: number;
  bytes: number;
  imported: boolean;
}

const FILE_RE = /^(\d+)-(\d+)\.parquet$/;
/** Files written by an import (StartImport): `imp-<hash of the file imported and the time range>.parquet`. */
const IMPORT_RE = /^imp-[A-Za-z0-9-]+\.parquet$/;
const DATE_RE = /^eventdate=(\d{4}-\d\d-\d\d)$/;

export function storeDir(root: string, accountId: string, storeId: string): string {
  return join(root, accountId, storeId);
}

/** Every file of a store (or of one of its days), in partition and position order. */
export function listFiles(dir: string, onlyDate?: string): LakeFile[] {
  return partitions(dir, onlyDate).flat();
}

/** Which days of a store to list: one date, or those a test keeps (a query's, pruned); all when absent. */
export type Days = string | ((date: string) => boolean);

/** Each partition's files (as partitionFiles lists them), in date order. */
function partitions(dir: string, days?: Days): LakeFile[][] {
  let dates: string[];
  try {
    dates = readdirSync(dir);
  } catch {
    return [];
  }
  const out: LakeFile[][] = [];
  for (const d of dates.sort()) {
    const m = DATE_RE.exec(d);
    if (!m || (days !== undefined && !(typeof days === 'string' ? m[1] === days : days(m[1]!)))) continue;
    out.push(partitionFiles(join(dir, d), m[1]!));
  }
  return out;
}

/** Each partition listing's live files (a listing is replaced, never changed, when its folder changes). */
const liveOf = new WeakMap<LakeFile[], LakeFile[]>();

/**
 * The files a reader of a store (or of one of its days) reads — `liveFiles(listFiles(dir))` —
 * worked out again only for a partition whose listing changed: a store keeps its replaced files
 * for hours, hundreds of them, and a query should not sort them all to find the few dozen it reads.
 */
export function readableFiles(dir: string, days?: Days): LakeFile[] {
  const out: LakeFile[] = [];
  for (const files of partitions(dir, days)) {
    let live = liveOf.get(files);
    if (!live) liveOf.set(files, (live = liveFiles(files)));
    for (const f of live) out.push(f);
  }
  return out;
}

/**
 * A partition's files, read again only when its folder has changed since (its modification time
 * moves with every file added, renamed or removed): closed days are listed once, not per query.
 */
const listings = new Map<string, { mtimeNs: bigint; files: LakeFile[] }>();
const STILL_MS = 100;

function partitionFiles(part: string, date: string): LakeFile[] {
  let mtimeNs: bigint;
  try {
    mtimeNs = statSync(part, { bigint: true }).mtimeNs;
  } catch {
    listings.delete(part);
    return [];
  }
  const seen = listings.get(part);
  if (seen && seen.mtimeNs === mtimeNs) return seen.files;
  const files: LakeFile[] = [];
  for (const f of readdirSync(part).sort()) {
    const fm = FILE_RE.exec(f);
    const imported = IMPORT_RE.test(f);
    if (!fm && !imported) continue;
    const path = join(part, f);
    let bytes: number;
    try {
      bytes = sizeOf(path);
    } catch {
      continue; // removed meanwhile
    }
    files.push({ path, date, from: fm ? Number(fm[1]) : -1, to: fm ? Number(fm[2]) : -1, bytes, imported });
  }
  // A folder's modification time moves in clock ticks (a few ms): a listing is kept only once the
  // folder has been still for longer than one, so a file added within the same tick is never
  // missed. This server's own writes drop the listing at once (fileWritten, forgetFile).
  if (Date.now() - Number(mtimeNs / 1_000_000n) > STILL_MS) {
    if (listings.size > 100_000) listings.clear();
    listings.set(part, { mtimeNs, files });
  } else listings.delete(part);
  return files;
}

/**
 * What is known of each file by its path: its size, and its rows once the writer has told them or
 * a query has read them from the file's metadata (EventsScanned). A Lake file never changes once it
 * has its name (written aside, then renamed; a batch replayed after a crash writes the same rows
 * again), so neither is read twice — a store holds hundreds of files, most of them replaced ones
 * kept a while for queries already reading them.
 */
const known = new Map<string, { bytes: number; rows?: number }>();

function sizeOf(path: string): number {
  let k = known.get(path);
  if (k === undefined) {
    if (known.size > 200_000) known.clear();
    known.set(path, (k = { bytes: statSync(path).size }));
  }
  return k.bytes;
}

/** Forget what was read of a file and of its folder (it is being removed, or was just replaced). */
export function forgetFile(path: string): void {
  known.delete(path);
  listings.delete(dirname(path));
}

/** A file has just been written under `path` (holding `rows` rows, when the writer knows). */
export function fileWritten(path: string, rows?: number): void {
  forgetFile(path);
  sizeOf(path);
  if (rows !== undefined) rememberRows(path, rows);
}

/** Rows of a file whose size is known (a file forgotten meanwhile is counted again when met). */
export function rememberRows(path: string, rows: number): void {
  const k = known.get(path);
  if (k) k.rows = rows;
}

export function knownRows(path: string): number | undefined {
  return known.get(path)?.rows;
}

/**
 * The files a query reads: in each partition, those no other file's range contains. Ranges in a
 * partition are nested or apart (a merge covers exactly the files it replaced), so one sweep in
 * (from ascending, to descending) order finds them: a file is contained when an earlier one
 * reaches as far.
 */
export function liveFiles(files: LakeFile[]): LakeFile[] {
  const contained = new Set<LakeFile>();
  const byDate = new Map<string, LakeFile[]>();
  for (const f of files) {
    if (f.imported) continue;
    let list = byDate.get(f.date);
    if (!list) byDate.set(f.date, (list = []));
    list.push(f);
  }
  for (const list of byDate.values()) {
    list.sort((a, b) => a.from - b.from || b.to - a.to);
    let reach = -Infinity;
    for (const f of list) {
      if (reach >= f.to) contained.add(f);
      else reach = f.to;
    }
  }
  return files.filter((f) => !contained.has(f));
}
