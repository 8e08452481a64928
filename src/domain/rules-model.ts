/** EventBridge's resources as opentrail keeps them: event buses, rules with their targets, connections, API destinations. */

export const DEFAULT_BUS = 'default';
/** Rules per event bus (EventBridge's default quota). */
export const MAX_RULES_PER_BUS = 300;
/** Targets per rule (EventBridge's limit). */
export const MAX_TARGETS_PER_RULE = 5;
/** EventBridge's defaults for a target without a RetryPolicy. */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/** A target exactly as PutTargets takes it (and ListTargetsByRule returns it). */
export interface TargetDoc {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  HttpParameters?: { PathParameterValues?: string[]; HeaderParameters?: Record<string, string>; QueryStringParameters?: Record<string, string> };
}

export interface EventBusDoc {
  accountId: string;
  region: string;
  name: string;
  arn: string;
  description?: string;
  createdAt: number;
}

export interface RuleDoc {
  accountId: string;
  region: string;
  bus: string;
  name: string;
  arn: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state: RuleState;
  description?: string;
  roleArn?: string;
  createdBy: string;
  targets: TargetDoc[];
}

export type AuthorizationType = 'BASIC' | 'OAUTH_CLIENT_CREDENTIALS' | 'API_KEY';

export interface HttpParameter {
  Key?: string;
  Value?: string;
  IsValueSecret?: boolean;
}
export interface ConnectionHttpParameters {
  HeaderParameters?: HttpParameter[];
  QueryStringParameters?: HttpParameter[];
  BodyParameters?: HttpParameter[];
}

/** Connection auth parameters as CreateConnection takes them (secrets included; never returned). */
export interface AuthParameters {
  BasicAuthParameters?: { Username: string; Password: string };
  ApiKeyAuthParameters?: { ApiKeyName: string; ApiKeyValue: string };
  OAuthParameters?: {
    ClientParameters: { ClientID: string; ClientSecret: string };
    AuthorizationEndpoint: string;
    HttpMethod: 'GET' | 'POST' | 'PUT';
    OAuthHttpParameters?: ConnectionHttpParameters;
  };
  InvocationHttpParameters?: ConnectionHttpParameters;
}

export interface ConnectionDoc {
  accountId: string;
  region: string;
  name: string;
  arn: string;
  description?: string;
  authorizationType: AuthorizationType;
  authParameters: AuthParameters;
  state: 'AUTHORIZED' | 'DEAUTHORIZED';
  stateReason?: string;
  createdAt: number;
  modifiedAt: number;
  lastAuthorizedAt: number;
}

export interface ApiDestinationDoc {
  accountId: string;
  region: string;
  name: string;
  arn: string;
  description?: string;
  connectionArn: string;
  invocationEndpoint: string;
  httpMethod: string;
  rateLimitPerSecond?: number;
  state: 'ACTIVE' | 'INACTIVE';
  createdAt: number;
  modifiedAt: number;
}

export const busArn = (region: string, account: string, bus: string): string => `arn:aws:events:${region}:${account}:event-bus/${bus}`;
export const ruleArn = (region: string, account: string, bus: string, name: string): string =>
  `arn:aws:events:${region}:${account}:rule/${bus === DEFAULT_BUS ? '' : `${bus}/`}${name}`;

/** A bus given by name or ARN: its name. */
export function busName(nameOrArn: string | undefined): string {
  if (!nameOrArn) return DEFAULT_BUS;
  const m = /^arn:aws[\w-]*:events:[^:]*:\d{12}:event-bus\/(.+)$/.exec(nameOrArn);
  return m ? m[1]! : nameOrArn;
}

/** The name inside an `…:api-destination/<name>/<uuid>` or `…:connection/<name>/<uuid>` ARN. */
export function resourceNameOfArn(arn: string, kind: 'api-destination' | 'connection'): { region: string; accountId: string; name: string } | undefined {
  const m = new RegExp(`^arn:aws[\\w-]*:events:([^:]+):(\\d{12}):${kind}/([^/]+)(?:/.*)?$`).exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined;
}

/** opentrail's JSONL sink target: `arn:opentrail:sink:<region>:<account>:file/<name>`, written to `<sinks dir>/<account>/<name>.jsonl`. */
export function fileSinkOfArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = /^arn:opentrail:sink:([^:]*):(\d{12}):file\/([A-Za-z0-9._-]{1,128})$/.exec(arn);
  return m && !m[3]!.startsWith('.') ? { region: m[1]!, accountId: m[2]!, name: m[3]! } : undefined;
}
