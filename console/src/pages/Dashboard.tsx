/**
 * Dashboard of the last 24 hours: events per hour, errors and access denied, top event names and
 * users, trail delivery health. Exact counts from Lake when an event data store is enabled;
 * otherwise from the latest events in event history (the page says which).
 */
import { Suspense, lazy, useEffect, useState } from 'react';
import { DescribeTrailsCommand, GetTrailStatusCommand, ListEventDataStoresCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { useClients } from '../lib/clients-context.js';
import { errorText } from '../lib/session.js';
import { lookupPage, type Row } from '../lib/events.js';
import { runQuery, storeId } from '../lib/lake.js';
import { fmtTime } from '../lib/time.js';
import { bucketize, fromCounts, type Bucket } from '../lib/buckets.js';
import { countEvents } from '../lib/counts.js';
import { EmptyRow, TableHead } from '../components/Table.js';
import { ErrorAlert } from '../components/ErrorAlert.js';
import type { Session } from '../lib/session.js';

const TimeHistogram = lazy(() => import('../components/TimeHistogram.js').then((m) => ({ default: m.TimeHistogram })));

const DAY = 86_400_000;
const HOUR = 3_600_000;
const SAMPLE_CAP = 2000;
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess']);

interface Stats {
  source: string;
  total: number;
  perHour: Bucket[];
  topNames: [string, number][];
  topUsers: [string, number][];
}

interface Health {
  name: string;
  logging: boolean;
  last?: Date;
  error?: string;
}

function top(values: string[], n = 8): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) if (v) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
}

async function fromHistory(session: Session, start: number, end: number): Promise<Stats> {
  const filter = { key: 'EventName' as const, value: '', start: new Date(start), end: new Date(end), hideReadOnly: false };
  // Exact events per hour from CountEvents; errors and the top lists from the latest events.
  const counts = await countEvents(session, filter, 3600);
  const rows: Row[] = [];
  let token: string | undefined;
  do {
    const p = await lookupPage(session, filter, token);
    rows.push(...p.rows);
    token = p.next;
  } while (token && rows.length < SAMPLE_CAP);
  const perHour = fromCounts(counts.Buckets, counts.BucketSeconds);
  const at = (t: number): number => Math.min(perHour.length - 1, Math.max(0, Math.floor((t - start) / HOUR)));
  for (const b of perHour) {
    b.errors = 0;
    b.denied = 0;
  }
  for (const r of rows) {
    const b = perHour[at(r.time?.getTime() ?? 0)];
    if (!b || !r.errorCode) continue;
    b.errors = Number(b.errors) + 1;
    if (DENIED.has(r.errorCode)) b.denied = Number(b.denied) + 1;
  }
  return {
    source: token
      ? `event history: exact events per hour; errors and top lists from the latest ${rows.length.toLocaleString()} of ${counts.Total.toLocaleString()} events (a Lake event data store makes them exact)`
      : `event history (all ${rows.length.toLocaleString()} events)`,
    total: counts.Total,
    perHour,
    topNames: top(rows.map((r) => r.name)),
    topUsers: top(rows.map((r) => r.user)),
  };
}

async function fromLake(ct: CloudTrailClient, id: string, name: string, start: number, end: number): Promise<Stats> {
  const since = new Date(start).toISOString().slice(0, 19).replace('T', ' ');
  const where = `FROM ${id} WHERE eventTime >= '${since}'`;
  const denied = [...DENIED].map((d) => `'${d}'`).join(', ');
  const [hours, names, users] = await Promise.all([
    runQuery(ct, `SELECT date_trunc('hour', eventTime) AS hour, count(*) AS n, sum(CASE WHEN errorCode IS NOT NULL THEN 1 ELSE 0 END) AS errors, sum(CASE WHEN errorCode IN (${denied}) THEN 1 ELSE 0 END) AS denied ${where} GROUP BY 1 ORDER BY 1`),
    runQuery(ct, `SELECT eventName, count(*) AS n ${where} GROUP BY eventName ORDER BY n DESC LIMIT 8`),
    runQuery(ct, `SELECT coalesce(userIdentity.username, userIdentity.principalid, userIdentity.type) AS who, count(*) AS n ${where} GROUP BY 1 ORDER BY n DESC LIMIT 8`),
  ]);
  const perHour = bucketize([], start, end, 24);
  let total = 0;
  for (const r of hours.rows) {
    const t = Date.parse(`${r[0]!.replace(' ', 'T')}Z`);
    const b = perHour.find((x) => x.t <= t && t < x.t + HOUR) ?? perHour.at(-1)!;
    b.count += Number(r[1]);
    b.errors = Number(b.errors ?? 0) + Number(r[2]);
    b.denied = Number(b.denied ?? 0) + Number(r[3]);
    total += Number(r[1]);
  }
  for (const b of perHour) {
    b.errors ??= 0;
    b.denied ??= 0;
  }
  return {
    source: `Lake event data store ${name} (exact)`,
    total,
    perHour,
    topNames: names.rows.map((r) => [r[0] ?? '', Number(r[1])]),
    topUsers: users.rows.map((r) => [r[0] ?? '', Number(r[1])]),
  };
}

export function Dashboard() {
  const { cloudtrail, session } = useClients();
  const [stats, setStats] = useState<Stats>();
  const [health, setHealth] = useState<Health[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    const end = Date.now();
    const start = Math.floor((end - DAY) / HOUR) * HOUR + HOUR;
    (async () => {
      const stores = (await cloudtrail.send(new ListEventDataStoresCommand({}))).EventDataStores ?? [];
      const lake = stores.find((s) => s.Status === 'ENABLED' && !s.AdvancedEventSelectors?.some((a) => a.FieldSelectors?.some((f) => f.Field === 'eventCategory' && f.Equals?.some((v) => v !== 'Management' && v !== 'Data'))));
      if (lake?.EventDataStoreArn) {
        try {
          return await fromLake(cloudtrail, storeId(lake.EventDataStoreArn), lake.Name ?? '', start, end);
        } catch {
          // fall back to event history
        }
      }
      return fromHistory(session, start, end);
    })().then(setStats, (e: unknown) => setError(errorText(e)));
    (async () => {
      const trails = (await cloudtrail.send(new DescribeTrailsCommand({}))).trailList ?? [];
      return Promise.all(
        trails.map(async (t) => {
          const s = await cloudtrail.send(new GetTrailStatusCommand({ Name: t.TrailARN }));
          return { name: t.Name ?? '', logging: !!s.IsLogging, last: s.LatestDeliveryTime, error: s.LatestDeliveryError };
        }),
      );
    })().then(setHealth, (e: unknown) => setError(errorText(e)));
  }, [cloudtrail, session]);

  const errors = stats?.perHour.reduce((n, b) => n + Number(b.errors ?? 0), 0) ?? 0;
  const denied = stats?.perHour.reduce((n, b) => n + Number(b.denied ?? 0), 0) ?? 0;
  return (
    <section className="page" aria-labelledby="dash-title">
      <div className="page-head">
        <h1 id="dash-title">Dashboard</h1>
        <span className="muted small">Last 24 hours{stats ? ` · from ${stats.source}` : ''}</span>
      </div>
      <ErrorAlert error={error} />
      <div className="tiles">
        <div className="tile card">
          <span className="muted">Events</span>
          <strong data-testid="tile-events">{stats ? stats.total.toLocaleString() : '…'}</strong>
        </div>
        <div className="tile card">
          <span className="muted">Errors</span>
          <strong>{stats ? errors.toLocaleString() : '…'}</strong>
        </div>
        <div className="tile card">
          <span className="muted">Access denied</span>
          <strong>{stats ? denied.toLocaleString() : '…'}</strong>
        </div>
        <div className="tile card">
          <span className="muted">Trails delivering</span>
          <strong>{health ? `${health.filter((h) => h.logging && !h.error).length} / ${health.length}` : '…'}</strong>
        </div>
      </div>
      <div className="dash-grid">
        <div className="card">
          <h2>Events per hour</h2>
          <Suspense fallback={<div style={{ height: 200 }} />}>{stats && <TimeHistogram data={stats.perHour} label="Events per hour" height={200} />}</Suspense>
        </div>
        <div className="card">
          <h2>Errors and access denied per hour</h2>
          <Suspense fallback={<div style={{ height: 200 }} />}>
            {stats && <TimeHistogram data={stats.perHour} series={['errors', 'denied']} label="Errors and access denied per hour" height={200} />}
          </Suspense>
        </div>
        <TopList title="Top event names" items={stats?.topNames} />
        <TopList title="Top users" items={stats?.topUsers} />
        <div className="card">
          <h2>Trail delivery health</h2>
          <table className="grid">
            <TableHead cols={['Trail', 'Logging', 'Last delivery', 'Last error']} />
            <tbody>
              {health?.map((h) => (
                <tr key={h.name}>
                  <td>{h.name}</td>
                  <td>{h.logging ? '✔ on' : '✘ off'}</td>
                  <td>{fmtTime(h.last) || <span className="muted">none yet</span>}</td>
                  <td className={h.error ? 'error-text' : undefined}>{h.error ?? '—'}</td>
                </tr>
              ))}
              {health?.length === 0 && (
                <EmptyRow cols={4}>No trails. <a href="#/trails">Create one</a>.</EmptyRow>
              )}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

function TopList({ title, items }: { title: string; items?: [string, number][] }) {
  const max = Math.max(1, ...(items ?? []).map((i) => i[1]));
  return (
    <div className="card">
      <h2>{title}</h2>
      <ol className="toplist">
        {items?.map(([k, n]) => (
          <li key={k}>
            <span className="toplabel" title={k}>
              {k}
            </span>
            <span className="bar" style={{ width: `${(100 * n) / max}%` }} aria-hidden="true" />
            <span className="num">{n.toLocaleString()}</span>
          </li>
        ))}
        {items?.length === 0 && <li className="muted">No events.</li>}
      </ol>
    </div>
  );
}
