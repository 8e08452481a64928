/** `opentrail trails tail`: follow a trail's delivered records as they land in its bucket. */
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { CloudTrailClient, GetTrailCommand } from '@aws-sdk/client-cloudtrail';
import { S3Client, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

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
      const region = f.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
      const endpoint = f.endpointUrl ?? process.env.AWS_ENDPOINT_URL_CLOUDTRAIL ?? process.env.AWS_ENDPOINT_URL;
      const s3Endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? endpoint;
      const ct = new CloudTrailClient({ region, ...(endpoint ? { endpoint } : {}) });
      const s3 = new S3Client({ region, ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}) });
      const trail = (await ct.send(new GetTrailCommand({ Name: f.trail }))).Trail;
      if (!trail?.S3BucketName || !trail.TrailARN) throw new Error(`Trail ${f.trail} has no bucket`);
      const account = trail.TrailARN.split(':')[4]!;
      const bucket = trail.S3BucketName;
      const base = `${trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ''}AWSLogs/${account}/CloudTrail/`;
      const seen = new Set<string>();
      const list = async (prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> => {
        const keys: string[] = [];
        const prefixes: string[] = [];
        let token: string | undefined;
        do {
          const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
          for (const o of r.Contents ?? []) keys.push(o.Key!);
          for (const p of r.CommonPrefixes ?? []) prefixes.push(p.Prefix!);
          token = r.NextContinuationToken;
        } while (token);
        return { keys, prefixes };
      };
      // Today's (and, just after midnight, yesterday's) folder of every region.
      const current = async (): Promise<string[]> => {
        const regions = (await list(base, '/')).prefixes;
        const now = new Date();
        const days = [dayPath(now), dayPath(new Date(now.getTime() - 10 * 60_000))];
        const keys: string[] = [];
        for (const r of regions) for (const d of new Set(days)) keys.push(...(await list(`${r}${d}`)).keys);
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
          const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const records = (JSON.parse(gunzipSync(Buffer.from(await o.Body!.transformToByteArray())).toString('utf8')) as { Records: unknown[] }).Records;
          for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
        }
        await new Promise((r) => setTimeout(r, Number(f.interval) * 1000));
      }
    });
}
