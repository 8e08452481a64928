/** CloudTrail Lake through @aws-sdk/client-cloudtrail: event data stores, the query state machine, and what queries may not do. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CancelQueryCommand,
  CreateEventDataStoreCommand,
  DeleteEventDataStoreCommand,
  DescribeQueryCommand,
  GetEventDataStoreCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  ListQueriesCommand,
  LookupEventsCommand,
  RestoreEventDataStoreCommand,
  StartQueryCommand,
  UpdateEventDataStoreCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { GetImportCommand, ListImportFailuresCommand, ListImportsCommand, ListPublicKeysCommand, StartImportCommand, StopImportCommand } from '@aws-sdk/client-cloudtrail';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { ACCOUNT, KEY, SECRET, expectAwsError, importCompleted, startBucketImport, startTestServer, type TestServer } from './helpers.js';
import type { CloudTrailRecord } from '../src/domain/record.js';

let ts: TestServer;
let ct: CloudTrailClient;
let storeArn: string;
let storeId: string;

function record(i: number, daysAgo = 0): CloudTrailRecord {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: `AIDA${i % 7}`, arn: `arn:aws:iam::${ACCOUNT}:user/u${i % 7}`, accountId: ACCOUNT, userName: `u${i % 7}` },
    eventTime: new Date(Date.now() - daysAgo * 86_400_000 - i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: i >= 10_000 ? 'RetentionProbe' : ['RunInstances', 'StopInstances', 'DescribeInstances'][i % 3]!,
    awsRegion: 'us-east-1',
    sourceIPAddress: `10.0.${i % 5}.1`,
    requestParameters: { instanceType: 't3.micro', tags: { env: 'prod' } },
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    readOnly: i % 3 === 2,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  } as CloudTrailRecord;
}

async function finished(queryId: string, want = 'FINISHED'): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const d = await ct.send(new DescribeQueryCommand({ QueryId: queryId }));
    if (d.QueryStatus === want) return;
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') throw new Error(`query ended ${d.QueryStatus}: ${d.ErrorMessage}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('query did not end');
}

before(async () => {
  ts = await startTestServer({ env: { OPENTRAIL_LAKE_QUERY_TIMEOUT_SECONDS: '4', OPENTRAIL_LAKE_INTERVAL_MS: '200' } });
  ct = ts.client();
  const eds = await ct.send(new CreateEventDataStoreCommand({ Name: 'ec2-events', RetentionPeriod: 30, TerminationProtectionEnabled: false }));
  storeArn = eds.EventDataStoreArn!;
  storeId = storeArn.split('/').pop()!;
  await ts.app.ingest.record(Array.from({ length: 600 }, (_, i) => record(i)));
  await ts.app.lake.writer.caughtUp();
});

after(async () => {
  ct.destroy();
  await ts.close();
});

test('event data stores: create, get, list, update, and the errors of each', async () => {
  const got = await ct.send(new GetEventDataStoreCommand({ EventDataStore: storeId }));
  assert.equal(got.Name, 'ec2-events');
  assert.equal(got.Status, 'ENABLED');
  assert.equal(got.RetentionPeriod, 30);
  assert.equal(got.MultiRegionEnabled, true);
  assert.deepEqual(got.AdvancedEventSelectors?.[0]?.FieldSelectors, [{ Field: 'eventCategory', Equals: ['Management'] }]);
  assert.equal((await ct.send(new GetEventDataStoreCommand({ EventDataStore: storeArn }))).Name, 'ec2-events');
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'ec2-events' })), 'EventDataStoreAlreadyExistsException');
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'short', RetentionPeriod: 3 })), 'ValidationException');
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'long', RetentionPeriod: 3000, BillingMode: 'FIXED_RETENTION_PRICING' })), 'InvalidParameterException');
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'bad-sel', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventName', Equals: ['X'] }] }] })), 'InvalidEventSelectorsException');
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'org', OrganizationEnabled: true })), 'OrganizationsNotInUseException');
  await expectAwsError(ct.send(new UpdateEventDataStoreCommand({ EventDataStore: storeId, OrganizationEnabled: true })), 'OrganizationsNotInUseException');
  await expectAwsError(ct.send(new GetEventDataStoreCommand({ EventDataStore: '00000000-1111-2222-3333-444444444444' })), 'EventDataStoreNotFoundException');
  await expectAwsError(ct.send(new GetEventDataStoreCommand({ EventDataStore: 'arn:aws:cloudtrail:us-east-1:bad' })), 'EventDataStoreARNInvalidException');
  const upd = await ct.send(new UpdateEventDataStoreCommand({ EventDataStore: storeId, RetentionPeriod: 90 }));
  assert.equal(upd.RetentionPeriod, 90);
  await expectAwsError(ct.send(new UpdateEventDataStoreCommand({ EventDataStore: storeId })), 'InvalidParameterException');
  const list = await ct.send(new ListEventDataStoresCommand({}));
  assert.ok(list.EventDataStores!.some((s) => s.EventDataStoreArn === storeArn));
});

test('termination protection, PENDING_DELETION, restore, and gone after 7 days with its files', async () => {
  const eds = await ct.send(new CreateEventDataStoreCommand({ Name: 'short-lived' }));
  assert.equal(eds.TerminationProtectionEnabled, true);
  await expectAwsError(ct.send(new DeleteEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn })), 'EventDataStoreTerminationProtectedException');
  await ct.send(new UpdateEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn, TerminationProtectionEnabled: false }));
  await ct.send(new DeleteEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn }));
  assert.equal((await ct.send(new GetEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn }))).Status, 'PENDING_DELETION');
  const id = eds.EventDataStoreArn!.split('/').pop()!;
  await expectAwsError(ct.send(new StartQueryCommand({ QueryStatement: `SELECT count(*) FROM ${id}` })), 'EventDataStoreNotFoundException');
  await ct.send(new RestoreEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn }));
  assert.equal((await ct.send(new GetEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn }))).Status, 'ENABLED');
  await ts.app.lake.writer.caughtUp();
  const dir = join(ts.dataDir, 'lake', ACCOUNT, id);
  assert.ok(existsSync(dir), 'the store has files');
  await ct.send(new DeleteEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn }));
  await ts.app.lake.writer.housekeeping(Date.now() + 8 * 86_400_000);
  await expectAwsError(ct.send(new GetEventDataStoreCommand({ EventDataStore: eds.EventDataStoreArn })), 'EventDataStoreNotFoundException');
  assert.ok(!existsSync(dir), 'its files are gone');
});

test('retention: partitions older than the retention period are dropped', async () => {
  const eds = await ct.send(new CreateEventDataStoreCommand({ Name: 'week', RetentionPeriod: 7, TerminationProtectionEnabled: false }));
  const id = eds.EventDataStoreArn!.split('/').pop()!;
  await ts.app.ingest.record([record(10_001, 20), record(10_002, 20), record(10_003, 1)]);
  await ts.app.lake.writer.caughtUp();
  const count = async (): Promise<string> => {
    const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT count(*) AS n FROM ${id} WHERE eventid LIKE '00000000-0000-4000-8000-0000000100%'` }));
    await finished(q.QueryId!);
    return (await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }))).QueryResultRows![0]![0]!.n!;
  };
  assert.equal(await count(), '3');
  await ts.app.lake.writer.housekeeping();
  assert.equal(await count(), '1');
});

test('the query state machine: results paged, statistics, ListQueries, CancelQuery of a finished query', async () => {
  const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName, count(*) AS n, max(eventTime) FROM ${storeId} WHERE eventSource = 'ec2.amazonaws.com' AND eventName <> 'RetentionProbe' GROUP BY eventName ORDER BY eventName` }));
  await finished(q.QueryId!);
  const d = await ct.send(new DescribeQueryCommand({ QueryId: q.QueryId }));
  assert.equal(d.QueryStatus, 'FINISHED');
  assert.ok(d.QueryStatistics!.EventsScanned! >= 600);
  assert.ok(d.QueryStatistics!.BytesScanned! > 0);
  assert.ok(d.QueryStatistics!.CreationTime instanceof Date);
  const p1 = await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId, MaxQueryResults: 2 }));
  assert.equal(p1.QueryResultRows!.length, 2);
  assert.equal(p1.QueryStatistics!.TotalResultsCount, 3);
  assert.deepEqual(p1.QueryResultRows![0]!.map((c) => Object.keys(c)[0]), ['eventName', 'n', '_col2']);
  assert.deepEqual(p1.QueryResultRows!.map((r) => r[0]!.eventName), ['DescribeInstances', 'RunInstances']);
  assert.equal(p1.QueryResultRows![0]![1]!.n, '200');
  assert.match(p1.QueryResultRows![0]![2]!._col2!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  const p2 = await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId, MaxQueryResults: 2, NextToken: p1.NextToken }));
  assert.deepEqual(p2.QueryResultRows!.map((r) => r[0]!.eventName), ['StopInstances']);
  assert.equal(p2.NextToken, undefined);
  await expectAwsError(ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId, NextToken: 'forged' })), 'InvalidNextTokenException');
  const listed = await ct.send(new ListQueriesCommand({ EventDataStore: storeArn, QueryStatus: 'FINISHED' }));
  assert.ok(listed.Queries!.some((x) => x.QueryId === q.QueryId));
  await expectAwsError(ct.send(new CancelQueryCommand({ QueryId: q.QueryId })), 'InactiveQueryException');
  await expectAwsError(ct.send(new DescribeQueryCommand({ QueryId: '00000000-0000-4000-8000-000000000000' })), 'QueryIdNotFoundException');
});

test('nested values come back as Trino renders them: rows and maps as {k=v, …}, arrays as [a, b]', async () => {
  const q = await ct.send(
    new StartQueryCommand({
      QueryStatement: `SELECT useridentity, requestparameters, resources, tlsdetails, readonly, ARRAY['a', NULL] AS arr, eventTime FROM ${storeId} WHERE eventid = '00000000-0000-4000-8000-000000000003'`,
    }),
  );
  await finished(q.QueryId!);
  const r = await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }));
  const row = Object.assign({}, ...r.QueryResultRows![0]!) as Record<string, string | undefined>;
  assert.equal(
    row.useridentity,
    `{type=IAMUser, principalid=AIDA3, arn=arn:aws:iam::${ACCOUNT}:user/u3, accountid=${ACCOUNT}, accesskeyid=null, username=u3, sessioncontext=null, invokedby=null, identityprovider=null}`,
  );
  assert.equal(row.requestparameters, '{instanceType=t3.micro, tags={"env":"prod"}}');
  assert.equal(row.resources, null); // SQL NULL is null, not the text 'null'
  assert.equal(row.readonly, 'false');
  assert.equal(row.arr, '[a, null]');
  assert.match(row.eventTime!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000$/);
});

test('GetQueryResults of a running query answers once it has finished (or its status after 0.5 s); each call is recorded', { timeout: 60_000 }, async () => {
  const recorded = async (eventName: string, requestId: string): Promise<Record<string, unknown>> => {
    const out = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }], MaxResults: 50 }));
    const hit = out.Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>).find((r) => r.requestID === requestId);
    assert.ok(hit, `the ${eventName} call ${requestId} is in event history`);
    return hit;
  };
  const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName, count(*) AS n FROM ${storeId} GROUP BY eventName ORDER BY eventName` }));
  const r = await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }));
  assert.equal(r.QueryStatus, 'FINISHED', 'the first GetQueryResults, sent at once, waited for the query');
  assert.ok(r.QueryResultRows!.some((row) => row[0]!.eventName === 'RunInstances'));
  const rec = await recorded('GetQueryResults', r.$metadata.requestId!);
  assert.equal(rec.responseElements, null);
  assert.equal(rec.errorCode, undefined);
  assert.deepEqual(rec.requestParameters, { queryId: q.QueryId });
  // A query that ends FAILED at run time: heard at once, and stored so.
  const bad = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT nosuchcolumn FROM ${storeId}` }));
  const f = await ct.send(new DescribeQueryCommand({ QueryId: bad.QueryId }));
  assert.equal(f.QueryStatus, 'FAILED');
  assert.match(f.ErrorMessage!, /nosuchcolumn/);
  await recorded('DescribeQuery', f.$metadata.requestId!);
  // A query longer than the wait: the answer comes after about 0.5 s, RUNNING.
  const s = await ct.send(new StartQueryCommand({ QueryStatement: slow() }));
  const t0 = Date.now();
  const w = await ct.send(new GetQueryResultsCommand({ QueryId: s.QueryId }));
  assert.equal(w.QueryStatus, 'RUNNING');
  assert.ok(Date.now() - t0 >= 400, 'GetQueryResults held its answer while the query ran');
  await recorded('GetQueryResults', w.$metadata.requestId!);
  await ct.send(new CancelQueryCommand({ QueryId: s.QueryId }));
});

test('a statement run again after its store was deleted is refused: the store is not found', async () => {
  const tmp = await ct.send(new CreateEventDataStoreCommand({ Name: 'short-lived', RetentionPeriod: 7, TerminationProtectionEnabled: false }));
  const id = tmp.EventDataStoreArn!.split('/').pop()!;
  const sql = `SELECT count(*) AS n FROM ${id}`;
  const q = await ct.send(new StartQueryCommand({ QueryStatement: sql }));
  assert.equal((await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }))).QueryStatus, 'FINISHED');
  await ct.send(new DeleteEventDataStoreCommand({ EventDataStore: tmp.EventDataStoreArn }));
  await expectAwsError(ct.send(new StartQueryCommand({ QueryStatement: sql })), 'EventDataStoreNotFoundException');
});

/** A query that runs for seconds: a three-way join of the store with itself. */
const slow = (): string => `SELECT count(*) FROM ${storeId} a, ${storeId} b, ${storeId} c WHERE a.eventid || b.eventid || c.eventid LIKE '%zzz%'`;

test('CancelQuery stops a running query; a query past the time limit ends TIMED_OUT', { timeout: 60_000 }, async () => {
  const q = await ct.send(new StartQueryCommand({ QueryStatement: slow() }));
  await finished(q.QueryId!, 'RUNNING');
  const c = await ct.send(new CancelQueryCommand({ QueryId: q.QueryId }));
  assert.equal(c.QueryStatus, 'CANCELLED');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await ct.send(new DescribeQueryCommand({ QueryId: q.QueryId }))).QueryStatus, 'CANCELLED');
  const t = await ct.send(new StartQueryCommand({ QueryStatement: slow() }));
  await finished(t.QueryId!, 'RUNNING');
  // Ingestion defers to a running query, but not for more than two seconds.
  const [appended] = await ts.app.ingest.record([record(20_000)]);
  const t0 = Date.now();
  while ((await ts.app.eventLog.getReaderState(`lake:${storeId}`)).seq < appended!.seq) {
    assert.ok(Date.now() - t0 < 3500, 'a running query held back the store for more than 3.5 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await ct.send(new DescribeQueryCommand({ QueryId: t.QueryId }))).QueryStatus, 'RUNNING', 'the event arrived while the query still ran');
  await finished(t.QueryId!, 'TIMED_OUT');
});

test('at most 10 queries at once: the 11th gets MaxConcurrentQueriesException', { timeout: 60_000 }, async () => {
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await ct.send(new StartQueryCommand({ QueryStatement: slow() }))).QueryId!);
  await expectAwsError(ct.send(new StartQueryCommand({ QueryStatement: `SELECT 1 FROM ${storeId}` })), 'MaxConcurrentQueriesException');
  for (const id of ids) await ct.send(new CancelQueryCommand({ QueryId: id })).catch(() => undefined);
});

test('queries may only read: every other statement, file access and other accounts are refused', async () => {
  const refuse = async (sql: string, code: string): Promise<void> => {
    await expectAwsError(ct.send(new StartQueryCommand({ QueryStatement: sql })), code);
  };
  await refuse(`INSERT INTO ${storeId} SELECT * FROM ${storeId}`, 'InvalidQueryStatementException');
  await refuse(`DROP TABLE ${storeId}`, 'InvalidQueryStatementException');
  await refuse(`COPY (SELECT 1) TO '/tmp/x.csv'`, 'InvalidQueryStatementException');
  await refuse(`ATTACH '/tmp/x.db' AS x`, 'InvalidQueryStatementException');
  await refuse(`SELECT 1; SELECT 2`, 'InvalidQueryStatementException');
  await refuse(`SELECT * FROM read_csv('/etc/passwd')`, 'InvalidQueryStatementException');
  await refuse(`SELECT * FROM '/etc/passwd'`, 'EventDataStoreNotFoundException');
  await refuse(`SELECT read_text('/etc/passwd') FROM ${storeId}`, 'InvalidQueryStatementException');
  await refuse(`SELECT getenv('HOME') FROM ${storeId}`, 'InvalidQueryStatementException');
  await refuse(`SELECT * FROM ${storeId}x`, 'InvalidQueryStatementException');
  await refuse(`SELECT eventName FROM`, 'InvalidQueryStatementException');
  await refuse(`SELECT 1`, 'InvalidQueryStatementException');
  // Another account's store: invisible (not found), whoever names it.
  const other = await ts.app.accounts.createAccount('555566667777', 'other');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'root');
  const them = ts.client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  await expectAwsError(them.send(new StartQueryCommand({ QueryStatement: `SELECT * FROM ${storeId}` })), 'EventDataStoreNotFoundException');
  await expectAwsError(them.send(new GetEventDataStoreCommand({ EventDataStore: storeArn })), 'EventDataStoreNotFoundException');
  them.destroy();
});

test('DeliveryS3Uri: results also land in the bucket as gzip CSV in AWS\'s layout, with a signed result_sign.json', async () => {
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'lake-results' }));
  const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName, count(*) AS n FROM ${storeId} WHERE eventSource = 'ec2.amazonaws.com' AND eventName <> 'RetentionProbe' GROUP BY 1 ORDER BY 1`, DeliveryS3Uri: 's3://lake-results/exports' }));
  await finished(q.QueryId!);
  const d = await ct.send(new DescribeQueryCommand({ QueryId: q.QueryId }));
  assert.equal(d.DeliveryStatus, 'SUCCESS');
  assert.equal(d.DeliveryS3Uri, 's3://lake-results/exports');
  // AWS's layout: {prefix}/AWSLogs/{account}/CloudTrail-Lake/Query/{YYYY}/{MM}/{DD}/{queryId}/.
  const keys = (await s3.send(new ListObjectsV2Command({ Bucket: 'lake-results', Prefix: 'exports/' }))).Contents!.map((o) => o.Key!);
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const folder = `exports/AWSLogs/${ACCOUNT}/CloudTrail-Lake/Query/${day}/${q.QueryId}`;
  assert.deepEqual(keys, [`${folder}/result_1.csv.gz`, `${folder}/result_sign.json`]);
  const get = async (key: string): Promise<Buffer> => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'lake-results', Key: key }))).Body!.transformToByteArray());
  const gz = await get(keys[0]!);
  assert.match(gunzipSync(gz).toString('utf8'), /^eventName,n\nDescribeInstances,200\n/);
  // result_sign.json: the compressed file's SHA-256, signed with a key ListPublicKeys returns.
  const sign = JSON.parse((await get(keys[1]!)).toString('utf8')) as { version: string; region: string; files: { fileHashValue: string; fileName: string }[]; hashAlgorithm: string; signatureAlgorithm: string; queryCompleteTime: string; hashSignature: string; publicKeyFingerprint: string };
  assert.equal(sign.version, '1.0');
  assert.equal(sign.region, 'us-east-1');
  assert.equal(sign.hashAlgorithm, 'SHA-256');
  assert.equal(sign.signatureAlgorithm, 'SHA256withRSA');
  assert.deepEqual(sign.files, [{ fileHashValue: createHash('sha256').update(gz).digest('hex'), fileName: 'result_1.csv.gz' }]);
  const keysOut = await ct.send(new ListPublicKeysCommand({ StartTime: new Date(Date.parse(sign.queryCompleteTime) - 3600_000), EndTime: new Date() }));
  const pk = keysOut.PublicKeyList!.find((k) => k.Fingerprint === sign.publicKeyFingerprint)!;
  const pub = createPublicKey({ key: Buffer.from(pk.Value!), format: 'der', type: 'pkcs1' });
  const signed = sign.files.map((f) => f.fileHashValue).join(' ');
  assert.ok(verify('sha256', Buffer.from(signed), pub, Buffer.from(sign.hashSignature, 'hex')), 'the signature verifies');
  assert.ok(!verify('sha256', Buffer.from(`${signed} `), pub, Buffer.from(sign.hashSignature, 'hex')), 'and only over those hashes');
  s3.destroy();
});

test('StartImport brings CloudTrail log files from a bucket into a store, listing the corrupt ones as failures', async () => {
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'old-trail' }));
  const file = (n: number, count: number): Buffer =>
    gzipSync(JSON.stringify({ Records: Array.from({ length: count }, (_, k) => ({ ...record(50_000 + n * 100 + k, 400), eventName: `Imported${n}`, recipientAccountId: '210987654321' })) }));
  const base = 'AWSLogs/210987654321/CloudTrail/us-east-1/2025/10/26';
  await s3.send(new PutObjectCommand({ Bucket: 'old-trail', Key: `${base}/210987654321_CloudTrail_us-east-1_20251026T1200Z_a.json.gz`, Body: file(1, 5) }));
  await s3.send(new PutObjectCommand({ Bucket: 'old-trail', Key: `${base}/210987654321_CloudTrail_us-east-1_20251026T1205Z_b.json.gz`, Body: file(2, 7) }));
  await s3.send(new PutObjectCommand({ Bucket: 'old-trail', Key: `${base}/210987654321_CloudTrail_us-east-1_20251026T1210Z_c.json.gz`, Body: Buffer.from('not gzip at all') }));
  await s3.send(new PutObjectCommand({ Bucket: 'old-trail', Key: 'AWSLogs/210987654321/CloudTrail-Digest/us-east-1/2025/10/26/x.json.gz', Body: gzipSync('{}') }));
  const eds = await ct.send(new CreateEventDataStoreCommand({ Name: 'history', TerminationProtectionEnabled: false, StartIngestion: false }));
  const started = await startBucketImport(ct, eds.EventDataStoreArn!, 'old-trail', ACCOUNT);
  const got = await importCompleted(ct, started.ImportId);
  assert.equal(got.ImportStatus, 'COMPLETED');
  assert.deepEqual(got.ImportStatistics, { PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 2, EventsCompleted: 12, FailedEntries: 1 });
  const failures = (await ct.send(new ListImportFailuresCommand({ ImportId: started.ImportId }))).Failures!;
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.Location!, /_c\.json\.gz$/);
  assert.equal(failures[0]!.ErrorType, 'InvalidFileFormat');
  assert.equal(failures[0]!.Status, 'FAILED');
  assert.ok((await ct.send(new ListImportsCommand({ Destination: eds.EventDataStoreArn }))).Imports!.some((x) => x.ImportId === started.ImportId));
  assert.equal((await ct.send(new StopImportCommand({ ImportId: started.ImportId }))).ImportStatus, 'COMPLETED');
  const id = eds.EventDataStoreArn!.split('/').pop()!;
  const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName, count(*) AS n FROM ${id} WHERE eventName LIKE 'Imported%' GROUP BY 1 ORDER BY 1` }));
  await finished(q.QueryId!);
  const rows = (await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }))).QueryResultRows!;
  assert.deepEqual(rows.map((r) => [r[0]!.eventName, r[1]!.n]), [['Imported1', '5'], ['Imported2', '7']]);
  // The bucket gets a new file and is imported again: the files imported before replace what they
  // brought (no event twice); the new one adds its own.
  await s3.send(new PutObjectCommand({ Bucket: 'old-trail', Key: `${base}/210987654321_CloudTrail_us-east-1_20251026T1215Z_d.json.gz`, Body: file(3, 4) }));
  const again = await startBucketImport(ct, eds.EventDataStoreArn!, 'old-trail', ACCOUNT);
  assert.notEqual(again.ImportId, started.ImportId);
  const second = await importCompleted(ct, again.ImportId);
  assert.equal(second.ImportStatistics?.EventsCompleted, 16);
  const q2 = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName, count(*) AS n, count(DISTINCT eventID) AS ids FROM ${id} WHERE eventName LIKE 'Imported%' GROUP BY 1 ORDER BY 1` }));
  await finished(q2.QueryId!);
  const rows2 = (await ct.send(new GetQueryResultsCommand({ QueryId: q2.QueryId }))).QueryResultRows!;
  assert.deepEqual(rows2.map((r) => [r[0]!.eventName, r[1]!.n, r[2]!.ids]), [['Imported1', '5', '5'], ['Imported2', '7', '7'], ['Imported3', '4', '4']]);
  await expectAwsError(
    ct.send(new StartImportCommand({ Destinations: [eds.EventDataStoreArn!], ImportSource: { S3: { S3LocationUri: 's3://no-such-bucket/x', S3BucketRegion: 'us-east-1', S3BucketAccessRoleArn: 'arn:aws:iam::1:role/x' } } })),
    'InvalidImportSourceException',
  );
  await expectAwsError(ct.send(new GetImportCommand({ ImportId: '00000000-0000-4000-8000-000000000000' })), 'ImportNotFoundException');
  s3.destroy();
});

test('AWS Config item stores: ConfigurationItem is selected alone, a store cannot change kind, queries read its own columns', async () => {
  const configOnly = [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ConfigurationItem'] }] }];
  await expectAwsError(
    ct.send(new CreateEventDataStoreCommand({ Name: 'mixed', AdvancedEventSelectors: [...configOnly, { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }] })),
    'InvalidEventSelectorsException',
  );
  await expectAwsError(ct.send(new CreateEventDataStoreCommand({ Name: 'mixed2', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ConfigurationItem', 'Management'] }] }] })), 'InvalidEventSelectorsException');
  const cfg = await ct.send(new CreateEventDataStoreCommand({ Name: 'config-items', AdvancedEventSelectors: configOnly, TerminationProtectionEnabled: false }));
  await expectAwsError(
    ct.send(new UpdateEventDataStoreCommand({ EventDataStore: cfg.EventDataStoreArn, AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }] })),
    'InvalidParameterException',
  );
  // An empty store of Config items answers queries over its own columns.
  const id = cfg.EventDataStoreArn!.split('/').pop()!;
  const q = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventData.resourceType, element_at(eventData.configuration, 'instanceType') AS t, eventData.relationships FROM ${id}` }));
  await finished(q.QueryId!);
  assert.deepEqual((await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId }))).QueryResultRows, []);
  // …and not over CloudTrail's.
  const bad = await ct.send(new StartQueryCommand({ QueryStatement: `SELECT eventName FROM ${id}` }));
  await finished(bad.QueryId!, 'FAILED');
  assert.match((await ct.send(new DescribeQueryCommand({ QueryId: bad.QueryId }))).ErrorMessage!, /eventName|eventname/i);
});
