/**
 * CloudTrail Lake channels: a way in for events from outside AWS
 * (PutAuditEvents), delivering into integration event data stores
 * (eventCategory ActivityAuditLog) of the same account, with an optional
 * resource policy naming the other accounts allowed to send, and the
 * external id they must give.
 */
import { randomUUID } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import { storeKind, type EventDataStores } from './event-data-stores.js';
import type { TagStore } from './tags.js';
import {
  ChannelAlreadyExistsException,
  ChannelARNInvalidException,
  ChannelExistsForEDSException,
  ChannelMaxLimitExceededException,
  ChannelNotFoundException,
  InactiveEventDataStoreException,
  InvalidEventDataStoreCategoryException,
  InvalidParameterException,
  InvalidSourceException,
  ResourceARNNotValidException,
  ResourcePolicyNotFoundException,
  ResourcePolicyNotValidException,
} from '../protocols/errors.js';

const KIND = 'lake-channel';
/** Channels per account and region (CloudTrail's quota). */
export const MAX_CHANNELS = 25;

export interface Destination {
  Type: 'EVENT_DATA_STORE' | 'AWS_SERVICE';
  Location: string;
}

export interface ChannelDoc {
  accountId: string;
  region: string;
  id: string;
  arn: string;
  name: string;
  source: string;
  destinations: Destination[];
  tags: { Key: string; Value?: string }[];
  policy?: string;
  latestSuccess?: { at: number; eventId: string };
  latestAttempt?: { at: number; eventId: string; errorCode?: string };
  createdAt: number;
}

const ARN_RE = /^arn:aws[\w-]*:cloudtrail:([^:]+):(\d{12}):channel\/([A-Za-z0-9-]+)$/;

export function parseChannelArn(arn: string): { region: string; accountId: string; id: string } | undefined {
  const m = ARN_RE.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, id: m[3]! } : undefined;
}

interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: { AWS?: string | string[] };
  Action?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Check a channel resource policy: JSON with Allow statements for cloudtrail-data:PutAuditEvents naming principals. */
export function parseChannelPolicy(text: string): PolicyStatement[] {
  let doc: { Version?: string; Statement?: PolicyStatement[] | PolicyStatement };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new ResourcePolicyNotValidException('The resource policy is not valid JSON.');
  }
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  if (statements.length === 0) throw new ResourcePolicyNotValidException('The resource policy has no Statement.');
  for (const s of statements) {
    if (s.Effect !== 'Allow') throw new ResourcePolicyNotValidException('Channel resource policies can only have Allow statements.');
    if (!list(s.Action).every((a) => a === 'cloudtrail-data:PutAuditEvents')) throw new ResourcePolicyNotValidException('The only action a channel resource policy can allow is cloudtrail-data:PutAuditEvents.');
    if (list(s.Principal?.AWS).length === 0) throw new ResourcePolicyNotValidException('Each statement must name its principals (Principal.AWS: account ids or ARNs).');
  }
  return statements;
}

/**
 * May `accountId` send into this channel, giving `externalId`? The owner always may; another
 * account when a statement of the resource policy names it, with the external id the statement's
 * `StringEquals cloudtrail:ExternalID` condition asks for, if any.
 */
export function maySend(channel: ChannelDoc, accountId: string, externalId: string | undefined): boolean {
  if (accountId === channel.accountId) return true;
  if (!channel.policy) return false;
  const names = (p: string): boolean => p === '*' || p === accountId || p.startsWith(`arn:aws:iam::${accountId}:`);
  return parseChannelPolicy(channel.policy).some((s) => {
    if (!list(s.Principal?.AWS).some(names)) return false;
    const want = Object.entries(s.Condition ?? {}).flatMap(([op, kv]) => (op === 'StringEquals' ? list(kv['cloudtrail:ExternalID']) : []));
    return want.length === 0 || (externalId !== undefined && want.includes(externalId));
  });
}

export class Channels {
  private readonly status = new Map<string, Pick<ChannelDoc, 'latestAttempt' | 'latestSuccess'>>();
  private readonly savedAt = new Map<string, number>();

  constructor(
    private readonly meta: Metastore,
    private readonly stores: EventDataStores,
  ) {
    stores.guardDelete((s) => this.assertNoChannelFor(s.accountId, s.region, s.arn));
  }

  private async checkDestinations(accountId: string, region: string, destinations: Destination[]): Promise<void> {
    if (destinations.length === 0) throw new InvalidParameterException('A channel needs at least one destination.');
    for (const d of destinations) {
      if (d.Type !== 'EVENT_DATA_STORE') throw new InvalidParameterException('Only EVENT_DATA_STORE destinations can be given for a channel.');
      const s = await this.stores.get(accountId, region, d.Location);
      if (s.status === 'PENDING_DELETION') throw new InactiveEventDataStoreException(`The event data store ${s.arn} is pending deletion.`);
      if (storeKind(s) !== 'integration') {
        throw new InvalidEventDataStoreCategoryException(`The event data store ${s.arn} does not keep ActivityAuditLog events; a channel's destination must (eventCategory Equals ActivityAuditLog).`);
      }
    }
  }

  async create(accountId: string, region: string, input: { Name: string; Source: string; Destinations: Destination[]; Tags?: { Key: string; Value?: string }[] }): Promise<ChannelDoc> {
    const mine = await this.list(accountId, region);
    if (mine.some((c) => c.name === input.Name)) throw new ChannelAlreadyExistsException(`A channel named ${input.Name} already exists.`);
    if (mine.length >= MAX_CHANNELS) throw new ChannelMaxLimitExceededException(`Your account has the maximum number of channels (${MAX_CHANNELS}) in ${region}.`);
    if (input.Source !== 'Custom') throw new InvalidSourceException(`Source ${input.Source} is not supported: use Custom (partner integrations are not available here).`);
    await this.checkDestinations(accountId, region, input.Destinations);
    const id = randomUUID();
    const doc: ChannelDoc = {
      accountId,
      region,
      id,
      arn: `arn:aws:cloudtrail:${region}:${accountId}:channel/${id}`,
      name: input.Name,
      source: input.Source,
      destinations: input.Destinations.map((d) => ({ Type: d.Type, Location: d.Location })),
      tags: input.Tags ?? [],
      createdAt: Date.now(),
    };
    await this.meta.putDoc(KIND, accountId, id, doc);
    return doc;
  }

  async list(accountId: string, region: string): Promise<ChannelDoc[]> {
    return (await this.meta.listDocs<ChannelDoc>(KIND, accountId)).filter((c) => c.region === region).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** A channel of the caller's, by ARN, id or name. */
  async get(accountId: string, region: string, ref: string): Promise<ChannelDoc> {
    let id = ref;
    if (ref.startsWith('arn:')) {
      const at = parseChannelArn(ref);
      if (!at) throw new ChannelARNInvalidException(`The channel ARN ${ref} is not valid.`);
      if (at.accountId !== accountId || at.region !== region) throw new ChannelNotFoundException(`The channel ${ref} was not found.`);
      id = at.id;
    }
    const c = (await this.meta.getDoc<ChannelDoc>(KIND, accountId, id)) ?? (await this.list(accountId, region)).find((x) => x.name === ref);
    if (!c || c.region !== region) throw new ChannelNotFoundException(`The channel ${ref} was not found.`);
    return c;
  }

  /** Channels' tags, for AddTags/RemoveTags/ListTags (domain/tags.ts). */
  readonly tags: TagStore = {
    owns: (arn) => /:channel\//.test(arn),
    resourceType: 'AWS::CloudTrail::Channel',
    read: async (c, arn) => (await this.get(c.accountId, c.region, arn)).tags,
    write: async (c, arn, tags) => {
      const ch = await this.get(c.accountId, c.region, arn);
      await this.meta.putDoc(KIND, c.accountId, ch.id, { ...ch, tags });
    },
  };

  /** A channel by ARN whatever its account (PutAuditEvents may come from another account). */
  async byArn(arn: string): Promise<ChannelDoc | undefined> {
    const at = parseChannelArn(arn);
    if (!at) return undefined;
    const c = await this.meta.getDoc<ChannelDoc>(KIND, at.accountId, at.id);
    return c?.region === at.region ? c : undefined;
  }

  async update(accountId: string, region: string, input: { Channel: string; Destinations?: Destination[]; Name?: string }): Promise<ChannelDoc> {
    const c = await this.get(accountId, region, input.Channel);
    if (input.Name !== undefined && input.Name !== c.name && (await this.list(accountId, region)).some((x) => x.name === input.Name)) {
      throw new ChannelAlreadyExistsException(`A channel named ${input.Name} already exists.`);
    }
    if (input.Destinations) await this.checkDestinations(accountId, region, input.Destinations);
    const next = { ...c, name: input.Name ?? c.name, destinations: input.Destinations ?? c.destinations };
    await this.meta.putDoc(KIND, accountId, c.id, next);
    return next;
  }

  async delete(accountId: string, region: string, ref: string): Promise<void> {
    const c = await this.get(accountId, region, ref);
    await this.meta.deleteDoc(KIND, accountId, c.id);
  }

  /** Refuse to delete a store a channel still delivers into. */
  private async assertNoChannelFor(accountId: string, region: string, storeArn: string): Promise<void> {
    if ((await this.list(accountId, region)).some((c) => c.destinations.some((d) => d.Location === storeArn || storeArn.endsWith(`/${d.Location}`)))) {
      throw new ChannelExistsForEDSException(`A channel delivers into ${storeArn}; delete the channel or change its destinations first.`);
    }
  }

  private async channelOfArn(accountId: string, region: string, resourceArn: string): Promise<ChannelDoc> {
    if (!resourceArn.startsWith('arn:')) throw new ResourceARNNotValidException(`${resourceArn} is not an ARN.`);
    if (!parseChannelArn(resourceArn)) throw new ResourceARNNotValidException(`Resource policies are supported on channels here; ${resourceArn} is not a channel ARN.`);
    return this.get(accountId, region, resourceArn);
  }

  async putPolicy(accountId: string, region: string, resourceArn: string, policy: string): Promise<ChannelDoc> {
    const c = await this.channelOfArn(accountId, region, resourceArn);
    parseChannelPolicy(policy);
    const next = { ...c, policy };
    await this.meta.putDoc(KIND, accountId, c.id, next);
    return next;
  }

  async getPolicy(accountId: string, region: string, resourceArn: string): Promise<string> {
    const c = await this.channelOfArn(accountId, region, resourceArn);
    if (!c.policy) throw new ResourcePolicyNotFoundException(`The channel ${resourceArn} has no resource policy.`);
    return c.policy;
  }

  async deletePolicy(accountId: string, region: string, resourceArn: string): Promise<void> {
    const c = await this.channelOfArn(accountId, region, resourceArn);
    if (!c.policy) throw new ResourcePolicyNotFoundException(`The channel ${resourceArn} has no resource policy.`);
    const { policy: _gone, ...rest } = c;
    await this.meta.putDoc(KIND, accountId, c.id, rest);
  }

  /**
   * Remember the latest ingestion (GetChannel's IngestionStatus). Kept in memory and written at
   * most once a second per channel, so PutAuditEvents does not pay a metastore commit per call.
   */
  async noteIngestion(c: ChannelDoc, eventId: string, errorCode?: string): Promise<void> {
    const now = Date.now();
    const prev = this.status.get(c.id);
    const next = {
      latestAttempt: { at: now, eventId, ...(errorCode ? { errorCode } : {}) },
      latestSuccess: errorCode ? prev?.latestSuccess : { at: now, eventId },
    };
    this.status.set(c.id, next);
    if (prev && now - (this.savedAt.get(c.id) ?? 0) < 1000) return;
    this.savedAt.set(c.id, now);
    const fresh = (await this.meta.getDoc<ChannelDoc>(KIND, c.accountId, c.id)) ?? c;
    await this.meta.putDoc(KIND, c.accountId, c.id, { ...fresh, latestAttempt: next.latestAttempt, ...(next.latestSuccess ? { latestSuccess: next.latestSuccess } : {}) });
  }

  /** A channel with its latest ingestion as this server knows it. */
  withStatus(c: ChannelDoc): ChannelDoc {
    const st = this.status.get(c.id);
    return st ? { ...c, latestAttempt: st.latestAttempt, ...(st.latestSuccess ? { latestSuccess: st.latestSuccess } : {}) } : c;
  }
}
