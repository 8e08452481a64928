/**
 * Admission by the history index: an index that falls behind the log (stalled here by a
 * failpoint) makes the ingest API answer 429 while it keeps falling behind, and take events
 * again once it gains; nothing acknowledged is lost, and AWS-style calls are answered meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { KEY, SECRET, signedPost, spawnServer } from './helpers.js';

interface PutEventsOut {
  successful?: { id: string; eventID: string }[];
  failed?: unknown[];
  __type?: string;
  message?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('an index falling behind the log throttles the ingest API until it gains again, losing nothing', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-ixadm-'));
  // Every indexing round of the maintenance thread stalls 3 s first.
  const srv = await spawnServer(dataDir, { env: { OPENTRAIL_FAILPOINT: 'index-stall', OPENTRAIL_MAX_INDEX_LAG: '1000' } });
  const exited = new Promise((r) => srv.child.once('exit', r));
  try {
    let next = 0;
    const acked = new Map<string, string>();
    const post = async (): Promise<{ status: number; json: PutEventsOut }> => {
      const events = Array.from({ length: 500 }, () => {
        const id = `r${next++}`;
        return { id, record: { eventSource: 'admission.example.com', eventName: 'Write', userIdentity: { type: 'IAMUser', userName: 'load' }, requestParameters: { n: id } } };
      });
      const r = await signedPost<PutEventsOut>(srv.url, '/v1/events', JSON.stringify({ events }));
      if (r.status === 200) {
        assert.equal(r.json.failed?.length, 0);
        for (const s of r.json.successful ?? []) acked.set(s.id, s.eventID);
      } else assert.equal(r.status, 429, `an ingest call answered ${r.status}: ${JSON.stringify(r.json)}`);
      return r;
    };

    // Batches as fast as they are answered, until the index is far enough behind. While it is,
    // /health and /metrics say so too (read right after a refusal; should the index gain in
    // between, the next refusal is read again).
    let refusal: PutEventsOut | undefined;
    let reported = false;
    const deadline = Date.now() + 30_000;
    while (!reported && Date.now() < deadline) {
      const r = await post();
      if (r.status !== 429) continue;
      refusal = r.json;
      const health = (await (await fetch(`${srv.url}/health`)).json()) as { indexLag: number; ingestRefusedForIndex: boolean };
      const metrics = await (await fetch(`${srv.url}/metrics`)).text();
      if (!health.ingestRefusedForIndex || !/^opentrail_ingest_refused_for_index 1$/m.test(metrics)) continue;
      assert.ok(health.indexLag > 1000, `the index is behind (${health.indexLag})`);
      reported = true;
    }
    assert.ok(refusal, 'the ingest API throttled once the index fell behind');
    assert.equal(refusal.__type, 'ThrottlingException');
    assert.match(refusal.message ?? '', /history index is \d+ events behind the log/);
    assert.ok(reported, '/health and /metrics report the refusal while it lasts');

    // AWS-style calls are still answered (and recorded) while ingest is refused.
    const ct = new CloudTrailClient({ endpoint: srv.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
    await ct.send(new LookupEventsCommand({ MaxResults: 1 }));

    // Once the index gains on the log, the same caller's retries are taken again.
    let accepted = false;
    while (!accepted && Date.now() < deadline + 30_000) {
      await sleep(100);
      accepted = (await post()).status === 200;
    }
    assert.ok(accepted, 'the ingest API took events again once the index gained');
    assert.equal(((await (await fetch(`${srv.url}/health`)).json()) as { ingestRefusedForIndex: boolean }).ingestRefusedForIndex, false);

    // Nothing acknowledged was lost: the first and the last acknowledged events are found.
    const ids = [...acked.values()];
    for (const eventId of [ids[0]!, ids[ids.length - 1]!]) {
      const got = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: eventId }] }));
      assert.equal(got.Events?.length, 1, `event ${eventId} is found`);
    }
    ct.destroy();
  } finally {
    srv.child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
