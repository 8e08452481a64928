import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Open a SQLite database in WAL mode with full durability on commit. `pageSize`: the page size of
 * a database file made now (a file that has pages keeps theirs).
 */
export function openSqlite(file: string, opts: { pageSize?: number } = {}): Database.Database {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  if (opts.pageSize !== undefined) db.pragma(`page_size = ${opts.pageSize}`);
  // Owner only: the metastore holds secret keys and digest signing keys, the log holds audit data.
  // (SQLite gives the -wal and -shm files the database file's permissions.)
  chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so an acknowledged event survives kill -9 and power loss.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // Index maintenance for a large log needs more than the 2 MB default page cache.
  db.pragma('cache_size = -65536');
  return db;
}

/** A prepare-once statement lookup: preparing costs more than most of the queries it serves. */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let st = cache.get(sql);
    if (!st) cache.set(sql, (st = db.prepare(sql)));
    return st;
  };
}
