/** `opentrail trails tail`: follow a trail's delivered records as they land in its bucket. */
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { CloudTrailClient, GetTrailCommand } from '@aws-sdk/client-cloudtrail';
import { S3ObjectStore } from '../storage/s3/object-store.js';
import { listAllObjects } from '../storage/object-store.js';
import { awsTargets } from './aws-targets.js';

interface Flags {
  trail: string;
  endpointUrl?: string;
  region?: string;
  fromStart?: boolean;
  interval: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');
const dayPath = (d: Date): string => `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/`;

export function registerTrailsTail(program: Command): void {
  const trails = program.command('trails').description('work with trails');
  trails
    .command('tail')
    .description('print the records a trail delivers, one JSON line each, as its log files land')
    .requiredOption('--trail <name-or-arn>', 'the trail')
    .option('--endpoint-url <url>', 'opentrail (or CloudTrail) endpoint; S3 reads go there too unless AWS_ENDPOINT_URL_S3 is set')
    .option('--region <region>', 'region of the API calls (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)')
    .option('--from-start', "print today's files already delivered too")
    .option('--interval <seconds>', 'how often to look for new files', '1')
    .action(async (f: Flags) => {
      const { region, endpoint, s3Endpoint } = awsTargets(f);
      const ct = new CloudTrailClient({ region, ...(endpoint ? { endpoint } : {}) });
      const store = new S3ObjectStore({ endpoint: s3Endpoint, region, forcePathStyle: Boolean(s3Endpoint), ownerAccountId: '' });
      const trail = (await ct.send(new GetTrailCommand({ Name: f.trail }))).Trail;
      if (!trail?.S3BucketName || !trail.TrailARN) throw new Error(`Trail ${f.trail} has no bucket`);
      const account = trail.TrailARN.split(':')[4]!;
      const bucket = trail.S3BucketName;
      const base = `${trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ''}AWSLogs/${account}/CloudTrail/`;
      const seen = new Set<string>();
      // Today's (and, just after midnight, yesterday's) folder of every region.
      const current = async (): Promise<string[]> => {
        const regions = (await listAllObjects(store, bucket, { prefix: base, delimiter: '/' })).commonPrefixes;
        const now = new Date();
        const days = [dayPath(now), dayPath(new Date(now.getTime() - 10 * 60_000))];
        const keys: string[] = [];
        for (const r of regions) for (const d of new Set(days)) keys.push(...(await listAllObjects(store, bucket, { prefix: `${r}${d}` })).objects.map((o) => o.key));
        return keys.filter((k) => k.endsWith('.json.gz')).sort();
      };
      if (!f.fromStart) for (const k of await current()) seen.add(k);
      let stopping = false;
      const stop = (): void => {
        stopping = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stderr.write(`following s3://${bucket}/${base} (Ctrl-C to stop)\n`);
      while (!stopping) {
        for (const key of await current()) {
          if (seen.has(key)) continue;
          seen.add(key);
          const o = await store.getObject(bucket, key);
          if (!o) continue; // removed since it was listed
          const records = (JSON.parse(gunzipSync(o.body).toString('utf8')) as { Records: unknown[] }).Records;
          for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
        }
        await new Promise((r) => setTimeout(r, Number(f.interval) * 1000));
      }
      await store.close();
    });
}
