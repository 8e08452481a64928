/** The rules reader's work items: one event on its way to one target, and what is left of it in a dead-letter queue. */
import { createHash } from 'node:crypto';

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
