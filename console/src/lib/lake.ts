/** Lake queries from the browser: StartQuery, DescribeQuery until done, every GetQueryResults page. */
import { CancelQueryCommand, DescribeQueryCommand, GetQueryResultsCommand, StartQueryCommand, type CloudTrailClient, type DescribeQueryCommandOutput } from '@aws-sdk/client-cloudtrail';
import type { Table } from '../components/ResultGrid.js';

export type QueryInfo = Pick<DescribeQueryCommandOutput, 'QueryId' | 'QueryStatus' | 'QueryStatistics' | 'ErrorMessage' | 'DeliveryS3Uri' | 'DeliveryStatus'>;

const DONE = new Set(['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startQuery(ct: CloudTrailClient, sql: string, deliveryS3Uri?: string): Promise<string> {
  const out = await ct.send(new StartQueryCommand({ QueryStatement: sql, DeliveryS3Uri: deliveryS3Uri || undefined }));
  return out.QueryId!;
}

export async function cancelQuery(ct: CloudTrailClient, queryId: string): Promise<void> {
  await ct.send(new CancelQueryCommand({ QueryId: queryId }));
}

/** Polls until the query ends; `onStatus` sees every state on the way. */
export async function waitQuery(ct: CloudTrailClient, queryId: string, onStatus: (q: QueryInfo) => void): Promise<QueryInfo> {
  let wait = 150;
  for (;;) {
    const q = await ct.send(new DescribeQueryCommand({ QueryId: queryId }));
    onStatus(q);
    if (DONE.has(q.QueryStatus ?? '')) return q;
    await sleep(wait);
    wait = Math.min(1000, wait * 1.5);
  }
}

export async function queryResults(ct: CloudTrailClient, queryId: string, maxRows = 100_000, onRows?: (n: number) => void): Promise<Table> {
  const columns: string[] = [];
  const rows: string[][] = [];
  let token: string | undefined;
  do {
    const out = await ct.send(new GetQueryResultsCommand({ QueryId: queryId, NextToken: token }));
    for (const r of out.QueryResultRows ?? []) {
      const row: string[] = [];
      for (const cell of r) {
        for (const [k, v] of Object.entries(cell)) {
          let i = columns.indexOf(k);
          if (i < 0) i = columns.push(k) - 1;
          row[i] = v ?? '';
        }
      }
      rows.push(row);
    }
    onRows?.(rows.length);
    token = out.NextToken;
  } while (token && rows.length < maxRows);
  for (const r of rows) for (let i = 0; i < columns.length; i++) r[i] ??= '';
  return { columns, rows };
}

/** Runs a query to the end and returns its rows (the dashboard's helper). */
export async function runQuery(ct: CloudTrailClient, sql: string): Promise<Table> {
  const id = await startQuery(ct, sql);
  const q = await waitQuery(ct, id, () => undefined);
  if (q.QueryStatus !== 'FINISHED') throw new Error(`${q.QueryStatus}: ${q.ErrorMessage ?? ''}`);
  return queryResults(ct, id);
}

/** The id FROM takes: the last part of a store ARN. */
export const storeId = (arn: string): string => arn.split('/').pop() ?? arn;
