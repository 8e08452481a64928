/** Minimal bucket policy evaluation: does a policy let CloudTrail deliver log files? */
import type { BucketInfo, ObjectStore } from '../storage/object-store.js';

interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\\\?/g, '.')).join('.*')}$`);
  return re.test(value);
}

function principalIsCloudTrail(p: unknown): boolean {
  if (p === '*') return true;
  if (p && typeof p === 'object') {
    const svc = (p as { Service?: string | string[]; AWS?: string | string[] }).Service;
    if (asList(svc).includes('cloudtrail.amazonaws.com')) return true;
    if (asList((p as { AWS?: string | string[] }).AWS).includes('*')) return true;
  }
  return false;
}

/** A policy's statements; none when there is no policy or it is not valid JSON. */
function statementsOf(policyJson: string | undefined): Statement[] {
  if (!policyJson) return [];
  let doc: { Statement?: Statement | Statement[] };
  try {
    doc = JSON.parse(policyJson) as { Statement?: Statement | Statement[] };
  } catch {
    return [];
  }
  return doc.Statement === undefined ? [] : Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

function allows(statements: Statement[], action: string, resource: string): boolean {
  let allowed = false;
  for (const s of statements) {
    if (!principalIsCloudTrail(s.Principal)) continue;
    const actionHit = asList(s.Action).some((a) => wildcard(a.toLowerCase(), action.toLowerCase()));
    const resourceHit = asList(s.Resource).some((r) => wildcard(r, resource));
    if (!actionHit || !resourceHit) continue;
    if (s.Effect === 'Deny') return false;
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

/**
 * True when the policy lets `cloudtrail.amazonaws.com` PutObject under
 * `<prefix>AWSLogs/<accountId>/` and read the bucket ACL — the two grants
 * CloudTrail checks. Conditions are not evaluated.
 */
export function policyAllowsCloudTrail(policyJson: string | undefined, bucket: string, keyPrefix: string, accountId: string): boolean {
  const statements = statementsOf(policyJson);
  const objectArn = `arn:aws:s3:::${bucket}/${keyPrefix}AWSLogs/${accountId}/x.json.gz`;
  return allows(statements, 's3:PutObject', objectArn) && allows(statements, 's3:GetBucketAcl', `arn:aws:s3:::${bucket}`);
}

function principalIsCaller(p: unknown, accountId: string, arn: string): boolean {
  if (p === '*') return true;
  if (p && typeof p === 'object') {
    for (const a of asList((p as { AWS?: string | string[] }).AWS)) {
      if (a === '*' || a === accountId || a === `arn:aws:iam::${accountId}:root` || a === arn) return true;
    }
  }
  return false;
}

/**
 * Does a bucket policy let another account's principal do `action` on `resource`?
 * Allow statements whose Principal names the account (id, root ARN), the principal's ARN or `*`,
 * with wildcard matching on Action and Resource; an explicit Deny wins. Conditions are not evaluated.
 */
export function policyAllowsPrincipal(policyJson: string | undefined, caller: { accountId: string; arn: string }, action: string, resource: string): boolean {
  const statements = statementsOf(policyJson);
  let allowed = false;
  for (const s of statements) {
    if (!principalIsCaller(s.Principal, caller.accountId, caller.arn)) continue;
    if (!asList(s.Action).some((a) => wildcard(a.toLowerCase(), action.toLowerCase()))) continue;
    if (!asList(s.Resource).some((r) => wildcard(r, resource))) continue;
    if (s.Effect === 'Deny') return false;
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

/** Is this a syntactically acceptable policy document? Returns the problem, if any. */
export function policyProblem(policyJson: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(policyJson);
  } catch {
    return 'Policies must be valid JSON and the first byte must be \'{\'';
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'Policies must be valid JSON and the first byte must be \'{\'';
  const st = (doc as { Statement?: unknown }).Statement;
  if (st === undefined) return 'Missing required field Statement';
  const list = Array.isArray(st) ? st : [st];
  for (const s of list) {
    if (!s || typeof s !== 'object') return 'Statement must be an object';
    const e = (s as Statement).Effect;
    if (e !== 'Allow' && e !== 'Deny') return 'Invalid effect: ' + String(e);
    if ((s as Statement).Action === undefined) return 'Missing required field Action';
  }
  return undefined;
}

/**
 * May CloudTrail write a trail's files into `bucket`? A bucket of the trail's own account with no
 * policy at all is taken as consent (the embedded store has no console to write the policy for
 * you); any policy present must grant CloudTrail.
 */
export async function trailBucketAccess(store: ObjectStore, bucket: string, accountId: string, prefix: string | undefined): Promise<'ok' | 'missing' | 'denied'> {
  const info = await store.getBucket(bucket);
  if (!info) return 'missing';
  const policy = await store.getBucketPolicy(bucket);
  const ownNoPolicy = info.ownerAccountId === accountId && policy === undefined;
  return ownNoPolicy || policyAllowsCloudTrail(policy, bucket, prefix ? `${prefix}/` : '', accountId) ? 'ok' : 'denied';
}

/**
 * May a caller do `action` on `bucket` (or an object of it, `key`)? The owner account always may;
 * another account only where the bucket policy allows it.
 */
export async function callerBucketAccess(
  store: ObjectStore,
  bucket: string,
  key: string | undefined,
  caller: { accountId: string; arn: string },
  action: string,
): Promise<BucketInfo | 'missing' | 'denied'> {
  const b = await store.getBucket(bucket);
  if (!b) return 'missing';
  if (b.ownerAccountId === caller.accountId) return b;
  const resource = key !== undefined ? `arn:aws:s3:::${b.name}/${key}` : `arn:aws:s3:::${b.name}`;
  const policy = await store.getBucketPolicy(b.name).catch(() => undefined);
  return policyAllowsPrincipal(policy, caller, action, resource) ? b : 'denied';
}
