/**
 * CloudTrail Lake event data stores: which events a store keeps (advanced
 * event selectors), for how long, and its lifecycle (ENABLED, ingestion
 * stopped, PENDING_DELETION for 7 days then gone), per account and region.
 */
import { randomUUID } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import type { CloudTrailRecord } from './record.js';
import { matchesAdvanced, validateAdvancedEventSelectors, type AdvancedEventSelector } from './selectors.js';
import type { TagStore } from './tags.js';
import { refuseOrganization } from './accounts.js';
import {
  EventDataStoreAlreadyExistsException,
  EventDataStoreARNInvalidException,
  EventDataStoreMaxLimitExceededException,
  EventDataStoreNotFoundException,
  EventDataStoreTerminationProtectedException,
  InactiveEventDataStoreException,
  InvalidParameterException,
} from '../protocols/errors.js';

const KIND = 'event-data-store';
/** Stores per account and region (CloudTrail's quota; stores pending deletion do not count). */
export const MAX_EVENT_DATA_STORES = 10;
export const PENDING_DELETION_MS = 7 * 86_400_000;

export type EventDataStoreStatus = 'CREATED' | 'ENABLED' | 'PENDING_DELETION' | 'STARTING_INGESTION' | 'STOPPING_INGESTION' | 'STOPPED_INGESTION';

export interface EventDataStoreDoc {
  accountId: string;
  region: string;
  id: string;
  arn: string;
  name: string;
  status: EventDataStoreStatus;
  advancedEventSelectors: AdvancedEventSelector[];
  multiRegionEnabled: boolean;
  organizationEnabled: boolean;
  retentionPeriod: number;
  terminationProtectionEnabled: boolean;
  billingMode: 'EXTENDABLE_RETENTION_PRICING' | 'FIXED_RETENTION_PRICING';
  tags: { Key: string; Value?: string }[];
  createdAt: number;
  updatedAt: number;
  /** When it entered PENDING_DELETION. */
  deletedAt?: number;
}

/** CloudTrail's default for a store created without selectors: every management event. */
export const DEFAULT_EDS_SELECTORS: AdvancedEventSelector[] = [{ Name: 'Default management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }];

export interface CreateEventDataStoreInput {
  Name: string;
  AdvancedEventSelectors?: AdvancedEventSelector[];
  MultiRegionEnabled?: boolean;
  OrganizationEnabled?: boolean;
  RetentionPeriod?: number;
  TerminationProtectionEnabled?: boolean;
  TagsList?: { Key: string; Value?: string }[];
  StartIngestion?: boolean;
  BillingMode?: 'EXTENDABLE_RETENTION_PRICING' | 'FIXED_RETENTION_PRICING';
}

export type UpdateEventDataStoreInput = Partial<Omit<CreateEventDataStoreInput, 'TagsList' | 'StartIngestion'>> & { EventDataStore: string };

export type StoresChangeListener = (store: EventDataStoreDoc) => void;

function checkRetention(days: number, mode: EventDataStoreDoc['billingMode']): void {
  const max = mode === 'FIXED_RETENTION_PRICING' ? 2557 : 3653;
  if (days < 7 || days > max) throw new InvalidParameterException(`RetentionPeriod must be between 7 and ${max} days for ${mode}.`);
}

/**
 * Integration stores (only ActivityAuditLog selected) and AWS Config item stores (only
 * ConfigurationItem) have tables of their own; every other store has CloudTrail's.
 */
export function storeKind(store: Pick<EventDataStoreDoc, 'advancedEventSelectors'>): 'cloudtrail' | 'integration' | 'config' {
  const cats = store.advancedEventSelectors.flatMap((s) => s.FieldSelectors.filter((f) => f.Field === 'eventCategory').flatMap((f) => f.Equals ?? []));
  if (cats.length > 0 && cats.every((c) => c === 'ActivityAuditLog')) return 'integration';
  if (cats.length > 0 && cats.every((c) => c === 'ConfigurationItem')) return 'config';
  return 'cloudtrail';
}

/** Does `store` keep `record`? (Its selectors, and its region unless multi-Region.) */
export function storeKeeps(store: EventDataStoreDoc, record: CloudTrailRecord, accountId: string): boolean {
  if (accountId !== store.accountId) return false;
  if (!store.multiRegionEnabled && record.awsRegion !== store.region) return false;
  return matchesAdvanced(record, store.advancedEventSelectors);
}

export class EventDataStores {
  private readonly listeners: StoresChangeListener[] = [];
  private readonly deleteGuards: ((s: EventDataStoreDoc) => Promise<void>)[] = [];

  constructor(private readonly meta: Metastore) {}

  onChange(l: StoresChangeListener): void {
    this.listeners.push(l);
  }

  /** Something that must refuse a store's deletion while it depends on the store (a channel, say). */
  guardDelete(guard: (s: EventDataStoreDoc) => Promise<void>): void {
    this.deleteGuards.push(guard);
  }

  /** Stores' tags, for AddTags/RemoveTags/ListTags (domain/tags.ts). */
  readonly tags: TagStore = {
    owns: (arn) => /:eventdatastore\//.test(arn),
    resourceType: 'AWS::CloudTrail::EventDataStore',
    read: async (c, arn) => (await this.get(c.accountId, c.region, arn)).tags,
    write: async (c, arn, tags) => this.save({ ...(await this.get(c.accountId, c.region, arn)), tags }),
  };

  private async save(s: EventDataStoreDoc): Promise<void> {
    await this.meta.putDoc(KIND, s.accountId, s.id, s);
    for (const l of this.listeners) l(s);
  }

  /** Every store of every account (the Lake writer's starting point). */
  async all(): Promise<EventDataStoreDoc[]> {
    return this.meta.listDocs<EventDataStoreDoc>(KIND);
  }

  async list(accountId: string, region: string): Promise<EventDataStoreDoc[]> {
    return (await this.meta.listDocs<EventDataStoreDoc>(KIND, accountId)).filter((s) => s.region === region).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** A store by ARN, id or name (EventDataStore parameters accept all three). */
  async get(accountId: string, region: string, ref: string): Promise<EventDataStoreDoc> {
    let id = ref;
    if (ref.startsWith('arn:')) {
      const m = /^arn:aws[\w-]*:cloudtrail:([^:]+):(\d{12}):eventdatastore\/(.+)$/.exec(ref);
      if (!m) throw new EventDataStoreARNInvalidException(`The event data store ARN ${ref} is not valid.`);
      if (m[2] !== accountId || m[1] !== region) throw new EventDataStoreNotFoundException(`The event data store ${ref} was not found.`);
      id = m[3]!;
    }
    const byId = await this.meta.getDoc<EventDataStoreDoc>(KIND, accountId, id);
    const found = byId?.region === region ? byId : (await this.list(accountId, region)).find((s) => s.name === ref);
    if (!found) throw new EventDataStoreNotFoundException(`The event data store ${ref} was not found.`);
    return found;
  }

  async create(accountId: string, region: string, input: CreateEventDataStoreInput): Promise<EventDataStoreDoc> {
    const mine = await this.list(accountId, region);
    if (mine.some((s) => s.name === input.Name)) throw new EventDataStoreAlreadyExistsException(`An event data store named ${input.Name} already exists.`);
    if (mine.filter((s) => s.status !== 'PENDING_DELETION').length >= MAX_EVENT_DATA_STORES) {
      throw new EventDataStoreMaxLimitExceededException(`Your account has the maximum number of event data stores (${MAX_EVENT_DATA_STORES}) in ${region}.`);
    }
    refuseOrganization(input.OrganizationEnabled);
    const selectors = input.AdvancedEventSelectors ?? DEFAULT_EDS_SELECTORS;
    validateAdvancedEventSelectors(selectors, true);
    const billingMode = input.BillingMode ?? 'EXTENDABLE_RETENTION_PRICING';
    const retention = input.RetentionPeriod ?? (billingMode === 'FIXED_RETENTION_PRICING' ? 2557 : 366);
    checkRetention(retention, billingMode);
    const id = randomUUID();
    const now = Date.now();
    const store: EventDataStoreDoc = {
      accountId,
      region,
      id,
      arn: `arn:aws:cloudtrail:${region}:${accountId}:eventdatastore/${id}`,
      name: input.Name,
      status: input.StartIngestion === false ? 'STOPPED_INGESTION' : 'ENABLED',
      advancedEventSelectors: selectors,
      multiRegionEnabled: input.MultiRegionEnabled ?? true,
      organizationEnabled: false,
      retentionPeriod: retention,
      terminationProtectionEnabled: input.TerminationProtectionEnabled ?? true,
      billingMode,
      tags: input.TagsList ?? [],
      createdAt: now,
      updatedAt: now,
    };
    await this.save(store);
    return store;
  }

  private active(s: EventDataStoreDoc): void {
    if (s.status === 'PENDING_DELETION') throw new InactiveEventDataStoreException(`The event data store ${s.id} is pending deletion.`);
  }

  async update(accountId: string, region: string, input: UpdateEventDataStoreInput): Promise<EventDataStoreDoc> {
    const s = await this.get(accountId, region, input.EventDataStore);
    this.active(s);
    const changes = ['Name', 'AdvancedEventSelectors', 'MultiRegionEnabled', 'OrganizationEnabled', 'RetentionPeriod', 'TerminationProtectionEnabled', 'BillingMode'].filter((k) => (input as Record<string, unknown>)[k] !== undefined);
    if (changes.length === 0) throw new InvalidParameterException('Give at least one setting to change.');
    refuseOrganization(input.OrganizationEnabled);
    if (input.Name !== undefined && input.Name !== s.name && (await this.list(accountId, region)).some((x) => x.name === input.Name)) {
      throw new EventDataStoreAlreadyExistsException(`An event data store named ${input.Name} already exists.`);
    }
    if (input.AdvancedEventSelectors) {
      validateAdvancedEventSelectors(input.AdvancedEventSelectors, true);
      if (storeKind({ advancedEventSelectors: input.AdvancedEventSelectors }) !== storeKind(s)) {
        throw new InvalidParameterException('A store cannot change between CloudTrail events, integration (ActivityAuditLog) events and AWS Config items (ConfigurationItem).');
      }
    }
    const billingMode = input.BillingMode ?? s.billingMode;
    const retention = input.RetentionPeriod ?? s.retentionPeriod;
    checkRetention(retention, billingMode);
    const next: EventDataStoreDoc = {
      ...s,
      name: input.Name ?? s.name,
      advancedEventSelectors: input.AdvancedEventSelectors ?? s.advancedEventSelectors,
      multiRegionEnabled: input.MultiRegionEnabled ?? s.multiRegionEnabled,
      retentionPeriod: retention,
      terminationProtectionEnabled: input.TerminationProtectionEnabled ?? s.terminationProtectionEnabled,
      billingMode,
      updatedAt: Date.now(),
    };
    await this.save(next);
    return next;
  }

  async delete(accountId: string, region: string, ref: string): Promise<void> {
    const s = await this.get(accountId, region, ref);
    this.active(s);
    if (s.terminationProtectionEnabled) {
      throw new EventDataStoreTerminationProtectedException(`The event data store ${s.id} has termination protection; turn it off with UpdateEventDataStore first.`);
    }
    for (const guard of this.deleteGuards) await guard(s);
    await this.save({ ...s, status: 'PENDING_DELETION', deletedAt: Date.now(), updatedAt: Date.now() });
  }

  async restore(accountId: string, region: string, ref: string): Promise<EventDataStoreDoc> {
    const s = await this.get(accountId, region, ref);
    if (s.status !== 'PENDING_DELETION') throw new InvalidParameterException(`The event data store ${s.id} is not pending deletion.`);
    const { deletedAt: _gone, ...rest } = s;
    const restored: EventDataStoreDoc = { ...rest, status: 'ENABLED', updatedAt: Date.now() };
    await this.save(restored);
    return restored;
  }

  async setIngestion(accountId: string, region: string, ref: string, on: boolean): Promise<void> {
    const s = await this.get(accountId, region, ref);
    this.active(s);
    await this.save({ ...s, status: on ? 'ENABLED' : 'STOPPED_INGESTION', updatedAt: Date.now() });
  }

  /** Stores pending deletion for longer than 7 days: gone (the caller removes their files). */
  async expirePendingDeletion(now = Date.now()): Promise<EventDataStoreDoc[]> {
    const gone = (await this.all()).filter((s) => s.status === 'PENDING_DELETION' && (s.deletedAt ?? now) + PENDING_DELETION_MS <= now);
    for (const s of gone) await this.meta.deleteDoc(KIND, s.accountId, s.id);
    return gone;
  }
}
