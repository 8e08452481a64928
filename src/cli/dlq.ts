/**
 * `opentrail dlq list|redrive`: the dead-letter queues of rule targets, straight on the
 * metastore. A redriven event goes back to its target with fresh retries; a running server
 * picks it up within a second.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { resolveConfig } from '../config.js';
import { SqliteMetastore } from '../storage/sqlite/metastore.js';
import { DLQ, redriveLetters, type DeadLetter } from '../rules/jobs.js';

interface DlqOptions {
  dataDir?: string;
  queue?: string;
  rule?: string;
  account?: string;
  limit?: string;
}

function selected(all: DeadLetter[], o: DlqOptions): DeadLetter[] {
  return all
    .filter((d) => (!o.queue || d.queueArn === o.queue || d.queueArn.endsWith(`:${o.queue}`)) && (!o.rule || d.attributes.RULE_ARN === o.rule || d.attributes.RULE_ARN.endsWith(`/${o.rule}`)) && (!o.account || d.accountId === o.account))
    .sort((a, b) => a.sentAt - b.sentAt);
}

async function withStore<T>(o: DlqOptions, fn: (m: SqliteMetastore) => Promise<T>): Promise<T> {
  const meta = new SqliteMetastore(join(resolveConfig({ dataDir: o.dataDir }).dataDir, 'meta.db'));
  try {
    return await fn(meta);
  } finally {
    await meta.close();
  }
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description("rule targets' dead-letter queues: list and redrive failed events");
  const filters = (c: Command): Command =>
    c
      .option('--data-dir <dir>', 'data folder (env OPENTRAIL_DATA_DIR)')
      .option('--queue <arn-or-name>', 'only this dead-letter queue (its SQS ARN or name)')
      .option('--rule <arn-or-name>', 'only events of this rule')
      .option('--account <id>', 'only this account');

  filters(dlq.command('list').description('print dead-lettered events as JSON lines, oldest first'))
    .option('--limit <n>', 'at most this many')
    .action(async (o: DlqOptions) => {
      await withStore(o, async (m) => {
        let list = selected(await m.listDocs<DeadLetter>(DLQ), o);
        if (o.limit) list = list.slice(0, Number(o.limit));
        for (const d of list) {
          process.stdout.write(
            `${JSON.stringify({ key: d.key, queue: d.queueArn, account: d.accountId, sentAt: new Date(d.sentAt).toISOString(), eventId: d.job.eventId, attributes: d.attributes, body: d.job.body })}\n`,
          );
        }
        process.stderr.write(`${list.length} dead-lettered event(s)\n`);
      });
    });

  filters(dlq.command('redrive').description('send dead-lettered events back to their targets, with fresh retries'))
    .option('--key <key>', 'only this event (the key `list` prints)')
    .action(async (o: DlqOptions & { key?: string }) => {
      await withStore(o, async (m) => {
        const list = selected(await m.listDocs<DeadLetter>(DLQ), o).filter((d) => !o.key || d.key === o.key);
        process.stderr.write(`${await redriveLetters(m, list)} event(s) sent back to their targets\n`);
      });
    });
}
