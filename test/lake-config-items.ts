/**
 * AWS Config configuration items for the Lake conformance test: the files AWS Config delivers to
 * S3 (a history file and a snapshot), and the rows AWS's ssm-patch-compliance samples must give
 * over them, computed here in TypeScript from the items themselves.
 */
import { ACCOUNT } from './helpers.js';

type Patch = Record<string, { PatchState: string; Id: string }>;
interface Item {
  resourceType: string;
  resourceId: string;
  awsRegion: string;
  configurationItemCaptureTime: string;
  patches?: Patch;
}

const INVENTORY = 'AWS::SSM::ManagedInstanceInventory/';
/** The instance id the `selected-ec2-instance` samples filter on, as published (they are run unmodified). */
const PUBLISHED_INSTANCE = '<instance id such as i-123456789012>';

const patches = (...list: [string, string][]): Patch => Object.fromEntries(list.map(([id, state]) => [id, { PatchState: state, Id: id }]));
const compliance = (instance: string, time: string, p?: Patch, region = 'us-east-1'): Item => ({
  resourceType: 'AWS::SSM::PatchCompliance',
  resourceId: `${INVENTORY}${instance}`,
  awsRegion: region,
  configurationItemCaptureTime: time,
  ...(p ? { patches: p } : {}),
});

const HISTORY: Item[] = [
  compliance('i-0aaa', '2023-06-22T08:00:00.000Z', patches(['KB1', 'Installed'], ['KB2', 'Missing'])),
  compliance('i-0aaa', '2023-06-24T10:00:00.000Z', patches(['KB1', 'Installed'], ['KB2', 'Installed'], ['KB3', 'InstalledPendingReboot'])),
  compliance('i-0bbb', '2023-06-25T11:00:00.000Z', patches(['KB4', 'Failed'], ['KB5', 'InstalledOther'], ['KB6', 'Missing']), 'eu-west-1'),
  compliance(PUBLISHED_INSTANCE, '2023-06-24T00:00:01.000Z', patches(['KB9', 'Missing'])),
  compliance(PUBLISHED_INSTANCE, '2023-06-26T09:30:00.000Z', patches(['KB9', 'Installed'])),
  // Compliance without patch content: PatchResult is null.
  compliance('i-0ccc', '2023-06-24T05:00:00.000Z'),
];
const SNAPSHOT: Item[] = [
  compliance('i-0bbb', '2023-06-25T13:00:00.000Z', patches(['KB4', 'Installed'], ['KB5', 'InstalledOther'], ['KB6', 'Installed']), 'eu-west-1'),
  { resourceType: 'AWS::EC2::Instance', resourceId: 'i-0aaa', awsRegion: 'us-east-1', configurationItemCaptureTime: '2023-06-24T10:00:00.000Z' },
];

/** An item as AWS Config writes it into its history and snapshot files. */
function delivered(x: Item, n: number): Record<string, unknown> {
  const configuration: Record<string, unknown> = x.patches
    ? { 'AWS:ComplianceItem': { SchemaVersion: '1.0', ComplianceType: 'Patch', Content: { Patch: x.patches } } }
    : x.resourceType === 'AWS::EC2::Instance'
      ? { instanceId: x.resourceId, instanceType: 't3.micro', state: { code: 16, name: 'running' } }
      : { 'AWS:ComplianceItem': { SchemaVersion: '1.0', ComplianceType: 'Patch', Content: {} } };
  return {
    relatedEvents: [],
    relationships: x.resourceType === 'AWS::EC2::Instance' ? [{ resourceId: 'vol-0abc', resourceType: 'AWS::EC2::Volume', name: 'Is attached to Volume' }] : [],
    configuration,
    supplementaryConfiguration: {},
    tags: x.resourceType === 'AWS::EC2::Instance' ? { Name: 'web' } : {},
    configurationItemVersion: '1.3',
    configurationItemCaptureTime: x.configurationItemCaptureTime,
    configurationStateId: 1687000000000 + n,
    awsAccountId: ACCOUNT,
    configurationItemStatus: 'OK',
    resourceType: x.resourceType,
    resourceId: x.resourceId,
    ARN: `arn:aws:ssm:${x.awsRegion}:${ACCOUNT}:managed-instance-inventory/${x.resourceId}`,
    awsRegion: x.awsRegion,
    availabilityZone: 'Not Applicable',
    configurationStateMd5Hash: '',
  };
}

const base = `AWSLogs/${ACCOUNT}/Config/us-east-1/2023/6`;
/** What is put into the bucket: two Config files, one broken, and a CloudTrail log file a Config import leaves alone. */
export const CONFIG_SAMPLE_FILES: { key: string; body: string }[] = [
  {
    key: `${base}/24/ConfigHistory/${ACCOUNT}_Config_us-east-1_ConfigHistory_AWS::SSM::PatchCompliance_20230622T080000Z_20230626T093000Z_1.json.gz`,
    body: JSON.stringify({ fileVersion: '1.0', configurationItems: HISTORY.map(delivered) }),
  },
  {
    key: `${base}/25/ConfigSnapshot/${ACCOUNT}_Config_us-east-1_ConfigSnapshot_20230625T130000Z_5f0c1d2e-0000-4000-8000-000000000001.json.gz`,
    body: JSON.stringify({ fileVersion: '1.0', configSnapshotId: '5f0c1d2e-0000-4000-8000-000000000001', configurationItems: SNAPSHOT.map((x, i) => delivered(x, 100 + i)) }),
  },
  {
    key: `${base}/26/ConfigHistory/${ACCOUNT}_Config_us-east-1_ConfigHistory_AWS::EC2::Instance_20230626T000000Z_20230626T010000Z_1.json.gz`,
    body: JSON.stringify({ fileVersion: '1.0', configurationItems: [{ ...delivered(SNAPSHOT[1]!, 200), resourceId: undefined }] }),
  },
  { key: `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2023/06/24/${ACCOUNT}_CloudTrail_us-east-1_20230624T1000Z_x.json.gz`, body: JSON.stringify({ Records: [] }) },
];

/** Every item imported (the broken file's item is not). */
export const configItems = (): Item[] => [...HISTORY, ...SNAPSHOT];

/** Lake's timestamp text. */
const lakeTime = (iso: string): string => iso.replace('T', ' ').replace('Z', '');
/** An array of JSON values as Lake shows it. */
const jsonArray = (ids: string[]): string => `[${ids.map((id) => JSON.stringify(id)).join(', ')}]`;

function row(x: Item): Record<string, string | null> {
  const by = (state: string): string | null => (x.patches ? jsonArray(Object.values(x.patches).filter((p) => p.PatchState === state).map((p) => p.Id)) : null);
  return {
    accountid: ACCOUNT,
    awsregion: x.awsRegion,
    eventtime: lakeTime(x.configurationItemCaptureTime),
    failed: by('Failed'),
    installed: by('Installed'),
    installedother: by('InstalledOther'),
    installedpendingreboot: by('InstalledPendingReboot'),
    instanceid: x.resourceId.slice(INVENTORY.length),
    missing: by('Missing'),
  };
}

/** The rows each ssm-patch-compliance sample must give (column names lower-cased). */
export function configSampleRows(sample: string): Record<string, string | null>[] {
  const compliance = configItems().filter((x) => x.resourceType === 'AWS::SSM::PatchCompliance');
  const t = (x: Item): number => Date.parse(x.configurationItemCaptureTime);
  const inRange = (x: Item): boolean => t(x) > Date.parse('2023-06-23T00:00:00Z') && t(x) < Date.parse('2023-06-25T12:00:00Z');
  const published = (x: Item): boolean => x.resourceId === `${INVENTORY}${PUBLISHED_INSTANCE}`;
  const withPatches = compliance.filter((x) => x.patches);
  if (sample.includes('distinct-ec2-instance-latest')) {
    // rank() = 1 per instance, newest first (ties would all rank 1).
    return compliance.filter((x) => !compliance.some((y) => y.resourceId === x.resourceId && t(y) > t(x))).map(row);
  }
  if (sample.includes('selected-ec2-instance-time-range')) return withPatches.filter((x) => published(x) && inRange(x)).map(row);
  if (sample.includes('selected-ec2-instance')) return withPatches.filter(published).map(row);
  if (sample.includes('all-ec2-instances-time-range')) return withPatches.filter(inRange).map(row);
  if (sample.includes('all-ec2-instances')) return withPatches.map(row);
  throw new Error(`no reference for ${sample}`);
}
