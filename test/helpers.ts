/** Test helpers: a real server on a random port, SDK clients, raw signed requests. */
// Node 20 is this project's target; silence the SDK's notice about its future Node 22 floor.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { CloudTrailClient, GetImportCommand, StartImportCommand, type GetImportCommandOutput, type StartImportCommandOutput } from '@aws-sdk/client-cloudtrail';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { resolveConfig } from '../src/config.js';
import { startServer, type App } from '../src/server/app.js';
import { SERVER_NODE_FLAGS } from '../src/cli/node-flags.js';

export const ACCOUNT = '111122223333';
export const KEY = 'AKIATESTROOT00000001';
export const SECRET = 'test-secret-key-0000000000000000000000000';

export interface TestServer {
  app: App;
  dataDir: string;
  client(opts?: { region?: string; accessKeyId?: string; secretAccessKey?: string }): CloudTrailClient;
  restart(): Promise<void>;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startTestServer(opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'opentrail-test-'));
  const env = {
    OPENTRAIL_ACCOUNT_ID: ACCOUNT,
    OPENTRAIL_ACCESS_KEY_ID: KEY,
    OPENTRAIL_SECRET_ACCESS_KEY: SECRET,
    ...opts.env,
  };
  const boot = (port = 0): Promise<App> =>
    startServer({ ...resolveConfig({ dataDir, port }, env), printCredentials: false }, { logger: process.env.OPENTRAIL_TEST_LOG ? pino({ level: process.env.OPENTRAIL_TEST_LOG }, pino.destination(2)) : pino({ level: 'silent' }) });
  const ts: TestServer = {
    app: await boot(),
    dataDir,
    client(o = {}) {
      return new CloudTrailClient({
        endpoint: ts.app.url,
        region: o.region ?? 'us-east-1',
        credentials: { accessKeyId: o.accessKeyId ?? KEY, secretAccessKey: o.secretAccessKey ?? SECRET },
        maxAttempts: 1,
      });
    },
    /** Stop and start again on the same data folder and port. */
    async restart() {
      const port = ts.app.port;
      await ts.app.close();
      ts.app = await boot(port);
    },
    async close(o = {}) {
      await ts.app.close();
      if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return ts;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** Send a CloudTrail JSON 1.1 request signed by hand (or not at all), for wire-level cases the SDK cannot make. */
export async function rawCall(
  url: string,
  opts: {
    target?: string;
    body?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    region?: string;
    service?: string;
    signingDate?: Date;
    unsigned?: boolean;
    presign?: boolean;
  },
): Promise<RawResponse> {
  const u = new URL(url);
  const headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/x-amz-json-1.1',
  };
  if (opts.target !== undefined) headers['x-amz-target'] = opts.target;
  const body = opts.body ?? '{}';
  let req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', headers, body });
  if (!opts.unsigned) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: opts.accessKeyId ?? KEY, secretAccessKey: opts.secretAccessKey ?? SECRET },
      region: opts.region ?? 'us-east-1',
      service: opts.service ?? 'cloudtrail',
      sha256: Sha256,
    });
    req = (opts.presign
      ? await signer.presign(req, { signingDate: opts.signingDate, expiresIn: 300 })
      : await signer.sign(req, { signingDate: opts.signingDate })) as HttpRequest;
  }
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query ?? {})) if (typeof v === 'string') qs.set(k, v);
  const q = qs.toString();
  const res = await fetch(`${url}/${q ? `?${q}` : ''}`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host')),
    body,
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}

export const TARGET = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';

/** SigV4 headers (host left out) for a JSON POST of `body` to `path`. */
export async function signedPostHeaders(
  url: string,
  path: string,
  body: string,
  o: { accessKeyId?: string; secretAccessKey?: string; service?: string } = {},
): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: o.accessKeyId ?? KEY, secretAccessKey: o.secretAccessKey ?? SECRET },
    region: 'us-east-1',
    service: o.service ?? 'opentrail',
    sha256: Sha256,
  });
  const signed = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers: { host: u.host, 'content-type': 'application/json' }, body }));
  return Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host'));
}

/** POST a JSON body to one of opentrail's REST paths (`/v1/events`, `/v1/event-counts`), SigV4-signed for `service`. */
export async function signedPost<T>(
  url: string,
  path: string,
  body: string,
  o: { accessKeyId?: string; secretAccessKey?: string; service?: string } = {},
): Promise<{ status: number; json: T }> {
  const headers = await signedPostHeaders(url, path, body, o);
  const r = await fetch(`${url}${path}`, { method: 'POST', headers, body });
  return { status: r.status, json: (await r.json()) as T };
}

/** Expect a promise to reject with an AWS error of the given name; returns the error. */
export async function expectAwsError(p: Promise<unknown>, name: string): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { name: string };
    if (err.name !== name) throw new Error(`expected ${name}, got ${err.name}: ${err.message}`);
    return err;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

/**
 * Delivered files hold `ids` as contiguous runs, in order, each event exactly once
 * (files are listed by key, which does not order files written within one minute).
 */
export function assertDeliveredInOrder(files: { records: { eventID: string }[] }[], ids: string[], message: string): void {
  const runs = files.map((f) => f.records.map((r) => r.eventID).filter((id) => ids.includes(id))).filter((run) => run.length > 0);
  runs.sort((a, b) => ids.indexOf(a[0]!) - ids.indexOf(b[0]!));
  assert.deepEqual(runs.flat(), ids, message);
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'opentrail.js');

/**
 * `opentrail serve` as a child process (for crash tests: it can be killed with SIGKILL) on the
 * test account's credentials; resolves once it listens. `args` are extra serve flags.
 */
export function spawnServer(dataDir: string, opts: { port?: number; args?: string[]; env?: Record<string, string> } = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, BIN, 'serve', '--port', String(opts.port ?? 0), '--data-dir', dataDir, ...(opts.args ?? [])], {
    env: { ...process.env, OPENTRAIL_ACCOUNT_ID: ACCOUNT, OPENTRAIL_ACCESS_KEY_ID: KEY, OPENTRAIL_SECRET_ACCESS_KEY: SECRET, OPENTRAIL_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
    child.once('exit', (code) => reject(new Error(`server exited at start (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('opentrail listening')) return;
      clearTimeout(timer);
      resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
  });
}

/** An HTTP endpoint on a random port that keeps every request body and answers `status()` (a webhook for rule targets). */
export async function webhook(status: () => number = () => 200): Promise<{ url: string; bodies: string[]; close: () => Promise<void> }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** StartImport of everything under `s3://<bucket>/AWSLogs/` into the store `storeArn`, as account `accountId`'s import role. */
export function startBucketImport(ct: CloudTrailClient, storeArn: string, bucket: string, accountId: string): Promise<StartImportCommandOutput> {
  return ct.send(
    new StartImportCommand({
      Destinations: [storeArn],
      ImportSource: { S3: { S3LocationUri: `s3://${bucket}/AWSLogs/`, S3BucketRegion: 'us-east-1', S3BucketAccessRoleArn: `arn:aws:iam::${accountId}:role/import` } },
    }),
  );
}

/** GetImport until the import has COMPLETED (at most ~10 s); its last answer, whatever the status. */
export async function importCompleted(ct: CloudTrailClient, importId: string | undefined): Promise<GetImportCommandOutput> {
  let got = await ct.send(new GetImportCommand({ ImportId: importId }));
  for (let i = 0; i < 500 && got.ImportStatus !== 'COMPLETED'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    got = await ct.send(new GetImportCommand({ ImportId: importId }));
  }
  return got;
}
