/** kill -9 between a rule's match and its delivery: after restart the webhook still gets the event, once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, CreateApiDestinationCommand, CreateConnectionCommand, CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { ACCOUNT, KEY, SECRET, spawnServer, webhook } from './helpers.js';

test('kill -9 after the match and before it is sent: delivered after restart, exactly once', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-rcrash-'));
  const hook = await webhook();
  const bodies = hook.bodies;
  const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
  try {
    const first = await spawnServer(dataDir, { env: { OPENTRAIL_FAILPOINT: 'rules-before-send' } });
    const exited = new Promise((r) => first.child.once('exit', r));
    const eb = new EventBridgeClient({ endpoint: first.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
    const c = await eb.send(new CreateConnectionCommand({ Name: 'c', AuthorizationType: 'BASIC', AuthParameters: { BasicAuthParameters: { Username: 'u', Password: 'p' } } }));
    const d = await eb.send(
      new CreateApiDestinationCommand({ Name: 'd', ConnectionArn: c.ConnectionArn, InvocationEndpoint: `${hook.url}/in`, HttpMethod: 'POST' }),
    );
    await eb.send(new PutRuleCommand({ Name: 'buses', EventPattern: '{"detail":{"eventName":["CreateEventBus"]}}' }));
    await eb.send(new PutTargetsCommand({ Rule: 'buses', Targets: [{ Id: 'd', Arn: d.ApiDestinationArn }] }));
    await eb.send(new CreateEventBusCommand({ Name: 'crash-bus' })).catch(() => undefined);
    await exited;
    eb.destroy();
    assert.equal(bodies.length, 0, 'the process died before sending');

    const second = await spawnServer(dataDir);
    try {
      const end = Date.now() + 10_000;
      while (bodies.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bodies.length, 1);
      const e = JSON.parse(bodies[0]!) as { detail: { eventName: string; requestParameters: { name: string } } };
      assert.equal(e.detail.eventName, 'CreateEventBus');
      assert.equal(e.detail.requestParameters.name, 'crash-bus');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    await hook.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
