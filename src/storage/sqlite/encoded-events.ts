/**
 * LookupEvents entries already encoded, by log position, kept by the thread that reads pages.
 *
 * A recorded event never changes, so its encoded entry can be kept and spliced into every page
 * that shows it again: the newest pages of an account, or of an attribute, are asked for over and
 * over (the console's event history, a CLI paging the same view), and each read of a row costs
 * more than finding it. SQLite's own page cache cannot keep them: in WAL mode a connection drops
 * its whole cache whenever another connection has committed, which here is every lookup (each
 * one records itself). The cache is bounded by the characters it holds and forgets entries in
 * the order they came, except that one shown again since it was last looked at gets a second
 * chance (it goes to the back): a hit costs a flag, not a reordering of the map.
 */
export interface EncodedEvent {
  /** The event's time as the index has it: an entry is used only for the same (seq, time). */
  timeMs: number;
  eventId: string;
  text: string;
  /** Shown again since the eviction scan last passed it. */
  shown?: boolean;
}

export class EncodedEvents {
  private readonly entries = new Map<number, EncodedEvent>();
  private size = 0;
  hits = 0;
  misses = 0;

  /** `maxChars`: most characters of encoded text kept (0 keeps nothing). */
  constructor(private readonly maxChars: number) {}

  get(seq: number, timeMs: number): EncodedEvent | undefined {
    const e = this.entries.get(seq);
    if (e === undefined || e.timeMs !== timeMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    e.shown = true;
    return e;
  }

  set(seq: number, e: EncodedEvent): void {
    if (e.text.length > this.maxChars) return;
    const old = this.entries.get(seq);
    if (old) {
      this.size -= old.text.length;
      this.entries.delete(seq);
    }
    this.entries.set(seq, e);
    this.size += e.text.length;
    // Map keeps insertion order: eviction takes from the front, and moves entries shown again
    // to the back (once each: their flag is cleared, so the scan ends).
    // (One iterator: entries moved to the back are met again, unflagged, after all others.)
    for (const [k, v] of this.entries) {
      if (this.size <= this.maxChars) break;
      this.entries.delete(k);
      if (v.shown) {
        v.shown = false;
        this.entries.set(k, v);
      } else this.size -= v.text.length;
    }
  }

  /** Forget everything (after a purge). */
  clear(): void {
    this.entries.clear();
    this.size = 0;
  }

  get count(): number {
    return this.entries.size;
  }
}
