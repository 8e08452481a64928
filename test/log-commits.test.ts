/**
 * The event log's writer takes callers' batches as they are sent, without each waiting for the
 * commit before it: batches that reach it together share one transaction. They must still be
 * numbered in the order sent, and a batch that cannot be stored must fail alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import { FORGET_IDS_SLICE } from '../src/storage/sqlite/log-worker.js';
import { BACKGROUND_NICE } from '../src/storage/sqlite/thread-priority.js';
import { historyFile } from '../src/storage/sqlite/history-index.js';
import { indexEvent } from '../src/pipeline/index-keys.js';
import { apiCallRecord } from '../src/domain/api-call-record.js';
import type { IndexedEvent } from '../src/storage/interfaces.js';

const ACCOUNT = '111122223333';

function event(name: string): IndexedEvent {
  return indexEvent(
    apiCallRecord({
      accountId: ACCOUNT,
      region: 'us-east-1',
      userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
      sourceIPAddress: '192.0.2.1',
      requestId: name,
      time: new Date(),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: name,
      readOnly: true,
      requestParameters: null,
      responseElements: null,
    }),
  );
}

async function withLog(body: (log: SqliteEventLog, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-commits-'));
  const file = join(dir, 'events.db');
  const log = new SqliteEventLog(file);
  try {
    await body(log, file);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = async (log: SqliteEventLog): Promise<string[]> =>
  (await log.readFrom(0, 10_000)).map((e) => (JSON.parse(e.json.toString('utf8')) as { eventName: string }).eventName);

test('batches sent together are numbered in the order they were sent', { timeout: 30_000 }, () =>
  withLog(async (log) => {
    const sent = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 7) }, (_, k) => event(`B${i}-${k}`)));
    const answers = await Promise.all(sent.map((b) => log.append(b)));
    const seqs = answers.flat().map((a) => a.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length);
    assert.deepEqual(await names(log), sent.flat().map((e) => e.eventName));
  }));

test('a batch the log cannot store fails alone; the batches sent with it are committed', { timeout: 30_000 }, () =>
  withLog(async (log) => {
    // No record text: the log's NOT NULL column refuses it, inside the transaction it shares.
    const broken = { ...event('Broken'), json: null as unknown as string };
    const results = await Promise.allSettled([log.append([event('Before')]), log.append([event('Also'), broken]), log.append([event('After')])]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /NOT NULL/);
    // Nothing of the failed batch was kept, not even its good event.
    assert.deepEqual(await names(log), ['Before', 'After']);
  }));

test('an idempotency id records one event: again in the same batch or a later one, the first answers; remembered over a day ago, a new one is recorded', { timeout: 30_000 }, () =>
  withLog(async (log, file) => {
    const withId = (name: string, id: string): IndexedEvent => ({ ...event(name), idempotencyId: id });
    const first = await log.append([withId('A', 'id-a'), withId('A again', 'id-a'), withId('B', 'id-b')]);
    assert.deepEqual(first.map((a) => a.duplicate), [false, true, false]);
    assert.equal(first[1]!.eventId, first[0]!.eventId);
    assert.equal(first[1]!.seq, first[0]!.seq);
    // The duplicate's row is gone and its place is taken: the log's positions have no gap.
    assert.equal(first[2]!.seq, first[0]!.seq + 1);
    const later = await log.append([withId('B later', 'id-b'), withId('C', 'id-c')]);
    assert.deepEqual(later.map((a) => a.duplicate), [true, false]);
    assert.equal(later[0]!.eventId, first[2]!.eventId);
    assert.equal(later[1]!.seq, first[2]!.seq + 1);
    assert.deepEqual(await names(log), ['A', 'B', 'C']);
    // id-a was remembered 25 hours ago: it names a new event now, and is remembered for that one.
    const db = new Database(file);
    db.pragma('busy_timeout = 5000');
    db.prepare("UPDATE ingest_ids SET at_ms = at_ms - 25 * 3600 * 1000 WHERE id = 'id-a'").run();
    db.close();
    const [renewed] = await log.append([withId('A renewed', 'id-a')]);
    assert.equal(renewed!.duplicate, false);
    assert.notEqual(renewed!.eventId, first[0]!.eventId);
    const [again] = await log.append([withId('A renewed again', 'id-a')]);
    assert.equal(again!.duplicate, true);
    assert.equal(again!.eventId, renewed!.eventId);
    assert.deepEqual(await names(log), ['A', 'B', 'C', 'A renewed']);
  }));

test('a purge forgets the idempotency ids of over a day ago, slice after slice, and keeps the rest', { timeout: 60_000 }, () =>
  withLog(async (log, file) => {
    // More than two slices' worth of ids remembered 25 hours ago, written straight into the table.
    const expired = FORGET_IDS_SLICE * 2 + 123;
    const db = new Database(file);
    db.pragma('busy_timeout = 5000');
    const old = Date.now() - 25 * 3600 * 1000;
    const put = db.prepare('INSERT INTO ingest_ids (account_id, id, seq, event_id, at_ms) VALUES (?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < expired; i++) put.run(ACCOUNT, `old-${i}`, 1, `e-${i}`, old + i);
    })();
    db.close();
    const [kept] = await log.append([{ ...event('Kept'), idempotencyId: 'fresh' }]);
    assert.equal(await log.purge(0), 0, 'no event is older than the start of time');
    const left = new Database(file, { readonly: true });
    try {
      assert.deepEqual(left.prepare('SELECT id FROM ingest_ids').all(), [{ id: 'fresh' }]);
    } finally {
      left.close();
    }
    const [again] = await log.append([{ ...event('Kept again'), idempotencyId: 'fresh' }]);
    assert.equal(again!.duplicate, true);
    assert.equal(again!.eventId, kept!.eventId);
  }));

test('recordsJson joins the records of the seqs asked for, in order, whether they run without a gap or not', { timeout: 30_000 }, () =>
  withLog(async (log) => {
    const appended = await log.append(['A', 'B', 'C', 'D', 'E', 'F'].map((n) => event(n)));
    const seqs = appended.map((a) => a.seq);
    const text = new Map((await log.readFrom(0, 100)).map((e) => [e.seq, e.json.toString('utf8')]));
    const joined = async (of: number[]): Promise<string> => (await log.recordsJson(of)).toString('utf8');
    const expected = (of: number[]): string => of.map((q) => text.get(q)!).join(',');
    const run = seqs.slice(1, 5);
    const gaps = [seqs[0]!, seqs[2]!, seqs[5]!];
    assert.equal(await joined(run), expected(run));
    assert.equal(await joined(gaps), expected(gaps));
    assert.equal(await joined([seqs[3]!]), expected([seqs[3]!]));
    assert.equal(await joined([]), '');
    // Joined, they are a log file's records: each one whole, in the order asked.
    const names = (JSON.parse(`[${await joined(gaps)}]`) as { requestID: string }[]).map((r) => r.requestID);
    assert.deepEqual(names, ['A', 'C', 'F']);
    const summaries = await log.readSummariesFrom(seqs[1]!, 3);
    assert.deepEqual(summaries.map((e) => e.seq), seqs.slice(2, 5));
    assert.ok(summaries.every((e) => !('json' in e) && e.accountId === ACCOUNT && e.category === 'management'));
  }));

test('a new log and its history index have 16 KiB pages', { timeout: 30_000 }, () =>
  withLog(async (_log, file) => {
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('page_size', { simple: true }), 16_384);
      db.prepare('ATTACH DATABASE ? AS hx').run(historyFile(file));
      assert.equal(db.pragma('hx.page_size', { simple: true }), 16_384);
    } finally {
      db.close();
    }
  }));

test('the maintenance thread runs at a lower priority than the threads requests wait on', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux’s' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-nice-'));
  const nice = (): number[] =>
    readdirSync('/proc/self/task').map((t) => {
      try {
        // Field 19 of stat, counted after the command name (which may hold spaces) closes.
        const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      } catch {
        return NaN; // the thread ended meanwhile
      }
    });
  const before = nice().filter((n) => n === BACKGROUND_NICE).length;
  const log = new SqliteEventLog(join(dir, 'events.db'), { readIntoMemory: false });
  try {
    let lowered = 0;
    for (let waited = 0; waited < 5000 && lowered <= before; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
      lowered = nice().filter((n) => n === BACKGROUND_NICE).length;
    }
    assert.equal(lowered, before + 1, 'one thread more at the background nice value: the maintenance thread');
    // This thread keeps its own.
    assert.notEqual(getPriority(0), BACKGROUND_NICE);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The WAL's checkpoint sequence number (its header's bytes 12–15): one more each time the WAL starts over. */
function walRestarts(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const head = Buffer.alloc(32);
    readSync(fd, head, 0, 32, 0);
    return head.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

test('under commits that never pause, the WAL starts over instead of growing', { timeout: 60_000 }, () =>
  withLog(async (log, file) => {
    // Commits without a pause for four seconds, as lookups at 1,000/s recording themselves make
    // them: no moment between two commits is left for a checkpoint on another thread to find the
    // WAL all copied, so only the writer itself can start it over (once a second).
    await log.append([event('first')]);
    const before = walRestarts(file);
    const started = Date.now();
    let n = 0;
    // Four callers, each sending its next batch as the one before is committed: commits back to back.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < started + 4000) await log.append([event(`W${n++}`), event(`W${n++}`)]);
      }),
    );
    assert.ok(n > 600, `only ${n} events appended`);
    const restarts = walRestarts(file) - before;
    assert.ok(restarts >= 2, `the WAL started over ${restarts} times in four seconds of commits (${statSync(`${file}-wal`).size} bytes now)`);
  }));
