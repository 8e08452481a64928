/**
 * Failpoints for crash tests: `OPENTRAIL_FAILPOINT=<name>` makes the process
 * kill itself (SIGKILL, no cleanup) the first time it reaches that point;
 * `<name>:<n>` waits for the n-th time. Unset in normal operation, where
 * `failpoint()` is a no-op. (A worker thread reads the variable when it starts.)
 */
const [armed, nth] = (process.env.OPENTRAIL_FAILPOINT ?? '').split(':');
let remaining = Number(nth ?? '1') || 1;

export function failpoint(name: string): void {
  if (armed !== name) return;
  if (--remaining <= 0) process.kill(process.pid, 'SIGKILL');
}

/** In a worker thread: end that thread (not the process) when it reaches the point, as a crash of the thread would. */
export function threadFailpoint(name: string): void {
  if (armed !== name) return;
  if (--remaining <= 0) process.exit(1);
}

/** In a worker thread: stall it for `ms` each time it reaches the point (a slow thread, for race tests). */
export function threadStall(name: string, ms: number): void {
  if (armed !== name) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
