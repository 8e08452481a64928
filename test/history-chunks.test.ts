/**
 * The history index keeps each key's entries in chunks (up to 400 entries within 60 s of each
 * other). Lookups, counts and purges must read them as if every entry were its own: here a key
 * spreads over many chunks, its events' times run out of their log order, pages cut through
 * chunks, a purge cuts through them, and an index file of the older layout is built again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import { NO_INDEXER, closedLogOf, withLogFile } from './log-files.js';
import { historyFile } from '../src/storage/sqlite/history-index.js';
import { CHUNK_ENTRIES, CHUNK_SPAN_MS } from '../src/storage/sqlite/history-chunks.js';
import { indexEvent } from '../src/pipeline/index-keys.js';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { HistoryQuery, IndexedEvent } from '../src/storage/interfaces.js';

const ACCOUNT = '111122223333';
const T0 = Date.UTC(2026, 10, 1);
const N = 1500;

/** Event i: its time jumps around a 20-minute window (so seq order is not time order), several share a second. */
function event(i: number): IndexedEvent {
  return indexEvent(
    apiCallRecord({
      accountId: ACCOUNT,
      region: 'us-east-1',
      userIdentity: { type: 'IAMUser', principalId: 'AIDA1', arn: `arn:aws:iam::${ACCOUNT}:user/u${i % 2}`, accountId: ACCOUNT, userName: `u${i % 2}` },
      sourceIPAddress: '192.0.2.1',
      requestId: `r${i}`,
      time: new Date(T0 + ((i * 7919) % 1200) * 1000),
      eventSource: 's3.amazonaws.com',
      eventName: i % 3 === 0 ? 'PutObject' : 'GetObject',
      readOnly: i % 3 !== 0,
      requestParameters: null,
      responseElements: null,
      resources: [{ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::b${i % 2}` }],
    }),
  );
}

const EVENTS = Array.from({ length: N }, (_, i) => event(i));
const base = { accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: 0, endMs: T0 + 3_600_000 };
const QUERIES: Omit<HistoryQuery, 'limit'>[] = [
  base,
  { ...base, attribute: { key: 'EventName', value: 'GetObject' } },
  { ...base, attribute: { key: 'Username', value: 'u1' } },
  { ...base, attribute: { key: 'ReadOnly', value: 'false' } },
  { ...base, attribute: { key: 'ResourceName', value: 'arn:aws:s3:::b0' } },
  { ...base, startMs: T0 + 300_000, endMs: T0 + 700_000 },
  { ...base, attribute: { key: 'EventName', value: 'PutObject' }, startMs: T0 + 61_000, endMs: T0 + 119_000 },
];

/** Every answer of a query, paged 37 at a time, as "time/seq". */
async function allPages(log: SqliteEventLog, q: Omit<HistoryQuery, 'limit'>): Promise<string[]> {
  const out: string[] = [];
  let before: HistoryQuery['before'];
  for (;;) {
    const page = await log.lookup({ ...q, limit: 37, ...(before ? { before } : {}) });
    out.push(...page.map((r) => `${r.timeMs}/${r.seq}`));
    if (page.length < 37) return out;
    before = { timeMs: page[page.length - 1]!.timeMs, seq: page[page.length - 1]!.seq };
  }
}

/** What a query must find among `events` (seqs from 1, in order), newest first. */
function expected(q: Omit<HistoryQuery, 'limit'>, events: IndexedEvent[], firstSeq = 1): string[] {
  const v = q.attribute?.value;
  const match = (e: IndexedEvent): boolean => {
    switch (q.attribute?.key) {
      case undefined:
        return true;
      case 'EventName':
        return e.eventName === v;
      case 'Username':
        return e.username === v;
      case 'ReadOnly':
        return String(e.readOnly) === v;
      case 'ResourceName':
        return e.resources.some((r) => r.name === v);
      default:
        throw new Error('not in this test');
    }
  };
  return events
    .map((e, i) => ({ e, seq: firstSeq + i }))
    .filter(({ e }) => e.timeMs >= q.startMs && e.timeMs <= q.endMs && match(e))
    .sort((a, b) => b.e.timeMs - a.e.timeMs || b.seq - a.seq)
    .map(({ e, seq }) => `${e.timeMs}/${seq}`);
}

/** Run `body` on the log at `file`, opened (which indexes what is pending) and closed after. */
async function withOpenLog(file: string, body: (log: SqliteEventLog) => Promise<void>): Promise<void> {
  const log = new SqliteEventLog(file, NO_INDEXER);
  try {
    await body(log);
  } finally {
    await log.close();
  }
}

/** Rows and entries of the index file now. */
function chunkStats(file: string): { rows: number; entries: number; widest: number; fullest: number } {
  const db = new Database(historyFile(file), { readonly: true });
  try {
    const r = db.prepare('SELECT count(*) AS rows, sum(n) AS entries, max(n) AS fullest FROM hist').get() as { rows: number; entries: number; fullest: number };
    // A chunk's blob holds (u32 time back, i32 seq back) pairs: the widest span of any chunk.
    let widest = 0;
    for (const { older } of db.prepare('SELECT older FROM hist WHERE older IS NOT NULL').all() as { older: Buffer }[]) {
      for (let o = 0; o < older.length; o += 8) widest = Math.max(widest, older.readUInt32LE(o));
    }
    return { ...r, widest };
  } finally {
    db.close();
  }
}

test('chunked entries: pages, counts and ranges answer as the log itself does, over many chunks and times out of order', () =>
  withLogFile(async (file) => {
    const log = new SqliteEventLog(file, NO_INDEXER);
    await log.append(EVENTS);
    // Everything in the log's unindexed tail first: the reference.
    const tail: string[][] = [];
    for (const q of QUERIES) tail.push(await allPages(log, q));
    const tailCounts = await log.countHistory({ ...QUERIES[1]!, bucketMs: 90_000 });
    await log.close(); // indexes it all
    await withOpenLog(file, async (log) => {
      const stats = chunkStats(file);
      // Kept in chunks (not a row an entry), none fuller or wider than allowed.
      assert.ok(stats.rows < stats.entries / 2, `${stats.rows} rows for ${stats.entries} entries`);
      assert.ok(stats.fullest <= CHUNK_ENTRIES && stats.widest <= CHUNK_SPAN_MS, JSON.stringify(stats));
      for (let i = 0; i < QUERIES.length; i++) {
        const got = await allPages(log, QUERIES[i]!);
        assert.deepEqual(got, tail[i], `query ${i}: the index and the tail agree`);
        assert.deepEqual(got, expected(QUERIES[i]!, EVENTS), `query ${i}: every matching event once, newest first`);
        assert.ok(got.length > 0);
      }
      assert.deepEqual(await log.countHistory({ ...QUERIES[1]!, bucketMs: 90_000 }), tailCounts);
      assert.equal(tailCounts.reduce((n, b) => n + b.count, 0), expected(QUERIES[1]!, EVENTS).length);
    });
  }));

test('a purge that cuts through chunks leaves exactly the newer events, in lookups and counts', () =>
  withLogFile(async (file) => {
    await closedLogOf(file, EVENTS);
    await withOpenLog(file, async (log) => {
      // Mid-window, and not on a minute: chunks hold events on both sides of it.
      const cutoff = T0 + 610_500;
      const kept = EVENTS.map((e, i) => ({ e, seq: i + 1 })).filter(({ e }) => e.timeMs >= cutoff);
      const purged = await log.purge(cutoff);
      // The log keeps its newest row even when expired (see purge); no lookup shows it.
      assert.ok(purged >= N - kept.length - 1 && purged <= N - kept.length, `${purged} purged`);
      for (const q of QUERIES) {
        const want = kept
          .filter(({ seq }) => expected(q, EVENTS).includes(`${EVENTS[seq - 1]!.timeMs}/${seq}`))
          .sort((a, b) => b.e.timeMs - a.e.timeMs || b.seq - a.seq)
          .map(({ e, seq }) => `${e.timeMs}/${seq}`);
        assert.deepEqual(await allPages(log, q), want);
      }
      const counts = await log.countHistory({ ...base, bucketMs: 60_000 });
      assert.equal(
        counts.reduce((n, b) => n + b.count, 0),
        kept.length,
      );
    });
  }));

test('an index file of the older layout (an entry a row) is built again in chunks, with the same answers', () =>
  withLogFile(async (file) => {
    await closedLogOf(file, EVENTS);
    // The older layout, with stale content that must not survive.
    const db = new Database(historyFile(file));
    db.exec(`DROP TABLE hist;
      CREATE TABLE hist (scope INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL, time_ms INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (scope, kind, value, time_ms, seq)) WITHOUT ROWID;
      INSERT INTO hist VALUES (1, 0, '', ${T0}, 999999);`);
    db.close();
    await withOpenLog(file, async (log) => {
      assert.equal(await log.indexLag(), 0); // a short log is indexed again as it opens
      for (const q of QUERIES) assert.deepEqual(await allPages(log, q), expected(q, EVENTS));
      assert.equal(((await log.countHistory({ ...base, bucketMs: 3_600_000 })) as { count: number }[]).reduce((n, b) => n + b.count, 0), N);
    });
    const check = new Database(historyFile(file), { readonly: true });
    try {
      assert.ok((check.prepare("SELECT name FROM pragma_table_info('hist')").all() as { name: string }[]).some((c) => c.name === 'older'));
    } finally {
      check.close();
    }
  }));
