/** CloudTrail Lake's operations: event data stores and queries (thin handlers over the domain and src/lake). */
import { AnswerLater, operation, type OperationSpec } from '../../protocols/json11-service.js';
import { InvalidNextTokenException, InvalidParameterException } from '../../protocols/errors.js';
import type { RequestContext } from '../types.js';
import type { CreateEventDataStoreInput, EventDataStoreDoc, EventDataStores, UpdateEventDataStoreInput } from '../../domain/event-data-stores.js';
import type { LakeQueries, QueryDoc, QueryStatus } from '../../lake/queries.js';
import type { LakeWriter } from '../../lake/lake-writer.js';
import type { Channels } from '../../domain/channels.js';
import type { ImportDoc, ImportSource, ImportStatus, LakeImports } from '../../lake/imports.js';

export interface LakeDeps {
  stores: EventDataStores;
  queries: LakeQueries;
  writer: LakeWriter;
  channels: Channels;
  imports: LakeImports;
}

const importOut = (d: ImportDoc): Record<string, unknown> => ({
  ImportId: d.id,
  Destinations: d.destinations,
  ImportSource: d.source,
  ...(d.startMs !== undefined ? { StartEventTime: new Date(d.startMs) } : {}),
  ...(d.endMs !== undefined ? { EndEventTime: new Date(d.endMs) } : {}),
  ImportStatus: d.status,
  CreatedTimestamp: new Date(d.createdAt),
  UpdatedTimestamp: new Date(d.updatedAt),
});

const edsOut = (s: EventDataStoreDoc): Record<string, unknown> => ({
  EventDataStoreArn: s.arn,
  Name: s.name,
  Status: s.status,
  AdvancedEventSelectors: s.advancedEventSelectors,
  MultiRegionEnabled: s.multiRegionEnabled,
  OrganizationEnabled: s.organizationEnabled,
  RetentionPeriod: s.retentionPeriod,
  TerminationProtectionEnabled: s.terminationProtectionEnabled,
  CreatedTimestamp: new Date(s.createdAt),
  UpdatedTimestamp: new Date(s.updatedAt),
  BillingMode: s.billingMode,
});

/** An opaque page token: the offset, bound to what is being paged. */
function pageOf<T>(items: T[], scope: string, token: string | undefined, max: number): { items: T[]; next?: string } {
  let from = 0;
  if (token) {
    const [s, n] = Buffer.from(token, 'base64url').toString('utf8').split('|');
    from = Number(n);
    if (s !== scope || !Number.isInteger(from) || from < 0 || from > items.length) throw new InvalidNextTokenException('The NextToken is not valid.');
  }
  const slice = items.slice(from, from + max);
  return from + max < items.length ? { items: slice, next: Buffer.from(`${scope}|${from + max}`).toString('base64url') } : { items: slice };
}

export function lakeOperations(deps: LakeDeps): Record<string, OperationSpec> {
  const { stores, queries } = deps;
  type Ctx = RequestContext;
  /** The answer for a query once it has settled: one still running here is answered when it changes, the call recorded meanwhile. */
  const whenSettled = <O>(q: QueryDoc, out: (d: QueryDoc) => O | Promise<O>): O | Promise<O> | AnswerLater<O> =>
    queries.mayChange(q) ? new AnswerLater(queries.settled(q).then(out)) : out(q);
  const statistics = (q: QueryDoc): Record<string, unknown> => ({
    EventsMatched: q.resultsCount,
    EventsScanned: q.eventsScanned,
    BytesScanned: q.bytesScanned,
    ExecutionTimeInMillis: q.executionMs,
    CreationTime: new Date(q.createdAt),
  });
  return {
    CreateEventDataStore: operation({
      handler: async (i: CreateEventDataStoreInput, c: Ctx) => {
        const s = await stores.create(c.accountId, c.region, i);
        void deps.writer.pass();
        return { ...edsOut(s), TagsList: s.tags };
      },
    }),
    GetEventDataStore: operation({
      handler: async (i: { EventDataStore: string }, c: Ctx) => edsOut(await stores.get(c.accountId, c.region, i.EventDataStore)),
    }),
    UpdateEventDataStore: operation({
      handler: async (i: UpdateEventDataStoreInput, c: Ctx) => edsOut(await stores.update(c.accountId, c.region, i)),
    }),
    DeleteEventDataStore: operation({
      handler: async (i: { EventDataStore: string }, c: Ctx) => {
        await stores.delete(c.accountId, c.region, i.EventDataStore);
        return {};
      },
    }),
    RestoreEventDataStore: operation({
      handler: async (i: { EventDataStore: string }, c: Ctx) => edsOut(await stores.restore(c.accountId, c.region, i.EventDataStore)),
    }),
    ListEventDataStores: operation({
      handler: async (i: { NextToken?: string; MaxResults?: number }, c: Ctx) => {
        const p = pageOf(await stores.list(c.accountId, c.region), `eds:${c.accountId}:${c.region}`, i.NextToken, i.MaxResults ?? 100);
        return { EventDataStores: p.items.map(edsOut), ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    StartEventDataStoreIngestion: operation({
      handler: async (i: { EventDataStore: string }, c: Ctx) => {
        await stores.setIngestion(c.accountId, c.region, i.EventDataStore, true);
        return {};
      },
    }),
    StopEventDataStoreIngestion: operation({
      handler: async (i: { EventDataStore: string }, c: Ctx) => {
        await stores.setIngestion(c.accountId, c.region, i.EventDataStore, false);
        return {};
      },
    }),
    StartQuery: operation({
      handler: async (i: { QueryStatement?: string; DeliveryS3Uri?: string; QueryAlias?: string; QueryParameters?: string[]; EventDataStoreOwnerAccountId?: string }, c: Ctx) => {
        if (i.EventDataStoreOwnerAccountId && i.EventDataStoreOwnerAccountId !== c.accountId) {
          throw new InvalidParameterException('Queries on event data stores of other accounts are not supported.');
        }
        const q = await queries.start(c.accountId, c.region, i);
        return { QueryId: q.id };
      },
    }),
    DescribeQuery: operation({
      handler: async (i: { QueryId?: string; QueryAlias?: string }, c: Ctx) => {
        if (!i.QueryId) throw new InvalidParameterException('QueryId is required.');
        const q = await queries.get(c.accountId, i.QueryId);
        const out = (d: QueryDoc): Record<string, unknown> => ({
          QueryId: d.id,
          QueryString: d.statement,
          QueryStatus: d.status,
          QueryStatistics: statistics(d),
          ...(d.errorMessage ? { ErrorMessage: d.errorMessage } : {}),
          ...(d.deliveryS3Uri ? { DeliveryS3Uri: d.deliveryS3Uri, DeliveryStatus: d.deliveryStatus } : {}),
        });
        return whenSettled(q, out);
      },
    }),
    GetQueryResults: operation({
      handler: async (i: { QueryId: string; NextToken?: string; MaxQueryResults?: number }, c: Ctx) => {
        const out = async (q: QueryDoc): Promise<Record<string, unknown>> => {
          const rows = q.status === 'FINISHED' ? await queries.rows(q) : [];
          const p = pageOf(rows, `q:${q.id}`, i.NextToken, i.MaxQueryResults ?? 1000);
          return {
            QueryStatus: q.status,
            QueryStatistics: { ResultsCount: p.items.length, TotalResultsCount: q.resultsCount, BytesScanned: q.bytesScanned },
            QueryResultRows: p.items,
            ...(p.next ? { NextToken: p.next } : {}),
            ...(q.errorMessage ? { ErrorMessage: q.errorMessage } : {}),
          };
        };
        const q = await queries.get(c.accountId, i.QueryId);
        // A page after the first can fail (a NextToken of another query): answered in full here.
        return i.NextToken === undefined ? whenSettled(q, out) : out(await queries.settled(q));
      },
    }),
    ListQueries: operation({
      handler: async (i: { EventDataStore: string; NextToken?: string; MaxResults?: number; StartTime?: Date; EndTime?: Date; QueryStatus?: QueryStatus }, c: Ctx) => {
        const s = await stores.get(c.accountId, c.region, i.EventDataStore);
        const list = await queries.list(c.accountId, c.region, { stores: [s.id], start: i.StartTime?.getTime(), end: i.EndTime?.getTime(), status: i.QueryStatus });
        const p = pageOf(list, `ql:${s.id}`, i.NextToken, i.MaxResults ?? 1000);
        return { Queries: p.items.map((q) => ({ QueryId: q.id, QueryStatus: q.status, CreationTime: new Date(q.createdAt) })), ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    StartImport: operation({
      handler: async (i: { Destinations?: string[]; ImportSource?: ImportSource; StartEventTime?: Date; EndEventTime?: Date; ImportId?: string }, c: Ctx) =>
        importOut(await deps.imports.start(c.accountId, c.region, i)),
    }),
    GetImport: operation({
      handler: async (i: { ImportId: string }, c: Ctx) => {
        const d = await deps.imports.get(c.accountId, i.ImportId);
        return { ...importOut(d), ImportStatistics: d.stats };
      },
    }),
    StopImport: operation({
      handler: async (i: { ImportId: string }, c: Ctx) => {
        const d = await deps.imports.stop(c.accountId, i.ImportId);
        return { ...importOut(d), ImportStatistics: d.stats };
      },
    }),
    ListImports: operation({
      handler: async (i: { MaxResults?: number; Destination?: string; ImportStatus?: ImportStatus; NextToken?: string }, c: Ctx) => {
        const dest = i.Destination ? (await stores.get(c.accountId, c.region, i.Destination)).arn : undefined;
        const all = (await deps.imports.list(c.accountId, c.region)).filter((d) => (!dest || d.destinations.includes(dest)) && (!i.ImportStatus || d.status === i.ImportStatus));
        const p = pageOf(all, `imports:${c.accountId}`, i.NextToken, i.MaxResults ?? 1000);
        return {
          Imports: p.items.map((d) => ({ ImportId: d.id, ImportStatus: d.status, Destinations: d.destinations, CreatedTimestamp: new Date(d.createdAt), UpdatedTimestamp: new Date(d.updatedAt) })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    ListImportFailures: operation({
      handler: async (i: { ImportId: string; MaxResults?: number; NextToken?: string }, c: Ctx) => {
        const d = await deps.imports.get(c.accountId, i.ImportId);
        const p = pageOf(d.failures, `failures:${d.id}`, i.NextToken, i.MaxResults ?? 1000);
        return { Failures: p.items.map((f) => ({ ...f, LastUpdatedTime: new Date(f.LastUpdatedTime) })), ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    CancelQuery: operation({
      handler: async (i: { QueryId: string }, c: Ctx) => {
        const q = await queries.cancel(c.accountId, i.QueryId);
        return { QueryId: q.id, QueryStatus: q.status };
      },
    }),
  };
}
