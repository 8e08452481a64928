/** Types of what AuditClient sends and hears back (the ingest API's wire shapes). */
import type { CloudTrailRecord, RecordResource, UserIdentity } from '../domain/record.js';

export type { CloudTrailRecord, RecordResource, UserIdentity };

/**
 * A record to send: CloudTrail's record shape (see schemas/ingest-record.schema.json). eventSource,
 * eventName and userIdentity are required; the server fills eventID, eventTime, eventVersion,
 * awsRegion, eventType, eventCategory, recipientAccountId and the rest where absent.
 */
export type AuditRecordInput = Partial<Omit<CloudTrailRecord, 'eventSource' | 'eventName' | 'userIdentity' | 'eventID'>> & {
  eventSource: string;
  eventName: string;
  userIdentity: UserIdentity;
};

/** A record the server refused: which one (its idempotency id and index in the request), and why. */
export interface RecordFailure {
  id: string | null;
  index: number;
  errorCode: string;
  errorMessage: string;
  /** The field at fault, as a JSON pointer (e.g. `/userIdentity/type`). */
  field?: string;
}
