/** The command line: generated credentials on first start, and `opentrail admin`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient, DescribeTrailsCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { spawnServer } from './helpers.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'opentrail.js');
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.OPENTRAIL_ACCESS_KEY_ID;
  delete env.OPENTRAIL_SECRET_ACCESS_KEY;
  delete env.OPENTRAIL_ACCOUNT_ID;
  return env;
};

function admin(dataDir: string, ...args: string[]): unknown {
  const out = execFileSync(process.execPath, [bin, 'admin', '--data-dir', dataDir, ...args], { env: cleanEnv(), encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : undefined;
}

test('first start generates root credentials, keeps them 0600 and prints how to use them', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-cli-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"url":"([^"]+)"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    const file = join(dataDir, 'credentials.json');
    const creds = JSON.parse(readFileSync(file, 'utf8')) as { accountId: string; accessKeyId: string; secretAccessKey: string };
    assert.match(creds.accountId, /^\d{12}$/);
    assert.match(creds.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(out.includes(creds.secretAccessKey), 'credentials printed once');
    assert.match(out, /aws --endpoint-url/);
    const c = new CloudTrailClient({ endpoint: url, region: 'us-east-1', credentials: creds });
    await c.send(new DescribeTrailsCommand({}));

    // Admin commands work beside the running server; a new IAM user's key works at once.
    const acct = admin(dataDir, 'accounts', 'create', '--account-id', '777788889999', '--name', 'staging') as { AccountId: string; AccessKeyId: string };
    assert.equal(acct.AccountId, '777788889999');
    admin(dataDir, 'users', 'create', '--account-id', '777788889999', '--user-name', 'bob');
    const key = admin(dataDir, 'keys', 'create', '--account-id', '777788889999', '--user-name', 'bob') as { AccessKeyId: string; SecretAccessKey: string };
    const users = admin(dataDir, 'users', 'list', '--account-id', '777788889999') as { UserName: string }[];
    assert.deepEqual(users.map((u) => u.UserName).sort(), ['bob', 'root']);
    const accounts = admin(dataDir, 'accounts', 'list') as { AccountId: string }[];
    assert.deepEqual(accounts.map((a) => a.AccountId).sort(), [creds.accountId, '777788889999'].sort());
    const bob = new CloudTrailClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey }, maxAttempts: 1 });
    const r = await bob.send(new LookupEventsCommand({}));
    assert.deepEqual(r.Events, []);
    const keys = admin(dataDir, 'keys', 'list', '--account-id', '777788889999', '--user-name', 'bob') as { AccessKeyId: string }[];
    assert.deepEqual(keys.map((k) => k.AccessKeyId), [key.AccessKeyId]);
    admin(dataDir, 'keys', 'delete', '--access-key-id', key.AccessKeyId);
    await assert.rejects(bob.send(new LookupEventsCommand({})), (e: Error) => e.name === 'UnrecognizedClientException');
    // Bad input is refused with a clear message and exit code 2.
    assert.throws(() => admin(dataDir, 'users', 'create', '--account-id', '000000000001', '--user-name', 'x'), /No such account/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('one server per data folder: a second refuses to start while the first runs, and a killed server\'s lock is taken over', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-cli-'));
  const first = await spawnServer(dataDir);
  try {
    const second = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    second.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(err, new RegExp(`in use by another opentrail server \\(process ${first.child.pid}`));
    // The first is still the one serving (its lock was not taken from it).
    assert.equal(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')).pid, first.child.pid);
  } finally {
    const gone = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await gone;
  }
  // kill -9 left the lock behind; its process is gone, so the next server takes it over.
  const third = await spawnServer(dataDir);
  assert.equal(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')).pid, third.child.pid);
  const stopped = new Promise((r) => third.child.once('exit', r));
  third.child.kill('SIGTERM');
  await stopped;
  // A clean stop releases it.
  assert.throws(() => statSync(join(dataDir, 'server.lock')), /ENOENT/);
  rmSync(dataDir, { recursive: true, force: true });
});

test('npm start and the opentrail executable run the server with its Node flags', { timeout: 30_000 }, async () => {
  const root = join(dirname(bin), '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  assert.equal(pkg.scripts.start, `node ${SERVER_NODE_FLAGS.join(' ')} bin/opentrail.js serve`);
  assert.equal(readFileSync(bin, 'utf8').split('\n')[0], `#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
  if (process.platform !== 'linux') return;
  // Run as npm's bin link runs it: the file itself, its #! line naming node and the flags.
  const dataDir = mkdtempSync(join(tmpdir(), 'opentrail-flags-'));
  const child = spawn(bin, ['serve', '--port', '0', '--data-dir', dataDir], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no start')), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (!d.toString().includes('opentrail listening')) return;
        clearTimeout(t);
        resolve();
      });
    });
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of SERVER_NODE_FLAGS) assert.ok(argv.includes(flag), `the server runs as ${argv.join(' ')}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
