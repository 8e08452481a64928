/**
 * Event selectors: basic (EventSelectors) and advanced (AdvancedEventSelectors),
 * validated and evaluated as CloudTrail documents them (shared/spec §7).
 */
import { InvalidEventSelectorsException } from '../protocols/errors.js';
import type { CloudTrailRecord } from './record.js';

export interface DataResource {
  Type?: string;
  Values?: string[];
}
export interface EventSelector {
  ReadWriteType?: 'ReadOnly' | 'WriteOnly' | 'All';
  IncludeManagementEvents?: boolean;
  DataResources?: DataResource[];
  ExcludeManagementEventSources?: string[];
}
export interface AdvancedFieldSelector {
  Field: string;
  Equals?: string[];
  StartsWith?: string[];
  EndsWith?: string[];
  NotEquals?: string[];
  NotStartsWith?: string[];
  NotEndsWith?: string[];
}
export interface AdvancedEventSelector {
  Name?: string;
  FieldSelectors: AdvancedFieldSelector[];
}

export const DEFAULT_EVENT_SELECTORS: EventSelector[] = [
  { ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
];

const BASIC_DATA_TYPES = ['AWS::S3::Object', 'AWS::Lambda::Function', 'AWS::DynamoDB::Table'];
const EXCLUDABLE_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com'];
const ALL_RESOURCES: Record<string, string[]> = {
  'AWS::S3::Object': ['arn:aws:s3', 'arn:aws:s3:::'],
  'AWS::Lambda::Function': ['arn:aws:lambda'],
  'AWS::DynamoDB::Table': ['arn:aws:dynamodb'],
};

const OPERATORS = ['Equals', 'StartsWith', 'EndsWith', 'NotEquals', 'NotStartsWith', 'NotEndsWith'] as const;
type OperatorName = (typeof OPERATORS)[number];

const TRAIL_CATEGORIES = ['Management', 'Data', 'NetworkActivity'];
const EDS_CATEGORIES = [...TRAIL_CATEGORIES, 'Insight', 'ConfigurationItem', 'Evidence', 'ActivityAuditLog'];
const FIELDS_BY_CATEGORY: Record<string, string[]> = {
  Management: ['eventCategory', 'eventSource', 'readOnly'],
  Data: ['eventCategory', 'resources.type', 'eventName', 'eventSource', 'eventType', 'resources.ARN', 'readOnly', 'sessionCredentialFromConsole', 'userIdentity.arn'],
  NetworkActivity: ['eventCategory', 'eventSource', 'eventName', 'errorCode', 'vpcEndpointId', 'userIdentity.arn'],
};
/** Event data stores may filter management events on more fields than trails. */
const EDS_MANAGEMENT_EXTRA = ['eventName', 'eventType', 'sessionCredentialFromConsole', 'userIdentity.arn'];
const EQUALS_ONLY = ['eventCategory', 'readOnly', 'resources.type'];

function bad(message: string): never {
  throw new InvalidEventSelectorsException(message);
}

/** Validate basic selectors as PutEventSelectors does. */
export function validateEventSelectors(selectors: EventSelector[]): void {
  if (selectors.length > 5) bad('The number of event selectors exceeds the limit of 5.');
  let dataResources = 0;
  for (const s of selectors) {
    if (s.ReadWriteType !== undefined && !['ReadOnly', 'WriteOnly', 'All'].includes(s.ReadWriteType)) {
      bad(`Invalid ReadWriteType: ${String(s.ReadWriteType)}. Valid values are ReadOnly, WriteOnly and All.`);
    }
    for (const src of s.ExcludeManagementEventSources ?? []) {
      if (!EXCLUDABLE_SOURCES.includes(src)) bad(`Invalid ExcludeManagementEventSources value ${src}. Valid values are ${EXCLUDABLE_SOURCES.join(', ')}.`);
    }
    for (const d of s.DataResources ?? []) {
      if (!d.Type || !BASIC_DATA_TYPES.includes(d.Type)) bad(`Invalid DataResource type ${d.Type ?? 'null'}. Valid types are ${BASIC_DATA_TYPES.join(', ')}.`);
      const values = d.Values ?? [];
      if (values.length === 0) bad(`DataResource of type ${d.Type} must have at least one value.`);
      for (const v of values) {
        if (!v.startsWith('arn:')) bad(`Invalid DataResource value ${v}: values must be ARNs or ARN prefixes.`);
        const all = ALL_RESOURCES[d.Type]!.includes(v);
        if (d.Type === 'AWS::S3::Object' && !all && !/^arn:[\w-]+:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$/.test(v)) {
          bad(`Invalid DataResource value ${v}: S3 values are arn:aws:s3:::bucket/ or arn:aws:s3:::bucket/prefix.`);
        }
        if (!all) dataResources++;
      }
    }
  }
  if (dataResources > 250) bad(`The number of data resources (${dataResources}) exceeds the limit of 250 per trail.`);
}

/** Validate advanced selectors; `forEventDataStore` allows the Lake-only categories and fields. */
export function validateAdvancedEventSelectors(selectors: AdvancedEventSelector[], forEventDataStore = false): void {
  if (selectors.length === 0) bad('At least one advanced event selector is required.');
  if (forEventDataStore && selectors.length > 5) bad('The number of advanced event selectors exceeds the limit of 5.');
  let values = 0;
  for (const s of selectors) {
    const fields = s.FieldSelectors ?? [];
    if (fields.length === 0) bad('Each advanced event selector needs at least one field selector.');
    const category = fields.find((f) => f.Field === 'eventCategory');
    if (!category || !category.Equals || category.Equals.length === 0) bad('Each advanced event selector must have an eventCategory field selector with the Equals operator.');
    const categories = category.Equals;
    for (const c of categories) {
      if (!(forEventDataStore ? EDS_CATEGORIES : TRAIL_CATEGORIES).includes(c)) bad(`Invalid eventCategory value ${c}.`);
    }
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.Field)) bad(`Field ${f.Field} is used more than once in one advanced event selector.`);
      seen.add(f.Field);
      const ops = OPERATORS.filter((o) => f[o] !== undefined);
      if (ops.length === 0) bad(`Field selector ${f.Field} needs at least one operator.`);
      for (const o of ops) {
        const list = f[o]!;
        if (list.length === 0) bad(`Operator ${o} of field ${f.Field} needs at least one value.`);
        values += list.length;
        if (EQUALS_ONLY.includes(f.Field) && o !== 'Equals') bad(`Field ${f.Field} supports only the Equals operator.`);
      }
      const allowed = new Set(categories.flatMap((c) => [...(FIELDS_BY_CATEGORY[c] ?? ['eventCategory']), ...(forEventDataStore && c === 'Management' ? EDS_MANAGEMENT_EXTRA : [])]));
      if (!allowed.has(f.Field)) bad(`Field ${f.Field} is not supported for eventCategory ${categories.join(', ')}.`);
      if (f.Field === 'readOnly') for (const v of f.Equals ?? []) if (v !== 'true' && v !== 'false') bad(`Invalid readOnly value ${v}: use true or false.`);
      if (f.Field === 'resources.type' && (f.Equals ?? []).length !== 1) bad('resources.type takes exactly one value.');
    }
    if (categories.includes('Data') && !seen.has('resources.type')) bad('Advanced event selectors for data events must have a resources.type field selector.');
    if (categories.includes('NetworkActivity') && !seen.has('eventSource')) bad('Advanced event selectors for network activity events must have an eventSource field selector.');
  }
  if (values > 500) bad(`The advanced event selectors have ${values} values; the limit is 500.`);
  // A Config item store keeps configuration items only (they have a table of their own).
  const all = selectors.flatMap((s) => s.FieldSelectors.find((f) => f.Field === 'eventCategory')?.Equals ?? []);
  if (all.includes('ConfigurationItem') && all.some((c) => c !== 'ConfigurationItem')) {
    bad('ConfigurationItem cannot be selected together with other event categories: an event data store of AWS Config items keeps only configuration items.');
  }
}

/** The values of a record a field selector looks at (several for resources.*). */
function fieldValues(r: CloudTrailRecord, field: string): (string | undefined)[] {
  switch (field) {
    case 'eventCategory':
      return [r.eventCategory];
    case 'eventSource':
      return [r.eventSource];
    case 'eventName':
      return [r.eventName];
    case 'eventType':
      return [r.eventType];
    case 'readOnly':
      return [r.readOnly === undefined ? undefined : String(r.readOnly)];
    case 'errorCode':
      return [r.errorCode];
    case 'vpcEndpointId':
      return [r.vpcEndpointId];
    case 'sessionCredentialFromConsole':
      return [r.sessionCredentialFromConsole];
    case 'userIdentity.arn':
      return [r.userIdentity?.arn];
    case 'resources.type':
      return (r.resources ?? []).map((x) => x.type);
    case 'resources.ARN':
      return (r.resources ?? []).map((x) => x.ARN);
    default: {
      // Any other dotted path (event data stores may use more fields).
      let v: unknown = r;
      for (const p of field.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
      return [v === undefined || v === null ? undefined : String(v)];
    }
  }
}

function test(op: OperatorName, v: string | undefined, x: string): boolean {
  switch (op) {
    case 'Equals':
      return v === x;
    case 'StartsWith':
      return v !== undefined && v.startsWith(x);
    case 'EndsWith':
      return v !== undefined && v.endsWith(x);
    case 'NotEquals':
      return v !== x;
    case 'NotStartsWith':
      return v === undefined || !v.startsWith(x);
    case 'NotEndsWith':
      return v === undefined || !v.endsWith(x);
  }
}

const POSITIVE = ['Equals', 'StartsWith', 'EndsWith'] as const;
const NEGATIVE = ['NotEquals', 'NotStartsWith', 'NotEndsWith'] as const;

/**
 * Every operator of a field selector must hold (AND); the values of a positive operator are
 * OR-ed; a negative operator excludes every value it lists.
 */
function valueMatches(f: AdvancedFieldSelector, v: string | undefined): boolean {
  for (const op of POSITIVE) if (f[op] && !f[op]!.some((x) => test(op, v, x))) return false;
  return NEGATIVE.every((op) => !f[op] || f[op]!.every((x) => test(op, v, x)));
}

function fieldMatches(r: CloudTrailRecord, f: AdvancedFieldSelector, resourceType: string | undefined): boolean {
  if (f.Field === 'resources.ARN') {
    // The ARN condition is about the resources of the selector's resources.type (an S3 object
    // event also names its bucket, which an object-ARN condition must not look at).
    const arns = (r.resources ?? []).filter((x) => resourceType === undefined || x.type === resourceType).map((x) => x.ARN);
    return arns.some((v) => valueMatches(f, v));
  }
  const values = fieldValues(r, f.Field);
  // resources.type looks at every resource of the event: one matching resource is enough.
  if (f.Field.startsWith('resources.')) return values.some((v) => valueMatches(f, v));
  return valueMatches(f, values[0]);
}

export function matchesAdvanced(r: CloudTrailRecord, selectors: AdvancedEventSelector[]): boolean {
  return selectors.some((s) => {
    const resourceType = s.FieldSelectors.find((f) => f.Field === 'resources.type')?.Equals?.[0];
    return s.FieldSelectors.every((f) => fieldMatches(r, f, resourceType));
  });
}

function readWriteOk(rw: EventSelector['ReadWriteType'], r: CloudTrailRecord): boolean {
  if (rw === undefined || rw === 'All') return true;
  return rw === 'ReadOnly' ? r.readOnly === true : r.readOnly === false;
}

function dataResourceMatches(d: DataResource, r: CloudTrailRecord): boolean {
  const resources = r.resources ?? [];
  for (const value of d.Values ?? []) {
    const all = ALL_RESOURCES[d.Type ?? '']?.includes(value) ?? false;
    for (const res of resources) {
      if (res.type !== d.Type || !res.ARN) continue;
      if (all) return true;
      if (d.Type === 'AWS::Lambda::Function' || d.Type === 'AWS::DynamoDB::Table') {
        if (res.ARN === value) return true;
      } else if (res.ARN.startsWith(value)) return true;
    }
  }
  return false;
}

export function matchesBasic(r: CloudTrailRecord, selectors: EventSelector[]): boolean {
  const category = r.eventCategory ?? 'Management';
  for (const s of selectors) {
    if (!readWriteOk(s.ReadWriteType, r)) continue;
    if (category === 'Management') {
      if (s.IncludeManagementEvents === false) continue;
      if ((s.ExcludeManagementEventSources ?? []).includes(r.eventSource)) continue;
      return true;
    }
    if (category === 'Data' && (s.DataResources ?? []).some((d) => dataResourceMatches(d, r))) return true;
  }
  return false;
}

/** Does a trail with these selectors log this record? */
export function selectsEvent(
  r: CloudTrailRecord,
  sel: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] },
): boolean {
  if (sel.AdvancedEventSelectors && sel.AdvancedEventSelectors.length > 0) return matchesAdvanced(r, sel.AdvancedEventSelectors);
  return matchesBasic(r, sel.EventSelectors ?? DEFAULT_EVENT_SELECTORS);
}

/** Record fields an event log summary (its index columns) carries. */
const SUMMARY_FIELDS = new Set(['eventCategory', 'eventSource', 'eventName', 'readOnly']);

/**
 * Can these selectors be decided from a record's summary (category, source, name, readOnly)
 * alone, without parsing the record? Basic selectors can for management events; advanced
 * selectors can when they only look at summary fields.
 */
export function summaryDecides(
  sel: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] },
  category: string,
): boolean {
  if (sel.AdvancedEventSelectors && sel.AdvancedEventSelectors.length > 0) {
    return sel.AdvancedEventSelectors.every((s) => s.FieldSelectors.every((f) => SUMMARY_FIELDS.has(f.Field)));
  }
  return category === 'Management';
}
