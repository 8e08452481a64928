/** The CloudTrail API (AWS JSON 1.1, signing name `cloudtrail`): thin handlers over the domain. */
import type { DescribeTrailsCommandOutput, ListTrailsCommandOutput } from '@aws-sdk/client-cloudtrail';
import { Json11Service, operation, type OperationSpec } from '../../protocols/json11-service.js';
import { loadModel } from '../../protocols/model.js';
import {
  InvalidEventCategoryException,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidTimeRangeException,
} from '../../protocols/errors.js';
import type { EventHistory, LookupRequest, LookupResult } from '../../domain/event-history.js';
import type { RequestContext } from '../types.js';

export interface CloudTrailDeps {
  history: EventHistory;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

type DescribeTrailsOutput = Omit<DescribeTrailsCommandOutput, '$metadata'>;
type ListTrailsOutput = Omit<ListTrailsCommandOutput, '$metadata'>;

export function createCloudTrailService(deps: CloudTrailDeps): Json11Service {
  const lookupEvents: OperationSpec<LookupRequest, LookupResult> = {
    handler: (input, ctx: RequestContext) => deps.history.lookupEvents(ctx.accountId, ctx.region, input),
    memberErrors: {
      LookupAttributes: InvalidLookupAttributesException,
      MaxResults: InvalidMaxResultsException,
      EventCategory: InvalidEventCategoryException,
      StartTime: InvalidTimeRangeException,
      EndTime: InvalidTimeRangeException,
    },
  };
  // Trails arrive with the trails capability; until then the region has none.
  const describeTrails: OperationSpec<Record<string, unknown>, DescribeTrailsOutput> = {
    handler: async () => ({ trailList: [] }),
  };
  const listTrails: OperationSpec<Record<string, unknown>, ListTrailsOutput> = {
    handler: async () => ({ Trails: [] }),
  };
  return new Json11Service({
    signingName: 'cloudtrail',
    eventSource: 'cloudtrail.amazonaws.com',
    model: loadModel('cloudtrail-2013-11-01'),
    operations: {
      LookupEvents: operation(lookupEvents),
      DescribeTrails: operation(describeTrails),
      ListTrails: operation(listTrails),
    },
    onUnexpectedError: deps.onUnexpectedError,
  });
}
