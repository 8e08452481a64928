/**
 * The history index's entries, kept in chunks: a chunk is the entries of one key (scope, kind,
 * value) from one indexing batch, up to CHUNK_ENTRIES of them within CHUNK_SPAN_MS of each
 * other, newest first. Its newest entry is the row's key (time_ms, seq) and the others follow in
 * a blob of (time, seq) offsets from it. A key that many events share (every event, an event
 * name, a user) then costs the index a row per few hundred events instead of a row per event;
 * a value only one event has (its EventId) is a chunk of one, with no blob.
 */

/** Most entries in one chunk (the row, ~8 bytes an entry, stays within a 16 KiB page). */
export const CHUNK_ENTRIES = 400;
/**
 * Widest time span of one chunk: every entry of a chunk is at most this much older than its
 * newest. A chunk can hold an entry of [start, end] only when its newest is within
 * [start, end + CHUNK_SPAN_MS], so lookups seek straight to the chunks that may hold answers.
 */
export const CHUNK_SPAN_MS = 60_000;

/** A chunk as stored: its newest entry, how many it holds, and the rest encoded (null for one). */
export interface Chunk {
  timeMs: number;
  seq: number;
  n: number;
  older: Buffer | null;
}

/** Bytes an entry takes in a chunk's blob: the time back from the newest (u32), the seq back (i32). */
const ENTRY_BYTES = 8;

/**
 * Cut entries (parallel arrays, sorted newest first by time, then seq) into chunks and hand each
 * to `put`.
 */
export function cutChunks(times: readonly number[], seqs: readonly number[], put: (c: Chunk) => void): void {
  let i = 0;
  while (i < times.length) {
    const headTime = times[i]!;
    const headSeq = seqs[i]!;
    let j = i + 1;
    while (j < times.length && j - i < CHUNK_ENTRIES && headTime - times[j]! <= CHUNK_SPAN_MS && Math.abs(headSeq - seqs[j]!) < 2 ** 31) j++;
    let older: Buffer | null = null;
    if (j - i > 1) {
      older = Buffer.allocUnsafe((j - i - 1) * ENTRY_BYTES);
      for (let k = i + 1, o = 0; k < j; k++, o += ENTRY_BYTES) {
        older.writeUInt32LE(headTime - times[k]!, o);
        older.writeInt32LE(headSeq - seqs[k]!, o + 4);
      }
    }
    put({ timeMs: headTime, seq: headSeq, n: j - i, older });
    i = j;
  }
}

/** Visit a chunk's entries, newest first; `visit` returns false to stop. */
export function forEachEntry(c: Chunk, visit: (timeMs: number, seq: number) => boolean | void): void {
  if (visit(c.timeMs, c.seq) === false || c.older === null) return;
  const b = c.older;
  for (let o = 0; o + ENTRY_BYTES <= b.length; o += ENTRY_BYTES) {
    if (visit(c.timeMs - b.readUInt32LE(o), c.seq - b.readInt32LE(o + 4)) === false) return;
  }
}

/** The entries of one key in a batch, as they are gathered. */
export interface KeyEntries {
  scope: number;
  kind: number;
  value: string;
  times: number[];
  seqs: number[];
}

/** Whether entries run in one order throughout: newest first (`dir` 1) or oldest first (`dir` -1). */
function runs(times: readonly number[], seqs: readonly number[], dir: 1 | -1): boolean {
  for (let i = 1; i < times.length; i++) {
    const d = times[i - 1]! - times[i]! || seqs[i - 1]! - seqs[i]!;
    if (d * dir < 0) return false;
  }
  return true;
}

/** Sort a key's entries newest first (time, then seq), unless they already are. */
export function sortNewestFirst(e: KeyEntries): void {
  const { times, seqs } = e;
  if (runs(times, seqs, 1)) return;
  // Ascending (the log's order, usually) is reversed cheaply; anything else is sorted.
  if (runs(times, seqs, -1)) {
    times.reverse();
    seqs.reverse();
    return;
  }
  const order = times.map((_, i) => i).sort((a, b) => times[b]! - times[a]! || seqs[b]! - seqs[a]!);
  const t = order.map((i) => times[i]!);
  const s = order.map((i) => seqs[i]!);
  for (let i = 0; i < t.length; i++) {
    times[i] = t[i]!;
    seqs[i] = s[i]!;
  }
}
