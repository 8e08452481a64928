/** The native ingest API: per-record results, idempotency, account isolation, batch-level errors. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ACCOUNT, TARGET, rawCall, signedPost, signedPostHeaders, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;

before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts.close();
});

interface PutEventsOut {
  successful: { id: string; eventID: string; duplicate?: boolean }[];
  failed: { id: string | null; index: number; errorCode: string; errorMessage: string; field?: string }[];
  __type?: string;
  message?: string;
}

async function post(body: string, o: { accessKeyId?: string; secretAccessKey?: string; path?: string; service?: string } = {}): Promise<{ status: number; json: PutEventsOut }> {
  return signedPost<PutEventsOut>(ts.app.url, o.path ?? '/v1/events', body, o);
}

const rec = (eventName: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventSource: 'billing.example.com',
  eventName,
  userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', userName: 'ana' },
  resources: [{ type: 'Billing::Invoice', ARN: 'arn:example:billing::111122223333:invoice/inv-1' }],
  requestParameters: { invoiceId: 'inv-1' },
  ...extra,
});

async function lookup(eventName: string, o: { accessKeyId?: string; secretAccessKey?: string } = {}): Promise<Record<string, unknown>[]> {
  const out = await ts.client(o).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }] }));
  return (out.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>);
}

test('a batch of good, invalid, oversized and duplicate records: each gets its own answer', async () => {
  const batch = {
    events: [
      { id: 'ok-1', record: rec('VoidInvoice') },
      { id: 'bad-1', record: { eventSource: 'billing.example.com', userIdentity: { type: 'IAMUser' } } },
      { id: 'big-1', record: rec('Huge', { requestParameters: { blob: 'x'.repeat(300 * 1024) } }) },
      { id: 'ok-1', record: rec('VoidInvoice') },
      { id: 'bad-2', record: rec('Typo', { userIdentity: { type: 'IAMUser' }, eventTyp: 'AwsApiCall' }) },
      { id: 'bad-3', record: rec('BadType', { eventType: 'Nonsense' }) },
      { id: 'has space', record: rec('VoidInvoice') },
      { id: 'ok-2', record: rec('ApproveInvoice', { eventTime: '2026-11-01T10:00:00Z', readOnly: false, errorCode: 'InvoiceLocked', errorMessage: 'The invoice is locked' }) },
    ],
  };
  const r = await post(JSON.stringify(batch));
  assert.equal(r.status, 200);
  const failed = Object.fromEntries(r.json.failed.map((f) => [f.index, f]));
  assert.deepEqual(Object.keys(failed).map(Number).sort(), [1, 2, 4, 5, 6]);
  assert.equal(failed[1]!.errorCode, 'InvalidRecord');
  assert.equal(failed[1]!.field, '/eventName');
  assert.equal(failed[2]!.errorCode, 'RecordTooLarge');
  assert.equal(failed[4]!.field, '/eventTyp');
  assert.match(failed[4]!.errorMessage, /eventTyp is not a CloudTrail record field/);
  assert.equal(failed[5]!.field, '/eventType');
  assert.equal(failed[6]!.errorCode, 'InvalidIdempotencyId');
  // The repeated id in the same batch is the same event.
  const ok = r.json.successful;
  assert.deepEqual(ok.map((s) => s.id), ['ok-1', 'ok-1', 'ok-2']);
  assert.equal(ok[0]!.eventID, ok[1]!.eventID);
  assert.equal(ok[1]!.duplicate, true);

  // Recorded once, completed as CloudTrail completes its own records.
  const voids = await lookup('VoidInvoice');
  assert.equal(voids.length, 1);
  const v = voids[0]!;
  assert.equal(v.eventID, ok[0]!.eventID);
  assert.equal(v.eventVersion, '1.11');
  assert.equal(v.eventType, 'AwsApiCall');
  assert.equal(v.eventCategory, 'Management');
  assert.equal(v.managementEvent, true);
  assert.equal(v.recipientAccountId, ACCOUNT);
  assert.equal(v.awsRegion, 'us-east-1');
  assert.equal(v.sourceIPAddress, '127.0.0.1');
  assert.equal(v.responseElements, null);
  assert.deepEqual((v.userIdentity as Record<string, unknown>).accountId, ACCOUNT);
  assert.match(String(v.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const approve = (await lookup('ApproveInvoice'))[0]!;
  assert.equal(approve.eventTime, '2026-11-01T10:00:00Z');
  assert.equal(approve.errorCode, 'InvoiceLocked');
  // Found by the resource it names, like any AWS event.
  const byResource = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'arn:example:billing::111122223333:invoice/inv-1' }] }));
  assert.ok((byResource.Events ?? []).length >= 2);
});

test('text beyond ASCII comes back through LookupEvents as it was sent, read afresh and kept', async () => {
  const userName = 'José Müller ✓ 😀';
  const r = await post(JSON.stringify({ events: [{ id: 'non-ascii-1', record: rec('AnnotateInvoice', { userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', userName }, requestParameters: { note: 'façade — 日本語' } }) }] }));
  assert.equal(r.json.successful.length, 1, JSON.stringify(r.json));
  for (let pass = 0; pass < 2; pass++) {
    const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: userName }] }));
    assert.equal(out.Events?.length, 1, `pass ${pass}`);
    assert.equal(out.Events![0]!.Username, userName);
    assert.deepEqual((JSON.parse(out.Events![0]!.CloudTrailEvent!) as { requestParameters: unknown }).requestParameters, { note: 'façade — 日本語' });
  }
});

test('a retried batch is recorded once: the same ids answer with the same events', async () => {
  const batch = JSON.stringify({ events: [{ id: 'retry-a', record: rec('RefundInvoice') }, { id: 'retry-b', record: rec('RefundInvoice') }] });
  const first = await post(batch);
  const again = await post(batch);
  assert.deepEqual(again.json.successful.map((s) => s.eventID), first.json.successful.map((s) => s.eventID));
  assert.ok(again.json.successful.every((s) => s.duplicate === true));
  assert.equal((await lookup('RefundInvoice')).length, 2);
  // The ids survive a restart (they are committed with the events).
  await ts.restart();
  const after = await post(batch);
  assert.deepEqual(after.json.successful.map((s) => s.eventID), first.json.successful.map((s) => s.eventID));
  assert.equal((await lookup('RefundInvoice')).length, 2);
});

test('random UUIDs (v4) as idempotency ids are counted in /metrics; time-ordered ones are not', async () => {
  const counted = async (): Promise<number> => {
    const text = await (await fetch(`${ts.app.url}/metrics`)).text();
    return Number(/^opentrail_ingest_random_ids_total (\d+)$/m.exec(text)?.[1] ?? NaN);
  };
  const before = await counted();
  const events = [
    { id: randomUUID(), record: rec('CountIds') },
    { id: randomUUID().toUpperCase(), record: rec('CountIds') },
    { id: randomUUID(), record: rec('CountIds', { eventType: 'Nonsense' }) }, // refused: not counted
    { id: '019ad8f2-6b1e-7c3a-9f4d-2b6e1c0a7d55', record: rec('CountIds') }, // v7
    { id: 'order-4711', record: rec('CountIds') },
  ];
  const r = await post(JSON.stringify({ events }));
  assert.equal(r.json.successful.length, 4);
  assert.equal((await counted()) - before, 2);
});

test('a principal records only into its own account', async () => {
  const r = await post(JSON.stringify({ events: [{ id: 'x-1', record: rec('CrossAccount', { recipientAccountId: '999988887777' }) }] }));
  assert.equal(r.json.failed[0]!.errorCode, 'AccountMismatch');
  assert.equal(r.json.failed[0]!.field, '/recipientAccountId');
  // Another account's key records into that account; the first account does not see it.
  await ts.app.accounts.createAccount('444455556666', 'other');
  const key = await ts.app.accounts.createAccessKey('444455556666', 'root');
  const other = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  const o = await post(JSON.stringify({ events: [{ id: 'x-1', record: rec('OtherAccountOp') }] }), other);
  assert.equal(o.json.successful.length, 1);
  assert.equal(o.json.successful[0]!.duplicate, undefined, 'idempotency ids are per account');
  assert.equal((await lookup('OtherAccountOp', other)).length, 1);
  assert.equal((await lookup('OtherAccountOp')).length, 0);
});

test('batch-level problems get an error code and a clear message', async () => {
  const notJson = await post('{"events": [');
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.__type, 'SerializationException');
  const noEvents = await post('{"records": []}');
  assert.equal(noEvents.json.__type, 'ValidationException');
  const tooMany = await post(JSON.stringify({ events: Array.from({ length: 1001 }, (_, i) => ({ id: `m${i}`, record: rec('Many') })) }));
  assert.equal(tooMany.status, 400);
  assert.match(tooMany.json.message ?? '', /1001 events; at most 1000/);
  const wrongPath = await post('{}', { path: '/v2/things' });
  assert.equal(wrongPath.json.__type, 'UnknownOperationException');
  const badSig = await post(JSON.stringify({ events: [] }), { secretAccessKey: 'wrong' });
  assert.equal(badSig.status, 400);
  assert.equal(badSig.json.__type, 'InvalidSignatureException');
});

test('past the admission limit, callers get 429 ThrottlingException at once; nothing accepted is lost', async () => {
  const small = await startTestServer({ env: { OPENTRAIL_MAX_INGEST_REQUESTS: '2' } });
  const saved = ts;
  ts = small;
  try {
    const body = (n: number) => JSON.stringify({ events: Array.from({ length: 200 }, (_, i) => ({ id: `o${n}-${i}`, record: rec('Overload', { requestParameters: { n, i } }) })) });
    // Two requests held open halfway through their bodies take both places.
    const hold = async (n: number): Promise<{ finish: () => void; answer: Promise<number> }> => {
      const b = body(n);
      const headers = await signedPostHeaders(ts.app.url, '/v1/events', b);
      const req = httpRequest(`${ts.app.url}/v1/events`, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(b)) } });
      const answer = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.write(b.slice(0, 100));
      return { finish: () => req.end(b.slice(100)), answer };
    };
    const held = [await hold(0), await hold(1)];
    // Once the server has them, a full request is refused at once (until then it may be admitted).
    let admitted = 0;
    let refused: { status: number; json: PutEventsOut } | undefined;
    for (let n = 100; n < 200 && !refused; n++) {
      const r = await post(body(n));
      if (r.status === 429) refused = r;
      else if (r.status === 200) admitted++;
    }
    assert.ok(refused, 'a request past the limit was throttled');
    assert.equal(refused.json.__type, 'ThrottlingException');
    const answers = await Promise.all(Array.from({ length: 22 }, (_, n) => post(body(2 + n))));
    assert.deepEqual(answers.map((a) => a.status), Array(22).fill(429), 'every request while both places are taken');
    for (const h of held) h.finish();
    assert.deepEqual(await Promise.all(held.map((h) => h.answer)), [200, 200], 'the held requests were recorded');
    // Every admitted record is recorded; nothing of the throttled requests is.
    let n = 0;
    let NextToken: string | undefined;
    do {
      const out = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Overload' }], NextToken }));
      n += out.Events?.length ?? 0;
      NextToken = out.NextToken;
    } while (NextToken);
    assert.equal(n, (2 + admitted) * 200);
  } finally {
    ts = saved;
    await small.close();
  }
});

test('a LookupEvents answer with text beyond ASCII is measured in bytes: its content-length is the body the client reads', async () => {
  const note = 'façade ✓ 😀 — 注意';
  const { status } = await post(JSON.stringify({ events: Array.from({ length: 3 }, (_, i) => ({ id: `note-${i}`, record: rec('NoteInvoice', { requestParameters: { note } }) })) }));
  assert.equal(status, 200);
  // A content-length short of the body would cut the JSON; one beyond it would leave the read hanging.
  const r = await rawCall(ts.app.url, { target: `${TARGET}LookupEvents`, body: JSON.stringify({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'NoteInvoice' }] }) });
  assert.equal(r.status, 200);
  const events = (r.json as { Events: { CloudTrailEvent: string }[] }).Events;
  assert.equal(events.length, 3);
  for (const e of events) assert.equal((JSON.parse(e.CloudTrailEvent) as { requestParameters: { note: string } }).requestParameters.note, note);
  assert.equal(Number(r.headers.get('content-length')), Buffer.byteLength(JSON.stringify(r.json)));
  // And the SDK reads the same.
  assert.deepEqual((await lookup('NoteInvoice')).map((e) => (e.requestParameters as { note: string }).note), [note, note, note]);
});
