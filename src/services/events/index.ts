/** The EventBridge API (AWS JSON 1.1, signing name `events`, target prefix `AWSEvents`): thin handlers over the rules domain. */
import { Json11Service, operation } from '../../protocols/json11-service.js';
import { loadModel } from '../../protocols/model.js';
import { InvalidEventPatternException } from '../../protocols/errors.js';
import type { RequestContext } from '../types.js';
import { compileEventPattern, page, type EventRules } from '../../domain/event-rules.js';
import { RuleIndex } from '../../rules/rule-index.js';
import type { ApiDestinationDoc, AuthParameters, AuthorizationType, ConnectionDoc, RuleDoc, RuleState, TargetDoc } from '../../domain/rules-model.js';

export interface EventsDeps {
  rules: EventRules;
  onUnexpectedError?: (err: unknown, operation: string) => void;
}

const seconds = (ms: number): Date => new Date(ms);

const ruleOut = (r: RuleDoc): Record<string, unknown> => ({
  Name: r.name,
  Arn: r.arn,
  EventPattern: r.eventPattern,
  State: r.state,
  ...(r.description !== undefined ? { Description: r.description } : {}),
  ...(r.roleArn !== undefined ? { RoleArn: r.roleArn } : {}),
  EventBusName: r.bus,
});

/** A connection as DescribeConnection shows it: the secrets left out. */
function authOut(p: AuthParameters): Record<string, unknown> {
  const hideSecrets = (h: AuthParameters['InvocationHttpParameters']) =>
    h && {
      HeaderParameters: h.HeaderParameters?.map((x) => (x.IsValueSecret ? { Key: x.Key, IsValueSecret: true } : x)),
      QueryStringParameters: h.QueryStringParameters?.map((x) => (x.IsValueSecret ? { Key: x.Key, IsValueSecret: true } : x)),
      BodyParameters: h.BodyParameters?.map((x) => (x.IsValueSecret ? { Key: x.Key, IsValueSecret: true } : x)),
    };
  return {
    ...(p.BasicAuthParameters ? { BasicAuthParameters: { Username: p.BasicAuthParameters.Username } } : {}),
    ...(p.ApiKeyAuthParameters ? { ApiKeyAuthParameters: { ApiKeyName: p.ApiKeyAuthParameters.ApiKeyName } } : {}),
    ...(p.OAuthParameters
      ? {
          OAuthParameters: {
            ClientParameters: { ClientID: p.OAuthParameters.ClientParameters.ClientID },
            AuthorizationEndpoint: p.OAuthParameters.AuthorizationEndpoint,
            HttpMethod: p.OAuthParameters.HttpMethod,
            ...(p.OAuthParameters.OAuthHttpParameters ? { OAuthHttpParameters: hideSecrets(p.OAuthParameters.OAuthHttpParameters) } : {}),
          },
        }
      : {}),
    ...(p.InvocationHttpParameters ? { InvocationHttpParameters: hideSecrets(p.InvocationHttpParameters) } : {}),
  };
}

const connectionSummary = (c: ConnectionDoc): Record<string, unknown> => ({
  ConnectionArn: c.arn,
  Name: c.name,
  ConnectionState: c.state,
  AuthorizationType: c.authorizationType,
  CreationTime: seconds(c.createdAt),
  LastModifiedTime: seconds(c.modifiedAt),
  LastAuthorizedTime: seconds(c.lastAuthorizedAt),
});

const destinationOut = (d: ApiDestinationDoc): Record<string, unknown> => ({
  ApiDestinationArn: d.arn,
  Name: d.name,
  ...(d.description ? { Description: d.description } : {}),
  ApiDestinationState: d.state,
  ConnectionArn: d.connectionArn,
  InvocationEndpoint: d.invocationEndpoint,
  HttpMethod: d.httpMethod,
  ...(d.rateLimitPerSecond !== undefined ? { InvocationRateLimitPerSecond: d.rateLimitPerSecond } : {}),
  CreationTime: seconds(d.createdAt),
  LastModifiedTime: seconds(d.modifiedAt),
});

/** The fields EventBridge requires of an event given to TestEventPattern. */
const EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'];

export function createEventsService(deps: EventsDeps): Json11Service {
  const R = deps.rules;
  type Ctx = RequestContext;
  return new Json11Service({
    signingName: 'events',
    eventSource: 'events.amazonaws.com',
    model: loadModel('events-2015-10-07'),
    onUnexpectedError: deps.onUnexpectedError,
    operations: {
      PutRule: operation({
        handler: async (i: { Name: string; EventPattern?: string; ScheduleExpression?: string; State?: RuleState; Description?: string; RoleArn?: string; EventBusName?: string }, c: Ctx) => ({
          RuleArn: (await R.putRule(c.accountId, c.region, i)).arn,
        }),
        resources: (_i: { Name: string }, o: { RuleArn: string } | undefined, c: Ctx) => (o ? [{ ARN: o.RuleArn, accountId: c.accountId, type: 'AWS::Events::Rule' }] : undefined),
      }),
      DescribeRule: operation({
        handler: async (i: { Name: string; EventBusName?: string }, c: Ctx) => ({ ...ruleOut(await R.getRule(c.accountId, c.region, i.Name, i.EventBusName)), CreatedBy: c.accountId }),
      }),
      ListRules: operation({
        handler: async (i: { NamePrefix?: string; EventBusName?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const bus = (await R.describeEventBus(c.accountId, c.region, i.EventBusName)).name;
          const all = (await R.rulesOf(c.accountId, c.region, bus)).filter((r) => !i.NamePrefix || r.name.startsWith(i.NamePrefix)).sort((a, b) => a.name.localeCompare(b.name));
          const p = page(all, i.NextToken, i.Limit);
          return { Rules: p.items.map(ruleOut), ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      DeleteRule: operation({
        handler: async (i: { Name: string; EventBusName?: string; Force?: boolean }, c: Ctx) => {
          await R.deleteRule(c.accountId, c.region, i.Name, i.EventBusName, i.Force === true);
          return {};
        },
      }),
      EnableRule: operation({
        handler: async (i: { Name: string; EventBusName?: string }, c: Ctx) => {
          const r = await R.getRule(c.accountId, c.region, i.Name, i.EventBusName);
          if (r.state === 'DISABLED') await R.setRuleState(c.accountId, c.region, i.Name, i.EventBusName, 'ENABLED');
          return {};
        },
      }),
      DisableRule: operation({
        handler: async (i: { Name: string; EventBusName?: string }, c: Ctx) => {
          await R.setRuleState(c.accountId, c.region, i.Name, i.EventBusName, 'DISABLED');
          return {};
        },
      }),
      PutTargets: operation({
        handler: async (i: { Rule: string; EventBusName?: string; Targets: TargetDoc[] }, c: Ctx) => {
          const failed = await R.putTargets(c.accountId, c.region, i.Rule, i.EventBusName, i.Targets);
          return { FailedEntryCount: failed.length, FailedEntries: failed };
        },
      }),
      RemoveTargets: operation({
        handler: async (i: { Rule: string; EventBusName?: string; Ids: string[] }, c: Ctx) => {
          const failed = await R.removeTargets(c.accountId, c.region, i.Rule, i.EventBusName, i.Ids);
          return { FailedEntryCount: failed.length, FailedEntries: failed };
        },
      }),
      ListTargetsByRule: operation({
        handler: async (i: { Rule: string; EventBusName?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const r = await R.getRule(c.accountId, c.region, i.Rule, i.EventBusName);
          const p = page(r.targets, i.NextToken, i.Limit);
          return { Targets: p.items, ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      ListRuleNamesByTarget: operation({
        handler: async (i: { TargetArn: string; EventBusName?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const bus = (await R.describeEventBus(c.accountId, c.region, i.EventBusName)).name;
          const names = (await R.rulesOf(c.accountId, c.region, bus)).filter((r) => r.targets.some((t) => t.Arn === i.TargetArn)).map((r) => r.name).sort();
          const p = page(names, i.NextToken, i.Limit);
          return { RuleNames: p.items, ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      TestEventPattern: operation({
        handler: async (i: { EventPattern: string; Event: string }) => {
          const pattern = compileEventPattern(i.EventPattern);
          let event: unknown;
          try {
            event = JSON.parse(i.Event);
          } catch {
            throw new InvalidEventPatternException('Event is not valid JSON.');
          }
          const missing = EVENT_FIELDS.filter((f) => typeof event !== 'object' || event === null || !(f in event));
          if (missing.length) throw new InvalidEventPatternException(`Event is not valid: it must contain ${missing.join(', ')}.`);
          const idx = new RuleIndex<true>();
          idx.add(true, pattern);
          return { Result: idx.match(event).length > 0 };
        },
      }),
      CreateEventBus: operation({
        handler: async (i: { Name: string; Description?: string }, c: Ctx) => {
          const b = await R.createEventBus(c.accountId, c.region, i.Name, i.Description);
          return { EventBusArn: b.arn, ...(b.description ? { Description: b.description } : {}) };
        },
      }),
      DescribeEventBus: operation({
        handler: async (i: { Name?: string }, c: Ctx) => {
          const b = await R.describeEventBus(c.accountId, c.region, i.Name);
          return { Name: b.name, Arn: b.arn, ...(b.description ? { Description: b.description } : {}), ...(b.createdAt ? { CreationTime: seconds(b.createdAt), LastModifiedTime: seconds(b.createdAt) } : {}) };
        },
      }),
      ListEventBuses: operation({
        handler: async (i: { NamePrefix?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const p = page(await R.listEventBuses(c.accountId, c.region, i.NamePrefix), i.NextToken, i.Limit);
          return { EventBuses: p.items.map((b) => ({ Name: b.name, Arn: b.arn, ...(b.description ? { Description: b.description } : {}) })), ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      DeleteEventBus: operation({
        handler: async (i: { Name: string }, c: Ctx) => {
          await R.deleteEventBus(c.accountId, c.region, i.Name);
          return {};
        },
      }),
      CreateConnection: operation({
        handler: async (i: { Name: string; Description?: string; AuthorizationType: AuthorizationType; AuthParameters: AuthParameters }, c: Ctx) => {
          const d = await R.createConnection(c.accountId, c.region, i);
          return { ConnectionArn: d.arn, ConnectionState: d.state, CreationTime: seconds(d.createdAt), LastModifiedTime: seconds(d.modifiedAt) };
        },
      }),
      DescribeConnection: operation({
        handler: async (i: { Name: string }, c: Ctx) => {
          const d = await R.getConnection(c.accountId, c.region, i.Name);
          return { ...connectionSummary(d), ...(d.description ? { Description: d.description } : {}), AuthParameters: authOut(d.authParameters), SecretArn: `arn:aws:secretsmanager:${d.region}:${d.accountId}:secret:events!connection/${d.name}` };
        },
      }),
      ListConnections: operation({
        handler: async (i: { NamePrefix?: string; ConnectionState?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const all = (await R.listConnections(c.accountId, c.region)).filter((d) => (!i.NamePrefix || d.name.startsWith(i.NamePrefix)) && (!i.ConnectionState || d.state === i.ConnectionState));
          const p = page(all, i.NextToken, i.Limit);
          return { Connections: p.items.map(connectionSummary), ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      DeleteConnection: operation({
        handler: async (i: { Name: string }, c: Ctx) => {
          const d = await R.deleteConnection(c.accountId, c.region, i.Name);
          return { ConnectionArn: d.arn, ConnectionState: 'DELETING', CreationTime: seconds(d.createdAt), LastModifiedTime: seconds(Date.now()), LastAuthorizedTime: seconds(d.lastAuthorizedAt) };
        },
      }),
      CreateApiDestination: operation({
        handler: async (
          i: { Name: string; Description?: string; ConnectionArn: string; InvocationEndpoint: string; HttpMethod: string; InvocationRateLimitPerSecond?: number },
          c: Ctx,
        ) => {
          const d = await R.createApiDestination(c.accountId, c.region, i);
          return { ApiDestinationArn: d.arn, ApiDestinationState: d.state, CreationTime: seconds(d.createdAt), LastModifiedTime: seconds(d.modifiedAt) };
        },
      }),
      DescribeApiDestination: operation({
        handler: async (i: { Name: string }, c: Ctx) => destinationOut(await R.getApiDestination(c.accountId, c.region, i.Name)),
      }),
      ListApiDestinations: operation({
        handler: async (i: { NamePrefix?: string; ConnectionArn?: string; NextToken?: string; Limit?: number }, c: Ctx) => {
          const all = (await R.listApiDestinations(c.accountId, c.region)).filter((d) => (!i.NamePrefix || d.name.startsWith(i.NamePrefix)) && (!i.ConnectionArn || d.connectionArn === i.ConnectionArn));
          const p = page(all, i.NextToken, i.Limit);
          return { ApiDestinations: p.items.map(destinationOut), ...(p.nextToken ? { NextToken: p.nextToken } : {}) };
        },
      }),
      DeleteApiDestination: operation({
        handler: async (i: { Name: string }, c: Ctx) => {
          await R.deleteApiDestination(c.accountId, c.region, i.Name);
          return {};
        },
      }),
    },
  });
}
