/** The rules reader's work items: one event on its way to one target, and what is left of it in a dead-letter queue. */
import { createHash } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';

export const READER = 'rules';
export const DLQ = 'events-dlq';
/** Jobs an operator sent back from a dead-letter queue (`opentrail dlq redrive`), picked up by the server. */
export const REDRIVE = 'events-redrive';

/** One event on its way to one target. */
export interface RuleJob {
  key: string;
  accountId: string;
  region: string;
  ruleArn: string;
  targetId: string;
  /** The envelope id (stable across replays). */
  eventId: string;
  /** The event's place in the log. */
  seq: number;
  body: string;
  /** Attempts made so far. */
  attempts: number;
  firstAt: number;
  nextAt: number;
  lastError?: { code: string; message: string };
}

/** A dead-lettered job, with the attributes EventBridge puts on its DLQ messages. */
export interface DeadLetter {
  key: string;
  queueArn: string;
  accountId: string;
  job: RuleJob;
  attributes: { RULE_ARN: string; TARGET_ARN: string; ERROR_CODE: string; ERROR_MESSAGE: string; EXHAUSTED_RETRY_CONDITION: string; RETRY_ATTEMPTS: number };
  sentAt: number;
}


export function jobKey(eventId: string, ruleArn: string, targetId: string): string {
  return createHash('sha256').update(`${eventId}\n${ruleArn}\n${targetId}`).digest('base64url').slice(0, 32);
}

/** `arn:aws:sqs:<region>:<account>:<name>` → its parts, or undefined. */
export function parseQueueArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:[^:]+:sqs:([^:]*):(\d{12}):([\w-]{1,80})$/.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined;
}

/**
 * Send dead-lettered events back to their targets with fresh retries: the rules reader picks the
 * jobs up within a second (the server running or not); they leave the dead-letter queue at once.
 */
export async function redriveLetters(store: Pick<Metastore, 'writeDocs'>, letters: DeadLetter[], now = Date.now()): Promise<number> {
  const jobs: RuleJob[] = letters.map((d) => ({ ...d.job, attempts: 0, firstAt: now, nextAt: now, lastError: undefined }));
  await store.writeDocs(REDRIVE, jobs.map((j) => ({ accountId: j.accountId, id: j.key, doc: j })));
  await store.writeDocs(DLQ, [], letters.map((d) => ({ accountId: d.accountId, id: d.key })));
  return jobs.length;
}
