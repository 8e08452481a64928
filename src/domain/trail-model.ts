/** The Trail resource: its stored shape, names, ARNs and AWS's output shapes. */
import type { AdvancedEventSelector, EventSelector } from './selectors.js';

export interface Tag {
  Key: string;
  Value?: string;
}

export interface InsightSelector {
  InsightType?: string;
  EventCategories?: string[];
}

/** A trail as stored (AWS field names, plus the owning account). */
export interface TrailDoc {
  accountId: string;
  Name: string;
  HomeRegion: string;
  TrailARN: string;
  S3BucketName: string;
  S3KeyPrefix?: string;
  SnsTopicName?: string;
  SnsTopicARN?: string;
  IncludeGlobalServiceEvents: boolean;
  IsMultiRegionTrail: boolean;
  LogFileValidationEnabled: boolean;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  KmsKeyId?: string;
  IsOrganizationTrail: boolean;
  EventSelectors?: EventSelector[];
  AdvancedEventSelectors?: AdvancedEventSelector[];
  InsightSelectors?: InsightSelector[];
  Tags: Tag[];
  createdAt: number;
}

/** The logging state a trail's API calls change (StartLogging / StopLogging). */
export interface TrailLogging {
  IsLogging: boolean;
  StartLoggingTime?: number;
  StopLoggingTime?: number;
  /** Log positions between which events are delivered: (from, to]; `to` absent while logging. */
  intervals: { from: number; to?: number }[];
}

/** What delivery reports (written only by the delivery reader). */
export interface TrailDelivery {
  LatestDeliveryTime?: number;
  LatestDeliveryAttemptTime?: number;
  LatestDeliverySucceededTime?: number;
  LatestDeliveryError?: string;
  LatestDigestDeliveryTime?: number;
  LatestDigestDeliveryError?: string;
}

/** The event log reader that delivers a trail's files. */
export function deliveryReaderName(t: Pick<TrailDoc, 'TrailARN'>): string {
  return `trail:${t.TrailARN}`;
}

export function trailArn(region: string, accountId: string, name: string): string {
  return `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`;
}

export interface ParsedTrailArn {
  region: string;
  accountId: string;
  name: string;
}

const ARN_RE = /^arn:aws[\w-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

export function parseTrailArn(arn: string): ParsedTrailArn | undefined {
  const m = ARN_RE.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined;
}

/** CloudTrail's trail name rules; returns the complaint, or undefined when the name is valid. */
export function trailNameProblem(name: string): string | undefined {
  if (name.length < 3) return `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`;
  if (name.length > 128) return `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    return 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).';
  }
  if (!/^[A-Za-z0-9]/.test(name)) return 'Trail name must start with a letter or number.';
  if (!/[A-Za-z0-9]$/.test(name)) return 'Trail name must end with a letter or number.';
  if (/[._-]{2}/.test(name)) return 'Trail name cannot have adjacent periods, underscores or dashes.';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'Trail name cannot be formatted as an IP address.';
  return undefined;
}

export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `Bucket name must be 3 to 63 characters long: ${name}`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `Bucket name is not valid: ${name}`;
  if (/\.\./.test(name) || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return `Bucket name is not valid: ${name}`;
  return undefined;
}

/** The Trail output shape (DescribeTrails, GetTrail). */
export function toTrailShape(t: TrailDoc): Record<string, unknown> {
  return {
    Name: t.Name,
    S3BucketName: t.S3BucketName,
    S3KeyPrefix: t.S3KeyPrefix,
    SnsTopicName: t.SnsTopicName,
    SnsTopicARN: t.SnsTopicARN,
    IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents,
    IsMultiRegionTrail: t.IsMultiRegionTrail,
    HomeRegion: t.HomeRegion,
    TrailARN: t.TrailARN,
    LogFileValidationEnabled: t.LogFileValidationEnabled,
    CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn,
    CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn,
    KmsKeyId: t.KmsKeyId,
    HasCustomEventSelectors: Boolean(t.AdvancedEventSelectors?.length) || t.EventSelectors !== undefined,
    HasInsightSelectors: Boolean(t.InsightSelectors?.length),
    IsOrganizationTrail: t.IsOrganizationTrail,
  };
}

/** The CreateTrail / UpdateTrail output shape. */
export function toTrailWriteShape(t: TrailDoc): Record<string, unknown> {
  const { HomeRegion: _h, HasCustomEventSelectors: _c, HasInsightSelectors: _i, ...rest } = toTrailShape(t) as Record<string, unknown> & {
    HomeRegion: unknown;
    HasCustomEventSelectors: unknown;
    HasInsightSelectors: unknown;
  };
  return rest;
}
