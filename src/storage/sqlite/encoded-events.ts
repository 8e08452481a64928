/**
 * LookupEvents entries already encoded, by log position, kept by the thread that reads pages.
 *
 * A recorded event never changes, so its encoded entry can be kept and spliced into every page
 * that shows it again: the newest pages of an account, or of an attribute, are asked for over and
 * over (the console's event history, a CLI paging the same view), and each read of a row costs
 * more than finding it. SQLite's own page cache cannot keep them: in WAL mode a connection drops
 * its whole cache whenever another connection has committed, which here is every lookup (each
 * one records itself). The cache is bounded by the bytes its texts take and forgets entries by
 * the clock algorithm (second chance): a hit costs a flag, not a reordering of the map.
 */
export interface EncodedEvent {
  /** The event's time as the index has it: an entry is used only for the same (seq, time). */
  timeMs: number;
  eventId: string;
  text: string;
  /** Shown again since the eviction scan last passed it. */
  shown?: boolean;
  /** The memory its text takes, as counted against the bound (set when kept). */
  bytes?: number;
  /** Its text's length in UTF-8 (set when first written into a page). */
  utf8?: number;
}

/** A character outside Latin-1: V8 then keeps the whole string at two bytes a character. */
const NON_LATIN1 = /[^\u0000-\u00ff]/;

/** The bytes V8 takes for a string's characters: one a character when all are Latin-1, else two. */
export function textBytes(text: string): number {
  return NON_LATIN1.test(text) ? text.length * 2 : text.length;
}

export class EncodedEvents {
  private readonly entries = new Map<number, EncodedEvent>();
  private hand: MapIterator<[number, EncodedEvent]> = this.entries.entries();
  private size = 0;

  /**
   * `maxBytes`: most bytes of encoded text kept (0 keeps nothing), counted as V8 stores the text
   * (textBytes): an event with a character outside Latin-1 in it counts twice its length.
   */
  constructor(private readonly maxBytes: number) {}

  /** Bytes of text kept now. */
  get bytes(): number {
    return this.size;
  }

  /** Entries kept now. */
  get count(): number {
    return this.entries.size;
  }

  get(seq: number, timeMs: number): EncodedEvent | undefined {
    const e = this.entries.get(seq);
    if (e === undefined || e.timeMs !== timeMs) return undefined;
    e.shown = true;
    return e;
  }

  set(seq: number, e: EncodedEvent): void {
    const bytes = textBytes(e.text);
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(seq);
    if (old) {
      this.size -= old.bytes ?? 0;
      this.entries.delete(seq);
    }
    e.bytes = bytes;
    this.entries.set(seq, e);
    this.size += bytes;
    while (this.size > this.maxBytes && this.evictOne()) {
      // keep going
    }
  }

  /**
   * The clock's hand: a Map iterator that goes on from where it stopped (it also meets entries
   * added since). An entry shown again since the hand last passed it loses its flag and stays;
   * the first one without is evicted. A fresh iterator per eviction would start at the front
   * each time, past every hole deleted entries leave there until the map is rebuilt.
   */
  private evictOne(): boolean {
    for (let turned = 0; ; ) {
      let n = this.hand.next();
      if (n.done) {
        if (++turned > 2) return false;
        this.hand = this.entries.entries();
        n = this.hand.next();
        if (n.done) return false;
      }
      const [k, v] = n.value;
      if (v.shown) {
        v.shown = false;
        continue;
      }
      this.entries.delete(k);
      this.size -= v.bytes ?? 0;
      return true;
    }
  }

  /** Forget everything (after a purge). */
  clear(): void {
    this.entries.clear();
    this.hand = this.entries.entries();
    this.size = 0;
  }
}
