/** Trails: create, change, find and switch logging, with CloudTrail's rules and errors. */
import type { EventLog, Metastore } from '../storage/interfaces.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  CloudTrailARNInvalidException,
  InsightNotEnabledException,
  InsufficientS3BucketPolicyException,
  InvalidCloudWatchLogsLogGroupArnException,
  InvalidCloudWatchLogsRoleArnException,
  InvalidEventSelectorsException,
  InvalidHomeRegionException,
  InvalidInsightSelectorsException,
  InvalidParameterCombinationException,
  InvalidS3BucketNameException,
  InvalidS3PrefixException,
  InvalidSnsTopicNameException,
  InvalidTrailNameException,
  MaximumNumberOfTrailsExceededException,
  ResourceNotFoundException,
  S3BucketDoesNotExistException,
  TrailAlreadyExistsException,
  TrailNotFoundException,
} from '../protocols/errors.js';
import { trailBucketAccess } from './bucket-policy.js';
import { validateTags, type TagStore } from './tags.js';
import { refuseOrganization } from './accounts.js';
import {
  validateAdvancedEventSelectors,
  validateEventSelectors,
  DEFAULT_EVENT_SELECTORS,
  type AdvancedEventSelector,
  type EventSelector,
} from './selectors.js';
import {
  bucketNameProblem,
  parseTrailArn,
  trailArn,
  trailNameProblem,
  type InsightSelector,
  type Tag,
  type TrailDelivery,
  type TrailDoc,
  type TrailLogging,
  deliveryReaderName,
} from './trail-model.js';

export const MAX_TRAILS_PER_REGION = 5;
const KIND = 'trail';
const LOGGING = 'trail-logging';
const DELIVERY = 'trail-delivery';

export interface Caller {
  accountId: string;
  region: string;
}

export interface TrailSettings {
  Name?: string;
  S3BucketName?: string;
  S3KeyPrefix?: string;
  SnsTopicName?: string;
  IncludeGlobalServiceEvents?: boolean;
  IsMultiRegionTrail?: boolean;
  EnableLogFileValidation?: boolean;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  KmsKeyId?: string;
  IsOrganizationTrail?: boolean;
  TagsList?: Tag[];
}

const docId = (t: Pick<TrailDoc, 'HomeRegion' | 'Name'>): string => `${t.HomeRegion}/${t.Name}`;

export class Trails {
  private changes = 0;

  constructor(
    private readonly meta: Metastore,
    private readonly store: ObjectStore,
    private readonly log: EventLog,
  ) {}

  /** Bumped by every change to a trail or its logging state (for caches of what trails select). */
  get version(): number {
    return this.changes;
  }

  private async putDoc(kind: string, accountId: string, id: string, doc: unknown): Promise<void> {
    await this.meta.putDoc(kind, accountId, id, doc);
    this.changes++;
  }

  private async deleteDoc(kind: string, accountId: string, id: string): Promise<void> {
    await this.meta.deleteDoc(kind, accountId, id);
    this.changes++;
  }

  /** Trails of an account, all regions. */
  listAll(accountId: string): Promise<TrailDoc[]> {
    return this.meta.listDocs<TrailDoc>(KIND, accountId);
  }

  /** Every trail of every account (for the delivery reader). */
  everyTrail(): Promise<TrailDoc[]> {
    return this.meta.listDocs<TrailDoc>(KIND);
  }

  /** Trails visible in a region: its own, and multi-region trails from elsewhere (shadow trails). */
  async visible(c: Caller, includeShadow = true): Promise<TrailDoc[]> {
    return (await this.listAll(c.accountId)).filter((t) => t.HomeRegion === c.region || (includeShadow && t.IsMultiRegionTrail));
  }

  /** Find a trail by name or ARN as seen from the caller's region. */
  async resolve(c: Caller, nameOrArn: string | undefined, opts: { homeOnly?: boolean } = {}): Promise<TrailDoc> {
    if (!nameOrArn) throw new InvalidTrailNameException('Trail name or ARN must be specified.');
    let name = nameOrArn;
    let region: string | undefined;
    if (nameOrArn.startsWith('arn:')) {
      const arn = parseTrailArn(nameOrArn);
      if (!arn) throw new CloudTrailARNInvalidException(`Invalid trail ARN: ${nameOrArn}. The ARN must look like arn:aws:cloudtrail:<region>:<account>:trail/<name>.`);
      if (arn.accountId !== c.accountId) throw new TrailNotFoundException(`Unknown trail: ${nameOrArn} for the user: ${c.accountId}`);
      name = arn.name;
      region = arn.region;
    } else {
      const problem = trailNameProblem(name);
      if (problem) throw new InvalidTrailNameException(problem);
    }
    const candidates = (await this.visible(c)).filter((t) => t.Name === name && (region === undefined || t.HomeRegion === region));
    const trail = candidates.find((t) => t.HomeRegion === c.region) ?? candidates[0];
    if (!trail) throw new TrailNotFoundException(`Unknown trail: ${nameOrArn} for the user: ${c.accountId}`);
    if (opts.homeOnly && trail.HomeRegion !== c.region) {
      throw new InvalidHomeRegionException(`This operation must be called from the trail's home region, ${trail.HomeRegion}.`);
    }
    return trail;
  }

  private async checkBucket(accountId: string, bucket: string, prefix: string | undefined): Promise<void> {
    const problem = bucketNameProblem(bucket);
    if (problem) throw new InvalidS3BucketNameException(problem);
    const access = await trailBucketAccess(this.store, bucket, accountId, prefix);
    if (access === 'missing') throw new S3BucketDoesNotExistException(`S3 bucket does not exist: ${bucket}`);
    if (access === 'denied') throw new InsufficientS3BucketPolicyException(`Incorrect S3 bucket policy is detected for bucket: ${bucket}`);
  }

  private validateSettings(s: TrailSettings): void {
    if (s.S3KeyPrefix !== undefined && s.S3KeyPrefix.length > 200) {
      throw new InvalidS3PrefixException('S3 key prefix must be 200 characters or fewer.');
    }
    if (s.SnsTopicName !== undefined && s.SnsTopicName !== '' && !/^(arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:)?[\w-]{1,256}$/.test(s.SnsTopicName)) {
      throw new InvalidSnsTopicNameException(`Invalid SNS topic name: ${s.SnsTopicName}`);
    }
    const group = s.CloudWatchLogsLogGroupArn;
    const role = s.CloudWatchLogsRoleArn;
    if (group && !/^arn:aws[\w-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w.\-/#]+(:\*)?$/.test(group)) {
      throw new InvalidCloudWatchLogsLogGroupArnException(`Invalid CloudWatch Logs log group ARN: ${group}`);
    }
    if (role && !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@\-/]+$/.test(role)) {
      throw new InvalidCloudWatchLogsRoleArnException(`Invalid CloudWatch Logs role ARN: ${role}`);
    }
    if (Boolean(group) !== Boolean(role) && (group !== undefined || role !== undefined) && (group !== '' || role !== '')) {
      throw new InvalidParameterCombinationException('You must specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.');
    }
    if (s.IsMultiRegionTrail === true && s.IncludeGlobalServiceEvents === false) {
      throw new InvalidParameterCombinationException('Multi-Region trails must include global service events.');
    }
    refuseOrganization(s.IsOrganizationTrail);
  }

  async create(c: Caller, s: TrailSettings & { Name: string; S3BucketName: string }): Promise<TrailDoc> {
    const problem = trailNameProblem(s.Name);
    if (problem) throw new InvalidTrailNameException(problem);
    this.validateSettings(s);
    validateTags(s.TagsList ?? []);
    const mine = await this.listAll(c.accountId);
    const multi = s.IsMultiRegionTrail === true;
    if (mine.some((t) => t.Name === s.Name && (t.HomeRegion === c.region || t.IsMultiRegionTrail || multi))) {
      throw new TrailAlreadyExistsException(`Trail ${s.Name} already exists for customer: ${c.accountId}`);
    }
    const inRegion = mine.filter((t) => t.HomeRegion === c.region || t.IsMultiRegionTrail).length;
    if (inRegion >= MAX_TRAILS_PER_REGION) {
      throw new MaximumNumberOfTrailsExceededException(`User: ${c.accountId} already has ${MAX_TRAILS_PER_REGION} trails in ${c.region}.`);
    }
    const prefix = s.S3KeyPrefix || undefined;
    await this.checkBucket(c.accountId, s.S3BucketName, prefix);
    const t: TrailDoc = {
      accountId: c.accountId,
      Name: s.Name,
      HomeRegion: c.region,
      TrailARN: trailArn(c.region, c.accountId, s.Name),
      S3BucketName: s.S3BucketName,
      S3KeyPrefix: prefix,
      IncludeGlobalServiceEvents: s.IncludeGlobalServiceEvents ?? true,
      IsMultiRegionTrail: multi,
      LogFileValidationEnabled: s.EnableLogFileValidation ?? false,
      CloudWatchLogsLogGroupArn: s.CloudWatchLogsLogGroupArn || undefined,
      CloudWatchLogsRoleArn: s.CloudWatchLogsRoleArn || undefined,
      KmsKeyId: s.KmsKeyId || undefined,
      IsOrganizationTrail: false,
      Tags: s.TagsList ?? [],
      createdAt: Date.now(),
    };
    setSns(t, s.SnsTopicName, c);
    await this.putDoc(KIND, c.accountId, docId(t), t);
    await this.putDoc(LOGGING, c.accountId, t.TrailARN, { IsLogging: false, intervals: [] } satisfies TrailLogging);
    return t;
  }

  async update(c: Caller, s: TrailSettings & { Name: string }): Promise<TrailDoc> {
    const t = await this.resolve(c, s.Name, { homeOnly: true });
    this.validateSettings({ ...s, IncludeGlobalServiceEvents: s.IncludeGlobalServiceEvents ?? (s.IsMultiRegionTrail ? true : undefined) });
    const next: TrailDoc = { ...t };
    if (s.S3BucketName !== undefined) next.S3BucketName = s.S3BucketName;
    if (s.S3KeyPrefix !== undefined) next.S3KeyPrefix = s.S3KeyPrefix || undefined;
    if (s.S3BucketName !== undefined || s.S3KeyPrefix !== undefined) await this.checkBucket(c.accountId, next.S3BucketName, next.S3KeyPrefix);
    if (s.SnsTopicName !== undefined) setSns(next, s.SnsTopicName, c);
    if (s.IsMultiRegionTrail !== undefined) {
      if (s.IsMultiRegionTrail && !t.IsMultiRegionTrail) {
        const others = (await this.listAll(c.accountId)).filter((o) => o.TrailARN !== t.TrailARN && o.Name === t.Name);
        if (others.length) throw new TrailAlreadyExistsException(`Trail ${t.Name} already exists in another region for customer: ${c.accountId}`);
      }
      next.IsMultiRegionTrail = s.IsMultiRegionTrail;
      // Switching to multi-Region turns global service events on; the reverse turns them off.
      if (s.IncludeGlobalServiceEvents === undefined) next.IncludeGlobalServiceEvents = s.IsMultiRegionTrail ? true : t.IncludeGlobalServiceEvents;
    }
    if (s.IncludeGlobalServiceEvents !== undefined) {
      if (next.IsMultiRegionTrail && !s.IncludeGlobalServiceEvents) {
        throw new InvalidParameterCombinationException('Multi-Region trails must include global service events.');
      }
      next.IncludeGlobalServiceEvents = s.IncludeGlobalServiceEvents;
    }
    if (s.EnableLogFileValidation !== undefined) next.LogFileValidationEnabled = s.EnableLogFileValidation;
    if (s.CloudWatchLogsLogGroupArn !== undefined) next.CloudWatchLogsLogGroupArn = s.CloudWatchLogsLogGroupArn || undefined;
    if (s.CloudWatchLogsRoleArn !== undefined) next.CloudWatchLogsRoleArn = s.CloudWatchLogsRoleArn || undefined;
    if (s.KmsKeyId !== undefined) next.KmsKeyId = s.KmsKeyId || undefined;
    await this.putDoc(KIND, c.accountId, docId(next), next);
    return next;
  }

  async delete(c: Caller, name: string): Promise<void> {
    const t = await this.resolve(c, name, { homeOnly: true });
    await this.deleteDoc(KIND, c.accountId, docId(t));
    await this.deleteDoc(LOGGING, c.accountId, t.TrailARN);
    await this.deleteDoc(DELIVERY, c.accountId, t.TrailARN);
    // The trail's delivery reader goes with it.
    await this.log.deleteReader(deliveryReaderName(t));
  }

  async logging(t: TrailDoc): Promise<TrailLogging> {
    return (await this.meta.getDoc<TrailLogging>(LOGGING, t.accountId, t.TrailARN)) ?? { IsLogging: false, intervals: [] };
  }

  async delivery(t: TrailDoc): Promise<TrailDelivery> {
    return (await this.meta.getDoc<TrailDelivery>(DELIVERY, t.accountId, t.TrailARN)) ?? {};
  }

  async setDelivery(t: TrailDoc, d: TrailDelivery): Promise<void> {
    await this.meta.putDoc(DELIVERY, t.accountId, t.TrailARN, d);
  }

  async startLogging(c: Caller, name: string): Promise<TrailDoc> {
    const t = await this.resolve(c, name, { homeOnly: true });
    const l = await this.logging(t);
    if (!l.IsLogging) {
      const from = await this.log.lastSeq();
      l.IsLogging = true;
      l.StartLoggingTime = Date.now();
      l.intervals.push({ from });
      await this.putDoc(LOGGING, t.accountId, t.TrailARN, l);
    }
    return t;
  }

  async stopLogging(c: Caller, name: string): Promise<TrailDoc> {
    const t = await this.resolve(c, name, { homeOnly: true });
    const l = await this.logging(t);
    if (l.IsLogging) {
      const to = await this.log.lastSeq();
      l.IsLogging = false;
      l.StopLoggingTime = Date.now();
      const open = l.intervals[l.intervals.length - 1];
      if (open && open.to === undefined) open.to = to;
      await this.putDoc(LOGGING, t.accountId, t.TrailARN, l);
    }
    return t;
  }

  async putEventSelectors(c: Caller, name: string, basic: EventSelector[] | undefined, advanced: AdvancedEventSelector[] | undefined): Promise<TrailDoc> {
    const t = await this.resolve(c, name, { homeOnly: true });
    if ((basic === undefined) === (advanced === undefined)) {
      throw new InvalidEventSelectorsException('Specify either EventSelectors or AdvancedEventSelectors, but not both.');
    }
    const next: TrailDoc = { ...t };
    if (basic) {
      validateEventSelectors(basic);
      next.EventSelectors = basic.map((s) => ({
        ReadWriteType: s.ReadWriteType ?? 'All',
        IncludeManagementEvents: s.IncludeManagementEvents ?? true,
        DataResources: s.DataResources ?? [],
        ExcludeManagementEventSources: s.ExcludeManagementEventSources ?? [],
      }));
      delete next.AdvancedEventSelectors;
    } else {
      validateAdvancedEventSelectors(advanced!);
      next.AdvancedEventSelectors = advanced;
      delete next.EventSelectors;
    }
    await this.putDoc(KIND, c.accountId, docId(next), next);
    return next;
  }

  eventSelectorsOf(t: TrailDoc): { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] } {
    if (t.AdvancedEventSelectors?.length) return { AdvancedEventSelectors: t.AdvancedEventSelectors };
    return { EventSelectors: t.EventSelectors ?? DEFAULT_EVENT_SELECTORS };
  }

  async putInsightSelectors(c: Caller, name: string, selectors: InsightSelector[]): Promise<TrailDoc> {
    const t = await this.resolve(c, name, { homeOnly: true });
    const types = new Set<string>();
    for (const s of selectors) {
      if (s.InsightType !== 'ApiCallRateInsight' && s.InsightType !== 'ApiErrorRateInsight') {
        throw new InvalidInsightSelectorsException(`Invalid InsightType: ${s.InsightType ?? 'null'}. Valid values are ApiCallRateInsight and ApiErrorRateInsight.`);
      }
      if (types.has(s.InsightType)) throw new InvalidInsightSelectorsException(`InsightType ${s.InsightType} is listed more than once.`);
      types.add(s.InsightType);
    }
    if (selectors.length > 0) {
      const sel = this.eventSelectorsOf(t);
      const writesManagement = sel.AdvancedEventSelectors
        ? sel.AdvancedEventSelectors.some((a) => a.FieldSelectors.some((f) => f.Field === 'eventCategory' && f.Equals?.includes('Management')))
        : (sel.EventSelectors ?? []).some((e) => e.IncludeManagementEvents !== false && e.ReadWriteType !== 'ReadOnly');
      if (!writesManagement) {
        throw new InvalidInsightSelectorsException('Insights can only be enabled on a trail that logs write management events.');
      }
    }
    const next: TrailDoc = { ...t, InsightSelectors: selectors.map((s) => ({ InsightType: s.InsightType })) };
    if (selectors.length === 0) delete next.InsightSelectors;
    await this.putDoc(KIND, c.accountId, docId(next), next);
    return next;
  }

  async getInsightSelectors(c: Caller, name: string): Promise<TrailDoc & { InsightSelectors: InsightSelector[] }> {
    const t = await this.resolve(c, name);
    if (!t.InsightSelectors?.length) throw new InsightNotEnabledException(`Trail ${t.TrailARN} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.`);
    return t as TrailDoc & { InsightSelectors: InsightSelector[] };
  }

  /** Tags, by trail ARN. */
  private async byArn(c: Caller, resourceId: string): Promise<TrailDoc> {
    const arn = parseTrailArn(resourceId);
    if (!arn) throw new CloudTrailARNInvalidException(`Invalid trail ARN: ${resourceId}`);
    const t = (await this.listAll(c.accountId)).find((x) => x.TrailARN === resourceId);
    if (!t || arn.accountId !== c.accountId) throw new ResourceNotFoundException(`Resource not found: ${resourceId}`);
    return t;
  }

  /** Trails' tags, for AddTags/RemoveTags/ListTags (domain/tags.ts). */
  readonly tags: TagStore = {
    owns: (arn) => /:trail\//.test(arn),
    resourceType: 'AWS::CloudTrail::Trail',
    read: async (c, arn) => (await this.byArn(c, arn)).Tags,
    write: async (c, arn, tags) => {
      const t = await this.byArn(c, arn);
      await this.putDoc(KIND, c.accountId, docId(t), { ...t, Tags: tags });
    },
  };
}

function setSns(t: TrailDoc, topic: string | undefined, c: Caller): void {
  if (!topic) {
    delete t.SnsTopicName;
    delete t.SnsTopicARN;
    return;
  }
  t.SnsTopicName = topic;
  t.SnsTopicARN = topic.startsWith('arn:') ? topic : `arn:aws:sns:${c.region}:${c.accountId}:${topic}`;
}

