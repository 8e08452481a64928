/** Wire protocol, SigV4 and the server's own endpoints. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { expectAwsError, rawCall, startTestServer, TARGET, KEY, type TestServer } from './helpers.js';
import { encodeWire } from '../src/protocols/json11.js';
import { RawJson } from '../src/protocols/raw-json.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts.close();
});

test('GET /health answers without a signature', async () => {
  const r = await fetch(`${ts.app.url}/health`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { status: string };
  assert.equal(body.status, 'ok');
});

test('every response carries x-amzn-RequestId, equal to the recorded requestID', async () => {
  const r = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails` });
  assert.equal(r.status, 200);
  const id = r.headers.get('x-amzn-requestid');
  assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  const bad = await rawCall(ts.app.url, { target: `${TARGET}Nope` });
  assert.match(bad.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
  const found = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeTrails' }] }));
  assert.ok(found.Events!.some((e) => JSON.parse(e.CloudTrailEvent!).requestID === id));
});

test('unknown operation, bad JSON and wrong member types get AWS error codes', async () => {
  const unknown = await rawCall(ts.app.url, { target: `${TARGET}FlyToTheMoon` });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.__type, 'UnknownOperationException');
  const noTarget = await rawCall(ts.app.url, {});
  assert.equal(noTarget.json.__type, 'UnknownOperationException');
  const badJson = await rawCall(ts.app.url, { target: `${TARGET}LookupEvents`, body: '{"MaxResults": ' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json.__type, 'SerializationException');
  const notObject = await rawCall(ts.app.url, { target: `${TARGET}LookupEvents`, body: '[1,2]' });
  assert.equal(notObject.json.__type, 'SerializationException');
  const wrongType = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, body: '{"includeShadowTrails": "yes"}' });
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.json.__type, 'ValidationException');
  assert.match(String(wrongType.json.message), /includeShadowTrails/);
  // A declared error wins over ValidationException.
  const declared = await rawCall(ts.app.url, { target: `${TARGET}LookupEvents`, body: '{"MaxResults": "ten"}' });
  assert.equal(declared.json.__type, 'InvalidMaxResultsException');
});

test('SigV4: unknown key, wrong secret, missing signature, skewed clock', async () => {
  const unknown = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, accessKeyId: 'AKIANOSUCHKEY0000000' });
  assert.equal(unknown.json.__type, 'UnrecognizedClientException');
  const wrong = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, secretAccessKey: 'not-the-secret' });
  assert.equal(wrong.json.__type, 'InvalidSignatureException');
  assert.match(String(wrong.json.message), /signature we calculated does not match/);
  const none = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, unsigned: true });
  assert.equal(none.json.__type, 'MissingAuthenticationTokenException');
  const old = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, signingDate: new Date(Date.now() - 16 * 60_000) });
  assert.equal(old.json.__type, 'InvalidSignatureException');
  assert.match(String(old.json.message), /Signature expired/);
  const future = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, signingDate: new Date(Date.now() + 16 * 60_000) });
  assert.equal(future.json.__type, 'InvalidSignatureException');
  const within = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, signingDate: new Date(Date.now() - 10 * 60_000) });
  assert.equal(within.status, 200);
  // The SDK surfaces the same codes.
  await expectAwsError(ts.client({ secretAccessKey: 'wrong' }).send(new LookupEventsCommand({})), 'InvalidSignatureException');
  await expectAwsError(ts.client({ accessKeyId: 'AKIAUNKNOWN000000000' }).send(new LookupEventsCommand({})), 'UnrecognizedClientException');
});

test('SigV4: a body changed after signing is refused', async () => {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const { SECRET } = await import('./helpers.js');
  const u = new URL(ts.app.url);
  const signer = new SignatureV4({ credentials: { accessKeyId: KEY, secretAccessKey: SECRET }, region: 'us-east-1', service: 'cloudtrail', sha256: Sha256 });
  const signed = await signer.sign(
    new HttpRequest({ method: 'POST', hostname: u.hostname, port: Number(u.port), path: '/', headers: { host: u.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET}LookupEvents` }, body: '{"MaxResults":1}' }),
  );
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== 'host'));
  const r = await fetch(`${ts.app.url}/`, { method: 'POST', headers, body: '{"MaxResults":2}' });
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { __type: string }).__type, 'InvalidSignatureException');
});

test('SigV4: presigned query-string requests are accepted', async () => {
  const r = await rawCall(ts.app.url, { target: `${TARGET}DescribeTrails`, presign: true });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json, { trailList: [] });
});

test('GET /metrics exposes requests, events recorded and latency', async () => {
  await ts.client().send(new LookupEventsCommand({ MaxResults: 1 }));
  const r = await fetch(`${ts.app.url}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /opentrail_requests_total\{service="cloudtrail",operation="LookupEvents",status="200"\} \d+/);
  assert.match(text, /opentrail_events_recorded_total \d+/);
  assert.match(text, /opentrail_history_index_lag \d+/);
  assert.match(text, /opentrail_request_duration_seconds_bucket\{le="0.005",service="cloudtrail",operation="LookupEvents"\}/);
});

test("GET /metrics times the event log's commits: each recorded call adds at least one", async () => {
  const commits = async (): Promise<number> => {
    const text = await (await fetch(`${ts.app.url}/metrics`)).text();
    const m = /^opentrail_log_commit_duration_seconds_count (\d+)$/m.exec(text);
    assert.ok(m, 'the commit histogram is exposed');
    assert.match(text, /opentrail_log_commit_duration_seconds_bucket\{le="0.02"\} \d+/);
    return Number(m[1]);
  };
  const before = await commits();
  await ts.client().send(new LookupEventsCommand({ MaxResults: 1 }));
  await ts.client().send(new LookupEventsCommand({ MaxResults: 1 }));
  assert.ok((await commits()) >= before + 1, 'the two calls were committed and timed');
});

test('auditing fails closed: when the record cannot be committed the call fails with InternalFailure', async () => {
  const s = await startTestServer();
  try {
    await s.app.eventLog.close(); // the log can no longer commit
    const r = await rawCall(s.app.url, { target: `${TARGET}DescribeTrails` });
    assert.equal(r.status, 500);
    assert.equal(r.json.__type, 'InternalFailure');
    assert.equal(r.json.trailList, undefined, 'the unrecorded answer is not sent');
  } finally {
    await s.close();
  }
});

test('encodeWire splices RawJson text where it stands, and leaves callers\' strings alone', () => {
  const text = encodeWire({
    A: new RawJson('[{"x":"y\\"z"}]'),
    B: ['ot-raw-json-0', 'ot-raw-json-1'],
    C: { D: new RawJson('{}'), E: new Date(1_500_000_000_000) },
  });
  assert.deepEqual(JSON.parse(text), { A: [{ x: 'y"z' }], B: ['ot-raw-json-0', 'ot-raw-json-1'], C: { D: {}, E: 1_500_000_000 } });
});
