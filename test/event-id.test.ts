/** The eventIDs opentrail assigns: RFC 9562 version-7 UUIDs, unique, in the order of their time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newEventId } from '../src/domain/event-id.js';
import { normalizeIngestRecord } from '../src/domain/ingest-record.js';
import { apiCallRecord } from '../src/domain/api-call-record.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('an eventID is a version-7 UUID whose first 48 bits are its time in milliseconds', () => {
  const at = Date.UTC(2026, 10, 30, 5, 0, 0, 123);
  const id = newEventId(at);
  assert.match(id, V7);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
});

test('eventIDs are unique, and sort as their times do', () => {
  const ids = Array.from({ length: 200_000 }, (_, i) => newEventId(1_800_000_000_000 + Math.floor(i / 100)));
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => V7.test(id)));
  for (let i = 100; i < ids.length; i += 100) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
});

test('records of API calls, and records taken in through the ingest API, get one', () => {
  const call = apiCallRecord({ accountId: '111122223333', region: 'us-east-1', userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' }, sourceIPAddress: '192.0.2.1', requestId: 'r1', time: new Date(), eventSource: 'cloudtrail.amazonaws.com', eventName: 'DescribeTrails', readOnly: true, requestParameters: null, responseElements: null });
  assert.match(call.eventID, V7);
  const r = normalizeIngestRecord(
    { eventSource: 'billing.example.com', eventName: 'VoidInvoice', userIdentity: { type: 'IAMUser', principalId: 'AIDA1', userName: 'ana' } },
    { accountId: '111122223333', region: 'us-east-1', sourceIPAddress: '192.0.2.1' },
  );
  assert.ok('record' in r);
  assert.match(r.record.eventID, V7);
});
