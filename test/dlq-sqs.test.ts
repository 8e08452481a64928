/**
 * Rule targets' dead-letter queues through the SQS API: the SDK and the AWS CLI list, read
 * (EventBridge's message attributes, visibility timeout, MD5 checked by the SDK), delete, purge
 * and redrive them back to the target (StartMessageMoveTask); other queues and accounts see nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateApiDestinationCommand, CreateConnectionCommand, CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ACCOUNT, KEY, SECRET, expectAwsError, startTestServer, webhook, type TestServer } from './helpers.js';

let ts: TestServer;
let eb: EventBridgeClient;
let sqs: SQSClient;
let hook: Awaited<ReturnType<typeof webhook>>;
/** Answers to the webhook: 400 (not retryable) while `reject` is set. */
let reject = true;
let received: string[] = [];
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:rule-dlq`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_RULES_RETRY_BASE_MS: '20' } });
  const common = { endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, maxAttempts: 1 };
  eb = new EventBridgeClient(common);
  sqs = new SQSClient(common);
  hook = await webhook(() => (reject ? 400 : 200));
  received = hook.bodies;
  const c = await eb.send(new CreateConnectionCommand({ Name: 'hook', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'k' } } }));
  const d = await eb.send(
    new CreateApiDestinationCommand({ Name: 'hook', ConnectionArn: c.ConnectionArn, InvocationEndpoint: `${hook.url}/in`, HttpMethod: 'POST' }),
  );
  await eb.send(new PutRuleCommand({ Name: 'buses', EventPattern: JSON.stringify({ detail: { eventName: ['CreateEventBus'] } }) }));
  await eb.send(new PutTargetsCommand({ Rule: 'buses', Targets: [{ Id: 'hook', Arn: d.ApiDestinationArn, DeadLetterConfig: { Arn: QUEUE } }] }));
});

after(async () => {
  eb.destroy();
  sqs.destroy();
  await ts.close();
  await hook.close();
});

const depth = async (url: string): Promise<number> =>
  Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes!.ApproximateNumberOfMessages);

test('a rejected event is in the dead-letter queue, read over SQS with EventBridge attributes; delete and purge', async () => {
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'rule-dlq' }))).QueueUrl!;
  assert.equal(url, `${ts.app.url}/${ACCOUNT}/rule-dlq`);
  assert.deepEqual((await sqs.send(new ListQueuesCommand({}))).QueueUrls, [url]);
  assert.equal(await depth(url), 0);
  await eb.send(new CreateEventBusCommand({ Name: 'one' }));
  await until('a dead letter', async () => (await depth(url)) === 1);

  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 30 }));
  assert.equal(got.Messages?.length, 1);
  const m = got.Messages![0]!;
  assert.equal(JSON.parse(m.Body!).detail.requestParameters.name, 'one');
  assert.equal(m.MessageAttributes!.ERROR_CODE!.StringValue, '400');
  assert.equal(m.MessageAttributes!.EXHAUSTED_RETRY_CONDITION!.StringValue, 'NonRetryableError');
  assert.match(m.MessageAttributes!.RULE_ARN!.StringValue!, /:rule\/buses$/);
  assert.equal(m.Attributes!.ApproximateReceiveCount, '1');
  // Hidden for the visibility timeout: a second receive finds nothing.
  assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages, undefined);
  const attrs = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes!;
  assert.equal(attrs.ApproximateNumberOfMessagesNotVisible, '1');
  assert.equal(attrs.QueueArn, QUEUE);
  await expectAwsError(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'forged' })), 'ReceiptHandleIsInvalid');
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  assert.equal(await depth(url), 0);

  await eb.send(new CreateEventBusCommand({ Name: 'two' }));
  await until('another dead letter', async () => (await depth(url)) === 1);
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  assert.equal(await depth(url), 0);
});

test('StartMessageMoveTask sends dead letters back to their target', async () => {
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'rule-dlq' }))).QueueUrl!;
  await eb.send(new CreateEventBusCommand({ Name: 'three' }));
  await until('a dead letter', async () => (await depth(url)) === 1);
  const before = received.length;
  reject = false;
  await expectAwsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: QUEUE, DestinationArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:elsewhere` })), 'ValidationException');
  const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: QUEUE }));
  assert.ok(task.TaskHandle);
  assert.equal(await depth(url), 0);
  await until('the redriven delivery', () => received.length === before + 1);
  assert.equal(JSON.parse(received.at(-1)!).detail.requestParameters.name, 'three');
  reject = true;
});

test('queues that are no target’s dead-letter queue, and other accounts, do not exist', async () => {
  await expectAwsError(sqs.send(new GetQueueUrlCommand({ QueueName: 'not-a-dlq' })), 'QueueDoesNotExist');
  await expectAwsError(sqs.send(new ReceiveMessageCommand({ QueueUrl: `${ts.app.url}/${ACCOUNT}/not-a-dlq` })), 'QueueDoesNotExist');
  await ts.app.accounts.createAccount('444455556666', 'other');
  const key = await ts.app.accounts.createAccessKey('444455556666', 'root');
  const other = new SQSClient({ endpoint: ts.app.url, region: 'us-east-1', credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }, maxAttempts: 1 });
  assert.deepEqual((await other.send(new ListQueuesCommand({}))).QueueUrls ?? [], []);
  await expectAwsError(other.send(new ReceiveMessageCommand({ QueueUrl: `${ts.app.url}/${ACCOUNT}/rule-dlq` })), 'QueueDoesNotExist');
  other.destroy();
});

const hasAwsCli = spawnSync('aws', ['--version']).status === 0;
test('the AWS CLI reads a dead-letter queue', { skip: !hasAwsCli && 'aws CLI not installed' }, async () => {
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'rule-dlq' }))).QueueUrl!;
  await eb.send(new CreateEventBusCommand({ Name: 'four' }));
  await until('a dead letter', async () => (await depth(url)) === 1);
  const env = { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_DEFAULT_REGION: 'us-east-1' };
  const { stdout } = await promisify(execFile)('aws', ['--endpoint-url', ts.app.url, 'sqs', 'receive-message', '--queue-url', url, '--message-attribute-names', 'All'], { env, encoding: 'utf8' });
  const out = JSON.parse(stdout) as { Messages: { Body: string; MessageAttributes: Record<string, { StringValue: string }> }[] };
  assert.equal(JSON.parse(out.Messages[0]!.Body).detail.requestParameters.name, 'four');
  assert.equal(out.Messages[0]!.MessageAttributes.ERROR_CODE!.StringValue, '400');
});
