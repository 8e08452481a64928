/**
 * Rule targets' dead-letter queues, read like the SQS queues they are named as: which queues an
 * account has (named by a target's DeadLetterConfig, or holding messages), their messages with
 * EventBridge's attributes, a visibility timeout per received message, delete, purge, and
 * redrive back to the targets (SQS's StartMessageMoveTask without a destination).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import { DLQ, parseQueueArn, redriveLetters, type DeadLetter } from '../rules/jobs.js';
import type { EventRules } from './event-rules.js';
import { QueueDoesNotExist, ReceiptHandleIsInvalid } from '../protocols/errors.js';

export interface ReceivedLetter {
  letter: DeadLetter;
  messageId: string;
  receiptHandle: string;
  receiveCount: number;
  firstReceivedAt: number;
}

/** A stable SQS-style message id for a dead letter. */
export function messageIdOf(key: string): string {
  const h = createHash('sha256').update(`dlq:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class DeadLetterQueues {
  /** In memory, as SQS keeps them: when each received message is visible again, and how often it was received. */
  private readonly hiddenUntil = new Map<string, number>();
  private readonly receipts = new Map<string, { count: number; first: number }>();

  constructor(
    private readonly store: Metastore,
    private readonly rules: EventRules,
  ) {}

  /** Every queue ARN of the account in a region: targets' dead-letter queues and queues holding messages. */
  async queueArns(accountId: string, region: string): Promise<string[]> {
    const arns = new Set<string>();
    for (const r of await this.rules.rulesOf(accountId, region).catch(() => [])) {
      for (const t of r.targets) if (t.DeadLetterConfig?.Arn) arns.add(t.DeadLetterConfig.Arn);
    }
    for (const d of await this.store.listDocs<DeadLetter>(DLQ, accountId)) arns.add(d.queueArn);
    return [...arns].filter((a) => {
      const q = parseQueueArn(a);
      return q && q.accountId === accountId && q.region === region;
    }).sort();
  }

  async requireQueue(accountId: string, region: string, name: string): Promise<string> {
    const arn = (await this.queueArns(accountId, region)).find((a) => parseQueueArn(a)!.name === name);
    if (!arn) throw new QueueDoesNotExist(`The specified queue does not exist: ${name}. Only rule targets' dead-letter queues are served here.`);
    return arn;
  }

  async letters(accountId: string, queueArn: string): Promise<DeadLetter[]> {
    return (await this.store.listDocs<DeadLetter>(DLQ, accountId)).filter((d) => d.queueArn === queueArn).sort((a, b) => a.sentAt - b.sentAt || (a.key < b.key ? -1 : 1));
  }

  async counts(accountId: string, queueArn: string, now = Date.now()): Promise<{ visible: number; notVisible: number }> {
    let notVisible = 0;
    const all = await this.letters(accountId, queueArn);
    for (const d of all) if ((this.hiddenUntil.get(d.key) ?? 0) > now) notVisible++;
    return { visible: all.length - notVisible, notVisible };
  }

  /** Up to `max` visible messages, oldest first, hidden for `visibilityMs` from now. */
  async receive(accountId: string, queueArn: string, max: number, visibilityMs: number, now = Date.now()): Promise<ReceivedLetter[]> {
    const out: ReceivedLetter[] = [];
    for (const letter of await this.letters(accountId, queueArn)) {
      if (out.length >= max) break;
      if ((this.hiddenUntil.get(letter.key) ?? 0) > now) continue;
      if (visibilityMs > 0) this.hiddenUntil.set(letter.key, now + visibilityMs);
      const r = this.receipts.get(letter.key) ?? { count: 0, first: now };
      r.count++;
      this.receipts.set(letter.key, r);
      const receiptHandle = Buffer.from(JSON.stringify({ q: queueArn, k: letter.key, n: randomBytes(6).toString('hex') })).toString('base64url');
      out.push({ letter, messageId: messageIdOf(letter.key), receiptHandle, receiveCount: r.count, firstReceivedAt: r.first });
    }
    return out;
  }

  async delete(accountId: string, queueArn: string, receiptHandle: string): Promise<void> {
    let key: string | undefined;
    try {
      const r = JSON.parse(Buffer.from(receiptHandle, 'base64url').toString('utf8')) as { q?: string; k?: string };
      if (r.q === queueArn && typeof r.k === 'string') key = r.k;
    } catch {
      // not one of ours
    }
    if (!key) throw new ReceiptHandleIsInvalid(`The input receipt handle "${receiptHandle.slice(0, 40)}" is not a valid receipt handle for this queue.`);
    await this.store.writeDocs(DLQ, [], [{ accountId, id: key }]);
    this.forget(key);
  }

  async purge(accountId: string, queueArn: string): Promise<void> {
    const all = await this.letters(accountId, queueArn);
    await this.store.writeDocs(DLQ, [], all.map((d) => ({ accountId, id: d.key })));
    for (const d of all) this.forget(d.key);
  }

  /** Every message of the queue back to its rule's target, with fresh retries. */
  async redrive(accountId: string, queueArn: string): Promise<number> {
    const all = await this.letters(accountId, queueArn);
    for (const d of all) this.forget(d.key);
    return redriveLetters(this.store, all);
  }

  private forget(key: string): void {
    this.hiddenUntil.delete(key);
    this.receipts.delete(key);
  }
}
