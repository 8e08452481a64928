/** The trail API through @aws-sdk/client-cloudtrail: every operation and error. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTagsCommand,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail';
import { S3Client, CreateBucketCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { ACCOUNT, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
const arn = (name: string, region = 'us-east-1') => `arn:aws:cloudtrail:${region}:${ACCOUNT}:trail/${name}`;

function s3(t: TestServer, creds?: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({
    endpoint: t.app.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds ?? { accessKeyId: t.app.credentials.accessKeyId, secretAccessKey: t.app.credentials.secretAccessKey },
  });
}

export function cloudTrailPolicy(bucket: string, account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AWSCloudTrailAclCheck', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: `arn:aws:s3:::${bucket}` },
      {
        Sid: 'AWSCloudTrailWrite',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/AWSLogs/${account}/*`,
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
      },
    ],
  });
}

before(async () => {
  ts = await startTestServer();
  const s = s3(ts);
  await s.send(new CreateBucketCommand({ Bucket: 'audit-logs' }));
  await s.send(new CreateBucketCommand({ Bucket: 'locked-bucket' }));
  await s.send(new PutBucketPolicyCommand({ Bucket: 'locked-bucket', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::locked-bucket/*' }] }) }));
  await s.send(new CreateBucketCommand({ Bucket: 'granted-bucket' }));
  await s.send(new PutBucketPolicyCommand({ Bucket: 'granted-bucket', Policy: cloudTrailPolicy('granted-bucket', ACCOUNT) }));
});
after(async () => {
  await ts.close();
});

test('CreateTrail returns AWS fields; GetTrail, DescribeTrails and ListTrails show it', async () => {
  const c = ts.client();
  const out = await c.send(new CreateTrailCommand({ Name: 'main', S3BucketName: 'audit-logs', IsMultiRegionTrail: true, TagsList: [{ Key: 'team', Value: 'sec' }] }));
  assert.equal(out.Name, 'main');
  assert.equal(out.TrailARN, arn('main'));
  assert.equal(out.S3BucketName, 'audit-logs');
  assert.equal(out.IsMultiRegionTrail, true);
  assert.equal(out.IncludeGlobalServiceEvents, true);
  assert.equal(out.LogFileValidationEnabled, false);
  assert.equal(out.IsOrganizationTrail, false);
  const got = await c.send(new GetTrailCommand({ Name: 'main' }));
  assert.equal(got.Trail?.HomeRegion, 'us-east-1');
  assert.equal(got.Trail?.HasCustomEventSelectors, false);
  assert.equal(got.Trail?.HasInsightSelectors, false);
  const byArn = await c.send(new GetTrailCommand({ Name: arn('main') }));
  assert.equal(byArn.Trail?.Name, 'main');
  const d = await c.send(new DescribeTrailsCommand({}));
  assert.deepEqual(d.trailList?.map((t) => t.Name), ['main']);
  const l = await c.send(new ListTrailsCommand({}));
  assert.deepEqual(l.Trails, [{ TrailARN: arn('main'), Name: 'main', HomeRegion: 'us-east-1' }]);
  const tags = await c.send(new ListTagsCommand({ ResourceIdList: [arn('main')] }));
  assert.deepEqual(tags.ResourceTagList, [{ ResourceId: arn('main'), TagsList: [{ Key: 'team', Value: 'sec' }] }]);
});

test('multi-region trails show as shadow trails elsewhere; single-region ones do not', async () => {
  const west = ts.client({ region: 'eu-west-1' });
  await west.send(new CreateTrailCommand({ Name: 'west-only', S3BucketName: 'audit-logs' }));
  const d = await west.send(new DescribeTrailsCommand({}));
  assert.deepEqual(d.trailList?.map((t) => `${t.Name}@${t.HomeRegion}`).sort(), ['main@us-east-1', 'west-only@eu-west-1']);
  const noShadow = await west.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
  assert.deepEqual(noShadow.trailList?.map((t) => t.Name), ['west-only']);
  const east = ts.client();
  const eastList = await east.send(new DescribeTrailsCommand({}));
  assert.deepEqual(eastList.trailList?.map((t) => t.Name), ['main']);
  await expectAwsError(east.send(new GetTrailCommand({ Name: 'west-only' })), 'TrailNotFoundException');
  const shadow = await west.send(new GetTrailCommand({ Name: 'main' }));
  assert.equal(shadow.Trail?.HomeRegion, 'us-east-1');
  await expectAwsError(west.send(new UpdateTrailCommand({ Name: 'main', S3KeyPrefix: 'x' })), 'InvalidHomeRegionException');
  await expectAwsError(west.send(new StartLoggingCommand({ Name: 'main' })), 'InvalidHomeRegionException');
  await expectAwsError(west.send(new DeleteTrailCommand({ Name: 'main' })), 'InvalidHomeRegionException');
  const st = await west.send(new GetTrailStatusCommand({ Name: arn('main') }));
  assert.equal(st.IsLogging, false);
  const desc = await west.send(new DescribeTrailsCommand({ trailNameList: [arn('main'), 'nope-trail'] }));
  assert.deepEqual(desc.trailList?.map((t) => t.Name), ['main']);
  await west.send(new DeleteTrailCommand({ Name: 'west-only' }));
});

test('name rules, duplicates, bucket checks and the per-region limit', async () => {
  const c = ts.client({ region: 'ap-northeast-1' });
  for (const bad of ['ab', 'a'.repeat(129), '-abc', 'abc-', 'a--b', 'a._b', 'my trail', '10.0.0.1']) {
    await expectAwsError(c.send(new CreateTrailCommand({ Name: bad, S3BucketName: 'audit-logs' })), 'InvalidTrailNameException');
  }
  await expectAwsError(c.send(new GetTrailCommand({ Name: 'arn:aws:cloudtrail:nope' })), 'CloudTrailARNInvalidException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'main', S3BucketName: 'audit-logs' })), 'TrailAlreadyExistsException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'nobucket', S3BucketName: 'no-such-bucket-here' })), 'S3BucketDoesNotExistException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'locked', S3BucketName: 'locked-bucket' })), 'InsufficientS3BucketPolicyException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'badbucket', S3BucketName: 'Bad_Bucket' })), 'InvalidS3BucketNameException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'gsefalse', S3BucketName: 'audit-logs', IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false })), 'InvalidParameterCombinationException');
  const granted = await c.send(new CreateTrailCommand({ Name: 'granted', S3BucketName: 'granted-bucket' }));
  assert.equal(granted.S3BucketName, 'granted-bucket');
  // 'main' (multi-region) + 'granted' = 2 in this region; three more fit, the sixth does not.
  for (const n of ['tr3', 'tr4', 'tr5']) await c.send(new CreateTrailCommand({ Name: n, S3BucketName: 'audit-logs' }));
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'tr6', S3BucketName: 'audit-logs' })), 'MaximumNumberOfTrailsExceededException');
  for (const n of ['granted', 'tr3', 'tr4', 'tr5']) await c.send(new DeleteTrailCommand({ Name: n }));
  await expectAwsError(c.send(new DeleteTrailCommand({ Name: 'tr5' })), 'TrailNotFoundException');
});

test('another account cannot see or touch the trail, nor use its bucket', async () => {
  const other = await ts.app.accounts.createAccount('999988887777', 'other');
  const key = await ts.app.accounts.createAccessKey(other.accountId, 'root');
  const c = ts.client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  assert.deepEqual((await c.send(new DescribeTrailsCommand({}))).trailList, []);
  await expectAwsError(c.send(new GetTrailCommand({ Name: 'main' })), 'TrailNotFoundException');
  await expectAwsError(c.send(new GetTrailCommand({ Name: arn('main') })), 'TrailNotFoundException');
  await expectAwsError(c.send(new CreateTrailCommand({ Name: 'theirs', S3BucketName: 'audit-logs' })), 'InsufficientS3BucketPolicyException');
});

test('UpdateTrail changes settings; multi-region switches global service events', async () => {
  const c = ts.client();
  await c.send(new CreateTrailCommand({ Name: 'single', S3BucketName: 'audit-logs', IncludeGlobalServiceEvents: false }));
  const u = await c.send(new UpdateTrailCommand({ Name: 'single', S3KeyPrefix: 'pre', EnableLogFileValidation: true, SnsTopicName: 'topic1' }));
  assert.equal(u.S3KeyPrefix, 'pre');
  assert.equal(u.LogFileValidationEnabled, true);
  assert.equal(u.SnsTopicARN, `arn:aws:sns:us-east-1:${ACCOUNT}:topic1`);
  assert.equal(u.IncludeGlobalServiceEvents, false);
  const m = await c.send(new UpdateTrailCommand({ Name: 'single', IsMultiRegionTrail: true }));
  assert.equal(m.IsMultiRegionTrail, true);
  assert.equal(m.IncludeGlobalServiceEvents, true);
  await expectAwsError(c.send(new UpdateTrailCommand({ Name: 'single', S3BucketName: 'no-such-bucket-here' })), 'S3BucketDoesNotExistException');
  await expectAwsError(c.send(new UpdateTrailCommand({ Name: 'nosuch', S3KeyPrefix: 'x' })), 'TrailNotFoundException');
  await c.send(new DeleteTrailCommand({ Name: 'single' }));
});

test('StartLogging / StopLogging / GetTrailStatus', async () => {
  const c = ts.client();
  await c.send(new StartLoggingCommand({ Name: 'main' }));
  const on = await c.send(new GetTrailStatusCommand({ Name: 'main' }));
  assert.equal(on.IsLogging, true);
  assert.ok(on.StartLoggingTime instanceof Date);
  assert.match(on.TimeLoggingStarted ?? '', /^\d{4}-\d\d-\d\dT/);
  await c.send(new StopLoggingCommand({ Name: 'main' }));
  const off = await c.send(new GetTrailStatusCommand({ Name: 'main' }));
  assert.equal(off.IsLogging, false);
  assert.ok(off.StopLoggingTime instanceof Date);
  await expectAwsError(c.send(new GetTrailStatusCommand({ Name: 'ghost' })), 'TrailNotFoundException');
});

test('event selectors: basic and advanced, with validation', async () => {
  const c = ts.client();
  const def = await c.send(new GetEventSelectorsCommand({ TrailName: 'main' }));
  assert.deepEqual(def.EventSelectors, [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }]);
  const put = await c.send(
    new PutEventSelectorsCommand({
      TrailName: 'main',
      EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3:::audit-logs/'] }] }],
    }),
  );
  assert.equal(put.TrailARN, arn('main'));
  assert.equal(put.EventSelectors?.[0]?.ReadWriteType, 'WriteOnly');
  assert.equal((await c.send(new GetTrailCommand({ Name: 'main' }))).Trail?.HasCustomEventSelectors, true);
  const adv = [
    { Name: 'mgmt', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] },
    { Name: 's3', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }, { Field: 'resources.type', Equals: ['AWS::S3::Object'] }, { Field: 'resources.ARN', StartsWith: ['arn:aws:s3:::audit-logs/'] }] },
  ];
  const a = await c.send(new PutEventSelectorsCommand({ TrailName: 'main', AdvancedEventSelectors: adv }));
  assert.deepEqual(a.AdvancedEventSelectors, adv);
  assert.equal(a.EventSelectors, undefined);
  const got = await c.send(new GetEventSelectorsCommand({ TrailName: arn('main') }));
  assert.deepEqual(got.AdvancedEventSelectors, adv);
  const invalid: unknown[] = [
    { EventSelectors: [{ ReadWriteType: 'All' }], AdvancedEventSelectors: adv },
    { EventSelectors: Array.from({ length: 6 }, () => ({ ReadWriteType: 'All' })) },
    { EventSelectors: [{ DataResources: [{ Type: 'AWS::EC2::Instance', Values: ['arn:aws:ec2'] }] }] },
    { EventSelectors: [{ ExcludeManagementEventSources: ['s3.amazonaws.com'] }] },
    { AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'readOnly', Equals: ['true'] }] }] },
    { AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }] }] },
    { AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', StartsWith: ['Man'] }] }] },
    { AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['maybe'] }] }] },
  ];
  for (const inv of invalid) {
    await expectAwsError(c.send(new PutEventSelectorsCommand({ TrailName: 'main', ...(inv as object) })), 'InvalidEventSelectorsException');
  }
  await c.send(new PutEventSelectorsCommand({ TrailName: 'main', EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }] }));
});

test('insight selectors are stored and validated', async () => {
  const c = ts.client();
  await expectAwsError(c.send(new GetInsightSelectorsCommand({ TrailName: 'main' })), 'InsightNotEnabledException');
  const put = await c.send(new PutInsightSelectorsCommand({ TrailName: 'main', InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight' }] }));
  assert.deepEqual(put.InsightSelectors, [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight' }]);
  const got = await c.send(new GetInsightSelectorsCommand({ TrailName: 'main' }));
  assert.equal(got.TrailARN, arn('main'));
  assert.equal((await c.send(new GetTrailCommand({ Name: 'main' }))).Trail?.HasInsightSelectors, true);
  await expectAwsError(c.send(new PutInsightSelectorsCommand({ TrailName: 'main', InsightSelectors: [{ InsightType: 'Bogus' as 'ApiCallRateInsight' }] })), 'InvalidInsightSelectorsException');
  await c.send(new PutInsightSelectorsCommand({ TrailName: 'main', InsightSelectors: [] }));
  await expectAwsError(c.send(new GetInsightSelectorsCommand({ TrailName: 'main' })), 'InsightNotEnabledException');
});

test('tags: add, overwrite, remove, limits and errors', async () => {
  const c = ts.client();
  await c.send(new AddTagsCommand({ ResourceId: arn('main'), TagsList: [{ Key: 'team', Value: 'platform' }, { Key: 'env', Value: 'prod' }] }));
  let tags = await c.send(new ListTagsCommand({ ResourceIdList: [arn('main')] }));
  assert.deepEqual(tags.ResourceTagList?.[0]?.TagsList, [{ Key: 'team', Value: 'platform' }, { Key: 'env', Value: 'prod' }]);
  await c.send(new RemoveTagsCommand({ ResourceId: arn('main'), TagsList: [{ Key: 'team' }] }));
  tags = await c.send(new ListTagsCommand({ ResourceIdList: [arn('main')] }));
  assert.deepEqual(tags.ResourceTagList?.[0]?.TagsList, [{ Key: 'env', Value: 'prod' }]);
  await expectAwsError(c.send(new AddTagsCommand({ ResourceId: arn('main'), TagsList: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })), 'TagsLimitExceededException');
  await expectAwsError(c.send(new AddTagsCommand({ ResourceId: arn('main'), TagsList: [{ Key: 'aws:reserved', Value: 'x' }] })), 'InvalidTagParameterException');
  await expectAwsError(c.send(new AddTagsCommand({ ResourceId: arn('ghost'), TagsList: [{ Key: 'a', Value: 'b' }] })), 'ResourceNotFoundException');
  await expectAwsError(c.send(new AddTagsCommand({ ResourceId: 'not-an-arn', TagsList: [{ Key: 'a', Value: 'b' }] })), 'CloudTrailARNInvalidException');
});

test('trail calls are recorded with the trail as a resource', async () => {
  const r = await ts.client().send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: arn('main') }], MaxResults: 50 }));
  const names = new Set(r.Events!.map((e) => e.EventName));
  for (const n of ['CreateTrail', 'StartLogging', 'StopLogging', 'PutEventSelectors', 'AddTags']) assert.ok(names.has(n), `${n} recorded`);
  const create = r.Events!.find((e) => e.EventName === 'CreateTrail')!;
  assert.deepEqual(create.Resources, [{ ResourceType: 'AWS::CloudTrail::Trail', ResourceName: arn('main') }]);
  const rec = JSON.parse(create.CloudTrailEvent!) as { requestParameters: Record<string, unknown>; responseElements: Record<string, unknown> };
  assert.equal(rec.requestParameters.name, 'main');
  assert.equal(rec.requestParameters.s3BucketName, 'audit-logs');
  assert.equal(rec.responseElements.trailARN, arn('main'));
});
