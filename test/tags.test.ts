/** AddTags, RemoveTags and ListTags on trails, event data stores and channels: AWS's rules and errors for each. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AddTagsCommand, CreateChannelCommand, CreateEventDataStoreCommand, CreateTrailCommand, ListTagsCommand, RemoveTagsCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ACCOUNT, KEY, SECRET, expectAwsError, startTestServer, type TestServer } from './helpers.js';

let ts: TestServer;
let ct: CloudTrailClient;
let trailArn: string;
let storeArn: string;
let channelArn: string;

before(async () => {
  ts = await startTestServer();
  ct = ts.client();
  const s3 = new S3Client({ endpoint: ts.app.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: 'tag-logs' }));
  trailArn = (await ct.send(new CreateTrailCommand({ Name: 'tagged', S3BucketName: 'tag-logs' }))).TrailARN!;
  storeArn = (await ct.send(new CreateEventDataStoreCommand({ Name: 'tagged-store', TagsList: [{ Key: 'team', Value: 'sec' }] }))).EventDataStoreArn!;
  const integrations = (await ct.send(new CreateEventDataStoreCommand({ Name: 'integrations', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['ActivityAuditLog'] }] }] }))).EventDataStoreArn!;
  channelArn = (await ct.send(new CreateChannelCommand({ Name: 'tagged-channel', Source: 'Custom', Destinations: [{ Type: 'EVENT_DATA_STORE', Location: integrations }], Tags: [{ Key: 'src', Value: 'github' }] }))).ChannelArn!;
});
after(async () => {
  await ts.close();
});

const tagsOf = async (arn: string): Promise<Record<string, string | undefined>> =>
  Object.fromEntries(((await ct.send(new ListTagsCommand({ ResourceIdList: [arn] }))).ResourceTagList![0]!.TagsList ?? []).map((t) => [t.Key!, t.Value]));

test('tags on an event data store and a channel: the ones given at creation, then added and removed', async () => {
  assert.deepEqual(await tagsOf(storeArn), { team: 'sec' });
  assert.deepEqual(await tagsOf(channelArn), { src: 'github' });
  await ct.send(new AddTagsCommand({ ResourceId: storeArn, TagsList: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'platform' }] }));
  assert.deepEqual(await tagsOf(storeArn), { team: 'platform', env: 'prod' });
  await ct.send(new RemoveTagsCommand({ ResourceId: storeArn, TagsList: [{ Key: 'team' }] }));
  assert.deepEqual(await tagsOf(storeArn), { env: 'prod' });
  await ct.send(new AddTagsCommand({ ResourceId: channelArn, TagsList: [{ Key: 'owner', Value: 'ana' }] }));
  assert.deepEqual(await tagsOf(channelArn), { src: 'github', owner: 'ana' });
  await ct.send(new AddTagsCommand({ ResourceId: trailArn, TagsList: [{ Key: 'k', Value: 'v' }] }));
  const all = await ct.send(new ListTagsCommand({ ResourceIdList: [trailArn, storeArn, channelArn] }));
  assert.deepEqual(all.ResourceTagList!.map((r) => r.ResourceId), [trailArn, storeArn, channelArn]);
});

test("each kind's errors: unknown resources, bad ARNs, too many tags, bad keys", async () => {
  const missingStore = storeArn.replace(/eventdatastore\/.+$/, 'eventdatastore/00000000-0000-4000-8000-000000000000');
  await expectAwsError(ct.send(new AddTagsCommand({ ResourceId: missingStore, TagsList: [{ Key: 'a' }] })), 'EventDataStoreNotFoundException');
  await expectAwsError(ct.send(new ListTagsCommand({ ResourceIdList: [channelArn.replace(/channel\/.+$/, 'channel/00000000-0000-4000-8000-000000000000')] })), 'ChannelNotFoundException');
  await expectAwsError(ct.send(new AddTagsCommand({ ResourceId: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/none`, TagsList: [{ Key: 'a' }] })), 'ResourceNotFoundException');
  await expectAwsError(ct.send(new AddTagsCommand({ ResourceId: `arn:aws:s3:::tag-logs`, TagsList: [{ Key: 'a' }] })), 'CloudTrailARNInvalidException');
  await expectAwsError(ct.send(new AddTagsCommand({ ResourceId: storeArn, TagsList: [{ Key: 'aws:reserved', Value: 'x' }] })), 'InvalidTagParameterException');
  const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
  await expectAwsError(ct.send(new AddTagsCommand({ ResourceId: channelArn, TagsList: many })), 'TagsLimitExceededException');
  assert.deepEqual(await tagsOf(channelArn), { src: 'github', owner: 'ana' }, 'a refused AddTags changes nothing');
});
