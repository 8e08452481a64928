/**
 * The SQS API (AWS JSON 1.0, signing name `sqs`, target prefix `AmazonSQS`) over rule targets'
 * dead-letter queues: what `aws sqs receive-message` and the console read them with. Other
 * queues do not exist here (QueueDoesNotExist); sending is EventBridge's job, not the caller's.
 */
import { createHash } from 'node:crypto';
import { Json11Service, operation } from '../../protocols/json11-service.js';
import { loadModel } from '../../protocols/model.js';
import { InvalidParameterValue, QueueDoesNotExist, ValidationException } from '../../protocols/errors.js';
import { parseQueueArn } from '../../rules/jobs.js';
import type { DeadLetterQueues } from '../../domain/dead-letters.js';
import type { RequestContext } from '../types.js';

export interface SqsDeps {
  queues: DeadLetterQueues;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

const DATA_EVENTS = new Set(['ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'SendMessage', 'SendMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch']);

function wants(names: string[] | undefined, name: string): boolean {
  return !!names && names.some((n) => n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -2))));
}

export function createSqsService(deps: SqsDeps): Json11Service {
  /** A queue's URL on the address the caller reached this server at. */
  const urlOf = (arn: string, ctx: RequestContext): string => {
    const q = parseQueueArn(arn)!;
    return `${ctx.origin ?? 'http://localhost'}/${q.accountId}/${q.name}`;
  };
  /** The queue a QueueUrl names, in the caller's account and region. */
  const queueOf = async (queueUrl: string, ctx: RequestContext): Promise<string> => {
    const m = /\/(\d{12})\/([\w-]{1,80})\/?$/.exec(queueUrl);
    if (!m) throw new QueueDoesNotExist(`The specified queue does not exist: ${queueUrl}`);
    if (m[1] !== ctx.accountId) throw new QueueDoesNotExist(`The specified queue does not exist for this account: ${queueUrl}`);
    return deps.queues.requireQueue(ctx.accountId, ctx.region, m[2]!);
  };

  return new Json11Service({
    signingName: 'sqs',
    eventSource: 'sqs.amazonaws.com',
    model: loadModel('sqs-2012-11-05'),
    dataEvents: DATA_EVENTS,
    onUnexpectedError: deps.onUnexpectedError,
    operations: {
      ListQueues: operation<{ QueueNamePrefix?: string; MaxResults?: number }, unknown>({
        handler: async (i, ctx) => {
          const arns = (await deps.queues.queueArns(ctx.accountId, ctx.region)).filter((a) => !i.QueueNamePrefix || parseQueueArn(a)!.name.startsWith(i.QueueNamePrefix));
          return { QueueUrls: arns.slice(0, i.MaxResults ?? 1000).map((a) => urlOf(a, ctx)) };
        },
      }),
      GetQueueUrl: operation<{ QueueName: string; QueueOwnerAWSAccountId?: string }, unknown>({
        handler: async (i, ctx) => {
          if (i.QueueOwnerAWSAccountId && i.QueueOwnerAWSAccountId !== ctx.accountId) throw new QueueDoesNotExist(`The specified queue does not exist: ${i.QueueName}`);
          return { QueueUrl: urlOf(await deps.queues.requireQueue(ctx.accountId, ctx.region, i.QueueName), ctx) };
        },
      }),
      GetQueueAttributes: operation<{ QueueUrl: string; AttributeNames?: string[] }, unknown>({
        handler: async (i, ctx) => {
          const arn = await queueOf(i.QueueUrl, ctx);
          const c = await deps.queues.counts(ctx.accountId, arn);
          const all: Record<string, string> = {
            QueueArn: arn,
            ApproximateNumberOfMessages: String(c.visible),
            ApproximateNumberOfMessagesNotVisible: String(c.notVisible),
            ApproximateNumberOfMessagesDelayed: '0',
            VisibilityTimeout: '30',
            MessageRetentionPeriod: '1209600',
          };
          const names = i.AttributeNames ?? [];
          return { Attributes: Object.fromEntries(Object.entries(all).filter(([k]) => wants(names, k))) };
        },
      }),
      ReceiveMessage: operation<
        { QueueUrl: string; MaxNumberOfMessages?: number; VisibilityTimeout?: number; AttributeNames?: string[]; MessageSystemAttributeNames?: string[]; MessageAttributeNames?: string[] },
        unknown
      >({
        handler: async (i, ctx) => {
          const arn = await queueOf(i.QueueUrl, ctx);
          const max = i.MaxNumberOfMessages ?? 1;
          if (max < 1 || max > 10) throw new InvalidParameterValue(`Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
          const got = await deps.queues.receive(ctx.accountId, arn, max, (i.VisibilityTimeout ?? 30) * 1000);
          const sys = [...(i.AttributeNames ?? []), ...(i.MessageSystemAttributeNames ?? [])];
          const Messages = got.map((r) => {
            const a = r.letter.attributes;
            const system: Record<string, string> = {
              SentTimestamp: String(r.letter.sentAt),
              ApproximateReceiveCount: String(r.receiveCount),
              ApproximateFirstReceiveTimestamp: String(r.firstReceivedAt),
              SenderId: 'events.amazonaws.com',
            };
            const attrs: Record<string, { DataType: string; StringValue: string }> = {
              RULE_ARN: { DataType: 'String', StringValue: a.RULE_ARN },
              TARGET_ARN: { DataType: 'String', StringValue: a.TARGET_ARN },
              ERROR_CODE: { DataType: 'String', StringValue: a.ERROR_CODE },
              ERROR_MESSAGE: { DataType: 'String', StringValue: a.ERROR_MESSAGE },
              EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: a.EXHAUSTED_RETRY_CONDITION },
              RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(a.RETRY_ATTEMPTS) },
            };
            const body = r.letter.job.body;
            const messageAttributes = Object.fromEntries(Object.entries(attrs).filter(([k]) => wants(i.MessageAttributeNames, k)));
            const systemAttributes = Object.fromEntries(Object.entries(system).filter(([k]) => wants(sys, k)));
            return {
              MessageId: r.messageId,
              ReceiptHandle: r.receiptHandle,
              MD5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
              Body: body,
              ...(Object.keys(systemAttributes).length ? { Attributes: systemAttributes } : {}),
              ...(Object.keys(messageAttributes).length ? { MessageAttributes: messageAttributes } : {}),
            };
          });
          return Messages.length ? { Messages } : {};
        },
      }),
      DeleteMessage: operation<{ QueueUrl: string; ReceiptHandle: string }, unknown>({
        handler: async (i, ctx) => {
          await deps.queues.delete(ctx.accountId, await queueOf(i.QueueUrl, ctx), i.ReceiptHandle);
          return {};
        },
      }),
      PurgeQueue: operation<{ QueueUrl: string }, unknown>({
        handler: async (i, ctx) => {
          await deps.queues.purge(ctx.accountId, await queueOf(i.QueueUrl, ctx));
          return {};
        },
      }),
      StartMessageMoveTask: operation<{ SourceArn: string; DestinationArn?: string }, unknown>({
        handler: async (i, ctx) => {
          if (i.DestinationArn) {
            throw new ValidationException('Dead-lettered events move back to their rule targets only: leave DestinationArn out.');
          }
          const q = parseQueueArn(i.SourceArn);
          if (!q || q.accountId !== ctx.accountId) throw new QueueDoesNotExist(`The specified queue does not exist: ${i.SourceArn}`);
          const arn = await deps.queues.requireQueue(ctx.accountId, ctx.region, q.name);
          const moved = await deps.queues.redrive(ctx.accountId, arn);
          return { TaskHandle: Buffer.from(JSON.stringify({ q: arn, n: moved, t: Date.now() })).toString('base64url') };
        },
      }),
    },
  });
}
