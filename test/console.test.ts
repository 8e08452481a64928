/**
 * The web console end to end in headless Chromium (Debian's chromium driven by playwright-core):
 * sign in, find SDK calls in event history, open one, create a trail and see its files and
 * validate them, run a Lake query and see its chart, create a rule and test its pattern.
 * Screenshots of each page go to $OPENTRAIL_SCREENSHOTS (docs/screenshots for the README) or a temp folder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CreateEventDataStoreCommand, CreateTrailCommand, GetEventSelectorsCommand, DescribeTrailsCommand, GetTrailCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateApiDestinationCommand, CreateConnectionCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ACCOUNT, KEY, SECRET, expectAwsError, startTestServer, webhook, type TestServer } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.OPENTRAIL_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'opentrail-shots-'));
let ts: TestServer;
let browser: Browser;
let page: Page;
let refuser: Awaited<ReturnType<typeof webhook>>;
let refusingDestination: string;

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Events of the last day, paged through with LookupEvents from Node. */
async function pageCount(): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const out = await ts.client().send(new LookupEventsCommand({ StartTime: new Date(Date.now() - 86_400_000), EndTime: new Date(), NextToken: token }));
    n += out.Events?.length ?? 0;
    token = out.NextToken;
  } while (token);
  return n;
}

/** Select everything in the focused editor and type `text` over it. */
async function replaceText(text: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
}

async function shot(name: string, fullPage = false): Promise<void> {
  await page.waitForTimeout(300);
  if (!fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium); .ci/run does`);
  mkdirSync(SHOTS, { recursive: true });
  ts = await startTestServer({ env: { OPENTRAIL_DELIVERY_INTERVAL: '0.2', OPENTRAIL_DIGEST_INTERVAL: '5', OPENTRAIL_LAKE_INTERVAL_MS: '200', OPENTRAIL_RULES_RETRY_BASE_MS: '20' } });
  const ct = ts.client();
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'console-logs' }));
  await ct.send(new CreateEventDataStoreCommand({ Name: 'all-events', RetentionPeriod: 90 }));
  for (let i = 0; i < 3; i++) await ct.send(new DescribeTrailsCommand({}));
  await expectAwsError(ct.send(new GetTrailCommand({ Name: 'no-such-trail' })), 'TrailNotFoundException');
  // An HTTP endpoint that refuses events, as an API destination (for the dead-letter queue).
  refuser = await webhook(() => 400);
  const eb = new EventBridgeClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  const conn = await eb.send(new CreateConnectionCommand({ Name: 'refuser', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'k' } } }));
  refusingDestination = (
    await eb.send(new CreateApiDestinationCommand({ Name: 'refuser', ConnectionArn: conn.ConnectionArn, InvocationEndpoint: `${refuser.url}/`, HttpMethod: 'POST' }))
  ).ApiDestinationArn!;
  eb.destroy();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (e) => console.error('page error:', e));
});

after(async () => {
  await browser?.close();
  await ts?.close();
  await refuser?.close();
});

test('sign-in: a wrong secret is refused with the server error; the right pair signs in', async () => {
  await page.goto(`${ts.app.url}/`);
  await page.getByLabel('Access key ID').fill(KEY);
  await page.getByLabel('Secret access key').fill('wrong-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'InvalidSignatureException' }).waitFor();
  await shot('sign-in');
  await page.getByLabel('Secret access key').fill(SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  // The dashboard counts the calls made above (from Lake once the store has them, else event history).
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="tile-events"]')?.textContent?.replace(/,/g, '')) > 0, undefined, { timeout: 30_000 });
  await shot('dashboard');
});

test('event history: filter by event name, open the record, error code shown', async () => {
  await page.goto(`${ts.app.url}/console/#/events`);
  await page.getByRole('heading', { name: 'Event history' }).waitFor();
  // The histogram counts every event of the range on the server (CountEvents), not just the loaded page.
  const before = await pageCount();
  await page.getByRole('button', { name: 'Apply' }).click();
  const chart = page.getByRole('figure', { name: 'Events over the time range' });
  await page.waitForFunction((n) => Number(document.querySelector('figure[data-total]')?.getAttribute('data-total')) >= n, before);
  const charted = Number(await chart.getAttribute('data-total'));
  assert.ok(charted >= before && charted <= (await pageCount()), `histogram total ${charted}, LookupEvents ${before}`);
  await page.getByLabel('Lookup attribute').selectOption('EventName');
  await page.getByLabel('Value').fill('GetTrail');
  await page.getByRole('button', { name: 'Apply' }).click();
  const row = page.getByRole('row').filter({ hasText: 'TrailNotFoundException' });
  await row.first().waitFor();
  assert.equal(await page.getByRole('row').filter({ hasText: 'DescribeTrails' }).count(), 0, 'the filter keeps only GetTrail');
  await row.first().click();
  const panel = page.getByRole('complementary', { name: 'Event GetTrail' });
  await panel.waitFor();
  const text = await panel.textContent();
  assert.match(text ?? '', /"errorCode"/);
  assert.match(text ?? '', /no-such-trail/);
  await shot('event-history');
  // The SDK sees the same event the console shows.
  const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GetTrail' }] }));
  assert.ok(text?.includes(out.Events![0]!.EventId!));
  // Download the filtered set as CSV: one row per GetTrail event, with AWS's columns.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  const lines = readFileSync((await csv.path())!, 'utf8').trim().split(/\r\n/);
  assert.equal(lines[0], 'eventTime,userName,eventName,resourceType,resourceName,eventSource,accessKeyId,sourceIPAddress,errorCode,eventId,readOnly');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /,GetTrail,.*,TrailNotFoundException,/);
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()]);
  const records = (JSON.parse(readFileSync((await json.path())!, 'utf8')) as { Records: { eventName: string }[] }).Records;
  assert.deepEqual(records.map((r) => r.eventName), ['GetTrail']);
  // Live mode: a call made now shows up without Apply (the GetTrail filter stays).
  const failures = page.getByRole('row').filter({ hasText: 'TrailNotFoundException' });
  await failures.first().waitFor();
  const seen = await failures.count();
  await page.getByLabel('Live').check();
  await expectAwsError(ts.client().send(new GetTrailCommand({ Name: 'live-probe' })), 'TrailNotFoundException');
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('[role="row"]')].filter((r) => r.textContent?.includes('TrailNotFoundException')).length === n,
    seen + 1,
    { timeout: 15_000 },
  );
  await page.getByLabel('Live').uncheck();
});

test('trails: create with log validation, see delivered files, validate them in the browser', async () => {
  await page.goto(`${ts.app.url}/console/#/trails`);
  await page.getByRole('button', { name: 'Create trail' }).first().click();
  const form = page.getByRole('form', { name: 'Create trail' });
  await form.getByLabel('Trail name').fill('console-trail');
  await form.getByLabel('S3 bucket').selectOption('console-logs');
  await form.getByRole('button', { name: 'Create trail' }).click();
  const row = page.getByRole('row').filter({ hasText: 'console-trail' });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /Logging/);
  const trail = await ts.client().send(new GetTrailCommand({ Name: 'console-trail' }));
  assert.equal(trail.Trail?.LogFileValidationEnabled, true);
  // Calls after StartLogging land in a log file; then a digest covers it.
  for (let i = 0; i < 3; i++) await ts.client().send(new DescribeTrailsCommand({}));
  await page.waitForTimeout(7_000);
  await row.getByRole('button', { name: 'Files' }).click();
  const files = page.getByRole('region', { name: 'Delivered files' });
  for (const folder of [ACCOUNT, 'CloudTrail', 'us-east-1']) await files.getByRole('button', { name: new RegExp(`^📁 ${folder}/$`) }).click();
  for (let i = 0; i < 3; i++) await files.getByRole('button', { name: /^📁 / }).first().click();
  await files.getByRole('button', { name: /^📄 .*\.json\.gz$/ }).first().click();
  await files.getByText('"Records"').waitFor();
  await shot('trail-files');
  // Advanced selectors from the form, read back with the SDK.
  await row.getByRole('button', { name: 'Selectors' }).click();
  const editor = page.getByRole('region', { name: 'Event selectors of console-trail' });
  await editor.getByLabel('Advanced').check();
  await editor.getByRole('button', { name: 'Add advanced selector' }).click();
  await editor.getByLabel('Name', { exact: true }).fill('writes only');
  await editor.getByRole('button', { name: 'Add condition' }).click();
  await editor.getByLabel('Field').nth(1).selectOption('readOnly');
  await editor.getByLabel('Values (comma-separated)').nth(1).fill('false');
  await editor.getByRole('button', { name: 'Save selectors' }).click();
  await editor.getByText('Saved').waitFor();
  const sel = await ts.client().send(new GetEventSelectorsCommand({ TrailName: 'console-trail' }));
  assert.deepEqual(sel.AdvancedEventSelectors, [
    { Name: 'writes only', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] },
  ]);
  await row.getByRole('button', { name: 'Validate' }).click();
  await page.getByRole('button', { name: 'Validate', exact: true }).last().click();
  const summary = page.getByTestId('validate-summary');
  await summary.waitFor({ timeout: 30_000 });
  const s = (await summary.textContent()) ?? '';
  assert.match(s, /^([1-9]\d*)\/\1 digest files valid · ([1-9]\d*)\/\2 log files valid$/, s);
  // Tamper with a delivered log file: the browser's validation names it.
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  const validLog = page.getByRole('row').filter({ hasText: 'valid' }).filter({ has: page.getByRole('cell', { name: 'Log', exact: true }) }).first();
  const victim = (await validLog.getByRole('cell').nth(1).textContent())!;
  assert.match(victim, new RegExp(`^AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/`));
  const original = gunzipSync(await (await s3.send(new GetObjectCommand({ Bucket: 'console-logs', Key: victim }))).Body!.transformToByteArray());
  await s3.send(new PutObjectCommand({ Bucket: 'console-logs', Key: victim, Body: gzipSync(Buffer.concat([original, Buffer.from(' ')])) }));
  await page.getByRole('button', { name: 'Validate', exact: true }).last().click();
  await page.locator('p.error[data-testid="validate-summary"]').waitFor({ timeout: 30_000 });
  await page.getByRole('cell', { name: "INVALID: hash value doesn't match" }).waitFor();
  await page.getByLabel('Only invalid files').check();
  assert.equal(await page.getByRole('row').filter({ hasText: victim }).count(), 1);
  await shot('trail-validate');
});

test('lake: run a query, see status, statistics, grid and chart', async () => {
  await page.goto(`${ts.app.url}/console/#/lake`);
  await page.getByRole('heading', { name: 'CloudTrail Lake' }).waitFor();
  await page.getByRole('cell', { name: 'all-events' }).waitFor();
  // The sample library fills the editor with the store id in place of the placeholder.
  await page.getByLabel('Search samples').fill('activity performed by ip');
  await page.getByRole('button', { name: /activity performed by IP address/i }).click();
  const sample = await page.locator('.cm-content').textContent();
  assert.doesNotMatch(sample ?? '', /<EDS ID>/);
  assert.match(sample ?? '', /FROM [0-9a-f-]{36}/);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByTestId('query-status').filter({ hasText: 'FINISHED' }).waitFor({ timeout: 30_000 });
  await page.getByLabel('Search samples').fill('');
  // A query typed in the editor: top event names, as a grid and a chart.
  const store = await page.getByLabel('Event data store').inputValue();
  await page.locator('.cm-content').click();
  await replaceText(`SELECT eventName, count(*) AS n FROM ${store} GROUP BY eventName ORDER BY n DESC`);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByTestId('query-status').filter({ hasText: 'FINISHED' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: /^eventName/ }).waitFor();
  const grid = await page.locator('.result-grid tbody').textContent();
  assert.match(grid ?? '', /DescribeTrails/);
  await page.getByTestId('result-chart').locator('.recharts-bar-rectangle').first().waitFor();
  // Results saved to S3 as well, in Lake's layout (signed): the page shows the delivery.
  await page.getByLabel('Save results to S3 (optional)').fill('s3://console-logs/lake-results');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByTestId('delivery-status').filter({ hasText: 'SUCCESS' }).waitFor({ timeout: 30_000 });
  const saved = await new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } }).send(
    new ListObjectsV2Command({ Bucket: 'console-logs', Prefix: `lake-results/AWSLogs/${ACCOUNT}/CloudTrail-Lake/Query/` }),
  );
  assert.deepEqual(saved.Contents!.map((o) => o.Key!.split('/').pop()), ['result_1.csv.gz', 'result_sign.json']);
  await page.getByLabel('Save results to S3 (optional)').fill('');
  // Sorting: a click on the n header orders the grid by count.
  await page.getByRole('button', { name: 'n', exact: true }).click();
  const counts = (await page.locator('.result-grid tbody tr td:nth-child(2)').allTextContents()).map(Number);
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
  await shot('lake', true);
});

test('rules: create a rule whose pattern is tested as it is typed; targets; its dead-letter queue read and redriven', async () => {
  await page.goto(`${ts.app.url}/console/#/rules`);
  await page.getByRole('button', { name: 'Create rule' }).click();
  const form = page.getByRole('form', { name: 'Create rule' });
  await form.getByLabel('Name', { exact: true }).fill('trail-changes');
  const sample = form.getByLabel('Test against a recent event');
  const option = await sample.locator('option', { hasText: 'CreateTrail' }).first().getAttribute('value');
  await sample.selectOption(option!);
  const editor = form.locator('.cm-content');
  await editor.click();
  await replaceText('{"source": ["aws.cloudtrail"], "detail": {"eventName": ["CreateTrail"]}}');
  await form.getByTestId('pattern-test').filter({ hasText: 'matches this event' }).waitFor();
  await replaceText('{"source": ["aws.cloudtrail"], "detail": {"eventName": ["DeleteTrail"]}}');
  await form.getByTestId('pattern-test').filter({ hasText: 'does not match' }).waitFor();
  await replaceText('{"source": "aws.cloudtrail"}');
  await form.getByTestId('pattern-test').filter({ hasText: 'InvalidEventPatternException' }).waitFor();
  await replaceText('{"source": ["aws.cloudtrail"], "detail": {"eventName": ["CreateTrail"]}}');
  await form.getByTestId('pattern-test').filter({ hasText: 'matches this event' }).waitFor();
  await shot('rule-create');
  await form.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('row').filter({ hasText: 'trail-changes' }).waitFor();
  const targets = page.getByRole('region', { name: 'Targets of trail-changes' });
  const addTarget = async (id: string, arn: string): Promise<void> => {
    await targets.getByLabel('Target id').fill(id);
    await targets.getByLabel(/Target ARN/).fill(arn);
    await targets.getByLabel(/Dead-letter queue ARN/).fill(`arn:aws:sqs:us-east-1:${ACCOUNT}:rule-dlq`);
    await targets.getByRole('button', { name: 'Add target' }).click();
  };
  await addTarget('sink', `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/alerts`);
  await targets.getByRole('cell', { name: `arn:aws:sqs:us-east-1:${ACCOUNT}:rule-dlq` }).waitFor();
  // A second target that refuses every event (HTTP 400, not retried): its events land in the DLQ.
  await addTarget('refuser', refusingDestination);
  await targets.getByRole('cell', { name: refusingDestination }).waitFor();
  await ts.client().send(new CreateTrailCommand({ Name: 'second-trail', S3BucketName: 'console-logs' }));
  const dlq = page.getByRole('region', { name: 'Dead-letter queues' });
  const depth = dlq.getByTestId('dlq-depth-rule-dlq');
  for (let i = 0; i < 100 && (await depth.textContent().catch(() => '')) !== '1'; i++) {
    await dlq.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForTimeout(100);
  }
  assert.equal(await depth.textContent(), '1');
  await dlq.getByRole('button', { name: 'View messages' }).click();
  const message = dlq.locator('details.dlq-message');
  await message.getByText('NonRetryableError').waitFor();
  await message.locator('> summary').click();
  assert.match((await message.textContent()) ?? '', /second-trail/);
  await shot('rules', true);
  await dlq.getByRole('button', { name: 'Redrive' }).click();
  await dlq.getByText('Sent 1 event(s) back to their targets').waitFor();
  // The target gets the event again (it still refuses, so it comes back to the queue).
  await until('the redriven event at the target', () => refuser.bodies.length === 2);
  assert.equal(JSON.parse(refuser.bodies[1]!).detail.requestParameters.name, 'second-trail');
});

test('themes and keyboard: dark theme persists; event rows open with Enter', async () => {
  await page.goto(`${ts.app.url}/console/#/events`);
  await page.getByRole('button', { name: /Switch to dark theme/ }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.reload();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const first = page.getByRole('row').nth(1);
  await first.waitFor();
  await first.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('complementary').waitFor();
  await shot('event-history-dark');
  await page.getByRole('button', { name: /Switch to light theme/ }).click();
});

test('accessibility: axe-core finds no violations on any page, in either theme', async () => {
  const axe = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  for (const theme of ['light', 'dark']) {
    for (const route of ['dashboard', 'events', 'trails', 'lake', 'rules']) {
      await page.goto(`${ts.app.url}/console/#/${route}`);
      await page.evaluate((t) => localStorage.setItem('opentrail.theme', t), theme);
      await page.reload();
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      await page.addScriptTag({ content: axe });
      const violations = await page.evaluate(async () => {
        const w = window as unknown as { axe: { run: (d: Document) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } };
        return (await w.axe.run(document)).violations.map((v) => `${v.impact} ${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      });
      assert.deepEqual(violations, [], `${route} (${theme})`);
    }
  }
});
