/** Lake integrations: channels, their resource policies, and PutAuditEvents (the CloudTrail Data API) into an integration store. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  DeleteChannelCommand,
  DeleteEventDataStoreCommand,
  DeleteResourcePolicyCommand,
  DescribeQueryCommand,
  GetChannelCommand,
  GetQueryResultsCommand,
  GetResourcePolicyCommand,
  ListChannelsCommand,
  PutResourcePolicyCommand,
  StartQueryCommand,
  UpdateChannelCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail';
import { SignedHttp } from '../src/client/signed-http.js';
import { ACCOUNT, KEY, SECRET, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
let ct: CloudTrailClient;
let storeArn: string;
let channelArn: string;

const sha = (s: string): string => createHash('sha256').update(s).digest('base64');
function activity(uid: string, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: '1.0',
    userIdentity: { type: 'GitHubUser', principalId: 'octocat', details: { GitHubOrganization: 'acme', Repository: 'acme/web' } },
    userAgent: 'github-audit-streamer/1.0',
    eventSource: 'github.audit.streaming',
    eventName: 'repo.access',
    eventTime: '2026-11-20T10:00:00Z',
    UID: uid,
    requestParameters: { visibility: 'public', repo: { name: 'web' } },
    sourceIPAddress: '192.0.2.10',
    recipientAccountId: ACCOUNT,
    ...over,
  });
}

async function put(http: SignedHttp, channel: string, events: unknown[], externalId?: string): Promise<{ status: number; json: Record<string, unknown>; type?: string }> {
  const q = new URLSearchParams({ channelArn: channel, ...(externalId ? { externalId } : {}) });
  const r = await http.post(`/PutAuditEvents?${q}`, JSON.stringify({ auditEvents: events }), { 'content-type': 'application/json' });
  const json = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
  return { status: r.status, json, type: json.__type as string | undefined };
}

const dataClient = (accessKeyId = KEY, secretAccessKey = SECRET): SignedHttp =>
  new SignedHttp({ endpoint: ts.app.url, region: 'us-east-1', service: 'cloudtrail-data', credentials: { accessKeyId, secretAccessKey } });

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_LAKE_INTERVAL_MS: '200' } });
  ct = ts.client();
  const eds = await ct.send(
    new CreateEventDataStoreCommand({ Name: 'github', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] }], MultiRegionEnabled: false, TerminationProtectionEnabled: false }),
  );
  storeArn = eds.EventDataStoreArn!;
  const ch = await ct.send(new CreateChannelCommand({ Name: 'github-audit', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeArn }] }));
  channelArn = ch.ChannelArn!;
});

after(async () => {
  ct.destroy();
  await ts.close();
});

test('channels: create, get, list, update; destinations must be integration stores', async () => {
  assert.match(channelArn, new RegExp(`^arn:aws:cloudtrail:us-east-1:${ACCOUNT}:channel/[0-9a-f-]{36}$`));
  const got = await ct.send(new GetChannelCommand({ Channel: channelArn }));
  assert.equal(got.Name, 'github-audit');
  assert.equal(got.Source, 'Custom');
  assert.deepEqual(got.Destinations, [{ Type: 'EVENT_DATA_STORE', Location: storeArn }]);
  assert.equal((await ct.send(new ListChannelsCommand({}))).Channels!.length, 1);
  await expectAwsError(ct.send(new CreateChannelCommand({ Name: 'github-audit', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeArn }] })), 'ChannelAlreadyExistsException');
  const mgmt = await ct.send(new CreateEventDataStoreCommand({ Name: 'mgmt', TerminationProtectionEnabled: false }));
  await expectAwsError(ct.send(new CreateChannelCommand({ Name: 'wrong', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: mgmt.EventDataStoreArn }] })), 'InvalidEventDataStoreCategoryException');
  await expectAwsError(ct.send(new CreateChannelCommand({ Name: 'partner', Source: 'SomePartner', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: storeArn }] })), 'InvalidSourceException');
  const renamed = await ct.send(new UpdateChannelCommand({ Channel: channelArn, Name: 'github-audit-2' }));
  assert.equal(renamed.Name, 'github-audit-2');
  await expectAwsError(ct.send(new GetChannelCommand({ Channel: 'arn:aws:cloudtrail:us-east-1:bad' })), 'ChannelARNInvalidException');
  await expectAwsError(ct.send(new DeleteEventDataStoreCommand({ EventDataStore: storeArn })), 'ChannelExistsForEDSException');
});

test('PutAuditEvents: good, bad checksum, malformed, missing field, oversized, wrong recipient and duplicate events in one batch', async () => {
  const http = dataClient();
  const good1 = activity('uid-1');
  const good2 = activity('uid-2', { eventName: 'repo.create' });
  const r = await put(http, channelArn, [
    { id: 'e1', eventData: good1, eventDataChecksum: sha(good1) },
    { id: 'e2', eventData: good2 },
    { id: 'bad-sum', eventData: good1, eventDataChecksum: sha('something else') },
    { id: 'not-json', eventData: '{"version":' },
    { id: 'no-uid', eventData: activity('x', { UID: undefined }) },
    { id: 'too-long', eventData: activity('y', { eventName: 'x'.repeat(1025) }) },
    { id: 'big-params', eventData: activity('z', { requestParameters: { blob: 'x'.repeat(101 * 1024) } }) },
    { id: 'other-account', eventData: activity('w', { recipientAccountId: '999999999999' }) },
    { id: 'bad-time', eventData: activity('v', { eventTime: 'yesterday' }) },
  ]);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const successful = r.json.successful as { id: string; eventID: string }[];
  const failed = r.json.failed as { id: string; errorCode: string; errorMessage: string }[];
  assert.deepEqual(successful.map((s) => s.id), ['e1', 'e2']);
  assert.deepEqual(
    Object.fromEntries(failed.map((f) => [f.id, f.errorCode])),
    { 'bad-sum': 'InvalidChecksum', 'not-json': 'InvalidData', 'no-uid': 'FieldNotFound', 'too-long': 'FieldTooLong', 'big-params': 'FieldTooLong', 'other-account': 'InvalidRecipient', 'bad-time': 'InvalidData' },
  );
  assert.ok(failed.every((f) => f.errorMessage.length > 0));
  // The same ids again: recorded once, answered with the events already recorded.
  const again = await put(http, channelArn, [{ id: 'e1', eventData: good1 }]);
  assert.deepEqual(again.json.successful, [successful[0]]);
  // Two entries with one id in a request: the whole request is refused.
  const dup = await put(http, channelArn, [{ id: 'd', eventData: good1 }, { id: 'd', eventData: good2 }]);
  assert.equal(dup.status, 400);
  assert.equal(dup.type, 'DuplicatedAuditEventId');
  const missing = await put(http, `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:channel/00000000-0000-4000-8000-000000000000`, [{ id: 'a', eventData: good1 }]);
  assert.equal(missing.type, 'ChannelNotFound');
  const invalid = await put(http, 'arn:aws:s3:::bucket', [{ id: 'a', eventData: good1 }]);
  assert.equal(invalid.type, 'InvalidChannelARN');
  const status = await ct.send(new GetChannelCommand({ Channel: channelArn }));
  assert.ok(status.IngestionStatus?.LatestIngestionSuccessTime instanceof Date);
  http.close();

  // The events are in the integration store, in Lake's integration schema, as the published GitHub sample reads them.
  await ts.app.lake.writer.caughtUp();
  const id = storeArn.split('/').pop()!;
  const q = await ct.send(
    new StartQueryCommand({
      QueryStatement: `SELECT eventData.eventname AS eventName, element_at(eventData.userIdentity.details, 'Repository') AS repoName, element_at(eventData.requestParameters, 'visibility') AS repoVisibility, eventCategory, metadata.channelarn AS channel FROM ${id} ORDER BY eventName`,
    }),
  );
  for (;;) {
    const d = await ct.send(new DescribeQueryCommand({ QueryId: q.QueryId }));
    if (d.QueryStatus === 'FINISHED') break;
    assert.ok(d.QueryStatus === 'QUEUED' || d.QueryStatus === 'RUNNING', d.ErrorMessage);
    await new Promise((res) => setTimeout(res, 10));
  }
  const rows = (await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }))).QueryResultRows!;
  assert.deepEqual(rows.map((r) => r.map((c) => Object.values(c)[0])), [
    ['repo.access', 'acme/web', 'public', 'ActivityAuditLog', channelArn],
    ['repo.create', 'acme/web', 'public', 'ActivityAuditLog', channelArn],
  ]);
});

test('other accounts send only as the channel resource policy allows, with its external id', async () => {
  const partner = await ts.app.accounts.createAccount('888877776666', 'partner');
  const key = await ts.app.accounts.createAccessKey(partner.accountId, 'root');
  const http = dataClient(key.accessKeyId, key.secretAccessKey);
  const ev = [{ id: 'p1', eventData: activity('p-1') }];
  assert.equal((await put(http, channelArn, ev)).type, 'ChannelInsufficientPermission');
  await expectAwsError(ct.send(new GetResourcePolicyCommand({ ResourceArn: channelArn })), 'ResourcePolicyNotFoundException');
  await expectAwsError(ct.send(new PutResourcePolicyCommand({ ResourceArn: channelArn, ResourcePolicy: '{"Statement":[{"Effect":"Deny"}]}' })), 'ResourcePolicyNotValidException');
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'partner', Effect: 'Allow', Principal: { AWS: [partner.accountId] }, Action: 'cloudtrail-data:PutAuditEvents', Condition: { StringEquals: { 'cloudtrail:ExternalID': 'ext-42' } } }],
  });
  await ct.send(new PutResourcePolicyCommand({ ResourceArn: channelArn, ResourcePolicy: policy }));
  assert.equal((await ct.send(new GetResourcePolicyCommand({ ResourceArn: channelArn }))).ResourcePolicy, policy);
  assert.equal((await put(http, channelArn, ev)).type, 'ChannelInsufficientPermission');
  assert.equal((await put(http, channelArn, ev, 'wrong')).type, 'ChannelInsufficientPermission');
  const ok = await put(http, channelArn, ev, 'ext-42');
  assert.equal(ok.status, 200);
  assert.equal((ok.json.successful as unknown[]).length, 1);
  await ct.send(new DeleteResourcePolicyCommand({ ResourceArn: channelArn }));
  assert.equal((await put(http, channelArn, ev, 'ext-42')).type, 'ChannelInsufficientPermission');
  http.close();
});

test("boto3's cloudtrail-data client works unchanged", async (t) => {
  if (!(await hasBoto3())) {
    t.skip('boto3 is not installed');
    return;
  }
  const script = `
import boto3, json, hashlib, base64, sys
c = boto3.client('cloudtrail-data', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='${KEY}', aws_secret_access_key='${SECRET}')
data = json.dumps({"version":"1.0","userIdentity":{"type":"U","principalId":"p"},"eventSource":"boto.example","eventName":"Ping","eventTime":"2026-11-20T10:00:00Z","UID":"b-1","recipientAccountId":"${ACCOUNT}"})
r = c.put_audit_events(channelArn=sys.argv[2], auditEvents=[{"id":"boto-1","eventData":data,"eventDataChecksum":base64.b64encode(hashlib.sha256(data.encode()).digest()).decode()}])
try:
    c.put_audit_events(channelArn=sys.argv[2].rsplit('/',1)[0] + '/00000000-0000-4000-8000-000000000000', auditEvents=[{"id":"x","eventData":data}])
    code = 'none'
except c.exceptions.ChannelNotFound as e:
    code = 'ChannelNotFound'
print(json.dumps({"ok": len(r["successful"]), "failed": len(r["failed"]), "error": code}))
`;
  const { stdout } = await promisify(execFile)('python3', ['-c', script, ts.app.url, channelArn]);
  assert.deepEqual(JSON.parse(stdout), { ok: 1, failed: 0, error: 'ChannelNotFound' });
});

async function hasBoto3(): Promise<boolean> {
  try {
    await promisify(execFile)('python3', ['-c', 'import boto3']);
    return true;
  } catch {
    return false;
  }
}

test('a channel can be deleted, and then its store', async () => {
  await ct.send(new DeleteChannelCommand({ Channel: channelArn }));
  await expectAwsError(ct.send(new GetChannelCommand({ Channel: channelArn })), 'ChannelNotFoundException');
  await ct.send(new DeleteEventDataStoreCommand({ EventDataStore: storeArn }));
});
