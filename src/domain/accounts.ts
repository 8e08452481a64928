/** Account, IAM user and access key administration, and credential resolution. */
import type { Metastore } from '../storage/interfaces.js';
import { OrganizationsNotInUseException } from '../protocols/errors.js';
import {
  ACCOUNT_ID_RE,
  USER_NAME_RE,
  newAccessKeyId,
  newAccountId,
  newSecretAccessKey,
  newUserId,
  type AccessKey,
  type Account,
  type Principal,
} from './identity.js';

export class AdminError extends Error {}

/**
 * opentrail has no AWS Organizations: asking for an organization trail or event data store gets
 * what AWS answers an account outside an organization.
 */
export function refuseOrganization(wanted: boolean | undefined): void {
  if (wanted) throw new OrganizationsNotInUseException('This account is not part of an organization with all features enabled.');
}

/**
 * How long a resolved access key is reused without reading the metastore again, while nothing
 * has changed it: changes made through this process apply at once, and so do changes another
 * process makes (`opentrail admin` beside a running server), seen through the metastore's
 * changesElsewhere() within ELSEWHERE_MS.
 */
const RESOLVED_MS = 1000;
/**
 * How often the metastore is asked whether another process changed it: asking at every request
 * was 3% of the request thread's time in bench:lookup, and an `opentrail admin` command takes
 * longer than this just to start.
 */
const ELSEWHERE_MS = 50;

export class Accounts {
  private readonly resolved = new Map<string, { at: number; version: number; who: { key: AccessKey; principal: Principal } | undefined }>();

  /** Moves with every change made through this process: a resolve begun before one is not kept. */
  private generation = 0;

  /** The metastore's change counter, and when it was read. */
  private elsewhere = { at: -Infinity, version: 0 };

  constructor(private readonly meta: Metastore) {}

  /** An account, user or key changed here: forget what was resolved. */
  private changed(): void {
    this.generation++;
    this.resolved.clear();
  }

  /** Create an account with its root principal. */
  async createAccount(accountId: string | undefined, name: string): Promise<Account> {
    const id = accountId ?? newAccountId();
    if (!ACCOUNT_ID_RE.test(id)) throw new AdminError(`Account id must be 12 digits, not ${id}`);
    if (await this.meta.getAccount(id)) throw new AdminError(`Account ${id} already exists`);
    const now = new Date();
    const account = { accountId: id, name, createdAt: now };
    await this.meta.createAccount(account);
    await this.meta.createPrincipal({ accountId: id, type: 'Root', userName: 'root', principalId: id, createdAt: now });
    return account;
  }

  async ensureAccount(accountId: string, name: string): Promise<Account> {
    return (await this.meta.getAccount(accountId)) ?? this.createAccount(accountId, name);
  }

  listAccounts(): Promise<Account[]> {
    return this.meta.listAccounts();
  }

  async deleteAccount(accountId: string): Promise<void> {
    if (!(await this.meta.getAccount(accountId))) throw new AdminError(`No such account: ${accountId}`);
    await this.meta.deleteAccount(accountId);
    this.changed();
  }

  async createUser(accountId: string, userName: string): Promise<Principal> {
    if (!(await this.meta.getAccount(accountId))) throw new AdminError(`No such account: ${accountId}`);
    if (!USER_NAME_RE.test(userName) || userName === 'root') throw new AdminError(`Invalid user name: ${userName}`);
    if (await this.meta.getPrincipal(accountId, userName)) throw new AdminError(`User ${userName} already exists in ${accountId}`);
    const p: Principal = { accountId, type: 'IAMUser', userName, principalId: newUserId(), createdAt: new Date() };
    await this.meta.createPrincipal(p);
    return p;
  }

  listUsers(accountId: string): Promise<Principal[]> {
    return this.meta.listPrincipals(accountId);
  }

  async deleteUser(accountId: string, userName: string): Promise<void> {
    if (userName === 'root') throw new AdminError('The root principal cannot be deleted; delete the account instead');
    if (!(await this.meta.getPrincipal(accountId, userName))) throw new AdminError(`No such user: ${userName} in ${accountId}`);
    await this.meta.deletePrincipal(accountId, userName);
    this.changed();
  }

  /** Create an access key for a user (`root` for the account's root credentials). */
  async createAccessKey(accountId: string, userName: string, given?: { accessKeyId: string; secretAccessKey: string }): Promise<AccessKey> {
    if (!(await this.meta.getPrincipal(accountId, userName))) throw new AdminError(`No such user: ${userName} in ${accountId}`);
    const key: AccessKey = {
      accessKeyId: given?.accessKeyId ?? newAccessKeyId(),
      secretAccessKey: given?.secretAccessKey ?? newSecretAccessKey(),
      accountId,
      userName,
      status: 'Active',
      createdAt: new Date(),
    };
    if (await this.meta.getAccessKey(key.accessKeyId)) throw new AdminError(`Access key ${key.accessKeyId} already exists`);
    await this.meta.createAccessKey(key);
    this.changed();
    return key;
  }

  listAccessKeys(accountId: string, userName?: string): Promise<AccessKey[]> {
    return this.meta.listAccessKeys(accountId, userName);
  }

  async deleteAccessKey(accessKeyId: string): Promise<void> {
    if (!(await this.meta.getAccessKey(accessKeyId))) throw new AdminError(`No such access key: ${accessKeyId}`);
    await this.meta.deleteAccessKey(accessKeyId);
    this.changed();
  }

  /** Resolve an active access key to its principal. */
  async resolve(accessKeyId: string): Promise<{ key: AccessKey; principal: Principal } | undefined> {
    const seen = this.resolved.get(accessKeyId);
    const now = Date.now();
    if (now - this.elsewhere.at >= ELSEWHERE_MS) this.elsewhere = { at: now, version: this.meta.changesElsewhere() };
    const version = this.elsewhere.version;
    if (seen && now - seen.at < RESOLVED_MS && seen.version === version) return seen.who;
    const generation = this.generation;
    const key = await this.meta.getAccessKey(accessKeyId);
    const principal = key && key.status === 'Active' ? await this.meta.getPrincipal(key.accountId, key.userName) : undefined;
    const who = key && principal ? { key, principal } : undefined;
    if (generation === this.generation) {
      if (this.resolved.size >= 10_000) this.resolved.clear();
      this.resolved.set(accessKeyId, { at: now, version, who });
    }
    return who;
  }

  /** Make sure the given root key exists (for env-provided credentials), replacing its secret if it changed. */
  async ensureRootKey(accountId: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
    await this.ensureAccount(accountId, 'default');
    const existing = await this.meta.getAccessKey(accessKeyId);
    if (existing && existing.accountId === accountId && existing.secretAccessKey === secretAccessKey) return;
    if (existing) await this.meta.deleteAccessKey(accessKeyId);
    await this.createAccessKey(accountId, 'root', { accessKeyId, secretAccessKey });
  }
}
