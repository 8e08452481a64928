/**
 * EventBridge rules as a domain: event buses, rules (an event pattern and up
 * to five targets), connections and API destinations, kept in the metastore
 * per account and region. Patterns are compiled when a rule is put, so a bad
 * one is refused with event-ruler's reason and the matcher only ever sees
 * good ones.
 */
import { randomUUID } from 'node:crypto';
import type { Metastore } from '../storage/interfaces.js';
import { compilePattern, PatternError, type CompiledPattern } from '../rules/pattern.js';
import { isJsonPath } from '../rules/envelope.js';
import { InvalidEventPatternException, LimitExceededException, ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException } from '../protocols/errors.js';
import {
  DEFAULT_BUS,
  MAX_RULES_PER_BUS,
  MAX_TARGETS_PER_RULE,
  busArn,
  busName,
  fileSinkOfArn,
  resourceNameOfArn,
  ruleArn,
  type ApiDestinationDoc,
  type AuthParameters,
  type AuthorizationType,
  type ConnectionDoc,
  type EventBusDoc,
  type RuleDoc,
  type RuleState,
  type TargetDoc,
} from './rules-model.js';

const BUS = 'event-bus';
const RULE = 'event-rule';
const CONNECTION = 'events-connection';
const DESTINATION = 'events-api-destination';

export type RulesChangeListener = (accountId: string, region: string) => void;

/** Compile an EventBridge pattern, or refuse it as EventBridge does. */
export function compileEventPattern(text: string): CompiledPattern {
  try {
    return compilePattern(text);
  } catch (e) {
    if (e instanceof PatternError) throw new InvalidEventPatternException(`Event pattern is not valid. Reason: ${e.message}`);
    throw e;
  }
}

/** A page of `items` from an opaque token (an offset) and a limit. */
export function page<T>(items: T[], nextToken: string | undefined, limit: number | undefined, max = 100): { items: T[]; nextToken?: string } {
  const from = nextToken ? Number.parseInt(Buffer.from(nextToken, 'base64url').toString('utf8'), 10) : 0;
  if (!Number.isInteger(from) || from < 0 || from > items.length) throw new ValidationException('The NextToken is not valid.');
  const n = Math.min(limit ?? max, max);
  const slice = items.slice(from, from + n);
  return from + n < items.length ? { items: slice, nextToken: Buffer.from(String(from + n)).toString('base64url') } : { items: slice };
}

export class EventRules {
  private readonly listeners: RulesChangeListener[] = [];
  private readonly compiled = new Map<string, CompiledPattern>();

  constructor(private readonly store: Metastore) {}

  onChange(l: RulesChangeListener): void {
    this.listeners.push(l);
  }

  private changed(accountId: string, region: string): void {
    for (const l of this.listeners) l(accountId, region);
  }

  /** A rule's compiled pattern (cached by text). */
  patternOf(rule: RuleDoc): CompiledPattern | undefined {
    if (!rule.eventPattern) return undefined;
    let c = this.compiled.get(rule.eventPattern);
    if (!c) {
      c = compileEventPattern(rule.eventPattern);
      if (this.compiled.size > 10_000) this.compiled.clear();
      this.compiled.set(rule.eventPattern, c);
    }
    return c;
  }

  // --- event buses ---

  private async requireBus(accountId: string, region: string, nameOrArn: string | undefined): Promise<string> {
    const name = busName(nameOrArn);
    if (name !== DEFAULT_BUS && !(await this.store.getDoc<EventBusDoc>(BUS, accountId, `${region}/${name}`))) {
      throw new ResourceNotFoundException(`Event bus ${name} does not exist.`);
    }
    return name;
  }

  async createEventBus(accountId: string, region: string, name: string, description?: string): Promise<EventBusDoc> {
    if (name === DEFAULT_BUS || (await this.store.getDoc(BUS, accountId, `${region}/${name}`))) {
      throw new ResourceAlreadyExistsException(`Event bus ${name} already exists.`);
    }
    if (name.startsWith('aws.')) throw new ValidationException('Event bus names starting with aws. are reserved for partner event sources.');
    if (name.includes('/')) throw new ValidationException('Event bus name must not contain /.');
    const doc: EventBusDoc = { accountId, region, name, arn: busArn(region, accountId, name), ...(description ? { description } : {}), createdAt: Date.now() };
    await this.store.putDoc(BUS, accountId, `${region}/${name}`, doc);
    return doc;
  }

  async describeEventBus(accountId: string, region: string, nameOrArn?: string): Promise<EventBusDoc> {
    const name = await this.requireBus(accountId, region, nameOrArn);
    if (name === DEFAULT_BUS) return { accountId, region, name, arn: busArn(region, accountId, name), createdAt: 0 };
    return (await this.store.getDoc<EventBusDoc>(BUS, accountId, `${region}/${name}`))!;
  }

  async listEventBuses(accountId: string, region: string, prefix?: string): Promise<EventBusDoc[]> {
    const own = (await this.store.listDocs<EventBusDoc>(BUS, accountId)).filter((b) => b.region === region);
    const all = [{ accountId, region, name: DEFAULT_BUS, arn: busArn(region, accountId, DEFAULT_BUS), createdAt: 0 }, ...own];
    return all.filter((b) => !prefix || b.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async deleteEventBus(accountId: string, region: string, name: string): Promise<void> {
    if (name === DEFAULT_BUS) throw new ValidationException('Cannot delete event bus default.');
    for (const r of await this.rulesOf(accountId, region, name)) {
      if (r.targets.length > 0) throw new ValidationException(`Event bus ${name} has rules with targets; remove them first.`);
    }
    for (const r of await this.rulesOf(accountId, region, name)) await this.store.deleteDoc(RULE, accountId, `${region}/${name}/${r.name}`);
    await this.store.deleteDoc(BUS, accountId, `${region}/${name}`);
    this.changed(accountId, region);
  }

  // --- rules ---

  async rulesOf(accountId: string, region: string, bus?: string): Promise<RuleDoc[]> {
    return (await this.store.listDocs<RuleDoc>(RULE, accountId)).filter((r) => r.region === region && (bus === undefined || r.bus === bus));
  }

  /** Every rule of every account (the matcher's starting point). */
  async allRules(): Promise<RuleDoc[]> {
    return this.store.listDocs<RuleDoc>(RULE);
  }

  async getRule(accountId: string, region: string, name: string, busNameOrArn?: string): Promise<RuleDoc> {
    const bus = await this.requireBus(accountId, region, busNameOrArn);
    const r = await this.store.getDoc<RuleDoc>(RULE, accountId, `${region}/${bus}/${name}`);
    if (!r) throw new ResourceNotFoundException(`Rule ${name} does not exist on EventBus ${bus}.`);
    return r;
  }

  private async saveRule(r: RuleDoc): Promise<void> {
    await this.store.putDoc(RULE, r.accountId, `${r.region}/${r.bus}/${r.name}`, r);
    this.changed(r.accountId, r.region);
  }

  async putRule(
    accountId: string,
    region: string,
    input: { Name: string; EventPattern?: string; ScheduleExpression?: string; State?: RuleState; Description?: string; RoleArn?: string; EventBusName?: string },
  ): Promise<RuleDoc> {
    const bus = await this.requireBus(accountId, region, input.EventBusName);
    if (input.ScheduleExpression !== undefined) throw new ValidationException('ScheduleExpression is not supported by opentrail: rules here react to recorded events (give an EventPattern).');
    if (input.EventPattern === undefined) throw new ValidationException('Parameter(s) EventPattern must be specified.');
    compileEventPattern(input.EventPattern);
    const prior = await this.store.getDoc<RuleDoc>(RULE, accountId, `${region}/${bus}/${input.Name}`);
    if (!prior && (await this.rulesOf(accountId, region, bus)).length >= MAX_RULES_PER_BUS) {
      throw new LimitExceededException(`The requested resource exceeds the maximum number allowed: ${MAX_RULES_PER_BUS} rules on event bus ${bus}.`);
    }
    const rule: RuleDoc = {
      accountId,
      region,
      bus,
      name: input.Name,
      arn: ruleArn(region, accountId, bus, input.Name),
      eventPattern: input.EventPattern,
      state: input.State ?? prior?.state ?? 'ENABLED',
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      ...(input.RoleArn !== undefined ? { roleArn: input.RoleArn } : {}),
      createdBy: accountId,
      targets: prior?.targets ?? [],
    };
    await this.saveRule(rule);
    return rule;
  }

  async setRuleState(accountId: string, region: string, name: string, bus: string | undefined, state: RuleState): Promise<void> {
    const r = await this.getRule(accountId, region, name, bus);
    await this.saveRule({ ...r, state });
  }

  async deleteRule(accountId: string, region: string, name: string, busNameOrArn: string | undefined, force: boolean): Promise<void> {
    const bus = await this.requireBus(accountId, region, busNameOrArn);
    const r = await this.store.getDoc<RuleDoc>(RULE, accountId, `${region}/${bus}/${name}`);
    if (!r) return; // DeleteRule of a missing rule succeeds, as EventBridge
    if (r.targets.length > 0 && !force) throw new ValidationException("Rule can't be deleted since it has targets.");
    await this.store.deleteDoc(RULE, accountId, `${region}/${bus}/${name}`);
    this.changed(accountId, region);
  }

  async putTargets(accountId: string, region: string, name: string, busNameOrArn: string | undefined, targets: TargetDoc[]): Promise<{ TargetId: string; ErrorCode: string; ErrorMessage: string }[]> {
    const r = await this.getRule(accountId, region, name, busNameOrArn);
    const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
    const byId = new Map(r.targets.map((t) => [t.Id, t]));
    for (const t of targets) {
      const problem = await this.checkTarget(accountId, region, t);
      if (problem) {
        failed.push({ TargetId: t.Id, ErrorCode: 'ValidationException', ErrorMessage: problem });
        continue;
      }
      byId.set(t.Id, t);
    }
    if (byId.size > MAX_TARGETS_PER_RULE) {
      throw new LimitExceededException(`The requested resource exceeds the maximum number allowed: a rule can have at most ${MAX_TARGETS_PER_RULE} targets.`);
    }
    await this.saveRule({ ...r, targets: [...byId.values()] });
    return failed;
  }

  private async checkTarget(accountId: string, region: string, t: TargetDoc): Promise<string | undefined> {
    const inputs = [t.Input, t.InputPath, t.InputTransformer].filter((x) => x !== undefined).length;
    if (inputs > 1) return 'Only one of Input, InputPath, or InputTransformer must be provided.';
    if (t.Input !== undefined) {
      try {
        JSON.parse(t.Input);
      } catch {
        return 'Input is not valid JSON text.';
      }
    }
    if (t.InputPath !== undefined && !isJsonPath(t.InputPath)) return `InputPath ${t.InputPath} is not a valid JSON path (dot notation from $, e.g. $.detail.eventName).`;
    for (const [k, path] of Object.entries(t.InputTransformer?.InputPathsMap ?? {})) {
      if (/^aws\./i.test(k)) return `InputPathsMap key ${k} is reserved: keys cannot start with "aws.".`;
      if (!isJsonPath(path)) return `InputPathsMap value ${path} of ${k} is not a valid JSON path (dot notation from $).`;
    }
    const dest = resourceNameOfArn(t.Arn, 'api-destination');
    const sink = fileSinkOfArn(t.Arn);
    if (dest) {
      if (dest.accountId !== accountId || dest.region !== region || !(await this.store.getDoc(DESTINATION, accountId, `${region}/${dest.name}`))) {
        return `API destination ${t.Arn} does not exist in this account and region.`;
      }
    } else if (sink) {
      if (sink.accountId !== accountId) return `Target ${t.Arn} belongs to another account.`;
    } else {
      return `Target ARN ${t.Arn} is not supported here: use an API destination (arn:aws:events:<region>:<account>:api-destination/<name>/<id>) or a JSONL sink (arn:opentrail:sink:<region>:<account>:file/<name>).`;
    }
    if (t.DeadLetterConfig?.Arn !== undefined && !/^arn:aws[\w-]*:sqs:[^:]+:\d{12}:[A-Za-z0-9_-]{1,80}$/.test(t.DeadLetterConfig.Arn)) {
      return `DeadLetterConfig.Arn ${t.DeadLetterConfig.Arn} is not an SQS queue ARN.`;
    }
    return undefined;
  }

  async removeTargets(accountId: string, region: string, name: string, busNameOrArn: string | undefined, ids: string[]): Promise<{ TargetId: string; ErrorCode: string; ErrorMessage: string }[]> {
    const r = await this.getRule(accountId, region, name, busNameOrArn);
    const failed = ids.filter((id) => !r.targets.some((t) => t.Id === id)).map((id) => ({ TargetId: id, ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Target ${id} is not on rule ${name}.` }));
    await this.saveRule({ ...r, targets: r.targets.filter((t) => !ids.includes(t.Id)) });
    return failed;
  }

  // --- connections ---

  async createConnection(accountId: string, region: string, input: { Name: string; Description?: string; AuthorizationType: AuthorizationType; AuthParameters: AuthParameters }): Promise<ConnectionDoc> {
    if (await this.store.getDoc(CONNECTION, accountId, `${region}/${input.Name}`)) throw new ResourceAlreadyExistsException(`Connection ${input.Name} already exists.`);
    const p = input.AuthParameters;
    const need = { BASIC: p.BasicAuthParameters, API_KEY: p.ApiKeyAuthParameters, OAUTH_CLIENT_CREDENTIALS: p.OAuthParameters }[input.AuthorizationType];
    if (!need) throw new ValidationException(`AuthParameters must hold the parameters of ${input.AuthorizationType} authorization.`);
    const now = Date.now();
    const doc: ConnectionDoc = {
      accountId,
      region,
      name: input.Name,
      arn: `arn:aws:events:${region}:${accountId}:connection/${input.Name}/${randomUUID()}`,
      ...(input.Description ? { description: input.Description } : {}),
      authorizationType: input.AuthorizationType,
      authParameters: p,
      state: 'AUTHORIZED',
      createdAt: now,
      modifiedAt: now,
      lastAuthorizedAt: now,
    };
    await this.store.putDoc(CONNECTION, accountId, `${region}/${input.Name}`, doc);
    return doc;
  }

  async getConnection(accountId: string, region: string, name: string): Promise<ConnectionDoc> {
    const c = await this.store.getDoc<ConnectionDoc>(CONNECTION, accountId, `${region}/${name}`);
    if (!c) throw new ResourceNotFoundException(`Failed to describe the connection(s). Connection '${name}' does not exist.`);
    return c;
  }

  async connectionByArn(arn: string): Promise<ConnectionDoc | undefined> {
    const at = resourceNameOfArn(arn, 'connection');
    if (!at) return undefined;
    const c = await this.store.getDoc<ConnectionDoc>(CONNECTION, at.accountId, `${at.region}/${at.name}`);
    return c?.arn === arn ? c : undefined;
  }

  async listConnections(accountId: string, region: string): Promise<ConnectionDoc[]> {
    return (await this.store.listDocs<ConnectionDoc>(CONNECTION, accountId)).filter((c) => c.region === region).sort((a, b) => a.name.localeCompare(b.name));
  }

  async deleteConnection(accountId: string, region: string, name: string): Promise<ConnectionDoc> {
    const c = await this.getConnection(accountId, region, name);
    await this.store.deleteDoc(CONNECTION, accountId, `${region}/${name}`);
    return c;
  }

  // --- API destinations ---

  async createApiDestination(
    accountId: string,
    region: string,
    input: { Name: string; Description?: string; ConnectionArn: string; InvocationEndpoint: string; HttpMethod: string; InvocationRateLimitPerSecond?: number },
  ): Promise<ApiDestinationDoc> {
    if (await this.store.getDoc(DESTINATION, accountId, `${region}/${input.Name}`)) throw new ResourceAlreadyExistsException(`An api-destination '${input.Name}' already exists.`);
    const c = await this.connectionByArn(input.ConnectionArn);
    if (!c || c.accountId !== accountId) throw new ResourceNotFoundException(`Connection '${input.ConnectionArn}' does not exist.`);
    let url: URL;
    try {
      url = new URL(input.InvocationEndpoint);
    } catch {
      throw new ValidationException(`InvocationEndpoint ${input.InvocationEndpoint} is not a URL.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationException('InvocationEndpoint must be an http(s) URL.');
    const now = Date.now();
    const doc: ApiDestinationDoc = {
      accountId,
      region,
      name: input.Name,
      arn: `arn:aws:events:${region}:${accountId}:api-destination/${input.Name}/${randomUUID()}`,
      ...(input.Description ? { description: input.Description } : {}),
      connectionArn: input.ConnectionArn,
      invocationEndpoint: input.InvocationEndpoint,
      httpMethod: input.HttpMethod,
      ...(input.InvocationRateLimitPerSecond !== undefined ? { rateLimitPerSecond: input.InvocationRateLimitPerSecond } : {}),
      state: 'ACTIVE',
      createdAt: now,
      modifiedAt: now,
    };
    await this.store.putDoc(DESTINATION, accountId, `${region}/${input.Name}`, doc);
    return doc;
  }

  async getApiDestination(accountId: string, region: string, name: string): Promise<ApiDestinationDoc> {
    const d = await this.store.getDoc<ApiDestinationDoc>(DESTINATION, accountId, `${region}/${name}`);
    if (!d) throw new ResourceNotFoundException(`Failed to describe the api-destination(s). An api-destination '${name}' does not exist.`);
    return d;
  }

  async apiDestinationByArn(arn: string): Promise<ApiDestinationDoc | undefined> {
    const at = resourceNameOfArn(arn, 'api-destination');
    if (!at) return undefined;
    const d = await this.store.getDoc<ApiDestinationDoc>(DESTINATION, at.accountId, `${at.region}/${at.name}`);
    return d?.arn === arn || d?.arn.startsWith(`${arn}/`) ? d : undefined;
  }

  async listApiDestinations(accountId: string, region: string): Promise<ApiDestinationDoc[]> {
    return (await this.store.listDocs<ApiDestinationDoc>(DESTINATION, accountId)).filter((d) => d.region === region).sort((a, b) => a.name.localeCompare(b.name));
  }

  async deleteApiDestination(accountId: string, region: string, name: string): Promise<void> {
    await this.getApiDestination(accountId, region, name);
    await this.store.deleteDoc(DESTINATION, accountId, `${region}/${name}`);
  }
}
