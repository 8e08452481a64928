/** `opentrail admin`: accounts, IAM users and access keys, straight on the metastore. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { resolveConfig } from '../config.js';
import { Accounts, AdminError } from '../domain/accounts.js';
import { SqliteMetastore } from '../storage/sqlite/metastore.js';

interface Common {
  dataDir?: string;
  json?: boolean;
}

async function withAccounts<T>(opts: Common, fn: (a: Accounts) => Promise<T>): Promise<T> {
  const config = resolveConfig({ dataDir: opts.dataDir });
  const meta = new SqliteMetastore(join(config.dataDir, 'meta.db'));
  try {
    return await fn(new Accounts(meta));
  } catch (e) {
    if (e instanceof AdminError) {
      process.stderr.write(`opentrail admin: ${e.message}\n`);
      process.exitCode = 2;
      return undefined as T;
    }
    throw e;
  } finally {
    await meta.close();
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('manage accounts, IAM users and access keys');
  admin.option('--data-dir <dir>', 'data folder (env OPENTRAIL_DATA_DIR)');
  const common = (cmd: Command): Common => cmd.optsWithGlobals<Common>();

  const accounts = admin.command('accounts').description('accounts');
  accounts
    .command('create')
    .option('--account-id <id>', '12-digit account id (random when omitted)')
    .option('--name <name>', 'account name', 'account')
    .action(async (o: { accountId?: string; name: string }, cmd: Command) => {
      await withAccounts(common(cmd), async (a) => {
        const acct = await a.createAccount(o.accountId, o.name);
        const key = await a.createAccessKey(acct.accountId, 'root');
        print({ AccountId: acct.accountId, Name: acct.name, AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey });
      });
    });
  accounts.command('list').action(async (_o: unknown, cmd: Command) => {
    await withAccounts(common(cmd), async (a) => print((await a.listAccounts()).map((x) => ({ AccountId: x.accountId, Name: x.name, CreatedAt: x.createdAt }))));
  });
  accounts
    .command('delete')
    .requiredOption('--account-id <id>')
    .action(async (o: { accountId: string }, cmd: Command) => {
      await withAccounts(common(cmd), (a) => a.deleteAccount(o.accountId));
    });

  const users = admin.command('users').description('IAM users');
  users
    .command('create')
    .requiredOption('--account-id <id>')
    .requiredOption('--user-name <name>')
    .action(async (o: { accountId: string; userName: string }, cmd: Command) => {
      await withAccounts(common(cmd), async (a) => {
        const u = await a.createUser(o.accountId, o.userName);
        print({ UserName: u.userName, UserId: u.principalId, Arn: `arn:aws:iam::${u.accountId}:user/${u.userName}` });
      });
    });
  users
    .command('list')
    .requiredOption('--account-id <id>')
    .action(async (o: { accountId: string }, cmd: Command) => {
      await withAccounts(common(cmd), async (a) =>
        print((await a.listUsers(o.accountId)).map((u) => ({ UserName: u.userName, Type: u.type, UserId: u.principalId }))),
      );
    });
  users
    .command('delete')
    .requiredOption('--account-id <id>')
    .requiredOption('--user-name <name>')
    .action(async (o: { accountId: string; userName: string }, cmd: Command) => {
      await withAccounts(common(cmd), (a) => a.deleteUser(o.accountId, o.userName));
    });

  const keys = admin.command('keys').description('access keys');
  keys
    .command('create')
    .requiredOption('--account-id <id>')
    .option('--user-name <name>', 'IAM user (root when omitted)', 'root')
    .action(async (o: { accountId: string; userName: string }, cmd: Command) => {
      await withAccounts(common(cmd), async (a) => {
        const k = await a.createAccessKey(o.accountId, o.userName);
        print({ AccessKeyId: k.accessKeyId, SecretAccessKey: k.secretAccessKey, UserName: k.userName, AccountId: k.accountId });
      });
    });
  keys
    .command('list')
    .requiredOption('--account-id <id>')
    .option('--user-name <name>')
    .action(async (o: { accountId: string; userName?: string }, cmd: Command) => {
      await withAccounts(common(cmd), async (a) =>
        print((await a.listAccessKeys(o.accountId, o.userName)).map((k) => ({ AccessKeyId: k.accessKeyId, UserName: k.userName, Status: k.status, CreateDate: k.createdAt }))),
      );
    });
  keys
    .command('delete')
    .requiredOption('--access-key-id <id>')
    .action(async (o: { accessKeyId: string }, cmd: Command) => {
      await withAccounts(common(cmd), (a) => a.deleteAccessKey(o.accessKeyId));
    });
}
