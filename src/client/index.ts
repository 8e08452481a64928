/** opentrail/client: record your own platform's activity in opentrail. */
export { AuditClient, BufferFullError, ClientClosedError, type AuditClientOptions, type AuditClientStats, type AuditCredentials } from './audit-client.js';
export type { AuditRecordInput, CloudTrailRecord, RecordFailure, RecordResource, UserIdentity } from './types.js';
