/**
 * AWS Config configuration items as CloudTrail Lake keeps them in Config item stores
 * (eventCategory ConfigurationItem, eventType AwsConfigurationItem): the item itself is
 * `eventData`, CloudTrail's envelope around it. Items come from the files AWS Config delivers to
 * S3 (ConfigHistory and ConfigSnapshot: `{"fileVersion", "configurationItems": [...]}`, whose
 * items say `awsAccountId`, `ARN` and carry `configuration` as an object) or in the Config API's
 * shape (`accountId`, `arn`, `version`, `configuration` as JSON text); both become the same record.
 */
import { createHash } from 'node:crypto';

type Obj = Record<string, unknown>;

export const CONFIG_ITEM_EVENT_VERSION = '1.05';

/** What a Config item store keeps of one configuration item. */
export interface ConfigItemRecord {
  eventVersion: string;
  eventCategory: 'ConfigurationItem';
  eventType: 'AwsConfigurationItem';
  eventID: string;
  eventTime: string;
  awsRegion: string;
  recipientAccountId: string;
  eventData: {
    configurationItemVersion?: string;
    configurationItemCaptureTime: string;
    configurationItemStatus?: string;
    configurationStateId?: string;
    accountId: string;
    resourceType: string;
    resourceId: string;
    resourceName?: string;
    arn?: string;
    awsRegion: string;
    availabilityZone?: string;
    resourceCreationTime?: string;
    configuration?: unknown;
    supplementaryConfiguration?: unknown;
    relatedEvents?: unknown[];
    relationships?: unknown[];
    tags?: unknown;
  };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** JSON text as the value it holds (the Config API sends `configuration` as text); anything else as it is. */
function parsedJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** An id that is the same each time the same item is imported, in a UUID's shape. */
function itemEventId(parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * One configuration item as a Config item store's record, or why it cannot be one (the fields an
 * item must have: its capture time, resource type and id, account and Region).
 */
export function configItemRecord(ci: Obj): ConfigItemRecord | { problem: string } {
  const capture = text(ci.configurationItemCaptureTime);
  const accountId = text(ci.accountId ?? ci.awsAccountId);
  const resourceType = text(ci.resourceType);
  const resourceId = text(ci.resourceId);
  const region = text(ci.awsRegion);
  const missing = Object.entries({ configurationItemCaptureTime: capture, accountId, resourceType, resourceId, awsRegion: region })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length) return { problem: `the configuration item has no ${missing.join(', ')}` };
  const t = Date.parse(capture!);
  if (Number.isNaN(t)) return { problem: `configurationItemCaptureTime ${capture} is not a time` };
  const stateId = text(ci.configurationStateId);
  const eventTime = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const data: ConfigItemRecord['eventData'] = {
    configurationItemCaptureTime: capture!,
    accountId: accountId!,
    resourceType: resourceType!,
    resourceId: resourceId!,
    awsRegion: region!,
  };
  const optional: [keyof ConfigItemRecord['eventData'], unknown][] = [
    ['configurationItemVersion', text(ci.configurationItemVersion ?? ci.version)],
    ['configurationItemStatus', text(ci.configurationItemStatus)],
    ['configurationStateId', stateId],
    ['resourceName', text(ci.resourceName)],
    ['arn', text(ci.arn ?? ci.ARN)],
    ['availabilityZone', text(ci.availabilityZone)],
    ['resourceCreationTime', text(ci.resourceCreationTime)],
    ['configuration', parsedJson(ci.configuration)],
    ['supplementaryConfiguration', ci.supplementaryConfiguration],
    ['relatedEvents', Array.isArray(ci.relatedEvents) ? ci.relatedEvents : undefined],
    ['relationships', Array.isArray(ci.relationships) ? ci.relationships : undefined],
    ['tags', ci.tags],
  ];
  for (const [k, v] of optional) if (v !== undefined && v !== null) (data as Obj)[k] = v;
  return {
    eventVersion: CONFIG_ITEM_EVENT_VERSION,
    eventCategory: 'ConfigurationItem',
    eventType: 'AwsConfigurationItem',
    eventID: itemEventId([accountId!, region!, resourceType!, resourceId!, stateId ?? '', capture!]),
    eventTime,
    awsRegion: region!,
    recipientAccountId: accountId!,
    eventData: data,
  };
}

/** The configuration items of a file AWS Config delivered (history or snapshot); throws when it is not one. */
export function configFileItems(body: string): Obj[] {
  const doc = JSON.parse(body) as { configurationItems?: unknown };
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.configurationItems)) throw new Error('no configurationItems list');
  return doc.configurationItems.filter((x): x is Obj => !!x && typeof x === 'object');
}
