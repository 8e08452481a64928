/**
 * Admission for the ingest API by the LookupEvents history index. The index is built behind the
 * log on a thread of its own, and a lookup reads what it has not reached yet straight from the
 * log, about a microsecond an event: under ingest faster than the index can follow, that part
 * grows without end (bench:ingest's 60 s phase on 2 cores: ~250,000 events behind, ~0.7 s a
 * lookup). Past `maxLag` events behind and still falling further behind, the ingest API answers
 * 429 (ThrottlingException) until the index gains on the log again; the calls of AWS-style APIs
 * are recorded whatever the lag. A lag that shrinks (an index being rebuilt after an upgrade, say)
 * throttles nothing.
 */
/** Samples a trend is read over: with the default 500 ms interval, two seconds. */
const TREND_SAMPLES = 4;

export class IndexAdmission {
  private lag = 0;
  private growing = false;
  /** The lags read over the last TREND_SAMPLES intervals, oldest first. */
  private readonly recent: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  /** `readLag`: events the index is behind; `maxLag`: 0 turns the admission off. */
  constructor(
    private readonly readLag: () => Promise<number>,
    private readonly maxLag: number,
    private readonly onChange: (refusing: boolean, lag: number) => void = () => undefined,
    private readonly intervalMs = 500,
  ) {}

  /** Events the index was behind when last looked at. */
  get behind(): number {
    return this.lag;
  }

  /** Whether ingest is refused now. */
  get refusing(): boolean {
    return this.maxLag > 0 && this.lag > this.maxLag && this.growing;
  }

  start(): void {
    if (this.maxLag <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const was = this.refusing;
      const lag = await this.readLag();
      // Falling behind means more behind than a couple of seconds ago: the index works in
      // batches (a second's worth apart under heavy ingest, or tens of thousands of events at a
      // time while it catches up), and between two of them the lag always grows a little.
      this.growing = this.recent.length > 0 && lag > this.recent[0]!;
      this.recent.push(lag);
      if (this.recent.length > TREND_SAMPLES) this.recent.shift();
      this.lag = lag;
      if (this.refusing !== was) this.onChange(this.refusing, lag);
    } catch {
      // the log is closing: keep the last answer
    } finally {
      this.reading = false;
    }
  }
}
