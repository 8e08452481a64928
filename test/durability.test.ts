/** An acknowledged call survives kill -9: a child server under load is killed and restarted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, DescribeTrailsCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { ACCOUNT, KEY, SECRET, spawnServer } from './helpers.js';
import { resolveConfig } from '../src/config.js';

/** Calls from 16 clients for 1.5 s, kill -9, restart: every acknowledged call is in event history once. */
async function killUnderLoad(env: Record<string, string> = {}): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-crash-'));
  try {
    const first = await spawnServer(dataDir, { env });
    const health = (await (await fetch(`${first.url}/health`)).json()) as { commitSync: string };
    assert.equal(health.commitSync, env.OPENTRAIL_COMMIT_SYNC ?? 'full', 'the server commits as asked');
    const client = new CloudTrailClient({ endpoint: first.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
    const acknowledged = new Set<string>();
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await client.send(new DescribeTrailsCommand({}));
          acknowledged.add(r.$metadata.requestId!);
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await new Promise((r) => first.child.once('exit', r));
    assert.ok(acknowledged.size > 50, `load was applied (${acknowledged.size} acknowledged)`);

    const second = await spawnServer(dataDir, { env });
    try {
      const c2 = new CloudTrailClient({ endpoint: second.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
      const seen = new Map<string, number>();
      let token: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const r = await c2.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }], NextToken: token }));
        for (const e of r.Events ?? []) {
          const id = (JSON.parse(e.CloudTrailEvent!) as { requestID: string }).requestID;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        token = r.NextToken;
        if (!token) break;
      }
      for (const id of acknowledged) assert.equal(seen.get(id), 1, `acknowledged call ${id} recorded exactly once`);
      for (const [id, n] of seen) assert.equal(n, 1, `${id} recorded once`);
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test('kill -9 under load loses no acknowledged call and records none twice', { timeout: 60_000 }, () => killUnderLoad());

test('with OPENTRAIL_COMMIT_SYNC=normal (commits not synced to disk) kill -9 under load still loses no acknowledged call', { timeout: 60_000 }, () =>
  killUnderLoad({ OPENTRAIL_COMMIT_SYNC: 'normal' }),
);

test('OPENTRAIL_COMMIT_SYNC other than full or normal: the server refuses to start and says why', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-sync-'));
  try {
    await assert.rejects(spawnServer(dataDir, { env: { OPENTRAIL_COMMIT_SYNC: 'off' } }), /exited at start/);
    assert.throws(() => resolveConfig({ dataDir }, { OPENTRAIL_COMMIT_SYNC: 'off' }), /OPENTRAIL_COMMIT_SYNC must be full or normal, not off/);
    assert.equal(resolveConfig({ dataDir }, {}).commitSync, 'full');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SIGTERM shuts down gracefully and the data is intact', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-term-'));
  try {
    const s = await spawnServer(dataDir);
    const client = new CloudTrailClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
    const r = await client.send(new DescribeTrailsCommand({}));
    const exit = new Promise<number | null>((res) => s.child.once('exit', (code) => res(code)));
    s.child.kill('SIGTERM');
    assert.equal(await exit, 0);
    const again = await spawnServer(dataDir);
    try {
      const c2 = new CloudTrailClient({ endpoint: again.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
      const found = await c2.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }] }));
      assert.ok(found.Events!.some((e) => (JSON.parse(e.CloudTrailEvent!) as { requestID: string }).requestID === r.$metadata.requestId));
    } finally {
      again.child.kill('SIGTERM');
      await new Promise((res) => again.child.once('exit', res));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
