/**
 * One server per data folder. Two servers on one folder would both deliver
 * every trail's files, run every rule's targets twice and write every Lake
 * store twice; the second one refuses to start instead. The lock is a file
 * created exclusively and naming its process; a lock whose process has gone
 * (kill -9, a crash, a container restarted) is taken over. The admin and
 * validate-logs commands read and write the folder beside a running server,
 * as documented, and take no lock.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'server.lock';

export class DataFolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly startedAt: string | undefined,
  ) {
    super(
      `The data folder ${dataDir} is in use by another opentrail server (process ${pid}${startedAt ? `, started ${startedAt}` : ''}); ` +
        'stop that one first, or give this one a data folder of its own with --data-dir',
    );
    this.name = 'DataFolderInUseError';
  }
}

interface Holder {
  pid: number;
  startedAt?: string;
}

function holderOf(file: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' ? { pid: h.pid, startedAt: typeof h.startedAt === 'string' ? h.startedAt : undefined } : undefined;
  } catch {
    return undefined; // gone meanwhile, or cut short by a crash while it was written
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data folder for this process; returns the release (idempotent). A lock held by this
 * same process is taken over too: it is left from a server of this process that never closed.
 */
export function lockDataFolder(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
      const holder = holderOf(file);
      if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new DataFolderInUseError(dataDir, holder.pid, holder.startedAt);
      try {
        unlinkSync(file);
      } catch {
        // another starter took it over first: try again
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    } finally {
      closeSync(fd);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      try {
        if (holderOf(file)?.pid === process.pid) unlinkSync(file);
      } catch {
        // already gone
      }
    };
  }
}
