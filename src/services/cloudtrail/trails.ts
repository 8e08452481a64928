/** CloudTrail trail operations: thin handlers over domain/trails. */
import type {
  CreateTrailCommandInput,
  UpdateTrailCommandInput,
  DescribeTrailsCommandInput,
  GetTrailStatusCommandInput,
  PutEventSelectorsCommandInput,
  PutInsightSelectorsCommandInput,
  AddTagsCommandInput,
  RemoveTagsCommandInput,
  ListTagsCommandInput,
  ListTrailsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { operation, type OperationSpec } from '../../protocols/json11-service.js';
import type { Trails } from '../../domain/trails.js';
import { toTrailShape, toTrailWriteShape, type TrailDoc, type Tag } from '../../domain/trail-model.js';
import type { AdvancedEventSelector, EventSelector } from '../../domain/selectors.js';
import { formatEventTime, type RecordResource } from '../../domain/record.js';
import { InvalidEventSelectorsException, InvalidInsightSelectorsException, InvalidParameterException, TrailNotFoundException } from '../../protocols/errors.js';
import type { ResourceTags } from '../../domain/tags.js';
import type { RequestContext } from '../types.js';

const caller = (ctx: RequestContext) => ({ accountId: ctx.accountId, region: ctx.region });
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatEventTime(new Date(ms)));
const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

function trailResource(arnOrName: string | undefined, ctx: RequestContext): RecordResource[] | undefined {
  if (!arnOrName) return undefined;
  const arn = arnOrName.startsWith('arn:') ? arnOrName : `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${arnOrName}`;
  return [{ accountId: ctx.accountId, type: 'AWS::CloudTrail::Trail', ARN: arn }];
}

type Named = { Name?: string; TrailName?: string; ResourceId?: string };
const withTrail = <I extends Named, O>(spec: OperationSpec<I, O>): OperationSpec =>
  operation({
    ...spec,
    resources: (input, output, ctx) => {
      const arn = (output as { TrailARN?: string } | undefined)?.TrailARN;
      return trailResource(arn ?? input.Name ?? input.TrailName ?? input.ResourceId, ctx);
    },
  });

export function trailOperations(deps: { trails: Trails; tags: ResourceTags }): Record<string, OperationSpec> {
  const { trails } = deps;
  /** The resource a tagging call names, with AWS's type of it, for the record. */
  const tagged = (input: { ResourceId: string }): RecordResource[] => [{ type: deps.tags.resourceType(input.ResourceId) ?? 'AWS::CloudTrail::Trail', ARN: input.ResourceId }];
  return {
    CreateTrail: withTrail({
      handler: async (input: CreateTrailCommandInput & { Name: string; S3BucketName: string }, ctx) =>
        toTrailWriteShape(await trails.create(caller(ctx), { ...input, TagsList: input.TagsList as Tag[] | undefined })),
    }),
    UpdateTrail: withTrail({
      handler: async (input: UpdateTrailCommandInput & { Name: string }, ctx) => toTrailWriteShape(await trails.update(caller(ctx), input)),
    }),
    DeleteTrail: withTrail({
      handler: async (input: { Name: string }, ctx) => {
        await trails.delete(caller(ctx), input.Name);
        return {};
      },
    }),
    GetTrail: withTrail({
      handler: async (input: { Name: string }, ctx) => ({ Trail: toTrailShape(await trails.resolve(caller(ctx), input.Name)) }),
    }),
    DescribeTrails: operation({
      handler: async (input: DescribeTrailsCommandInput, ctx: RequestContext) => {
        const c = caller(ctx);
        const includeShadow = input.includeShadowTrails ?? true;
        let list: TrailDoc[];
        if (input.trailNameList && input.trailNameList.length > 0) {
          list = [];
          for (const n of input.trailNameList) {
            try {
              const t = await trails.resolve(c, n);
              if ((includeShadow || t.HomeRegion === c.region) && !list.includes(t)) list.push(t);
            } catch (e) {
              if (!(e instanceof TrailNotFoundException)) throw e; // unknown names are left out, as AWS does
            }
          }
        } else {
          list = await trails.visible(c, includeShadow);
        }
        return { trailList: list.map(toTrailShape) };
      },
    }),
    ListTrails: operation({
      handler: async (input: ListTrailsCommandInput, ctx: RequestContext) => {
        const all = (await trails.visible(caller(ctx))).sort((a, b) => a.TrailARN.localeCompare(b.TrailARN));
        let start = 0;
        if (input.NextToken) {
          const after = Buffer.from(input.NextToken, 'base64url').toString('utf8');
          if (!after.startsWith('arn:')) throw new InvalidParameterException('Invalid NextToken.');
          start = all.findIndex((t) => t.TrailARN > after);
          if (start < 0) start = all.length;
        }
        const page = all.slice(start, start + 50);
        const more = start + 50 < all.length;
        return {
          Trails: page.map((t) => ({ TrailARN: t.TrailARN, Name: t.Name, HomeRegion: t.HomeRegion })),
          NextToken: more ? Buffer.from(page[page.length - 1]!.TrailARN).toString('base64url') : undefined,
        };
      },
    }),
    GetTrailStatus: withTrail({
      handler: async (input: GetTrailStatusCommandInput & { Name: string }, ctx) => {
        const t = await trails.resolve(caller(ctx), input.Name);
        const l = await trails.logging(t);
        const d = await trails.delivery(t);
        return {
          IsLogging: l.IsLogging,
          LatestDeliveryError: d.LatestDeliveryError,
          LatestDeliveryTime: date(d.LatestDeliveryTime),
          StartLoggingTime: date(l.StartLoggingTime),
          StopLoggingTime: date(l.StopLoggingTime),
          LatestDigestDeliveryTime: date(d.LatestDigestDeliveryTime),
          LatestDigestDeliveryError: d.LatestDigestDeliveryError,
          LatestDeliveryAttemptTime: iso(d.LatestDeliveryAttemptTime) ?? '',
          LatestNotificationAttemptTime: '',
          LatestNotificationAttemptSucceeded: '',
          LatestDeliveryAttemptSucceeded: iso(d.LatestDeliverySucceededTime) ?? '',
          TimeLoggingStarted: iso(l.StartLoggingTime) ?? '',
          TimeLoggingStopped: iso(l.StopLoggingTime) ?? '',
        };
      },
    }),
    StartLogging: withTrail({
      handler: async (input: { Name: string }, ctx) => {
        await trails.startLogging(caller(ctx), input.Name);
        return {};
      },
    }),
    StopLogging: withTrail({
      handler: async (input: { Name: string }, ctx) => {
        await trails.stopLogging(caller(ctx), input.Name);
        return {};
      },
    }),
    PutEventSelectors: withTrail({
      memberErrors: { EventSelectors: InvalidEventSelectorsException, AdvancedEventSelectors: InvalidEventSelectorsException },
      handler: async (input: PutEventSelectorsCommandInput & { TrailName: string }, ctx) => {
        const t = await trails.putEventSelectors(
          caller(ctx),
          input.TrailName,
          input.EventSelectors as EventSelector[] | undefined,
          input.AdvancedEventSelectors as AdvancedEventSelector[] | undefined,
        );
        return { TrailARN: t.TrailARN, ...trails.eventSelectorsOf(t) };
      },
    }),
    GetEventSelectors: withTrail({
      handler: async (input: { TrailName: string }, ctx) => {
        const t = await trails.resolve(caller(ctx), input.TrailName);
        return { TrailARN: t.TrailARN, ...trails.eventSelectorsOf(t) };
      },
    }),
    PutInsightSelectors: withTrail({
      memberErrors: { InsightSelectors: InvalidInsightSelectorsException },
      handler: async (input: PutInsightSelectorsCommandInput & { TrailName?: string }, ctx) => {
        if (!input.TrailName) throw new InvalidParameterException('TrailName is required (event data store Insights come with CloudTrail Lake).');
        const t = await trails.putInsightSelectors(caller(ctx), input.TrailName, input.InsightSelectors ?? []);
        return { TrailARN: t.TrailARN, InsightSelectors: t.InsightSelectors ?? [] };
      },
    }),
    GetInsightSelectors: withTrail({
      handler: async (input: { TrailName?: string }, ctx) => {
        if (!input.TrailName) throw new InvalidParameterException('TrailName is required (event data store Insights come with CloudTrail Lake).');
        const t = await trails.getInsightSelectors(caller(ctx), input.TrailName);
        return { TrailARN: t.TrailARN, InsightSelectors: t.InsightSelectors };
      },
    }),
    AddTags: operation({
      handler: async (input: AddTagsCommandInput & { ResourceId: string }, ctx: RequestContext) => {
        await deps.tags.add(caller(ctx), input.ResourceId, (input.TagsList ?? []) as Tag[]);
        return {};
      },
      resources: tagged,
    }),
    RemoveTags: operation({
      handler: async (input: RemoveTagsCommandInput & { ResourceId: string }, ctx: RequestContext) => {
        await deps.tags.remove(caller(ctx), input.ResourceId, (input.TagsList ?? []) as Tag[]);
        return {};
      },
      resources: tagged,
    }),
    ListTags: operation({
      handler: async (input: ListTagsCommandInput, ctx: RequestContext) => deps.tags.list(caller(ctx), input.ResourceIdList ?? [], input.NextToken),
    }),
  };
}
