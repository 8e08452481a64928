/**
 * A LookupEvents call's record commits while its page is read (the two overlap); the page must
 * still leave the call itself out, as AWS's never holds the call that asks. The history reader is
 * stalled here (a failpoint read by its thread when it starts), so every record commits first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
before(async () => {
  process.env.OPENTRAIL_FAILPOINT = 'history-page-slow';
  ts = await startTestServer();
});
after(async () => {
  delete process.env.OPENTRAIL_FAILPOINT;
  await ts.close();
});

test('a lookup never finds its own call, though its record is committed before the page is read', async () => {
  const c = ts.client({ region: 'sa-east-1' }); // a region whose only events are these calls
  for (let i = 0; i < 12; i++) {
    const r = await c.send(new LookupEventsCommand({ MaxResults: 50 }));
    const own = r.$metadata.requestId!;
    const ids = (r.Events ?? []).map((e) => (JSON.parse(e.CloudTrailEvent!) as CloudTrailRecord).requestID);
    assert.ok(!ids.includes(own), `call ${i} found itself`);
    assert.equal(ids.length, i, `call ${i} sees the ${i} calls before it`);
  }
  // A page boundary right where the own record would be: NextToken paging still walks every earlier call once.
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    const r = await c.send(new LookupEventsCommand({ MaxResults: 1, NextToken: token }));
    for (const e of r.Events ?? []) seen.add(e.EventId!);
    token = r.NextToken;
  } while (token);
  assert.equal(seen.size, 12);
  c.destroy();
});
