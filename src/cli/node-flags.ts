/**
 * The flags Node runs the server with, as shipped: `npm start` and the `opentrail` executable
 * (its `#!` line) give them, and the test suite and the benchmarks start the server with them
 * (a test checks the three agree). V8 takes them only on the command line: set at run time
 * (`v8.setFlagsFromString`), `--single-threaded-gc` crashed V8 at its first collection.
 *
 * `--single-threaded-gc`: each thread collects its garbage on its own time, without V8's helper
 * threads. On a two-core machine those helpers competed for the cores with the threads a request
 * waits on, and each collection waited for them: bench:lookup, full runs alternating, 14 and 18
 * of 18 cases with a p99 under 20 ms at 1,000 lookups/s against 9 and 7 without, and server CPU
 * 0.82–0.84 ms a lookup against 0.90–0.91 (BENCHMARKS.md, 2026-11-30 evening).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];
