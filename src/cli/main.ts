/** The `opentrail` command line. */
import { Command } from 'commander';
import { resolveConfig, type ConfigFlags } from '../config.js';
import { registerAdmin } from './admin.js';
import { registerValidateLogs } from './validate-logs.js';
import { registerTrailsTail } from './trails-tail.js';
import { registerDlq } from './dlq.js';
import { startServer, type App } from '../server/app.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('opentrail').description('A CloudTrail-compatible audit trail service').version('0.1.0');

  program
    .command('serve')
    .description('run the server')
    .option('--port <port>', 'port to listen on (env OPENTRAIL_PORT)', undefined)
    .option('--host <host>', 'address to listen on (env OPENTRAIL_HOST)')
    .option('--data-dir <dir>', 'where embedded storage lives (env OPENTRAIL_DATA_DIR)')
    .option('--retention-days <days>', 'days of event history kept (env OPENTRAIL_RETENTION_DAYS)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug (env OPENTRAIL_LOG_LEVEL)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'private key for --tls-cert (PEM)')
    .option('--s3-endpoint <url>', 'S3 endpoint for buckets not kept in the local folder (env OPENTRAIL_S3_ENDPOINT)')
    .option('--s3-buckets <names>', 'comma-separated buckets served by --s3-endpoint; * = all (env OPENTRAIL_S3_BUCKETS)')
    .option('--delivery-interval <seconds>', 'seconds between trail log file deliveries (env OPENTRAIL_DELIVERY_INTERVAL; default 60)')
    .option('--digest-interval <seconds>', 'seconds each digest file covers, at least 5 (env OPENTRAIL_DIGEST_INTERVAL; default 3600)')
    .option('--key-rotation <days>', 'days a digest signing key signs before the next one (env OPENTRAIL_KEY_ROTATION_DAYS; default 30)')
    .action(async (flags: ConfigFlags) => {
      const config = resolveConfig(flags);
      // Listening for signals before the server starts: one that arrives while it starts (or
      // right after it says it listens) stops it gracefully once it has started, instead of
      // killing it half-open.
      let app: App | undefined;
      let requested: string | undefined;
      let stopping = false;
      const stop = (signal: string): void => {
        const running = app;
        if (!running) {
          requested ??= signal;
          return;
        }
        if (stopping) return;
        stopping = true;
        running.logger.info({ signal }, 'shutting down');
        running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            running.logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      app = await startServer(config);
      if (requested) stop(requested);
    });

  registerAdmin(program);
  registerValidateLogs(program);
  registerTrailsTail(program);
  registerDlq(program);
  await program.parseAsync(argv);
}
