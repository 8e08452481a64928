/** The console's files at /console/: caching, the app's routes, bad paths; signed requests still reach S3. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { KEY, SECRET, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts.close();
});

/** A raw GET (no URL normalisation by the client), with optional headers. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(ts.app.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the page, its assets (cached for good), the app routes, gzip, HEAD', async () => {
  const page = await get('/console/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<div id="root"><\/div>/);
  assert.equal(page.headers['cache-control'], 'no-cache');
  const asset = /\/console\/assets\/[^"]+\.js/.exec(page.body)![0];
  const js = await get(asset, { 'accept-encoding': 'gzip' });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-encoding'], 'gzip');
  assert.match(String(js.headers['cache-control']), /immutable/);
  assert.equal((await get('/console/trails')).body, page.body, 'an app route serves the page');
  const head = await get('/console/', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const root = await get('/', { accept: 'text/html' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/console/');
});

test('bad paths: malformed escapes, traversal, missing assets', async () => {
  assert.equal((await get('/console/%E0%A4%A')).status, 400);
  assert.equal((await get('/console/..%2f..%2fpackage.json')).status, 404);
  assert.equal((await get('/console/assets/missing.js')).status, 404);
});

test('a signed request for a bucket named console reaches S3', async () => {
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
  await expectAwsError(s3.send(new GetObjectCommand({ Bucket: 'console', Key: 'index.html' })), 'NoSuchBucket');
  s3.destroy();
});
