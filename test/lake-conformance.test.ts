/**
 * AWS's published Lake sample queries (../shared/conformance/lake-queries) against a store loaded
 * with the CloudTrail samples of the conformance set (../shared/conformance/cloudtrail-samples),
 * through the real API. Each query is run unmodified except for the store id; its result must
 * equal the result of the same statement over a reference table built another way: DuckDB's own
 * JSON functions on the raw records, without opentrail's row conversion or Parquet files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  StopEventDataStoreIngestionCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  ListImportFailuresCommand,
  StartQueryCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, importCompleted, startBucketImport, startTestServer, type TestServer } from './helpers.js';
import { SignedHttp } from '../src/client/signed-http.js';
import { prepareQuery, TRINO_SETUP } from '../src/lake/sql.js';
import { configItems, configSampleRows, CONFIG_SAMPLE_FILES } from './lake-config-items.js';
import { queryResultValue } from '../src/lake/result-values.js';
import type { CloudTrailRecord } from '../src/domain/record.js';
import { SAMPLE_STORE_PLACEHOLDER } from '../src/lake/samples.js';
import { storeKeeps } from '../src/domain/event-data-stores.js';

const CONF = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance');

/** Samples that are not runnable Lake SQL as published, and what Lake does with them. */
const KNOWN: Record<string, { outcome: 'refused' | 'failed'; why: string }> = {
  'samples-aws-samples-configtablecreation.sql': { outcome: 'refused', why: 'Athena DDL (CREATE EXTERNAL TABLE), not a Lake query' },
  'samples-aws-samples-configitemcountquery.sql': { outcome: 'refused', why: 'Athena SQL over that table (a `default` schema), not a Lake query' },
  'samples-aws-samples-top-errors.sql': { outcome: 'refused', why: 'malformed as published: "errorMessageORDER BY … DESCLIMIT"' },
  'samples-aws-samples-top-s3-actions.sql': { outcome: 'refused', why: 'malformed as published: keywords run together' },
  'samples-aws-samples-list-attempted-s3-requests.sql': { outcome: 'refused', why: 'malformed as published: keywords run together' },
  'samples-aws-samples-list-publicly-accessible-rds-instances.sql': { outcome: 'refused', why: 'malformed as published: the query twice, with no separator' },
  'samples-aws-samples-iam-idc-authenticate-api.sql': { outcome: 'refused', why: 'malformed as published: "FROM FROM"' },
  'samples-aws-samples-list-all-errors-for-s3-events.sql': { outcome: 'refused', why: 'malformed as published: "…\'example: select …" pasted after the query' },
  'samples-aws-samples-list-all-events-not-in-authorized-region.sql': { outcome: 'refused', why: 'malformed as published: "…\': select …" pasted after the query' },
  'samples-awsdocs-query-create-edit-query-1.sql': { outcome: 'refused', why: 'malformed as published: "< =" and an unquoted "eds-ID"' },
  'samples-github-audit-log-readme-1.sql': { outcome: 'refused', why: 'malformed as published: missing comma, unterminated string' },
  'samples-aws-samples-network-activity-events-vpce-access-denied-s3.sql': { outcome: 'failed', why: 'selects userIdentity.username but groups by userIdentity.arn (Trino refuses it too)' },
  'samples-awsdocs-query-limitations-3.sql': { outcome: 'failed', why: 'the documentation example reads a column named "map", which the schema does not have' },
  'samples-aws-samples-list-all-events-in-a-flatten-table-format.sql': { outcome: 'failed', why: "compares eventTime with the unfilled template parameter '${date_filter}'" },
  'samples-aws-samples-tls-unsupported-version.sql': { outcome: 'failed', why: "compares eventTime with the unfilled template parameter '${date_filter}'" },
};
/** Samples for AWS Config item stores: run against a Config item store loaded by importing Config history files (lake-config-items.ts). */
const CONFIG_STORES = /^samples-aws-samples-ssm-patch-compliance-/;
/** Samples for integration stores: run against a store fed through a channel, with the rows each must give (computed here from what was sent). */
const INTEGRATION: Record<string, { rows: number; first?: Record<string, string> }> = {
  'samples-github-audit-log-readme-2.sql': { rows: 3, first: { repoVisibility: 'public', orgName: 'acme' } },
  'samples-github-audit-log-readme-3.sql': { rows: 2, first: { eventName: 'org.invite_member' } },
  'samples-github-audit-log-readme-4.sql': { rows: 1, first: { user: 'alice', apiCount: '12' } },
  'samples-okta-system-log-readme-1.sql': { rows: 2, first: { eventSource: 'okta.system-log-events' } },
  'samples-okta-system-log-readme-2.sql': { rows: 1, first: { user: 'jane@example.com' } },
};

let ts: TestServer;
let ct: CloudTrailClient;
let storeId: string;
let integrationId: string;
let configId: string;
let ref: DuckDBConnection;
let refDb: DuckDBInstance;

function loadSamples(): CloudTrailRecord[] {
  const manifest = JSON.parse(readFileSync(join(CONF, 'cloudtrail-samples', 'manifest.json'), 'utf8')) as { files: { file: string; shape: string }[] };
  const out: CloudTrailRecord[] = [];
  for (const f of manifest.files) {
    let text: string;
    try {
      const raw = readFileSync(join(CONF, 'cloudtrail-samples', f.file));
      text = f.shape.startsWith('gzip') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      if (f.shape === 'Records' || f.shape.startsWith('gzip')) out.push(...(JSON.parse(text) as { Records: CloudTrailRecord[] }).Records);
      else if (f.shape === 'array') out.push(...(JSON.parse(text) as CloudTrailRecord[]));
      else if (f.shape === 'jsonl') for (const l of text.split('\n')) if (l.trim()) out.push(JSON.parse(l) as CloudTrailRecord);
    } catch {
      // digests, notifications and the deliberately invalid file are not records
    }
  }
  // The store keeps the caller's account's events: the samples are recorded as this account's.
  return out
    .filter((r) => r && typeof r.eventID === 'string' && typeof r.eventName === 'string' && typeof r.eventSource === 'string' && typeof r.awsRegion === 'string' && !Number.isNaN(Date.parse(r.eventTime)))
    .map((r) => ({ ...r, recipientAccountId: ACCOUNT, eventCategory: r.eventCategory ?? 'Management' }));
}

/** Lake's table built from the raw JSON by DuckDB alone. */
const REF_TABLE = `
CREATE MACRO to_map(x) AS CASE WHEN json_type(x) = 'OBJECT' THEN map_from_entries(list_transform(list_filter(coalesce(json_keys(x), []), lambda k: json_type(json_extract(x, '$."' || k || '"')) <> 'NULL'),
  lambda k: struct_pack(key := k, value := CASE WHEN json_type(json_extract(x, '$."' || k || '"')) = 'VARCHAR' THEN json_extract_string(x, '$."' || k || '"') ELSE CAST(json_extract(x, '$."' || k || '"') AS VARCHAR) END))) ELSE NULL END;
CREATE MACRO ts(x) AS TRY_CAST(CAST(x AS TIMESTAMPTZ) AS TIMESTAMP);
CREATE TABLE ref AS SELECT
  j ->> 'eventVersion' AS eventversion,
  CASE WHEN (j -> 'userIdentity') IS NULL THEN NULL ELSE struct_pack(
    type := j -> 'userIdentity' ->> 'type', principalid := j -> 'userIdentity' ->> 'principalId', arn := j -> 'userIdentity' ->> 'arn',
    accountid := j -> 'userIdentity' ->> 'accountId', accesskeyid := j -> 'userIdentity' ->> 'accessKeyId', username := j -> 'userIdentity' ->> 'userName',
    sessioncontext := CASE WHEN (j -> 'userIdentity' -> 'sessionContext') IS NULL THEN NULL ELSE struct_pack(
      attributes := CASE WHEN (j -> 'userIdentity' -> 'sessionContext' -> 'attributes') IS NULL THEN NULL ELSE struct_pack(
        creationdate := ts(j -> 'userIdentity' -> 'sessionContext' -> 'attributes' ->> 'creationDate'),
        mfaauthenticated := j -> 'userIdentity' -> 'sessionContext' -> 'attributes' ->> 'mfaAuthenticated') END,
      sessionissuer := CASE WHEN (j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer') IS NULL THEN NULL ELSE struct_pack(
        type := j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer' ->> 'type', principalid := j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer' ->> 'principalId',
        arn := j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer' ->> 'arn', accountid := j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer' ->> 'accountId',
        username := j -> 'userIdentity' -> 'sessionContext' -> 'sessionIssuer' ->> 'userName') END,
      webidfederationdata := CASE WHEN (j -> 'userIdentity' -> 'sessionContext' -> 'webIdFederationData') IS NULL THEN NULL ELSE struct_pack(
        federatedprovider := j -> 'userIdentity' -> 'sessionContext' -> 'webIdFederationData' ->> 'federatedProvider',
        attributes := to_map(j -> 'userIdentity' -> 'sessionContext' -> 'webIdFederationData' -> 'attributes')) END,
      sourceidentity := j -> 'userIdentity' -> 'sessionContext' ->> 'sourceIdentity', ec2roledelivery := j -> 'userIdentity' -> 'sessionContext' ->> 'ec2RoleDelivery',
      ec2issuedinvpc := j -> 'userIdentity' -> 'sessionContext' ->> 'ec2IssuedInVPC') END,
    invokedby := j -> 'userIdentity' ->> 'invokedBy', identityprovider := j -> 'userIdentity' ->> 'identityProvider') END AS useridentity,
  ts(j ->> 'eventTime') AS eventtime,
  j ->> 'eventSource' AS eventsource, j ->> 'eventName' AS eventname, j ->> 'awsRegion' AS awsregion, j ->> 'sourceIPAddress' AS sourceipaddress,
  j ->> 'userAgent' AS useragent, j ->> 'errorCode' AS errorcode, j ->> 'errorMessage' AS errormessage,
  to_map(j -> 'requestParameters') AS requestparameters, to_map(j -> 'responseElements') AS responseelements, to_map(j -> 'additionalEventData') AS additionaleventdata,
  j ->> 'requestID' AS requestid, j ->> 'eventID' AS eventid, TRY_CAST(j ->> 'readOnly' AS BOOLEAN) AS readonly,
  list_transform(CAST(j -> 'resources' AS JSON[]), lambda r: struct_pack(accountid := json_extract_string(r, 'accountId'), type := json_extract_string(r, 'type'), arn := coalesce(json_extract_string(r, 'ARN'), json_extract_string(r, 'arn')), arnprefix := json_extract_string(r, 'ARNPrefix'))) AS resources,
  j ->> 'eventType' AS eventtype, j ->> 'apiVersion' AS apiversion, TRY_CAST(j ->> 'managementEvent' AS BOOLEAN) AS managementevent,
  j ->> 'recipientAccountId' AS recipientaccountid, j ->> 'sharedEventID' AS sharedeventid, j ->> 'annotation' AS annotation,
  j ->> 'vpcEndpointId' AS vpcendpointid, j ->> 'vpcEndpointAccountId' AS vpcendpointaccountid,
  to_map(j -> 'serviceEventDetails') AS serviceeventdetails, to_map(j -> 'addendum') AS addendum, to_map(j -> 'edgeDeviceDetails') AS edgedevicedetails,
  to_map(j -> 'insightDetails') AS insightdetails, j ->> 'eventCategory' AS eventcategory,
  CASE WHEN (j -> 'tlsDetails') IS NULL THEN NULL ELSE struct_pack(tlsversion := j -> 'tlsDetails' ->> 'tlsVersion', ciphersuite := j -> 'tlsDetails' ->> 'cipherSuite',
    clientprovidedhostheader := j -> 'tlsDetails' ->> 'clientProvidedHostHeader') END AS tlsdetails,
  j ->> 'sessionCredentialFromConsole' AS sessioncredentialfromconsole, CAST(j AS VARCHAR) AS eventjson, CAST(NULL AS VARCHAR) AS eventjsonchecksum
FROM (SELECT json AS j FROM read_json_objects(?, format = 'newline_delimited'))`;

before(async () => {
  ts = await startTestServer();
  ct = ts.client();
  const eds = await ct.send(
    new CreateEventDataStoreCommand({
      Name: 'samples',
      AdvancedEventSelectors: [
        { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
        { Name: 's3 objects', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::S3::Object'] }] },
      ],
      TerminationProtectionEnabled: false,
    }),
  );
  storeId = eds.EventDataStoreArn!.split('/').pop()!;
  const records = loadSamples();
  await ts.app.ingest.record(records);
  await ts.app.lake.writer.caughtUp();
  // From here the store takes no more events (the test's own calls are recorded too).
  const upTo = (await ts.app.eventLog.getReaderState(`lake:${storeId}`)).seq;
  await ct.send(new StopEventDataStoreIngestionCommand({ EventDataStore: eds.EventDataStoreArn }));
  // The reference: what the log holds up to there and the store's selectors keep, as JSON lines.
  const store = await ts.app.lake.stores.get(ACCOUNT, 'us-east-1', storeId);
  const kept: CloudTrailRecord[] = [];
  for (const e of await ts.app.eventLog.readFrom(0, 1_000_000)) {
    const r = JSON.parse(e.json.toString('utf8')) as CloudTrailRecord;
    if (e.seq <= upTo && storeKeeps(store, r, e.accountId)) kept.push(r);
  }
  const file = join(tmpdir(), `lake-ref-${process.pid}.ndjson`);
  writeFileSync(file, kept.map((r) => JSON.stringify(r)).join('\n'));
  // An integration store, fed through a channel with GitHub and Okta audit events like the samples read.
  const integ = await ct.send(new CreateEventDataStoreCommand({ Name: 'integrations', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] }], TerminationProtectionEnabled: false }));
  integrationId = integ.EventDataStoreArn!.split('/').pop()!;
  const channel = await ct.send(new CreateChannelCommand({ Name: 'saas', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: integ.EventDataStoreArn! }] }));
  const ev = (uid: string, source: string, name: string, time: string, principal: string, details: Record<string, string>, params: Record<string, string> = {}): string =>
    JSON.stringify({ version: '1.0', userIdentity: { type: 'User', principalId: principal, details }, eventSource: source, eventName: name, eventTime: time, UID: uid, requestParameters: params, recipientAccountId: ACCOUNT });
  const gh = (uid: string, name: string, who: string, params: Record<string, string> = {}): string => ev(uid, 'github.audit.streaming', name, '2022-09-10T12:00:00Z', who, { GitHubOrganization: 'acme', Repository: 'acme/web' }, params);
  const sent = [
    ...[1, 2, 3].map((i) => gh(`a${i}`, 'repo.access', 'carol', { visibility: 'public' })),
    gh('a4', 'repo.access', 'carol', { visibility: 'private' }),
    gh('i1', 'org.invite_member', 'dave', { user: 'erin' }),
    gh('i2', 'org.invite_member', 'dave', { user: 'frank' }),
    ...Array.from({ length: 12 }, (_, i) => gh(`c${i}`, 'git.clone', 'alice')),
    ...Array.from({ length: 3 }, (_, i) => gh(`d${i}`, 'git.clone', 'bob')),
    ev('o1', 'okta.system-log-events', 'user.session.start', '2023-01-31T10:00:00Z', 'u1', { alternateId: 'joe@example.com', displayName: 'Joe' }),
    ev('o2', 'okta.system-log-events', 'user.session.end', '2023-01-31T11:00:00Z', 'u1', { alternateId: 'joe@example.com', displayName: 'Joe' }),
    ev('o3', 'okta.system-log-events', 'user.session.start', '2022-09-08T22:23:00Z', 'u2', { alternateId: 'jane@example.com', displayName: 'Jane' }),
    ev('o4', 'okta.system-log-events', 'user.session.start', '2024-01-01T00:00:00Z', 'u3', { alternateId: 'x@example.com', displayName: 'X' }),
  ];
  const data = new SignedHttp({ endpoint: ts.app.url, region: 'us-east-1', service: 'cloudtrail-data', credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  const r = await data.post(`/PutAuditEvents?channelArn=${encodeURIComponent(channel.ChannelArn!)}`, JSON.stringify({ auditEvents: sent.map((eventData, i) => ({ id: `s${i}`, eventData })) }), { 'content-type': 'application/json' });
  assert.equal((JSON.parse(r.body.toString('utf8')) as { failed: unknown[] }).failed.length, 0);
  data.close();
  await ts.app.lake.writer.caughtUp();
  // An AWS Config item store, loaded by importing the history and snapshot files AWS Config delivers.
  const cfg = await ct.send(new CreateEventDataStoreCommand({ Name: 'config-items', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ConfigurationItem'] }] }], TerminationProtectionEnabled: false }));
  configId = cfg.EventDataStoreArn!.split('/').pop()!;
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'config-bucket' }));
  for (const f of CONFIG_SAMPLE_FILES) await s3.send(new PutObjectCommand({ Bucket: 'config-bucket', Key: f.key, Body: gzipSync(f.body) }));
  s3.destroy();
  const started = await startBucketImport(ct, cfg.EventDataStoreArn!, 'config-bucket', ACCOUNT);
  const imp = await importCompleted(ct, started.ImportId);
  assert.equal(imp.ImportStatus, 'COMPLETED');
  // The history and snapshot files are imported; the CloudTrail log file beside them is not a Config file and is left alone; the broken one is a failure.
  assert.deepEqual(imp.ImportStatistics, { PrefixesFound: 3, PrefixesCompleted: 3, FilesCompleted: 2, EventsCompleted: configItems().length, FailedEntries: 1 });
  const failures = (await ct.send(new ListImportFailuresCommand({ ImportId: started.ImportId }))).Failures!;
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.ErrorMessage!, /configuration item 0: the configuration item has no resourceId/);
  refDb = await DuckDBInstance.create(':memory:');
  ref = await refDb.connect();
  for (const m of TRINO_SETUP) await ref.run(m);
  await ref.run(REF_TABLE.replace('?', `'${file}'`));
  await ref.run(`CREATE VIEW "${storeId}" AS SELECT * FROM ref`);
});

after(async () => {
  ct.destroy();
  ref.closeSync();
  refDb.closeSync();
  await ts.close();
});

async function runQuery(sql: string): Promise<{ status: string; error?: string; rows: string[] }> {
  const q = await ct.send(new StartQueryCommand({ QueryStatement: sql }));
  for (;;) {
    const d = await ct.send(new DescribeQueryCommand({ QueryId: q.QueryId }));
    if (d.QueryStatus !== 'QUEUED' && d.QueryStatus !== 'RUNNING') {
      if (d.QueryStatus !== 'FINISHED') return { status: d.QueryStatus!, error: d.ErrorMessage, rows: [] };
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const rows: string[] = [];
  let token: string | undefined;
  do {
    const r = await ct.send(new GetQueryResultsCommand({ QueryId: q.QueryId, NextToken: token }));
    for (const row of r.QueryResultRows ?? []) rows.push(JSON.stringify(row));
    token = r.NextToken;
  } while (token);
  return { status: 'FINISHED', rows };
}

/** The reference result: the same statement (translated the same way) over the reference table. */
async function reference(sql: string): Promise<string[]> {
  const prepared = await prepareQuery(ref, sql, (n) => (n.toLowerCase() === storeId ? storeId : undefined));
  const reader = await ref.runAndReadAll(prepared.from((r) => `"${r.storeId}"`));
  const names = reader.columnNames();
  const types = reader.columnTypes();
  return reader.getRowsJson().map((r) =>
    JSON.stringify(r.map((v, i) => ({ [names[i]!]: queryResultValue(v, types[i]!) }))),
  );
}

const PLACEHOLDER = SAMPLE_STORE_PLACEHOLDER;

test('every Lake sample query runs, or is refused or fails as Lake would, with the reference result', { timeout: 300_000 }, async () => {
  const files = readdirSync(join(CONF, 'lake-queries')).filter((f) => f.endsWith('.sql')).sort();
  assert.ok(files.length >= 85);
  const report: string[] = [];
  const mismatches: string[] = [];
  let ran = 0;
  for (const f of files) {
    const text = readFileSync(join(CONF, 'lake-queries', f), 'utf8');
    // Integration samples name the integration store (and, in okta-2, a CloudTrail store second).
    const sql = INTEGRATION[f]
      ? text.replace(PLACEHOLDER, (m) => (m.startsWith('181660c8') ? storeId : integrationId))
      : text.replace(PLACEHOLDER, CONFIG_STORES.test(f) ? configId : storeId);
    let got: { status: string; error?: string; rows: string[] };
    try {
      got = await runQuery(sql);
    } catch (e) {
      got = { status: `refused: ${(e as Error).name}`, error: (e as Error).message, rows: [] };
    }
    const known = KNOWN[f];
    if (known) {
      const expected = known.outcome === 'refused' ? 'refused: InvalidQueryStatementException' : 'FAILED';
      assert.equal(got.status, expected, `${f} (${known.why}): ${got.error}`);
      report.push(`${known.outcome.padEnd(8)} ${f}: ${known.why}`);
      continue;
    }
    if (CONFIG_STORES.test(f)) {
      // The reference: the rows computed in TypeScript from the configuration items imported.
      assert.equal(got.status, 'FINISHED', `${f}: ${got.error}`);
      const lower = (row: string): string => {
        const cells = Object.assign({}, ...(JSON.parse(row) as Record<string, string | null>[])) as Record<string, string | null>;
        return JSON.stringify(Object.fromEntries(Object.entries(cells).map(([k, v]) => [k.toLowerCase(), v ?? null]).sort(([a], [b]) => a!.localeCompare(b!))));
      };
      const want = configSampleRows(f).map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))));
      assert.ok(want.length > 0, f);
      assert.deepEqual(got.rows.map(lower).sort(), want.sort(), f);
      ran++;
      report.push(`ran      ${f}: ${got.rows.length} rows (AWS Config item store)`);
      continue;
    }
    const integration = INTEGRATION[f];
    if (integration) {
      assert.equal(got.status, 'FINISHED', `${f}: ${got.error}`);
      assert.equal(got.rows.length, integration.rows, `${f}: ${got.rows.join('\n')}`);
      const first = Object.assign({}, ...(JSON.parse([...got.rows].sort()[0]!) as Record<string, string>[])) as Record<string, string>;
      for (const [k, v] of Object.entries(integration.first ?? {})) assert.equal(first[k], v, `${f}: ${k} in ${JSON.stringify(first)}`);
      ran++;
      report.push(`ran      ${f}: ${got.rows.length} rows (integration store)`);
      continue;
    }
    assert.equal(got.status, 'FINISHED', `${f}: ${got.error}`);
    ran++;
    const want = await reference(sql);
    const a = [...got.rows].sort();
    const b = [...want].sort();
    // ORDER BY … LIMIT with ties may keep different rows; anything else must be identical.
    if (JSON.stringify(a) !== JSON.stringify(b) && !(a.length === b.length && /\blimit\b/i.test(sql))) {
      const i = a.findIndex((x, k) => x !== b[k]);
      const cells = (row: string | undefined): Record<string, unknown>[] => (row ? (JSON.parse(row) as Record<string, unknown>[]) : []);
      const diff = cells(a[i]).map((c, k) => [c, cells(b[i])[k]]).filter(([x, y]) => JSON.stringify(x) !== JSON.stringify(y));
      mismatches.push(`${f}: got ${a.length} rows, reference ${b.length}; first difference: ${JSON.stringify(diff).slice(0, 600)}`);
    }
    report.push(`ran      ${f}: ${got.rows.length} rows`);
  }
  process.stdout.write(`# Lake samples: ${ran} ran and matched the reference; the rest:\n${report.filter((l) => !l.startsWith('ran')).map((l) => `#   ${l}`).join('\n')}\n`);
  assert.deepEqual(mismatches, []);
  assert.ok(ran >= 60, `only ${ran} samples ran`);
});
