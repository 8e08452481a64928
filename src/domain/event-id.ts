/**
 * The eventID opentrail gives the events it records: a UUID (RFC 9562) of version 7, whose first
 * 48 bits are the time of its making in milliseconds and the other 74 random.
 *
 * CloudTrail documents eventID as a GUID it generates; its own are version 4 (random). Time
 * first matters here: the history index keys EventId entries by value, and random values sent
 * each indexing batch to a different page of the index for every event (23% of its cost at a
 * million events, and growing with the index), where time-ordered ones land together at its end.
 *
 * `opentrail/client` makes its idempotency ids with it too, for the same reason: the log keeps
 * the ids of the last 24 hours in a B-tree keyed by id (bench:ingest with random ids: 23,205
 * events/s against 58,578).
 *
 * Written here rather than taken from the `uuid` package: its v7() took 1.7 µs an id on this
 * machine against 0.19 µs for this (random bytes drawn in bulk), and the ingest path makes one for
 * every event it takes in.
 */
import { randomFillSync } from 'node:crypto';

/** Random bytes drawn 4 KiB at a time (as Node's own randomUUID does). */
const pool = Buffer.alloc(4096);
let used = pool.length;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function newEventId(now = Date.now()): string {
  if (used + 10 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const r = used;
  used += 10;
  const b = new Array<string>(16);
  // 48-bit big-endian millisecond time.
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = HEX[t % 256]!;
    t = Math.floor(t / 256);
  }
  b[6] = HEX[0x70 | (pool[r]! & 0x0f)]!; // version 7
  b[7] = HEX[pool[r + 1]!]!;
  b[8] = HEX[0x80 | (pool[r + 2]! & 0x3f)]!; // variant 10
  for (let i = 9; i < 16; i++) b[i] = HEX[pool[r + i - 6]!]!;
  return `${b[0]}${b[1]}${b[2]}${b[3]}-${b[4]}${b[5]}-${b[6]}${b[7]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}`;
}
