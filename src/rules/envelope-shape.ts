/**
 * EventBridge's envelope around a CloudTrail record, platform-neutral: the server's rules reader
 * (rules/envelope.ts, which derives the envelope id) and the console's pattern tester build it here.
 */
import type { CloudTrailRecord } from '../domain/record.js';

export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: CloudTrailRecord;
}

const DETAIL_TYPES: Record<string, string> = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
  AwsCloudTrailInsight: 'AWS Insight via CloudTrail',
};

/** `cloudtrail.amazonaws.com` → `aws.cloudtrail`; a custom source (`billing.example.com`) stays as it is. */
export function eventBridgeSource(eventSource: string): string {
  const m = /^([a-z0-9-]+)\.amazonaws\.com$/.exec(eventSource);
  return m ? `aws.${m[1]}` : eventSource;
}

/** CloudTrail's record as EventBridge delivers it, with the given envelope id. */
export function envelopeOf(r: CloudTrailRecord, id: string): EventBridgeEvent {
  const insight = (r.eventCategory ?? '').toLowerCase() === 'insight';
  return {
    version: '0',
    id,
    'detail-type': insight ? DETAIL_TYPES.AwsCloudTrailInsight! : DETAIL_TYPES[r.eventType ?? ''] ?? DETAIL_TYPES.AwsApiCall!,
    source: eventBridgeSource(r.eventSource),
    account: r.recipientAccountId ?? r.userIdentity?.accountId ?? '',
    time: r.eventTime,
    region: r.awsRegion,
    resources: [],
    detail: r,
  };
}

