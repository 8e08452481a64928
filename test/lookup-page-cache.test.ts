/**
 * LookupEvents pages keep their events' encoded entries on the reader thread and use them again.
 * A page served from kept entries must be the page read afresh; and a purge that expired every
 * event must leave the log numbering on, so new events are found (and nothing purged comes back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import { PageBuffers } from '../src/storage/sqlite/history-reader.js';
import { LOOKUP_EVENTS_ENCODER } from '../src/services/cloudtrail/lookup-events-wire.js';
import { indexEvent } from '../src/pipeline/index-keys.js';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { HistoryPage, HistoryQuery } from '../src/storage/interfaces.js';
import { utf8Text } from '../src/protocols/raw-json.js';

/** A page's events as text. */
const text = (p: HistoryPage): string => utf8Text(p.events);
const ACCOUNT = '111122223333';
const T0 = Date.UTC(2026, 10, 1);
/** Text beyond ASCII (two, three and four UTF-8 bytes a character), in every kept entry. */
const NOTE = 'façade ✓ 😀';

function event(i: number, name: string, timeMs: number) {
  return indexEvent(
    apiCallRecord({
      accountId: ACCOUNT,
      region: 'us-east-1',
      userIdentity: { type: 'IAMUser', principalId: 'AIDA1', arn: `arn:aws:iam::${ACCOUNT}:user/u${i % 3}`, accountId: ACCOUNT, accessKeyId: `AKIA${i % 4}`, userName: `u${i % 3}` },
      sourceIPAddress: '192.0.2.1',
      requestId: `r${name}${i}`,
      time: new Date(timeMs),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: name,
      readOnly: true,
      requestParameters: { n: i, note: NOTE },
      responseElements: null,
      resources: [{ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::b${i}` }],
    }),
  );
}

const query = (q: Partial<HistoryQuery> = {}): HistoryQuery => ({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: 0, endMs: Date.now(), limit: 50, ...q });

interface WireEvent {
  EventId: string;
  EventName: string;
  CloudTrailEvent: string;
}

async function withLog(body: (log: SqliteEventLog, dir: string) => Promise<void>, cacheMiB?: number, readerThreads?: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-pagecache-'));
  const log = new SqliteEventLog(join(dir, 'events.db'), {
    pageEncoder: LOOKUP_EVENTS_ENCODER,
    // Its map (while it reads the files in) would show in the test below.
    readIntoMemory: false,
    ...(cacheMiB === undefined ? {} : { encodedCacheMiB: cacheMiB }),
    ...(readerThreads === undefined ? {} : { readerThreads }),
  });
  try {
    await body(log, dir);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a page served from kept entries is the page read from the log, next token and all', () =>
  withLog(async (log) => {
    await log.append(Array.from({ length: 120 }, (_, i) => event(i, `Op${i % 2}`, T0 + i * 1000)));
    const pages = [query(), query({ limit: 7 }), query({ attribute: { key: 'EventName', value: 'Op1' }, limit: 10 }), query({ before: { timeMs: T0 + 60_000, seq: 61 } })];
    const first = [];
    for (const q of pages) first.push(await log.lookupPage(q));
    const read = log.pageEntries.read;
    assert.ok(read > 0);
    const again = [];
    for (const q of pages) again.push(await log.lookupPage(q));
    // The second time round nothing is read: every entry comes kept.
    assert.equal(log.pageEntries.read, read);
    assert.ok(log.pageEntries.cached >= 50 + 7 + 10 + 50);
    for (let i = 0; i < pages.length; i++) {
      assert.equal(text(again[i]!), text(first[i]!));
      assert.deepEqual(again[i]!.next, first[i]!.next);
    }
    const events = JSON.parse(text(again[2]!)) as WireEvent[];
    assert.equal(events.length, 10);
    assert.ok(events.every((e) => e.EventName === 'Op1' && (JSON.parse(e.CloudTrailEvent) as { eventID: string }).eventID === e.EventId));
    assert.ok(events.every((e) => (JSON.parse(e.CloudTrailEvent) as { requestParameters: { note: string } }).requestParameters.note === NOTE));
    // The caller's own record is left out of a page even when its entry is kept.
    const newest = (JSON.parse(text(first[0]!)) as WireEvent[])[0]!;
    const without = JSON.parse(text(await log.lookupPage(query({ exclude: newest.EventId })))) as WireEvent[];
    assert.equal(without.length, 50);
    assert.ok(!without.some((e) => e.EventId === newest.EventId));
  }));

test('after a purge that expired every event, new events are numbered on and found (nothing purged comes back)', () =>
  withLog(async (log) => {
    const old = Array.from({ length: 5 }, (_, i) => event(i, 'Old', T0 + i * 1000));
    const first = await log.append(old);
    const before = JSON.parse(text(await log.lookupPage(query()))) as WireEvent[];
    assert.deepEqual(before.map((e) => e.EventName), ['Old', 'Old', 'Old', 'Old', 'Old']);
    assert.equal(await log.purge(T0 + 60_000), 5);
    assert.deepEqual(JSON.parse(text(await log.lookupPage(query()))), []);
    // Had the log been emptied, SQLite would number these from 1 again: below the index's mark
    // (never indexed, never in the tail a lookup scans) and below every reader's checkpoint.
    const fresh = Array.from({ length: 5 }, (_, i) => event(i, 'New', T0 + i * 1000));
    const appended = await log.append(fresh);
    assert.ok(appended.every((a) => a.seq > first.at(-1)!.seq));
    const after = JSON.parse(text(await log.lookupPage(query()))) as WireEvent[];
    assert.deepEqual(
      after.map((e) => e.EventId),
      fresh.map((e) => e.eventId).reverse(),
    );
    assert.deepEqual(
      (await log.readFrom(first.at(-1)!.seq, 100)).map((e) => e.seq),
      appended.map((a) => a.seq),
    );
  }));

test('with no room for entries (OPENTRAIL_LOOKUP_CACHE_MB=0) every page is read from the log', () =>
  withLog(async (log) => {
    await log.append(Array.from({ length: 30 }, (_, i) => event(i, 'Op', T0 + i * 1000)));
    const a = await log.lookupPage(query());
    const b = await log.lookupPage(query());
    assert.equal(text(a), text(b));
    assert.equal(log.pageEntries.cached, 0);
    assert.equal(log.pageEntries.read, 60);
  }, 0));

test('with several reader threads, a busy thread\'s pages go to the others, and every page is the same', () =>
  withLog(
    async (log) => {
      await log.append(Array.from({ length: 30 }, (_, i) => event(i, 'Op', T0 + i * 1000)));
      // Twelve at once: the query's own thread takes two, the others the rest.
      const pages = await Promise.all(Array.from({ length: 12 }, () => log.lookupPage(query())));
      for (const p of pages) assert.equal(text(p), text(pages[0]!));
      assert.equal((JSON.parse(text(pages[0]!)) as WireEvent[]).length, 30);
      // More than one thread read the page from the log (30 entries each time).
      assert.ok(log.pageEntries.read >= 60, `read ${log.pageEntries.read}`);
      // One at a time, the query keeps to its own thread, which kept the entries.
      const read = log.pageEntries.read;
      for (let i = 0; i < 3; i++) assert.equal(text(await log.lookupPage(query())), text(pages[0]!));
      assert.equal(log.pageEntries.read, read);
    },
    undefined,
    3,
  ));

test('a reader thread that ends with pages asked of it: another thread, then the log\'s own connection, answers them', async () => {
  // Read by each reader thread as it starts: every one ends at the first page asked of it.
  process.env.OPENTRAIL_FAILPOINT = 'history-reader-exit';
  try {
    await withLog(
      async (log) => {
        await log.append(Array.from({ length: 20 }, (_, i) => event(i, `Op${i % 2}`, T0 + i * 1000)));
        const pages = await Promise.all([log.lookupPage(query()), log.lookupPage(query({ attribute: { key: 'EventName', value: 'Op1' } })), log.lookupPage(query({ limit: 5 }))]);
        const ids = (p: HistoryPage): string[] => (JSON.parse(text(p)) as WireEvent[]).map((e) => e.EventId);
        assert.equal(ids(pages[0]!).length, 20);
        assert.equal(ids(pages[1]!).length, 10);
        assert.deepEqual(ids(pages[2]!), ids(pages[0]!).slice(0, 5));
        assert.ok(pages[2]!.next);
        // Every thread has gone; the next lookups are read on the log's own connection.
        assert.deepEqual(ids(await log.lookupPage(query())), ids(pages[0]!));
      },
      undefined,
      2,
    );
  } finally {
    delete process.env.OPENTRAIL_FAILPOINT;
  }
});

test('the reader thread reads the log and its index without a memory map (SQLite drops it at every lookup that follows a commit)', { skip: process.platform !== 'linux' && 'reads /proc/self/maps' }, () =>
  withLog(async (log, dir) => {
    await log.append(Array.from({ length: 120 }, (_, i) => event(i, `Op${i % 2}`, T0 + i * 1000)));
    const files = [join(dir, 'events.db'), join(dir, 'events.history.db')].map((f) => new RegExp(`${escape(f)}$`, 'm'));
    // Lookups over pages the checkpoints (every half second) have copied into the files, which a
    // map would serve, with commits between them as in a server.
    let served = 0;
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await log.append([event(200 + i, 'Op1', T0 + 200_000 + i)]);
      served += (await log.lookupPage(query({ attribute: { key: 'EventName', value: 'Op1' } }))).events.length > 0 ? 1 : 0;
    }
    assert.equal(served, 15);
    const mapped = readFileSync('/proc/self/maps', 'utf8');
    for (const f of files) assert.doesNotMatch(mapped, f);
  }));

test('a log opened on earlier events is read into memory as it opens: every page in use of both files, before any lookup', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-pagecache-'));
  const file = join(dir, 'events.db');
  try {
    const first = new SqliteEventLog(file, { pageEncoder: LOOKUP_EVENTS_ENCODER, readIntoMemory: false });
    await first.append(Array.from({ length: 400 }, (_, i) => event(i, `Op${i % 2}`, T0 + i * 1000)));
    await first.close();
    // Every page in use of both files (the free list is never read): counted apart from the thread.
    const inUse = (f: string): number => {
      const d = new Database(f, { readonly: true });
      const n = ((d.pragma('page_count', { simple: true }) as number) - (d.pragma('freelist_count', { simple: true }) as number)) * (d.pragma('page_size', { simple: true }) as number);
      d.close();
      return n;
    };
    const wantedBytes = inUse(file) + inUse(join(dir, 'events.history.db'));
    const log = new SqliteEventLog(file, { pageEncoder: LOOKUP_EVENTS_ENCODER, readIntoMemory: true });
    try {
      const read = await log.readIntoMemory;
      assert.ok(!('skipped' in read), JSON.stringify(read));
      assert.equal(read.bytes, wantedBytes);
      assert.equal(log.pageEntries.read + log.pageEntries.cached, 0);
    } finally {
      await log.close();
    }
    // Asked not to, it reads nothing.
    const without = new SqliteEventLog(file, { pageEncoder: LOOKUP_EVENTS_ENCODER, readIntoMemory: false });
    assert.ok('skipped' in (await without.readIntoMemory));
    await without.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('page buffers: one given back is taken again when big enough; a detached one, or one past the bound, is not kept', () => {
  const buffers = new PageBuffers(300 * 1024, 128 * 1024);
  const a = buffers.take(1000);
  assert.equal(a.byteLength, 128 * 1024); // at least the least size
  assert.equal(buffers.made, 1);
  buffers.give(a);
  assert.equal(buffers.take(100_000), a); // taken again, none made
  assert.equal(buffers.made, 1);
  const big = buffers.take(200 * 1024);
  assert.equal(big.byteLength, 200 * 1024);
  buffers.give(big);
  buffers.give(a); // 328 KiB would pass the 300 KiB bound: not kept
  assert.equal(buffers.take(150 * 1024), big);
  assert.notEqual(buffers.take(150 * 1024), a); // a was not kept, and is too small anyway
  const moved = buffers.take(10);
  structuredClone(moved, { transfer: [moved] }); // detached, as once moved to another thread
  buffers.give(moved);
  assert.equal(buffers.take(10).byteLength, 128 * 1024);
  assert.equal(buffers.made, 5);
});
