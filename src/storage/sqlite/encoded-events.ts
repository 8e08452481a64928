/**
 * LookupEvents entries already encoded, by log position, kept by the thread that reads pages.
 *
 * A recorded event never changes, so its encoded entry can be kept and spliced into every page
 * that shows it again: the newest pages of an account, or of an attribute, are asked for over and
 * over (the console's event history, a CLI paging the same view), and each read of a row costs
 * more than finding it. SQLite's own page cache cannot keep them: in WAL mode a connection drops
 * its whole cache whenever another connection has committed, which here is every lookup (each
 * one records itself). The cache is bounded by the characters it holds and forgets entries by
 * the clock algorithm (second chance): a hit costs a flag, not a reordering of the map.
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
  private hand: MapIterator<[number, EncodedEvent]> = this.entries.entries();
  private size = 0;

  /** `maxChars`: most characters of encoded text kept (0 keeps nothing). */
  constructor(private readonly maxChars: number) {}

  get(seq: number, timeMs: number): EncodedEvent | undefined {
    const e = this.entries.get(seq);
    if (e === undefined || e.timeMs !== timeMs) return undefined;
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
    while (this.size > this.maxChars && this.evictOne()) {
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
      this.size -= v.text.length;
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
