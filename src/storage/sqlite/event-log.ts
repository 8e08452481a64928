/** The event log and its history index, in SQLite. */
import type Database from 'better-sqlite3';
import type { EventLog, HistoryQuery, HistoryRow, IndexedEvent, LogEntry } from '../interfaces.js';
import { openSqlite } from './open.js';
import { startCheckpointer, type CheckpointerHandle } from './checkpointer.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  category TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  event_source TEXT NOT NULL,
  username TEXT,
  access_key_id TEXT,
  read_only INTEGER,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ev_time ON events(account_id, region, category, time_ms, seq);
CREATE INDEX IF NOT EXISTS ev_id ON events(account_id, region, category, event_id);
CREATE INDEX IF NOT EXISTS ev_name ON events(account_id, region, category, event_name, time_ms, seq);
CREATE INDEX IF NOT EXISTS ev_source ON events(account_id, region, category, event_source, time_ms, seq);
CREATE INDEX IF NOT EXISTS ev_user ON events(account_id, region, category, username, time_ms, seq);
CREATE INDEX IF NOT EXISTS ev_key ON events(account_id, region, category, access_key_id, time_ms, seq);
CREATE INDEX IF NOT EXISTS ev_ro ON events(account_id, region, category, read_only, time_ms, seq);
CREATE TABLE IF NOT EXISTS event_resources (
  seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  category TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  resource_type TEXT,
  resource_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS er_type ON event_resources(account_id, region, category, resource_type, time_ms, seq);
CREATE INDEX IF NOT EXISTS er_name ON event_resources(account_id, region, category, resource_name, time_ms, seq);
CREATE INDEX IF NOT EXISTS er_seq ON event_resources(seq);
CREATE TABLE IF NOT EXISTS checkpoints (reader TEXT PRIMARY KEY, seq INTEGER NOT NULL, state TEXT);
`;

/**
 * The index each lookup attribute walks. Named explicitly: without statistics SQLite's planner
 * prefers the time index and filters, which is 100× slower for a selective attribute.
 */
const INDEX: Record<string, string> = {
  EventName: 'ev_name',
  EventSource: 'ev_source',
  Username: 'ev_user',
  AccessKeyId: 'ev_key',
  ReadOnly: 'ev_ro',
  EventId: 'ev_id',
  ResourceType: 'er_type',
  ResourceName: 'er_name',
};

const COLUMN: Record<string, string> = {
  EventName: 'event_name',
  EventSource: 'event_source',
  Username: 'username',
  AccessKeyId: 'access_key_id',
  ReadOnly: 'read_only',
};

export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertResource: Database.Statement;
  private readonly appendTx: (events: IndexedEvent[]) => number[];
  private readonly stmtCache = new Map<string, Database.Statement>();

  private readonly checkpointer: CheckpointerHandle;

  constructor(file: string) {
    this.db = openSqlite(file);
    this.db.exec(SCHEMA);
    // Checkpoints run on a worker thread; commits here only append to the WAL.
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = startCheckpointer(file);
    this.insertEvent = this.db.prepare(
      `INSERT INTO events (account_id, region, category, time_ms, event_id, event_name, event_source, username, access_key_id, read_only, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertResource = this.db.prepare(
      `INSERT INTO event_resources (seq, account_id, region, category, time_ms, resource_type, resource_name) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.appendTx = this.db.transaction((events: IndexedEvent[]) => {
      const seqs: number[] = [];
      for (const e of events) {
        const info = this.insertEvent.run(
          e.accountId,
          e.region,
          e.category,
          e.timeMs,
          e.eventId,
          e.eventName,
          e.eventSource,
          e.username,
          e.accessKeyId,
          e.readOnly === null ? null : e.readOnly ? 1 : 0,
          e.json,
        );
        const seq = Number(info.lastInsertRowid);
        for (const r of e.resources) {
          this.insertResource.run(seq, e.accountId, e.region, e.category, e.timeMs, r.type, r.name);
        }
        seqs.push(seq);
      }
      return seqs;
    });
  }

  async append(events: IndexedEvent[]): Promise<number[]> {
    return this.appendTx(events);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmtCache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmtCache.set(sql, s);
    }
    return s;
  }

  async lookup(q: HistoryQuery): Promise<HistoryRow[]> {
    const params: unknown[] = [q.accountId, q.region, q.category, q.startMs, q.endMs];
    let table = 'events e INDEXED BY ev_time';
    let filter = '';
    let t = 'e';
    const key = q.attribute?.key;
    if (q.attribute && key) {
      table = `events e INDEXED BY ${INDEX[key]}`;
      if (key === 'ResourceType' || key === 'ResourceName') {
        table = `event_resources r INDEXED BY ${INDEX[key]}`;
        t = 'r';
        filter = key === 'ResourceType' ? ' AND r.resource_type = ?' : ' AND r.resource_name = ?';
        params.push(q.attribute.value);
      } else if (key === 'EventId') {
        filter = ' AND e.event_id = ?';
        params.push(q.attribute.value);
      } else if (key === 'ReadOnly') {
        filter = ' AND e.read_only = ?';
        params.push(q.attribute.value === 'true' ? 1 : 0);
      } else {
        filter = ` AND e.${COLUMN[key]} = ?`;
        params.push(q.attribute.value);
      }
    }
    let keyset = '';
    if (q.before) {
      keyset = ` AND (${t}.time_ms < ? OR (${t}.time_ms = ? AND ${t}.seq < ?))`;
      params.push(q.before.timeMs, q.before.timeMs, q.before.seq);
    }
    params.push(q.limit);
    const base =
      `SELECT ${t}.seq AS seq, ${t}.time_ms AS timeMs FROM ${table}` +
      ` WHERE ${t}.account_id = ? AND ${t}.region = ? AND ${t}.category = ? AND ${t}.time_ms >= ? AND ${t}.time_ms <= ?` +
      filter +
      keyset +
      ` ORDER BY ${t}.time_ms DESC, ${t}.seq DESC LIMIT ?`;
    const sql = table.startsWith('events e')
      ? base.replace('SELECT e.seq AS seq, e.time_ms AS timeMs', 'SELECT e.seq AS seq, e.time_ms AS timeMs, e.json AS json')
      : `SELECT x.seq AS seq, x.timeMs AS timeMs, ev.json AS json FROM (${base}) x JOIN events ev ON ev.seq = x.seq ORDER BY x.timeMs DESC, x.seq DESC`;
    return this.stmt(sql).all(...params) as HistoryRow[];
  }

  async readFrom(afterSeq: number, limit: number): Promise<LogEntry[]> {
    const rows = this.stmt(
      `SELECT seq, json, account_id AS accountId, region, category, event_source AS eventSource, event_name AS eventName, read_only AS ro
       FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
    ).all(afterSeq, limit) as (Omit<LogEntry, 'readOnly'> & { ro: number | null })[];
    return rows.map((r) => ({
      seq: r.seq,
      json: r.json,
      accountId: r.accountId,
      region: r.region,
      category: r.category,
      eventSource: r.eventSource,
      eventName: r.eventName,
      readOnly: r.ro === null ? null : r.ro === 1,
    }));
  }

  async getCheckpoint(reader: string): Promise<number> {
    const row = this.stmt('SELECT seq FROM checkpoints WHERE reader = ?').get(reader) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async setCheckpoint(reader: string, seq: number): Promise<void> {
    this.stmt('INSERT INTO checkpoints (reader, seq) VALUES (?, ?) ON CONFLICT(reader) DO UPDATE SET seq = excluded.seq').run(reader, seq);
  }

  async getReaderState(reader: string): Promise<{ seq: number; state: string | null }> {
    const row = this.stmt('SELECT seq, state FROM checkpoints WHERE reader = ?').get(reader) as { seq: number; state: string | null } | undefined;
    return row ?? { seq: 0, state: null };
  }

  async setReaderState(reader: string, seq: number, state: string | null): Promise<void> {
    this.stmt('INSERT INTO checkpoints (reader, seq, state) VALUES (?, ?, ?) ON CONFLICT(reader) DO UPDATE SET seq = excluded.seq, state = excluded.state').run(reader, seq, state);
  }

  async deleteReader(reader: string): Promise<void> {
    this.stmt('DELETE FROM checkpoints WHERE reader = ?').run(reader);
  }

  async lastSeq(): Promise<number> {
    return (this.stmt('SELECT coalesce(max(seq), 0) AS s FROM events').get() as { s: number }).s;
  }

  async purge(beforeMs: number): Promise<number> {
    let total = 0;
    // Delete in slices so a large purge never blocks ingest for long.
    for (;;) {
      const info = this.stmt(
        'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE time_ms < ? ORDER BY seq LIMIT 5000)',
      ).run(beforeMs);
      total += info.changes;
      if (info.changes < 5000) break;
      await new Promise((r) => setImmediate(r));
    }
    return total;
  }

  async count(): Promise<number> {
    return (this.stmt('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.db.open) {
      await this.checkpointer.stop();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
