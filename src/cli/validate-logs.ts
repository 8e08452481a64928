/** `opentrail validate-logs`: the AWS CLI's validate-logs, against opentrail or any S3 + CloudTrail endpoint. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { CloudTrailClient, DescribeTrailsCommand, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { validateLogs, ValidationInputError } from '../integrity/validate.js';
import { openStore, workerLogChecker, type LogChecker, type StoreSpec } from '../integrity/log-check-pool.js';
import type { ObjectStore } from '../storage/object-store.js';
import { awsTargets } from './aws-targets.js';

interface Flags {
  trailArn: string;
  startTime: string;
  endTime?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  accountId?: string;
  verbose?: boolean;
  endpointUrl?: string;
  region?: string;
  dataDir?: string;
  deliveryLag?: string;
}

function parseTime(v: string, name: string): Date {
  // The AWS CLI takes ISO 8601 (also the compact 20160129T19:00:00Z form) or epoch seconds.
  const compact = /^(\d{4})(\d{2})(\d{2})T(.*)$/.exec(v);
  const d = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(compact ? `${compact[1]}-${compact[2]}-${compact[3]}T${compact[4]}` : v);
  if (Number.isNaN(d.getTime())) throw new ValidationInputError(`Invalid ${name}: ${v}`);
  return d;
}

export function registerValidateLogs(program: Command): void {
  program
    .command('validate-logs')
    .description('validate a trail\'s log files against its signed digest files (as aws cloudtrail validate-logs)')
    .requiredOption('--trail-arn <arn>', 'ARN of the trail')
    .requiredOption('--start-time <time>', 'validate files delivered from this time (ISO 8601)')
    .option('--end-time <time>', 'validate files delivered up to this time (default: now)')
    .option('--s3-bucket <bucket>', 'bucket of the files (default: the trail\'s, from DescribeTrails)')
    .option('--s3-prefix <prefix>', 'key prefix of the files (default: the trail\'s)')
    .option('--account-id <id>', 'account whose files are validated (default: the trail\'s)')
    .option('--verbose', 'print a line for every valid file too')
    .option('--endpoint-url <url>', 'CloudTrail endpoint; S3 reads go there too unless AWS_ENDPOINT_URL_S3 is set')
    .option('--region <region>', 'region whose files are validated (default: AWS_REGION, AWS_DEFAULT_REGION or us-east-1)')
    .option('--data-dir <dir>', 'read objects straight from this opentrail data folder instead of over S3')
    .option('--delivery-lag <seconds>', 'how late after its name\'s minute a log file may be delivered; unlisted files named earlier are reported (default 120)')
    .action(async (f: Flags) => {
      const { region, endpoint, s3Endpoint } = awsTargets(f);
      // Credentials: the SDK's standard chain (environment, profiles, …).
      const ct = new CloudTrailClient({ region, ...(endpoint ? { endpoint } : {}) });
      let store: ObjectStore | undefined;
      let logChecker: LogChecker | undefined;
      try {
        const start = parseTime(f.startTime, 'start-time');
        const end = f.endTime ? parseTime(f.endTime, 'end-time') : new Date();
        let bucket = f.s3Bucket;
        let prefix = f.s3Prefix;
        if (!bucket) {
          const trail = (await ct.send(new DescribeTrailsCommand({}))).trailList?.find((t) => t.TrailARN === f.trailArn);
          if (!trail?.S3BucketName) throw new ValidationInputError(`A trail could not be found for ${f.trailArn}`);
          bucket = trail.S3BucketName;
          prefix ??= trail.S3KeyPrefix;
        }
        const spec: StoreSpec = f.dataDir
          ? { kind: 'fs', root: join(f.dataDir, 'objects') }
          : { kind: 's3', endpoint: s3Endpoint, region, forcePathStyle: Boolean(s3Endpoint), credentials: await ct.config.credentials() };
        store = await openStore(spec);
        // Log files are read and hashed on one thread per core.
        logChecker = workerLogChecker(spec);
        let last = 0;
        const summary = await validateLogs(
          {
            trailArn: f.trailArn,
            start,
            end,
            region,
            bucket,
            prefix,
            accountId: f.accountId,
            verbose: f.verbose,
            deliveryLagMs: f.deliveryLag === undefined ? undefined : Number(f.deliveryLag) * 1000,
          },
          {
            store,
            logChecker,
            publicKeys: async (s, e) =>
              ((await ct.send(new ListPublicKeysCommand({ StartTime: s, EndTime: e }))).PublicKeyList ?? []).map((k) => ({ fingerprint: k.Fingerprint ?? '', der: k.Value ?? new Uint8Array() })),
            out: (l) => process.stdout.write(`${l}\n`),
            err: (l) => process.stderr.write(`${l}\n`),
            progress: (done, total) => {
              if (!process.stderr.isTTY || (Date.now() - last < 250 && done < total)) return;
              last = Date.now();
              process.stderr.write(`\rchecked ${done}/${total} log files${done === total ? '\n' : ''}`);
            },
          },
        );
        process.exitCode = summary.exitCode;
      } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        process.exitCode = 255;
      } finally {
        await logChecker?.close();
        await store?.close();
      }
    });
}
