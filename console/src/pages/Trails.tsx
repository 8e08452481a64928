/** Trails: list with status, create (bucket picker), selectors, start/stop, delivered files, validate-logs. */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { CreateTrailCommand, DeleteTrailCommand, DescribeTrailsCommand, GetTrailStatusCommand, StartLoggingCommand, StopLoggingCommand, type GetTrailStatusCommandOutput, type Trail } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { useClients } from '../lib/clients-context.js';
import { useS3 } from '../lib/more-clients.js';
import { errorText } from '../lib/session.js';
import { actThenRefresh } from '../lib/act.js';
import { fmtTime } from '../lib/time.js';
import { SelectorsEditor } from '../components/SelectorsEditor.js';
import { FileBrowser } from '../components/FileBrowser.js';
import { EmptyRow, TableHead } from '../components/Table.js';
import { ErrorAlert } from '../components/ErrorAlert.js';
import { ValidatePanel } from '../components/ValidatePanel.js';

type Status = GetTrailStatusCommandOutput;

export function Trails() {
  const { cloudtrail } = useClients();
  const [trails, setTrails] = useState<Trail[]>([]);
  const [status, setStatus] = useState<Record<string, Status>>({});
  const [error, setError] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<{ arn: string; tab: 'selectors' | 'files' | 'validate' }>();

  const refresh = useCallback(async () => {
    try {
      const list = (await cloudtrail.send(new DescribeTrailsCommand({}))).trailList ?? [];
      const st: Record<string, Status> = {};
      await Promise.all(list.map(async (t) => (st[t.TrailARN!] = await cloudtrail.send(new GetTrailStatusCommand({ Name: t.TrailARN })))));
      // Trails and their status together: a row never shows a status it has not read yet.
      setTrails(list);
      setStatus(st);
    } catch (e) {
      setError(errorText(e));
    }
  }, [cloudtrail]);
  useEffect(() => void refresh(), [refresh]);

  const act = actThenRefresh(setError, refresh);
  const trail = trails.find((t) => t.TrailARN === open?.arn);

  return (
    <section className="page" aria-labelledby="trails-title">
      <div className="page-head">
        <h1 id="trails-title">Trails</h1>
        <div className="actions">
          <button type="button" onClick={() => void refresh()}>
            Refresh
          </button>
          <button type="button" className="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            Create trail
          </button>
        </div>
      </div>
      <ErrorAlert error={error} />
      {creating && (
        <CreateTrail
          onDone={async () => {
            setCreating(false);
            await refresh();
          }}
        />
      )}
      <div className="card">
        <div className="table-scroll">
          <table className="grid">
            <TableHead cols={['Name', 'Home region', 'Multi-region', 'S3 bucket', 'Log file validation', 'Logging', 'Last delivery', 'Last error', 'Actions']} />
            <tbody>
              {trails.map((t) => {
                const s = status[t.TrailARN!];
                return (
                  <tr key={t.TrailARN}>
                    <td>{t.Name}</td>
                    <td>{t.HomeRegion}</td>
                    <td>{t.IsMultiRegionTrail ? 'yes' : 'no'}</td>
                    <td>
                      {t.S3BucketName}
                      {t.S3KeyPrefix ? `/${t.S3KeyPrefix}` : ''}
                    </td>
                    <td>{t.LogFileValidationEnabled ? 'enabled' : 'disabled'}</td>
                    <td>
                      <span className={`status ${s?.IsLogging ? 'status-finished' : 'status-cancelled'}`}>{s?.IsLogging ? 'Logging' : 'Stopped'}</span>
                    </td>
                    <td>{fmtTime(s?.LatestDeliveryTime) || <span className="muted">none yet</span>}</td>
                    <td className={s?.LatestDeliveryError ? 'error-text' : undefined}>{s?.LatestDeliveryError ?? ''}</td>
                    <td>
                      <div className="row">
                      <button type="button" onClick={() => void act(() => cloudtrail.send(s?.IsLogging ? new StopLoggingCommand({ Name: t.TrailARN }) : new StartLoggingCommand({ Name: t.TrailARN })))}>
                        {s?.IsLogging ? 'Stop logging' : 'Start logging'}
                      </button>
                      <button type="button" onClick={() => setOpen({ arn: t.TrailARN!, tab: 'selectors' })}>
                        Selectors
                      </button>
                      <button type="button" onClick={() => setOpen({ arn: t.TrailARN!, tab: 'files' })}>
                        Files
                      </button>
                      <button type="button" onClick={() => setOpen({ arn: t.TrailARN!, tab: 'validate' })} disabled={!t.LogFileValidationEnabled}>
                        Validate
                      </button>
                      <button type="button" className="danger" onClick={() => window.confirm(`Delete trail ${t.Name}?`) && void act(() => cloudtrail.send(new DeleteTrailCommand({ Name: t.TrailARN })))}>
                        Delete
                      </button>
                      </div>
                    </td>
                  </tr>
                );
              })}
              {trails.length === 0 && (
                <EmptyRow cols={9}>No trails in this region.</EmptyRow>
              )}
            </tbody>
          </table>
        </div>
      </div>
      {trail && open?.tab === 'selectors' && <SelectorsEditor trail={trail} onSaved={refresh} />}
      {trail && open?.tab === 'files' && <FileBrowser bucket={trail.S3BucketName!} prefix={`${trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : ''}AWSLogs/`} />}
      {trail && open?.tab === 'validate' && <ValidatePanel trail={trail} />}
    </section>
  );
}

function CreateTrail({ onDone }: { onDone: () => Promise<void> }) {
  const { cloudtrail } = useClients();
  const s3 = useS3();
  const [buckets, setBuckets] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [bucket, setBucket] = useState('');
  const [newBucket, setNewBucket] = useState('');
  const [prefix, setPrefix] = useState('');
  const [multi, setMulti] = useState(true);
  const [validation, setValidation] = useState(true);
  const [start, setStart] = useState(true);
  const [error, setError] = useState<string>();
  useEffect(() => {
    s3.send(new ListBucketsCommand({}))
      .then((o) => {
        const names = (o.Buckets ?? []).map((b) => b.Name ?? '').filter(Boolean);
        setBuckets(names);
        setBucket((b) => b || names[0] || '__new');
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [s3]);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const target = bucket === '__new' ? newBucket : bucket;
      if (bucket === '__new') await s3.send(new CreateBucketCommand({ Bucket: newBucket }));
      const t = await cloudtrail.send(new CreateTrailCommand({ Name: name, S3BucketName: target, S3KeyPrefix: prefix || undefined, IsMultiRegionTrail: multi, EnableLogFileValidation: validation }));
      if (start) await cloudtrail.send(new StartLoggingCommand({ Name: t.TrailARN }));
      await onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Create trail">
      <h2>New trail</h2>
      <div className="filters">
        <label className="grow">
          Trail name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          S3 bucket
          <select value={bucket} onChange={(e) => setBucket(e.target.value)}>
            {buckets.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
            <option value="__new">New bucket…</option>
          </select>
        </label>
        {bucket === '__new' && (
          <label>
            New bucket name
            <input required value={newBucket} onChange={(e) => setNewBucket(e.target.value)} pattern="[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]" />
          </label>
        )}
        <label>
          Key prefix (optional)
          <input value={prefix} onChange={(e) => setPrefix(e.target.value)} />
        </label>
      </div>
      <div className="filters">
        <label className="toggle">
          <input type="checkbox" checked={multi} onChange={(e) => setMulti(e.target.checked)} /> Multi-region trail
        </label>
        <label className="toggle">
          <input type="checkbox" checked={validation} onChange={(e) => setValidation(e.target.checked)} /> Log file validation (signed digests)
        </label>
        <label className="toggle">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} /> Start logging now
        </label>
      </div>
      <ErrorAlert error={error} />
      <button type="submit" className="primary">
        Create trail
      </button>
    </form>
  );
}
