/**
 * bench:console — the web console's event history with 1,000,000 events in the store, in
 * headless Chromium: time from opening the page to the first page of events on screen (goal
 * under 500 ms), the same after a filter, and each further page while scrolling.
 *
 *   npm run bench:console [-- --events 1000000 --runs 20 --pages 20]
 *
 * Every event is in the signed-in account and region, spread over the last 24 hours, so the
 * page's default range ("Last day") covers all of them. The server is warmed with 50 lookups
 * first (a running server has its index pages in memory); "cold" is the browser's side: a new
 * browser context with no cached console files.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { SignedHttp } from '../src/client/signed-http.js';
import { ACCOUNTS, BENCH_KEY, BENCH_SECRET, NAMES, PROJECT_ROOT, benchArgs, loadEvents, machine, percentile, rng, startBenchServer, syntheticRecord } from './common.js';

const { events: EVENTS, runs: RUNS, pages: PAGES } = benchArgs({ events: 1_000_000, runs: 20, pages: 20 });
const dataDir = join(PROJECT_ROOT, 'bench', '.data', `console-${EVENTS}`);
const out = (s: string): boolean => process.stdout.write(`${s}\n`);
const HOUR = 3_600_000;

async function load(): Promise<void> {
  const marker = join(dataDir, 'loaded.json');
  // Reuse a load younger than 12 hours (older events would fall out of "Last day").
  if (existsSync(marker) && Date.now() - (JSON.parse(readFileSync(marker, 'utf8')) as { at: number }).at < 12 * HOUR) return;
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const rand = rng(7);
  const start = Date.now() - 24 * HOUR;
  const step = (24 * HOUR - 60_000) / EVENTS;
  await loadEvents(dataDir, EVENTS, (j) => ({ ...syntheticRecord(j, rand, new Date(start + j * step), ACCOUNTS[0]), awsRegion: 'us-east-1' }));
  writeFileSync(marker, JSON.stringify({ at: start + 24 * HOUR }));
}

const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(0)} ms, p99 ${percentile(s, 99).toFixed(0)} ms, max ${s.at(-1)!.toFixed(0)} ms (n=${s.length})`;
};

/** In the page: the moment (ms since its navigation started) the first event row enters the DOM. */
function watchFirstRow(): void {
  const w = window as unknown as { __firstRow?: number };
  new MutationObserver((_m, o) => {
    if (w.__firstRow === undefined && document.querySelector('[role="row"][aria-rowindex="2"]')) {
      w.__firstRow = performance.now();
      o.disconnect();
    }
  }).observe(document, { subtree: true, childList: true });
}

/** Milliseconds from the navigation's start until the first event row is on screen (measured in the page). */
async function openEvents(page: Page, url: string): Promise<{ shown: number; lookup: number }> {
  await page.goto('about:blank');
  await page.goto(`${url}/console/#/events`);
  await page.locator('[role="row"][aria-rowindex="2"]').waitFor();
  const shown = await page.evaluate(() => (window as unknown as { __firstRow: number }).__firstRow);
  const status = (await page.getByTestId('eh-status').textContent()) ?? '';
  return { shown, lookup: Number(/first page in (\d+) ms/.exec(status)?.[1] ?? NaN) };
}

async function main(): Promise<void> {
  out(`bench:console — ${EVENTS.toLocaleString()} events; machine: ${machine()}`);
  await load();
  const server = await startBenchServer(dataDir);
  // A fresh server indexes the loaded log first: measure once event history is caught up.
  const t0 = Date.now();
  for (;;) {
    const h = (await (await fetch(`${server.url}/health`)).json()) as { indexLag: number };
    if (h.indexLag === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  out(`  history index caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  // A server that has been running has its index pages in memory: warm it as a day's use would.
  const ct = new CloudTrailClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET } });
  for (let i = 0; i < 50; i++) await ct.send(new LookupEventsCommand({ StartTime: new Date(Date.now() - 24 * HOUR), EndTime: new Date(), MaxResults: 50 }));
  // CountEvents, what the histogram asks: the last day in 48 half-hour buckets.
  const http = new SignedHttp({ endpoint: server.url, region: 'us-east-1', service: 'opentrail', credentials: { accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET } });
  for (const [label, attrs] of [
    ['every event', undefined],
    ['one event name', [{ AttributeKey: 'EventName', AttributeValue: NAMES[3] }]],
  ] as const) {
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const r = await http.post('/v1/event-counts', JSON.stringify({ LookupAttributes: attrs, StartTime: (Date.now() - 24 * HOUR) / 1000, EndTime: Date.now() / 1000, BucketSeconds: 1800 }), { 'content-type': 'application/json' });
      times.push(performance.now() - t0);
      total = (JSON.parse(r.body.toString('utf8')) as { Total: number }).Total;
    }
    out(`  CountEvents over the last day, 48 buckets, ${label} (${total.toLocaleString()} events): ${stats(times)}`);
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const session = JSON.stringify({ accessKeyId: BENCH_KEY, secretAccessKey: BENCH_SECRET, region: 'us-east-1' });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript((s) => sessionStorage.setItem('opentrail.session', s), session);
    await context.addInitScript(watchFirstRow);
    const page = await context.newPage();

    // Cold: a new browser context each time (no cached console files), as a user opening it.
    const coldShown: number[] = [];
    const coldLookups: number[] = [];
    for (let i = 0; i < Math.max(3, RUNS / 4); i++) {
      const fresh = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await fresh.addInitScript((s) => sessionStorage.setItem('opentrail.session', s), session);
      await fresh.addInitScript(watchFirstRow);
      const r = await openEvents(await fresh.newPage(), server.url);
      coldShown.push(r.shown);
      coldLookups.push(r.lookup);
      await fresh.close();
    }
    out(`  first page, cold (new browser context, no cached files): on screen ${stats(coldShown)}; LookupEvents round trip ${stats(coldLookups)}`);
    const shown: number[] = [];
    const lookups: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await openEvents(page, server.url);
      shown.push(r.shown);
      lookups.push(r.lookup);
    }
    out(`  first page, page reloads: on screen ${stats(shown)}`);
    out(`  first page, LookupEvents round trip as the page measures it: ${stats(lookups)}`);

    const filtered: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = NAMES[(i * 37) % NAMES.length]!;
      await page.getByLabel('Value').fill(name);
      const t0 = await page.evaluate(() => performance.now());
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('row').filter({ hasText: name }).first().waitFor();
      filtered.push((await page.evaluate(() => performance.now())) - t0);
    }
    out(`  filter by event name (Apply → first matching row): ${stats(filtered)}`);

    await openEvents(page, server.url);
    const perPage: number[] = [];
    for (let p = 1; p <= PAGES; p++) {
      const t0 = await page.evaluate(() => performance.now());
      await page.locator('.vscroll').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.locator(`[role="row"][aria-rowindex="${p * 50 + 2}"]`).waitFor({ state: 'attached' });
      perPage.push((await page.evaluate(() => performance.now())) - t0);
    }
    out(`  infinite scroll, each further page of 50 (scroll → row attached): ${stats(perPage)}`);
    out(`  rows loaded: ${((PAGES + 1) * 50).toLocaleString()}; rows in the DOM (virtualised): ${await page.locator('.vscroll [role="row"]').count()}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
