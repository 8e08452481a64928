/** Lake channels and their resource policies (thin handlers over the domain). */
import { operation, type OperationSpec } from '../../protocols/json11-service.js';
import { InvalidNextTokenException } from '../../protocols/errors.js';
import type { RequestContext } from '../types.js';
import type { ChannelDoc, Channels, Destination } from '../../domain/channels.js';

const out = (c: ChannelDoc): Record<string, unknown> => ({ ChannelArn: c.arn, Name: c.name, Source: c.source, Destinations: c.destinations });

export function channelOperations(channels: Channels): Record<string, OperationSpec> {
  type Ctx = RequestContext;
  return {
    CreateChannel: operation({
      handler: async (i: { Name: string; Source: string; Destinations: Destination[]; Tags?: { Key: string; Value?: string }[] }, c: Ctx) => {
        const ch = await channels.create(c.accountId, c.region, i);
        return { ...out(ch), Tags: ch.tags };
      },
    }),
    GetChannel: operation({
      handler: async (i: { Channel: string }, c: Ctx) => {
        const ch = channels.withStatus(await channels.get(c.accountId, c.region, i.Channel));
        return {
          ...out(ch),
          SourceConfig: { ApplyToAllRegions: false, AdvancedEventSelectors: [] },
          IngestionStatus: {
            ...(ch.latestSuccess ? { LatestIngestionSuccessTime: new Date(ch.latestSuccess.at), LatestIngestionSuccessEventID: ch.latestSuccess.eventId } : {}),
            ...(ch.latestAttempt
              ? { LatestIngestionAttemptTime: new Date(ch.latestAttempt.at), LatestIngestionAttemptEventID: ch.latestAttempt.eventId || undefined, LatestIngestionErrorCode: ch.latestAttempt.errorCode }
              : {}),
          },
        };
      },
    }),
    ListChannels: operation({
      handler: async (i: { MaxResults?: number; NextToken?: string }, c: Ctx) => {
        const all = await channels.list(c.accountId, c.region);
        const from = i.NextToken ? Number(Buffer.from(i.NextToken, 'base64url').toString('utf8')) : 0;
        if (!Number.isInteger(from) || from < 0 || from > all.length) throw new InvalidNextTokenException('The NextToken is not valid.');
        const n = i.MaxResults ?? 1000;
        const next = from + n < all.length ? Buffer.from(String(from + n)).toString('base64url') : undefined;
        return { Channels: all.slice(from, from + n).map((ch) => ({ ChannelArn: ch.arn, Name: ch.name })), ...(next ? { NextToken: next } : {}) };
      },
    }),
    UpdateChannel: operation({
      handler: async (i: { Channel: string; Destinations?: Destination[]; Name?: string }, c: Ctx) => out(await channels.update(c.accountId, c.region, i)),
    }),
    DeleteChannel: operation({
      handler: async (i: { Channel: string }, c: Ctx) => {
        await channels.delete(c.accountId, c.region, i.Channel);
        return {};
      },
    }),
    PutResourcePolicy: operation({
      handler: async (i: { ResourceArn: string; ResourcePolicy: string }, c: Ctx) => {
        const ch = await channels.putPolicy(c.accountId, c.region, i.ResourceArn, i.ResourcePolicy);
        return { ResourceArn: ch.arn, ResourcePolicy: ch.policy };
      },
    }),
    GetResourcePolicy: operation({
      handler: async (i: { ResourceArn: string }, c: Ctx) => ({ ResourceArn: i.ResourceArn, ResourcePolicy: await channels.getPolicy(c.accountId, c.region, i.ResourceArn) }),
    }),
    DeleteResourcePolicy: operation({
      handler: async (i: { ResourceArn: string }, c: Ctx) => {
        await channels.deletePolicy(c.accountId, c.region, i.ResourceArn);
        return {};
      },
    }),
  };
}
