/** EventBridge rules through @aws-sdk/client-eventbridge: the API, its errors, and account isolation. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventBridgeClient,
  PutRuleCommand,
  DescribeRuleCommand,
  ListRulesCommand,
  DeleteRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ListTargetsByRuleCommand,
  TestEventPatternCommand,
  CreateEventBusCommand,
  ListEventBusesCommand,
  DeleteEventBusCommand,
  DescribeEventBusCommand,
  CreateConnectionCommand,
  DescribeConnectionCommand,
  ListConnectionsCommand,
  DeleteConnectionCommand,
  CreateApiDestinationCommand,
  DescribeApiDestinationCommand,
  ListApiDestinationsCommand,
  DeleteApiDestinationCommand,
} from '@aws-sdk/client-eventbridge';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { ACCOUNT, KEY, SECRET, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
let eb: EventBridgeClient;
const client = (accessKeyId = KEY, secretAccessKey = SECRET, region = 'us-east-1'): EventBridgeClient =>
  new EventBridgeClient({ endpoint: ts.app.url, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });

before(async () => {
  ts = await startTestServer();
  eb = client();
});
after(async () => {
  eb.destroy();
  await ts.close();
});

const SAMPLE_EVENT = JSON.stringify({
  id: '1',
  account: ACCOUNT,
  source: 'aws.cloudtrail',
  time: '2026-11-29T00:00:00Z',
  region: 'us-east-1',
  'detail-type': 'AWS API Call via CloudTrail',
  resources: [],
  detail: { eventName: 'StopLogging', userIdentity: { type: 'Root' }, sourceIPAddress: '10.1.2.3' },
});

test('PutRule, DescribeRule, ListRules, Enable/Disable, DeleteRule', async () => {
  const put = await eb.send(new PutRuleCommand({ Name: 'root-activity', EventPattern: '{"detail":{"userIdentity":{"type":["Root"]}}}', Description: 'root' }));
  assert.equal(put.RuleArn, `arn:aws:events:us-east-1:${ACCOUNT}:rule/root-activity`);
  const d = await eb.send(new DescribeRuleCommand({ Name: 'root-activity' }));
  assert.equal(d.State, 'ENABLED');
  assert.equal(d.EventBusName, 'default');
  assert.equal(d.EventPattern, '{"detail":{"userIdentity":{"type":["Root"]}}}');
  assert.equal(d.Description, 'root');
  await eb.send(new DisableRuleCommand({ Name: 'root-activity' }));
  assert.equal((await eb.send(new DescribeRuleCommand({ Name: 'root-activity' }))).State, 'DISABLED');
  await eb.send(new EnableRuleCommand({ Name: 'root-activity' }));
  assert.equal((await eb.send(new DescribeRuleCommand({ Name: 'root-activity' }))).State, 'ENABLED');
  for (let i = 0; i < 5; i++) await eb.send(new PutRuleCommand({ Name: `r-${i}`, EventPattern: '{"source":["aws.s3"]}' }));
  const page1 = await eb.send(new ListRulesCommand({ NamePrefix: 'r-', Limit: 3 }));
  assert.deepEqual(page1.Rules!.map((r) => r.Name), ['r-0', 'r-1', 'r-2']);
  const page2 = await eb.send(new ListRulesCommand({ NamePrefix: 'r-', Limit: 3, NextToken: page1.NextToken }));
  assert.deepEqual(page2.Rules!.map((r) => r.Name), ['r-3', 'r-4']);
  assert.equal(page2.NextToken, undefined);
  await eb.send(new DeleteRuleCommand({ Name: 'r-0' }));
  await expectAwsError(eb.send(new DescribeRuleCommand({ Name: 'r-0' })), 'ResourceNotFoundException');
});

test('bad patterns are refused with InvalidEventPatternException saying what is wrong', async () => {
  const cases: [string, RegExp][] = [
    ['{"detail":{"x":[{"numeric":[">",5,"<",1]}]}}', /Bottom must be less than top/],
    ['{"a":[{"prefix":3}]}', /prefix match pattern must be a string/],
    ['{"a":[{"wildcard":"a**b"}]}', /Consecutive wildcard/],
    ['{"a":"not-a-list"}', /must be an array or an object/],
    ['{"a":[{"cidr":"10.0.0.0"}]}', /CIDR/],
    ['[1,2]', /Filter is not an object/],
    ['{"a": [', /not valid JSON/],
  ];
  for (const [pattern, why] of cases) {
    const err = await expectAwsError(eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: pattern })), 'InvalidEventPatternException');
    assert.match(err.message, why, pattern);
    assert.match(err.message, /^Event pattern is not valid\. Reason: /);
  }
  await expectAwsError(eb.send(new PutRuleCommand({ Name: 'sched', ScheduleExpression: 'rate(5 minutes)' })), 'ValidationException');
  await expectAwsError(eb.send(new PutRuleCommand({ Name: 'bad name!', EventPattern: '{"a":[1]}' })), 'ValidationException');
});

test('TestEventPattern answers true and false, and checks the event', async () => {
  const t = (p: string) => eb.send(new TestEventPatternCommand({ EventPattern: p, Event: SAMPLE_EVENT }));
  assert.equal((await t('{"detail":{"userIdentity":{"type":["Root"]}}}')).Result, true);
  assert.equal((await t('{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}],"eventName":[{"prefix":"Stop"}]}}')).Result, true);
  assert.equal((await t('{"detail":{"eventName":[{"anything-but":{"prefix":"Stop"}}]}}')).Result, false);
  assert.equal((await t('{"$or":[{"source":["aws.s3"]},{"detail-type":[{"wildcard":"*CloudTrail"}]}]}')).Result, true);
  await expectAwsError(eb.send(new TestEventPatternCommand({ EventPattern: '{"a":[1]}', Event: '{"detail":{}}' })), 'InvalidEventPatternException');
  await expectAwsError(eb.send(new TestEventPatternCommand({ EventPattern: '{"a":[{"nope":1}]}', Event: SAMPLE_EVENT })), 'InvalidEventPatternException');
});

test('targets: PutTargets validates each entry, at most five, ListTargetsByRule, RemoveTargets, DeleteRule needs Force', async () => {
  await eb.send(new PutRuleCommand({ Name: 'with-targets', EventPattern: '{"source":["aws.cloudtrail"]}' }));
  const sink = (n: string): string => `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/${n}`;
  const r = await eb.send(
    new PutTargetsCommand({
      Rule: 'with-targets',
      Targets: [
        { Id: 'a', Arn: sink('a') },
        { Id: 'b', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
        { Id: 'c', Arn: sink('c'), Input: '{}', InputPath: '$.detail' },
        { Id: 'd', Arn: sink('d'), DeadLetterConfig: { Arn: 'not-a-queue' } },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 3);
  assert.deepEqual(r.FailedEntries!.map((f) => f.TargetId), ['b', 'c', 'd']);
  assert.match(r.FailedEntries![1]!.ErrorMessage!, /Only one of Input, InputPath, or InputTransformer/);
  const many = Array.from({ length: 5 }, (_, i) => ({ Id: `t${i}`, Arn: sink(`t${i}`) }));
  await expectAwsError(eb.send(new PutTargetsCommand({ Rule: 'with-targets', Targets: many })), 'LimitExceededException');
  const listed = await eb.send(new ListTargetsByRuleCommand({ Rule: 'with-targets' }));
  assert.deepEqual(listed.Targets!.map((t) => t.Id), ['a']);
  await expectAwsError(eb.send(new DeleteRuleCommand({ Name: 'with-targets' })), 'ValidationException');
  const rm = await eb.send(new RemoveTargetsCommand({ Rule: 'with-targets', Ids: ['a', 'zz'] }));
  assert.equal(rm.FailedEntryCount, 1);
  await eb.send(new PutTargetsCommand({ Rule: 'with-targets', Targets: [{ Id: 'a', Arn: sink('a') }] }));
  await eb.send(new DeleteRuleCommand({ Name: 'with-targets', Force: true }));
  await expectAwsError(eb.send(new ListTargetsByRuleCommand({ Rule: 'with-targets' })), 'ResourceNotFoundException');
  await expectAwsError(eb.send(new PutTargetsCommand({ Rule: 'missing', Targets: [{ Id: 'a', Arn: sink('a') }] })), 'ResourceNotFoundException');
});

test('event buses: default always there, create, rules on a custom bus, delete', async () => {
  const created = await eb.send(new CreateEventBusCommand({ Name: 'audit' }));
  assert.equal(created.EventBusArn, `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/audit`);
  await expectAwsError(eb.send(new CreateEventBusCommand({ Name: 'audit' })), 'ResourceAlreadyExistsException');
  assert.deepEqual((await eb.send(new ListEventBusesCommand({}))).EventBuses!.map((b) => b.Name), ['audit', 'default']);
  const rule = await eb.send(new PutRuleCommand({ Name: 'on-audit', EventBusName: 'audit', EventPattern: '{"source":["x"]}' }));
  assert.equal(rule.RuleArn, `arn:aws:events:us-east-1:${ACCOUNT}:rule/audit/on-audit`);
  assert.deepEqual((await eb.send(new ListRulesCommand({ EventBusName: created.EventBusArn }))).Rules!.map((r) => r.Name), ['on-audit']);
  await expectAwsError(eb.send(new PutRuleCommand({ Name: 'x', EventBusName: 'nope', EventPattern: '{"a":[1]}' })), 'ResourceNotFoundException');
  await expectAwsError(eb.send(new DeleteEventBusCommand({ Name: 'default' })), 'ValidationException');
  await eb.send(new DeleteEventBusCommand({ Name: 'audit' }));
  await expectAwsError(eb.send(new DescribeEventBusCommand({ Name: 'audit' })), 'ResourceNotFoundException');
  assert.equal((await eb.send(new DescribeEventBusCommand({}))).Name, 'default');
});

test('connections and API destinations; secrets never shown, and hidden in the CloudTrail record', async () => {
  const c = await eb.send(
    new CreateConnectionCommand({ Name: 'hook-auth', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'sekret-value-1' } } }),
  );
  assert.equal(c.ConnectionState, 'AUTHORIZED');
  assert.match(c.ConnectionArn!, new RegExp(`^arn:aws:events:us-east-1:${ACCOUNT}:connection/hook-auth/[0-9a-f-]{36}$`));
  await expectAwsError(
    eb.send(new CreateConnectionCommand({ Name: 'hook-auth', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'k', ApiKeyValue: 'v' } } })),
    'ResourceAlreadyExistsException',
  );
  const d = await eb.send(new DescribeConnectionCommand({ Name: 'hook-auth' }));
  assert.deepEqual(d.AuthParameters?.ApiKeyAuthParameters, { ApiKeyName: 'x-api-key' });
  assert.ok(!JSON.stringify(d).includes('sekret-value-1'));
  assert.equal((await eb.send(new ListConnectionsCommand({}))).Connections!.length, 1);
  const dest = await eb.send(new CreateApiDestinationCommand({ Name: 'hook', ConnectionArn: c.ConnectionArn, InvocationEndpoint: 'http://127.0.0.1:9/x', HttpMethod: 'POST', InvocationRateLimitPerSecond: 10 }));
  assert.equal(dest.ApiDestinationState, 'ACTIVE');
  const dd = await eb.send(new DescribeApiDestinationCommand({ Name: 'hook' }));
  assert.equal(dd.InvocationRateLimitPerSecond, 10);
  assert.equal((await eb.send(new ListApiDestinationsCommand({ ConnectionArn: c.ConnectionArn }))).ApiDestinations!.length, 1);
  await expectAwsError(eb.send(new CreateApiDestinationCommand({ Name: 'h2', ConnectionArn: `${c.ConnectionArn}x`, InvocationEndpoint: 'http://127.0.0.1:9/x', HttpMethod: 'POST' })), 'ResourceNotFoundException');
  await eb.send(new DeleteApiDestinationCommand({ Name: 'hook' }));
  await expectAwsError(eb.send(new DescribeApiDestinationCommand({ Name: 'hook' })), 'ResourceNotFoundException');
  await eb.send(new DeleteConnectionCommand({ Name: 'hook-auth' }));
  // The CreateConnection call is in event history, with the key's value hidden as AWS hides it.
  const ct = ts.client();
  const found = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateConnection' }] }));
  // Newest first: the refused second CreateConnection, then the first one.
  assert.equal(found.Events!.length, 2);
  const rec = JSON.parse(found.Events![1]!.CloudTrailEvent!) as { eventSource: string; requestParameters: { authParameters: { apiKeyAuthParameters: { apiKeyValue: string; apiKeyName: string } } } };
  assert.equal(rec.eventSource, 'events.amazonaws.com');
  assert.equal(rec.requestParameters.authParameters.apiKeyAuthParameters.apiKeyValue, 'HIDDEN_DUE_TO_SECURITY_REASONS');
  assert.equal(rec.requestParameters.authParameters.apiKeyAuthParameters.apiKeyName, 'x-api-key');
  assert.ok(!found.Events!.some((e) => e.CloudTrailEvent!.includes('sekret-value-1')));
  ct.destroy();
});

test('account and region isolation: rules, buses and connections of one account are invisible to another', async () => {
  await eb.send(new PutRuleCommand({ Name: 'mine', EventPattern: '{"source":["aws.s3"]}' }));
  const other = await ts.app.accounts.createAccount('444455550000', 'other');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'root');
  const them = client(key.accessKeyId, key.secretAccessKey);
  await expectAwsError(them.send(new DescribeRuleCommand({ Name: 'mine' })), 'ResourceNotFoundException');
  assert.equal((await them.send(new ListRulesCommand({}))).Rules!.length, 0);
  const theirs = await them.send(new PutRuleCommand({ Name: 'mine', EventPattern: '{"source":["aws.ec2"]}' }));
  assert.equal(theirs.RuleArn, 'arn:aws:events:us-east-1:444455550000:rule/mine');
  assert.equal((await eb.send(new DescribeRuleCommand({ Name: 'mine' }))).EventPattern, '{"source":["aws.s3"]}');
  // A target in another account's name is refused.
  const r = await them.send(new PutTargetsCommand({ Rule: 'mine', Targets: [{ Id: 'x', Arn: `arn:opentrail:sink:us-east-1:${ACCOUNT}:file/steal` }] }));
  assert.equal(r.FailedEntryCount, 1);
  const west = client(KEY, SECRET, 'us-west-2');
  await expectAwsError(west.send(new DescribeRuleCommand({ Name: 'mine' })), 'ResourceNotFoundException');
  them.destroy();
  west.destroy();
});
