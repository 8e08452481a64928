/**
 * kill -9 under full ingest load: every acknowledged event is there after the restart, exactly
 * once — also after the clients retry what was never acknowledged (with the same ids).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { ACCOUNT, KEY, SECRET, spawnServer } from './helpers.js';
import { SqliteEventLog } from '../src/storage/sqlite/event-log.js';

const signer = new SignatureV4({ credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, region: 'us-east-1', service: 'opentrail', sha256: Sha256 });

/** POST a batch; the acknowledged ids with their eventIDs, or undefined when there was no answer. */
async function send(url: string, ids: string[]): Promise<Map<string, string> | undefined> {
  const u = new URL(url);
  const body = JSON.stringify({ events: ids.map((id) => ({ id, record: { eventSource: 'crash.example.com', eventName: 'Write', userIdentity: { type: 'IAMUser', userName: 'load' }, requestParameters: { clientId: id } } })) });
  const signed = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/v1/events', headers: { host: u.host, 'content-type': 'application/json' }, body }));
  try {
    const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host')), body });
    if (r.status !== 200) return undefined;
    const out = (await r.json()) as { successful: { id: string; eventID: string }[]; failed: unknown[] };
    assert.equal(out.failed.length, 0);
    return new Map(out.successful.map((s) => [s.id, s.eventID]));
  } catch {
    return undefined;
  }
}

test('kill -9 under load: no acknowledged event lost, none recorded twice', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-icrash-'));
  try {
    const first = await spawnServer(dataDir);
    const exited = new Promise((r) => first.child.once('exit', r));
    const acked = new Map<string, string>();
    const unacked: string[][] = [];
    let stop = false;
    let batchNo = 0;
    // Eight clients sending 50-record batches as fast as the server answers.
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const b = batchNo++;
        const ids = Array.from({ length: 50 }, (_, i) => `b${b}-${i}`);
        const got = await send(first.url, ids);
        if (got) for (const [id, ev] of got) acked.set(id, ev);
        else unacked.push(ids);
      }
    });
    while (acked.size < 5000) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(clients);
    assert.ok(acked.size >= 5000);

    // Restart on the same folder; the clients retry what was never acknowledged, with the same ids.
    const second = await spawnServer(dataDir);
    for (const ids of unacked) {
      const got = await send(second.url, ids);
      assert.ok(got, 'the retry is answered');
      for (const [id, ev] of got) {
        if (acked.has(id)) assert.equal(ev, acked.get(id));
        acked.set(id, ev);
      }
    }
    const secondExit = new Promise((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    await secondExit;

    // Every id sent is in the log exactly once, under the eventID it was acknowledged with.
    const log = new SqliteEventLog(join(dataDir, 'events.db'));
    try {
      const seen = new Map<string, string[]>();
      for (let after = 0; ; ) {
        const page = await log.readFrom(after, 10_000);
        if (page.length === 0) break;
        after = page[page.length - 1]!.seq;
        for (const e of page) {
          const r = JSON.parse(e.json.toString('utf8')) as { eventSource: string; eventID: string; requestParameters: { clientId: string } };
          if (r.eventSource !== 'crash.example.com') continue;
          seen.set(r.requestParameters.clientId, [...(seen.get(r.requestParameters.clientId) ?? []), r.eventID]);
        }
      }
      const sent = batchNo * 50;
      assert.equal(acked.size, sent, 'every batch was answered in the end');
      const twice = [...seen].filter(([, evs]) => evs.length > 1);
      assert.deepEqual(twice, [], 'no id recorded twice');
      const missing = [...acked].filter(([id, ev]) => seen.get(id)?.[0] !== ev);
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events missing or different`);
      assert.equal(seen.size, sent);
    } finally {
      await log.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
