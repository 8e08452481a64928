/**
 * The history index is built behind the log; lookups merge it with the unindexed tail.
 * The same query must give the same answer whether its events are indexed, still in the
 * tail, or split between the two — and purging must leave neither rows nor entries behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import { NO_INDEXER, closedLogOf, withLogFile } from './log-files.js';
import { HistoryIndex, attachHistory, historyFile } from '../src/storage/sqlite/history-index.js';
import { statementCache } from '../src/storage/sqlite/open.js';
import { indexEvent } from '../src/pipeline/index-keys.js';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { HistoryQuery, LookupKey } from '../src/storage/interfaces.js';

const ACCOUNT = '111122223333';
const T0 = Date.UTC(2026, 10, 1);

function event(i: number) {
  return indexEvent(
    apiCallRecord({
      accountId: i % 7 === 0 ? '999988887777' : ACCOUNT,
      region: i % 5 === 0 ? 'eu-west-1' : 'us-east-1',
      userIdentity: { type: 'IAMUser', principalId: 'AIDA1', arn: `arn:aws:iam::${ACCOUNT}:user/u${i % 3}`, accountId: ACCOUNT, accessKeyId: `AKIA${i % 4}`, userName: `u${i % 3}` },
      sourceIPAddress: '192.0.2.1',
      requestId: `r${i}`,
      // Several events share a timestamp, so the (time, seq) order matters.
      time: new Date(T0 + Math.floor(i / 3) * 1000),
      eventSource: `s${i % 2}.amazonaws.com`,
      eventName: `Op${i % 6}`,
      readOnly: i % 2 === 0,
      requestParameters: null,
      responseElements: null,
      resources: i % 4 === 0 ? [{ type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::b${i % 8}` }] : undefined,
    }),
  );
}

const queries: HistoryQuery[] = [];
const attrs: [LookupKey, string][] = [
  ['EventName', 'Op1'],
  ['EventSource', 's0.amazonaws.com'],
  ['Username', 'u2'],
  ['AccessKeyId', 'AKIA3'],
  ['ReadOnly', 'true'],
  ['ReadOnly', 'false'],
  ['ResourceType', 'AWS::S3::Bucket'],
  ['ResourceName', 'arn:aws:s3:::b4'],
];
for (const limit of [5, 1000]) {
  queries.push({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: 0, endMs: Date.now(), limit });
  queries.push({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: T0 + 20_000, endMs: T0 + 40_000, limit });
  queries.push({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', startMs: 0, endMs: Date.now(), limit, before: { timeMs: T0 + 30_000, seq: 95 } });
  for (const [key, value] of attrs) queries.push({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', attribute: { key, value }, startMs: 0, endMs: Date.now(), limit });
}

async function answers(log: SqliteEventLog): Promise<string[]> {
  const out: string[] = [];
  for (const q of queries) out.push(JSON.stringify((await log.lookup(q)).map((r) => r.seq)));
  return out;
}

const EVENTS = Array.from({ length: 300 }, (_, i) => event(i));

/** No lookup finds an event older than `cutoff`. */
async function assertNothingBefore(log: SqliteEventLog, cutoff: number): Promise<void> {
  for (const q of queries) {
    for (const r of await log.lookup({ ...q, startMs: 0 })) assert.ok(r.timeMs >= cutoff);
  }
}

test('lookups agree whether events are indexed, in the tail, or split between them', () =>
  withLogFile(async (file, dir) => {
    const events = EVENTS;
    // All in the tail: the indexer never runs while this log is open.
    let log = new SqliteEventLog(file, NO_INDEXER);
    await log.append(events);
    const tail = await answers(log);
    await log.close(); // closing indexes what is pending
    log = new SqliteEventLog(file, NO_INDEXER);
    const indexed = await answers(log);
    // Split: the first half indexed, the second half in the tail.
    let other = new SqliteEventLog(join(dir, 'split.db'), NO_INDEXER);
    await other.append(events.slice(0, 150));
    await other.close();
    other = new SqliteEventLog(join(dir, 'split.db'), NO_INDEXER);
    await other.append(events.slice(150));
    const split = await answers(other);
    await other.close();
    assert.deepEqual(tail, indexed);
    assert.deepEqual(split, indexed);
    // Sanity: the answers are not trivially empty, and an EventId lookup finds its event.
    assert.ok(indexed.filter((a) => a !== '[]').length >= queries.length - 2);
    const id = events[123]!.eventId;
    const hit = await log.lookup({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', attribute: { key: 'EventId', value: id }, startMs: 0, endMs: Date.now(), limit: 50 });
    assert.equal(hit.length, 1);
    assert.equal((JSON.parse(hit[0]!.json) as { eventID: string }).eventID, id);
    // Purging everything older than the 200th second leaves only newer events, with no stale entries.
    const cutoff = T0 + 60_000;
    const purged = await log.purge(cutoff);
    assert.equal(purged, 180);
    assert.equal(await log.count(), 120);
    await assertNothingBefore(log, cutoff);
    await log.close();
  }));

test('the index lives in its own file; a data folder that kept it in the log\'s file has it rebuilt there', () =>
  withLogFile(async (file) => {
    await closedLogOf(file, EVENTS);
    assert.ok(existsSync(historyFile(file)));
    const tables = (f: string): string[] => {
      const db = new Database(f, { readonly: true });
      try {
        return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      } finally {
        db.close();
      }
    };
    assert.deepEqual(tables(historyFile(file)), ['hist', 'hist_minutes', 'log_meta', 'purge_pending', 'scopes']);
    assert.ok(!tables(file).includes('hist'));
    let log = new SqliteEventLog(file, NO_INDEXER);
    const before = await answers(log);
    await log.close();
    // The old layout: the index's tables in the log's file (with stale content), no index file.
    rmSync(historyFile(file));
    rmSync(`${historyFile(file)}-wal`, { force: true });
    rmSync(`${historyFile(file)}-shm`, { force: true });
    const db = new Database(file);
    db.exec(`CREATE TABLE scopes (id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, category TEXT NOT NULL, UNIQUE (account_id, region, category));
      CREATE TABLE hist (scope INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL, time_ms INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (scope, kind, value, time_ms, seq)) WITHOUT ROWID;
      CREATE TABLE log_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE hist_minutes (scope INTEGER NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (scope, kind, value, minute)) WITHOUT ROWID;
      INSERT INTO log_meta VALUES ('indexed_seq', 300), ('minutes_built', 1);`);
    db.close();
    log = new SqliteEventLog(file, NO_INDEXER);
    assert.equal(await log.indexLag(), 0);
    assert.deepEqual(await answers(log), before);
    await log.close();
    assert.deepEqual(tables(file), ['checkpoints', 'events', 'ingest_ids', 'reader_jobs']);
  }));

test('a maintenance thread that ends is replaced, and the index catches up with the log', () =>
  withLogFile(async (file) => {
    const until = async (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const events = EVENTS;
    // The thread (a copy of this environment) ends after its first index batch.
    process.env.OPENTRAIL_FAILPOINT = 'maintainer-exit';
    const log = new SqliteEventLog(file, { indexIntervalMs: 20 });
    delete process.env.OPENTRAIL_FAILPOINT;
    try {
      await log.append(events.slice(0, 150));
      await until('the first batch indexed', async () => (await log.indexLag()) === 0, 5000);
      await new Promise((r) => setTimeout(r, 200)); // the thread has ended by now
      await log.append(events.slice(150));
      await until('the events after the thread ended indexed', async () => (await log.indexLag()) === 0, 10_000);
      const hit = await log.lookup({ accountId: ACCOUNT, region: 'us-east-1', category: 'management', attribute: { key: 'EventId', value: events[299]!.eventId }, startMs: 0, endMs: Date.now(), limit: 50 });
      assert.equal(hit.length, events[299]!.accountId === ACCOUNT && events[299]!.region === 'us-east-1' ? 1 : 0);
    } finally {
      await log.close();
    }
  }));

test('a purge indexes a short backlog first, and leaves a long one to the maintenance thread', () =>
  withLogFile(async (file) => {
    const log = new SqliteEventLog(file, NO_INDEXER);
    try {
      // A short backlog: indexed, then purged.
      await log.append(EVENTS.slice(0, 100));
      assert.equal(await log.purge(T0 + 3_600_000), 100);
      assert.equal(await log.indexLag(), 0);
      assert.equal(await log.count(), 1, 'the newest row stays');
      // A long one: it would hold the request thread, so it is purged once indexed, next time.
      const many = Array.from({ length: 2_100 }, (_, i) => event(i % 300));
      await log.append(many);
      assert.equal(await log.purge(T0 + 3_600_000), 0);
      assert.equal(await log.indexLag(), 2_100);
    } finally {
      await log.close();
    }
  }));

test('a purge cut short between its two files is finished by the next one', () =>
  withLogFile(async (file) => {
    const cutoff = T0 + 60_000;
    await closedLogOf(file, EVENTS);
    // The first half of a purge slice, as a crash right after it leaves things: the index's
    // entries gone and the seqs noted, the log's rows still there.
    const db = new Database(file);
    attachHistory(db, file);
    const taken = db.transaction(() => new HistoryIndex(db, statementCache(db)).takeExpired(cutoff, 5000))();
    db.close();
    assert.equal(taken.length, 180);
    const log = new SqliteEventLog(file, NO_INDEXER);
    assert.equal(await log.count(), 300);
    assert.equal(await log.purge(cutoff), 180);
    assert.equal(await log.count(), 120);
    await assertNothingBefore(log, cutoff);
    await log.close();
  }));
