/** Background threads of the event log yield the cores to the threads requests wait on. */
import { setPriority } from 'node:os';

/**
 * The nice value of background threads (the maintenance thread, the read into memory at open):
 * when the cores are busy, the threads a request waits on — the request thread, the log's writer,
 * the reader — go first. The maintenance thread's index batches and checkpoints otherwise took
 * the core a lookup's page or commit was waiting for: EventSource at 1,000 lookups/s had p99s of
 * 17.9/17.8 and 9.3/15.5 ms with it against 38.8/12.4 and 24.6/14.8 without (runs alternating),
 * and in three more pairs 12.8/10.2, 10.7/13.9 and 8.8/10.5 against 11.4/16.7, 12.4/10.0 and
 * 16.4/19.3; sustained ingest was no slower (36,971 / 35,883 against 36,258 / 33,429 events/s).
 * Linux gives each thread its own nice value, and setPriority(0, …) sets the calling thread's;
 * elsewhere it may set the process's, so it is done on Linux only.
 */
export const BACKGROUND_NICE = 10;

export function lowerThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(0, BACKGROUND_NICE);
  } catch {
    // not allowed here: the thread runs at the process's priority
  }
}
