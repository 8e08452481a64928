/**
 * Rules end to end: calls recorded by the server reach a real HTTP webhook (an API destination)
 * or a JSONL sink, transformed as the target says; failures are retried, exhausted ones land in
 * the dead-letter queue, and `opentrail dlq redrive` sends them again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  CreateConnectionCommand,
  CreateApiDestinationCommand,
  CreateEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import { ACCOUNT, KEY, SECRET, startTestServer, type TestServer } from './helpers.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'opentrail.js');
const run = promisify(execFile);

interface Hit {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

let ts: TestServer;
let eb: EventBridgeClient;
let hook: Server;
let hookUrl: string;
const hits: Hit[] = [];
/** Status codes to answer per path, in order; 200 once they run out. */
const script = new Map<string, number[]>();
let connectionArn: string;

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_RULES_RETRY_BASE_MS: '20' } });
  eb = new EventBridgeClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 });
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const status = script.get(path.split('?')[0]!)?.shift() ?? 200;
      if (path === '/token') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'tok-1', expires_in: 3600 }));
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  const c = await eb.send(
    new CreateConnectionCommand({
      Name: 'hooks',
      AuthorizationType: 'API_KEY',
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'k-123' }, InvocationHttpParameters: { HeaderParameters: [{ Key: 'x-team', Value: 'sec' }] } },
    }),
  );
  connectionArn = c.ConnectionArn!;
});

after(async () => {
  eb.destroy();
  await ts.close();
  await new Promise((r) => hook.close(r));
});

async function destination(name: string, path: string): Promise<string> {
  const d = await eb.send(new CreateApiDestinationCommand({ Name: name, ConnectionArn: connectionArn, InvocationEndpoint: `${hookUrl}${path}`, HttpMethod: 'POST' }));
  return d.ApiDestinationArn!;
}

async function rule(name: string, pattern: unknown, targets: Target[], state?: 'ENABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'): Promise<string> {
  const r = await eb.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern), State: state }));
  const t = await eb.send(new PutTargetsCommand({ Rule: name, Targets: targets }));
  assert.equal(t.FailedEntryCount, 0, JSON.stringify(t.FailedEntries));
  return r.RuleArn!;
}

async function until<T>(what: string, f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hitsOn = (path: string): Hit[] => hits.filter((h) => h.path.split('?')[0] === path);
const sinkLines = (name: string): unknown[] => {
  const f = join(ts.dataDir, 'sinks', ACCOUNT, `${name}.jsonl`);
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown) : [];
};

test('root activity reaches the webhook within milliseconds, with the connection auth and the transformed input', async () => {
  const arn = await destination('root-hook', '/root');
  const ruleArn = await rule('root-bus-created', { source: ['aws.events'], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventName: ['CreateEventBus'], userIdentity: { type: ['Root'] } } }, [
    {
      Id: 'hook',
      Arn: arn,
      HttpParameters: { QueryStringParameters: { via: 'opentrail' } },
      InputTransformer: {
        InputPathsMap: { name: '$.detail.eventName', bus: '$.detail.requestParameters.name', who: '$.detail.userIdentity.type', account: '$.account', gone: '$.detail.nothing' },
        InputTemplate: '{"what": <name>, "text": "<who> created <bus>", "account": <account>, "rule": "<aws.events.rule-name>", "missing": <gone>}',
      },
    },
  ]);
  const t0 = Date.now();
  await eb.send(new CreateEventBusCommand({ Name: 'payments' }));
  const hit = await until('the webhook call', () => hitsOn('/root')[0]);
  assert.ok(hit.at - t0 < 1000, `took ${hit.at - t0} ms`);
  assert.equal(hit.headers['x-api-key'], 'k-123');
  assert.equal(hit.headers['x-team'], 'sec');
  assert.match(String(hit.headers['content-type']), /^application\/json/);
  assert.equal(hit.path, '/root?via=opentrail');
  assert.deepEqual(JSON.parse(hit.body), { what: 'CreateEventBus', text: 'Root created payments', account: ACCOUNT, rule: 'root-bus-created', missing: null });
  const metrics = await (await fetch(`${ts.app.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`opentrail_rule_matched_events_total\\{rule="${ruleArn}"\\} 1`));
  assert.match(metrics, new RegExp(`opentrail_rule_invocations_total\\{rule="${ruleArn}"\\} 1`));
});

test('the whole envelope by default, InputPath and Input; read-only events only for rules that ask for them', async () => {
  const sink = (n: string): string => `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/${n}`;
  await rule('describe-default', { detail: { eventName: ['DescribeRule'] } }, [{ Id: 's', Arn: sink('ro-default') }]);
  await rule('describe-all', { detail: { eventName: ['DescribeRule'] } }, [{ Id: 's', Arn: sink('ro-all') }, { Id: 'p', Arn: sink('ro-path'), InputPath: '$.detail.requestParameters' }, { Id: 'c', Arn: sink('ro-const'), Input: '{"fixed":true}' }], 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  await eb.send(new DescribeRuleCommand({ Name: 'describe-all' }));
  const [whole] = await until('the sink line', () => (sinkLines('ro-all').length ? sinkLines('ro-all') : undefined));
  const e = whole as { version: string; id: string; 'detail-type': string; source: string; account: string; region: string; time: string; resources: unknown[]; detail: { eventName: string; readOnly: boolean } };
  assert.equal(e.version, '0');
  assert.match(e.id, /^[0-9a-f-]{36}$/);
  assert.equal(e['detail-type'], 'AWS API Call via CloudTrail');
  assert.equal(e.source, 'aws.events');
  assert.equal(e.account, ACCOUNT);
  assert.equal(e.region, 'us-east-1');
  assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(e.resources, []);
  assert.equal(e.detail.eventName, 'DescribeRule');
  assert.equal(e.detail.readOnly, true);
  await until('the InputPath line', () => sinkLines('ro-path').length > 0);
  assert.deepEqual(sinkLines('ro-path'), [{ name: 'describe-all' }]);
  await until('the Input line', () => sinkLines('ro-const').length > 0);
  assert.deepEqual(sinkLines('ro-const'), [{ fixed: true }]);
  await ts.app.rules.settled();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sinkLines('ro-default'), [], 'a plain ENABLED rule does not get read-only management events');
});

test('a disabled rule sends nothing; enabled again, it sends what comes next', async () => {
  const sink = `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/toggle`;
  await rule('toggle', { detail: { eventName: ['CreateEventBus'] } }, [{ Id: 's', Arn: sink }]);
  await eb.send(new DisableRuleCommand({ Name: 'toggle' }));
  await eb.send(new CreateEventBusCommand({ Name: 'while-disabled' }));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(sinkLines('toggle').length, 0);
  await eb.send(new EnableRuleCommand({ Name: 'toggle' }));
  await eb.send(new CreateEventBusCommand({ Name: 'while-enabled' }));
  const lines = await until('the line', () => (sinkLines('toggle').length ? sinkLines('toggle') : undefined));
  assert.deepEqual(lines.map((l) => (l as { detail: { requestParameters: { name: string } } }).detail.requestParameters.name), ['while-enabled']);
});

test('a target that fails then recovers gets the event once it is up, with the same event id each time', async () => {
  script.set('/flaky', [500, 503, 429]);
  const arn = await destination('flaky', '/flaky');
  await rule('flaky', { detail: { eventName: ['CreateEventBus'], requestParameters: { name: ['flaky-bus'] } } }, [{ Id: 'f', Arn: arn }]);
  await eb.send(new CreateEventBusCommand({ Name: 'flaky-bus' }));
  await until('four attempts', () => hitsOn('/flaky').length >= 4);
  await ts.app.rules.settled();
  await new Promise((r) => setTimeout(r, 200));
  const attempts = hitsOn('/flaky');
  assert.equal(attempts.length, 4);
  assert.equal(new Set(attempts.map((h) => (JSON.parse(h.body) as { id: string }).id)).size, 1);
  assert.ok(attempts[3]!.at - attempts[0]!.at >= 20 + 40, 'backoff between attempts');
});

test('exhausted and non-retryable deliveries go to the dead-letter queue; opentrail dlq list and redrive', async () => {
  script.set('/down', Array(50).fill(503));
  script.set('/reject', [400]);
  const down = await destination('down', '/down');
  const reject = await destination('reject', '/reject');
  const queue = `arn:aws:sqs:us-east-1:${ACCOUNT}:rules-dlq`;
  const ruleArn = await rule('dlq', { detail: { eventName: ['CreateEventBus'], requestParameters: { name: ['dlq-bus'] } } }, [
    { Id: 'down', Arn: down, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 }, DeadLetterConfig: { Arn: queue } },
    { Id: 'reject', Arn: reject, DeadLetterConfig: { Arn: queue } },
  ]);
  await eb.send(new CreateEventBusCommand({ Name: 'dlq-bus' }));
  const list = async (): Promise<{ key: string; attributes: Record<string, string | number>; body: string }[]> => {
    const { stdout } = await run(process.execPath, [bin, 'dlq', 'list', '--data-dir', ts.dataDir, '--queue', 'rules-dlq']);
    return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { key: string; attributes: Record<string, string | number>; body: string });
  };
  let letters: Awaited<ReturnType<typeof list>> = [];
  const end = Date.now() + 10_000;
  while (letters.length < 2 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    letters = await list();
  }
  assert.equal(letters.length, 2);
  const byCondition = Object.fromEntries(letters.map((l) => [l.attributes.EXHAUSTED_RETRY_CONDITION, l]));
  assert.equal(byCondition.MaximumRetryAttempts!.attributes.RETRY_ATTEMPTS, 2);
  assert.equal(byCondition.MaximumRetryAttempts!.attributes.ERROR_CODE, '503');
  assert.equal(byCondition.MaximumRetryAttempts!.attributes.RULE_ARN, ruleArn);
  assert.equal(byCondition.NonRetryableError!.attributes.ERROR_CODE, '400');
  assert.equal(hitsOn('/down').length, 3);
  assert.equal(hitsOn('/reject').length, 1);
  const metrics = await (await fetch(`${ts.app.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`opentrail_rule_dead_lettered_total\\{rule="${ruleArn}"\\} 2`));
  assert.match(metrics, new RegExp(`opentrail_rule_failed_invocations_total\\{rule="${ruleArn}"\\} 2`));

  // The endpoints recover; redrive sends both again.
  script.set('/down', []);
  await run(process.execPath, [bin, 'dlq', 'redrive', '--data-dir', ts.dataDir, '--queue', queue]);
  await until('redriven deliveries', () => hitsOn('/down').length === 4 && hitsOn('/reject').length === 2, 10_000);
  assert.equal(JSON.parse(hitsOn('/down')[3]!.body).id, JSON.parse(hitsOn('/down')[0]!.body).id);
  assert.deepEqual(await list(), []);
});

test('OAuth client credentials and basic auth connections; a destination rate limit spaces invocations out', async () => {
  // A token endpoint in the same webhook server: POST /token with client credentials → a bearer token.
  script.set('/token', []);
  const oauth = await eb.send(
    new CreateConnectionCommand({
      Name: 'oauth',
      AuthorizationType: 'OAUTH_CLIENT_CREDENTIALS',
      AuthParameters: { OAuthParameters: { AuthorizationEndpoint: `${hookUrl}/token`, HttpMethod: 'POST', ClientParameters: { ClientID: 'cid', ClientSecret: 'csecret' } } },
    }),
  );
  const basic = await eb.send(new CreateConnectionCommand({ Name: 'basic', AuthorizationType: 'BASIC', AuthParameters: { BasicAuthParameters: { Username: 'u', Password: 'p@ss' } } }));
  const oauthDest = await eb.send(new CreateApiDestinationCommand({ Name: 'oauth-hook', ConnectionArn: oauth.ConnectionArn, InvocationEndpoint: `${hookUrl}/oauth`, HttpMethod: 'PUT' }));
  const slowDest = await eb.send(
    new CreateApiDestinationCommand({ Name: 'slow-hook', ConnectionArn: basic.ConnectionArn, InvocationEndpoint: `${hookUrl}/slow`, HttpMethod: 'POST', InvocationRateLimitPerSecond: 2 }),
  );
  const ruleArn = await rule('auths', { detail: { eventName: ['CreateEventBus'], requestParameters: { name: [{ prefix: 'auth-' }] } } }, [
    { Id: 'o', Arn: oauthDest.ApiDestinationArn },
    { Id: 's', Arn: slowDest.ApiDestinationArn },
  ]);
  for (let i = 0; i < 6; i++) await eb.send(new CreateEventBusCommand({ Name: `auth-${i}` }));
  await until('six rate-limited deliveries', () => hitsOn('/slow').length === 6, 10_000);
  const slow = hitsOn('/slow');
  assert.equal(slow[0]!.headers.authorization, `Basic ${Buffer.from('u:p@ss').toString('base64')}`);
  // Two per second with a burst of two: the sixth comes at least ~2 s after the first.
  assert.ok(slow[5]!.at - slow[0]!.at >= 1500, `spread over ${slow[5]!.at - slow[0]!.at} ms`);
  await until('the OAuth deliveries', () => hitsOn('/oauth').length === 6);
  assert.ok(hitsOn('/oauth').every((h) => h.headers.authorization === 'Bearer tok-1'));
  const token = hitsOn('/token');
  assert.ok(token.length >= 1);
  assert.equal(token[0]!.headers.authorization, `Basic ${Buffer.from('cid:csecret').toString('base64')}`);
  assert.match(token[0]!.body, /grant_type=client_credentials/);
  const metrics = await (await fetch(`${ts.app.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`opentrail_rule_throttled_total\\{rule="${ruleArn}"\\} [1-9]`));
});

test("another account's events never reach this account's rules", async () => {
  const sink = `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/mine-only`;
  await rule('mine-only', { detail: { eventName: ['CreateEventBus'] } }, [{ Id: 's', Arn: sink }]);
  const other = await ts.app.accounts.createAccount('777788889999', 'other');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'root');
  const them = new EventBridgeClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }, maxAttempts: 1 });
  await them.send(new CreateEventBusCommand({ Name: 'theirs' }));
  await eb.send(new CreateEventBusCommand({ Name: 'ours-after' }));
  const lines = await until('our line', () => (sinkLines('mine-only').length ? sinkLines('mine-only') : undefined));
  await ts.app.rules.settled();
  assert.deepEqual(sinkLines('mine-only').map((l) => (l as { account: string; detail: { requestParameters: { name: string } } }).detail.requestParameters.name), ['ours-after']);
  assert.equal((lines[0] as { account: string }).account, ACCOUNT);
  them.destroy();
});
