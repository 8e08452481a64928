/** Accounts, principals, access keys and settings, in SQLite. */
import type Database from 'better-sqlite3';
import type { AccessKey, Account, Principal } from '../../domain/identity.js';
import type { Metastore } from '../interfaces.js';
import { openSqlite, statementCache } from './open.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS principals (
  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
  user_name TEXT NOT NULL,
  type TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, user_name)
);
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  account_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  FOREIGN KEY (account_id, user_name) REFERENCES principals(account_id, user_name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, account_id TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, account_id, id));
`;

interface AccountRow { account_id: string; name: string; created_at: number }
interface PrincipalRow { account_id: string; user_name: string; type: string; principal_id: string; created_at: number }
interface KeyRow { access_key_id: string; secret: string; account_id: string; user_name: string; status: string; created_at: number }

const toAccount = (r: AccountRow): Account => ({ accountId: r.account_id, name: r.name, createdAt: new Date(r.created_at) });
const toPrincipal = (r: PrincipalRow): Principal => ({
  accountId: r.account_id,
  userName: r.user_name,
  type: r.type as Principal['type'],
  principalId: r.principal_id,
  createdAt: new Date(r.created_at),
});
const toKey = (r: KeyRow): AccessKey => ({
  accessKeyId: r.access_key_id,
  secretAccessKey: r.secret,
  accountId: r.account_id,
  userName: r.user_name,
  status: r.status as AccessKey['status'],
  createdAt: new Date(r.created_at),
});

export class SqliteMetastore implements Metastore {
  private readonly db: Database.Database;
  private readonly sql: (text: string) => Database.Statement;

  constructor(file: string) {
    this.db = openSqlite(file);
    this.sql = statementCache(this.db);
    this.db.exec(SCHEMA);
  }

  async createAccount(a: Account): Promise<void> {
    this.sql('INSERT INTO accounts (account_id, name, created_at) VALUES (?, ?, ?)').run(a.accountId, a.name, a.createdAt.getTime());
  }
  changesElsewhere(): number {
    return this.sql('PRAGMA data_version').pluck().get() as number;
  }
  async getAccount(accountId: string): Promise<Account | undefined> {
    const r = this.sql('SELECT * FROM accounts WHERE account_id = ?').get(accountId) as AccountRow | undefined;
    return r && toAccount(r);
  }
  async listAccounts(): Promise<Account[]> {
    return (this.sql('SELECT * FROM accounts ORDER BY account_id').all() as AccountRow[]).map(toAccount);
  }
  async deleteAccount(accountId: string): Promise<void> {
    this.sql('DELETE FROM accounts WHERE account_id = ?').run(accountId);
  }
  async createPrincipal(p: Principal): Promise<void> {
    this.sql('INSERT INTO principals (account_id, user_name, type, principal_id, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(p.accountId, p.userName, p.type, p.principalId, p.createdAt.getTime());
  }
  async getPrincipal(accountId: string, userName: string): Promise<Principal | undefined> {
    const r = this.sql('SELECT * FROM principals WHERE account_id = ? AND user_name = ?').get(accountId, userName) as PrincipalRow | undefined;
    return r && toPrincipal(r);
  }
  async listPrincipals(accountId: string): Promise<Principal[]> {
    return (this.sql('SELECT * FROM principals WHERE account_id = ? ORDER BY user_name').all(accountId) as PrincipalRow[]).map(toPrincipal);
  }
  async deletePrincipal(accountId: string, userName: string): Promise<void> {
    this.sql('DELETE FROM principals WHERE account_id = ? AND user_name = ?').run(accountId, userName);
  }
  async createAccessKey(k: AccessKey): Promise<void> {
    this.sql('INSERT INTO access_keys (access_key_id, secret, account_id, user_name, status, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(k.accessKeyId, k.secretAccessKey, k.accountId, k.userName, k.status, k.createdAt.getTime());
  }
  async getAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    const r = this.sql('SELECT * FROM access_keys WHERE access_key_id = ?').get(accessKeyId) as KeyRow | undefined;
    return r && toKey(r);
  }
  async listAccessKeys(accountId: string, userName?: string): Promise<AccessKey[]> {
    const rows = userName === undefined
      ? this.sql('SELECT * FROM access_keys WHERE account_id = ? ORDER BY created_at').all(accountId)
      : this.sql('SELECT * FROM access_keys WHERE account_id = ? AND user_name = ? ORDER BY created_at').all(accountId, userName);
    return (rows as KeyRow[]).map(toKey);
  }
  async deleteAccessKey(accessKeyId: string): Promise<void> {
    this.sql('DELETE FROM access_keys WHERE access_key_id = ?').run(accessKeyId);
  }
  async getSetting(name: string): Promise<string | undefined> {
    const r = this.sql('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined;
    return r?.value;
  }
  async setSetting(name: string, value: string): Promise<void> {
    this.sql('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, value);
  }
  async putDoc(kind: string, accountId: string, id: string, doc: unknown, opts: { durable?: boolean } = {}): Promise<void> {
    const put = (): void => {
      this.sql('INSERT INTO docs (kind, account_id, id, json) VALUES (?, ?, ?, ?) ON CONFLICT(kind, account_id, id) DO UPDATE SET json = excluded.json')
        .run(kind, accountId, id, JSON.stringify(doc));
    };
    if (opts.durable !== false) return put();
    // In WAL mode, NORMAL writes the commit to the log without an fsync (this thread is not held
    // for the disk); FULL is back for every other commit.
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      put();
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }
  async getDoc<T>(kind: string, accountId: string, id: string): Promise<T | undefined> {
    const r = this.sql('SELECT json FROM docs WHERE kind = ? AND account_id = ? AND id = ?').get(kind, accountId, id) as { json: string } | undefined;
    return r ? (JSON.parse(r.json) as T) : undefined;
  }
  async listDocs<T>(kind: string, accountId?: string): Promise<T[]> {
    const rows = accountId === undefined
      ? this.sql('SELECT json FROM docs WHERE kind = ? ORDER BY account_id, id').all(kind)
      : this.sql('SELECT json FROM docs WHERE kind = ? AND account_id = ? ORDER BY id').all(kind, accountId);
    return (rows as { json: string }[]).map((r) => JSON.parse(r.json) as T);
  }
  async deleteDoc(kind: string, accountId: string, id: string): Promise<void> {
    this.sql('DELETE FROM docs WHERE kind = ? AND account_id = ? AND id = ?').run(kind, accountId, id);
  }
  async writeDocs(kind: string, puts: { accountId: string; id: string; doc: unknown }[], deletes: { accountId: string; id: string }[] = []): Promise<void> {
    const put = this.sql('INSERT INTO docs (kind, account_id, id, json) VALUES (?, ?, ?, ?) ON CONFLICT(kind, account_id, id) DO UPDATE SET json = excluded.json');
    const del = this.sql('DELETE FROM docs WHERE kind = ? AND account_id = ? AND id = ?');
    this.db.transaction(() => {
      for (const p of puts) put.run(kind, p.accountId, p.id, JSON.stringify(p.doc));
      for (const d of deletes) del.run(kind, d.accountId, d.id);
    })();
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
