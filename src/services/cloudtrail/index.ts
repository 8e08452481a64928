/** The CloudTrail API (AWS JSON 1.1, signing name `cloudtrail`): thin handlers over the domain. */
import { AnswerLater, Json11Service, operation, type OperationSpec } from '../../protocols/json11-service.js';
import { loadModel } from '../../protocols/model.js';
import {
  InvalidEventCategoryException,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidTimeRangeException,
} from '../../protocols/errors.js';
import type { EventHistory, LookupRequest, LookupResult } from '../../domain/event-history.js';
import type { RequestContext } from '../types.js';
import type { Trails } from '../../domain/trails.js';
import { trailOperations } from './trails.js';
import { lakeOperations, type LakeDeps } from './lake.js';
import { channelOperations } from './channels.js';
import { ResourceTags } from '../../domain/tags.js';
import type { SigningKeys } from '../../integrity/signing-keys.js';

export interface CloudTrailDeps {
  history: EventHistory;
  trails: Trails;
  signingKeys: SigningKeys;
  lake: LakeDeps;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

export function createCloudTrailService(deps: CloudTrailDeps): Json11Service {
  const lookupEvents: OperationSpec<LookupRequest, LookupResult> = {
    // Checked now; the call's record commits while the page is read (a read-only call's record
    // holds no response), and the page leaves that record out. Only a failing store can fail the
    // read then: the call answers InternalFailure, and the server's log says so beside a record
    // that says it succeeded.
    handler: async (input, ctx: RequestContext) => new AnswerLater(deps.history.lookupEvents(ctx.accountId, ctx.region, input, ctx.recordEventId)),
    memberErrors: {
      LookupAttributes: InvalidLookupAttributesException,
      MaxResults: InvalidMaxResultsException,
      EventCategory: InvalidEventCategoryException,
      StartTime: InvalidTimeRangeException,
      EndTime: InvalidTimeRangeException,
    },
  };
  return new Json11Service({
    signingName: 'cloudtrail',
    eventSource: 'cloudtrail.amazonaws.com',
    model: loadModel('cloudtrail-2013-11-01'),
    operations: {
      LookupEvents: operation(lookupEvents),
      ...trailOperations({ trails: deps.trails, tags: new ResourceTags([deps.trails.tags, deps.lake.stores.tags, deps.lake.channels.tags]) }),
      ...lakeOperations(deps.lake),
      ...channelOperations(deps.lake.channels),
      ListPublicKeys: operation({
        handler: async (input: { StartTime?: Date; EndTime?: Date }, ctx: RequestContext) => {
          const keys = await deps.signingKeys.list(ctx.region, input.StartTime?.getTime(), input.EndTime?.getTime());
          return {
            PublicKeyList: keys.map((k) => ({
              Value: Buffer.from(k.publicKeyDer, 'base64'),
              ValidityStartTime: new Date(k.validityStart),
              ValidityEndTime: new Date(k.validityEnd),
              Fingerprint: k.fingerprint,
            })),
          };
        },
        memberErrors: { StartTime: InvalidTimeRangeException, EndTime: InvalidTimeRangeException },
      }),
    },
    onUnexpectedError: deps.onUnexpectedError,
  });
}
