/** Event logs in fresh folders, for the tests of the log and its history index. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';
import type { IndexedEvent } from '../src/storage/interfaces.js';

/** Opened with an indexer that never runs while the log is open (only open and close index). */
export const NO_INDEXER = { indexIntervalMs: 3_600_000 };

/** Run `body` with the path of an event log in a fresh folder (also given), removed after. */
export async function withLogFile(body: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'opentrail-log-'));
  try {
    await body(join(dir, 'events.db'), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A closed log at `file` holding `events`, all indexed (closing indexes what is pending). */
export async function closedLogOf(file: string, events: IndexedEvent[]): Promise<void> {
  const log = new SqliteEventLog(file, NO_INDEXER);
  await log.append(events);
  await log.close();
}
