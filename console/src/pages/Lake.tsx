/** CloudTrail Lake: event data stores, a SQL editor with the sample library, results grid and chart. */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { CreateEventDataStoreCommand, ListEventDataStoresCommand, type EventDataStore } from '@aws-sdk/client-cloudtrail';
import { useClients } from '../lib/clients-context.js';
import { errorText } from '../lib/session.js';
import { cancelQuery, queryResults, startQuery, storeId, waitQuery, type QueryInfo } from '../lib/lake.js';
import { SAMPLE_STORE_PLACEHOLDER } from '../../../src/lake/samples.js';
import { useDark } from '../lib/dark.js';
import { CodeEditor, insertAtCursor } from '../components/CodeEditor.js';
import { ResultGrid, type Table } from '../components/ResultGrid.js';
import { ResultChart } from '../components/ResultChart.js';
import { Progress } from '../components/Progress.js';
import { EmptyRow, TableHead } from '../components/Table.js';
import { ErrorAlert } from '../components/ErrorAlert.js';
import samples from '../sample-queries.json';

interface Sample {
  name: string;
  source: string;
  sql: string;
}
const SAMPLES = samples as Sample[];

export function Lake() {
  const { cloudtrail } = useClients();
  const dark = useDark();
  const [stores, setStores] = useState<EventDataStore[]>([]);
  const [store, setStore] = useState('');
  const [error, setError] = useState<string>();
  const [sql, setSql] = useState('');
  const [query, setQuery] = useState<QueryInfo>();
  const [running, setRunning] = useState(false);
  const [fetched, setFetched] = useState<number>();
  const [table, setTable] = useState<Table>();
  const [sampleFilter, setSampleFilter] = useState('');
  const [deliveryUri, setDeliveryUri] = useState('');
  const editorBox = useRef<HTMLDivElement>(null);

  const refresh = useCallback(async () => {
    try {
      const out = await cloudtrail.send(new ListEventDataStoresCommand({}));
      const list = out.EventDataStores ?? [];
      setStores(list);
      const first = list.find((s) => s.Status === 'ENABLED');
      setStore((cur) => cur || (first?.EventDataStoreArn ? storeId(first.EventDataStoreArn) : ''));
      setSql((cur) => cur || (first?.EventDataStoreArn ? `SELECT eventName, count(*) AS n\nFROM ${storeId(first.EventDataStoreArn)}\nGROUP BY eventName\nORDER BY n DESC\nLIMIT 10` : ''));
    } catch (e) {
      setError(errorText(e));
    }
  }, [cloudtrail]);
  useEffect(() => void refresh(), [refresh]);

  const run = async (): Promise<void> => {
    setError(undefined);
    setTable(undefined);
    setFetched(undefined);
    setRunning(true);
    try {
      const id = await startQuery(cloudtrail, sql, deliveryUri.trim());
      setQuery({ QueryId: id, QueryStatus: 'QUEUED' });
      const q = await waitQuery(cloudtrail, id, setQuery);
      if (q.QueryStatus === 'FINISHED') setTable(await queryResults(cloudtrail, id, 100_000, setFetched));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setRunning(false);
    }
  };

  const useSample = (s: Sample): void => {
    setSql(store ? s.sql.replace(SAMPLE_STORE_PLACEHOLDER, store) : s.sql);
  };

  const stats = query?.QueryStatistics;
  const needle = sampleFilter.trim().toLowerCase();
  const shown = SAMPLES.filter((s) => !needle || s.name.replace(/-/g, ' ').toLowerCase().includes(needle) || s.sql.toLowerCase().includes(needle));
  return (
    <section className="page" aria-labelledby="lake-title">
      <div className="page-head">
        <h1 id="lake-title">CloudTrail Lake</h1>
      </div>
      <ErrorAlert error={error} />
      <Stores stores={stores} onCreated={refresh} />
      <div className="lake-grid">
        <div className="card">
          <h2>Query editor</h2>
          <div className="filters">
            <label>
              Event data store
              <select value={store} onChange={(e) => setStore(e.target.value)}>
                <option value="">—</option>
                {stores.map((s) => (
                  <option key={s.EventDataStoreArn} value={storeId(s.EventDataStoreArn ?? '')}>
                    {s.Name} ({storeId(s.EventDataStoreArn ?? '')})
                  </option>
                ))}
              </select>
            </label>
            <button type="button" disabled={!store} onClick={() => insertAtCursor(editorBox.current, store) || setSql((q) => q + store)}>
              Insert store id
            </button>
          </div>
          <div ref={editorBox}>
            <CodeEditor language="sql" label="SQL query" value={sql} onChange={setSql} dark={dark} tables={stores.map((s) => storeId(s.EventDataStoreArn ?? ''))} />
          </div>
          <label>
            Save results to S3 (optional)
            <input type="text" placeholder="s3://bucket/prefix" value={deliveryUri} onChange={(e) => setDeliveryUri(e.target.value)} />
          </label>
          <div className="row">
            <button type="button" className="primary" onClick={() => void run()} disabled={running || !sql.trim()}>
              Run
            </button>
            <button type="button" onClick={() => query?.QueryId && void cancelQuery(cloudtrail, query.QueryId).catch((e: unknown) => setError(errorText(e)))} disabled={!running || !query?.QueryId}>
              Cancel
            </button>
            {query && (
              <span className={`status status-${query.QueryStatus?.toLowerCase()}`} data-testid="query-status" aria-live="polite">
                {query.QueryStatus}
              </span>
            )}
          </div>
          {query?.ErrorMessage && <p className="error">{query.ErrorMessage}</p>}
          {query?.DeliveryS3Uri && (
            <p className={query.DeliveryStatus === 'FAILED' ? 'error' : 'muted small'} data-testid="delivery-status">
              Results to <code>{query.DeliveryS3Uri}</code>: {query.DeliveryStatus}
            </p>
          )}
          {stats && (
            <dl className="facts inline" aria-label="Query statistics">
              <dt>Events matched</dt>
              <dd>{stats.EventsMatched?.toLocaleString()}</dd>
              <dt>Events scanned</dt>
              <dd>{stats.EventsScanned?.toLocaleString()}</dd>
              <dt>Bytes scanned</dt>
              <dd>{stats.BytesScanned?.toLocaleString()}</dd>
              <dt>Run time</dt>
              <dd>{stats.ExecutionTimeInMillis?.toLocaleString()} ms</dd>
            </dl>
          )}
          {running && fetched !== undefined && <Progress label="Rows fetched" done={fetched} />}
        </div>
        <div className="card samples">
          <h2>Sample queries</h2>
          <label>
            Search samples
            <input type="search" value={sampleFilter} onChange={(e) => setSampleFilter(e.target.value)} />
          </label>
          <ul className="sample-list">
            {shown.map((s) => (
              <li key={s.name}>
                <button type="button" className="link" onClick={() => useSample(s)} title={s.source}>
                  {s.name.replace(/-/g, ' ')}
                </button>
              </li>
            ))}
          </ul>
          <p className="muted small">AWS's published samples (MIT-0); the selected store replaces their placeholders.</p>
        </div>
      </div>
      {table && (
        <div className="card">
          <h2>Results</h2>
          {table.columns.length >= 1 && table.rows.length > 0 && <ResultChart key={table.columns.join(',')} table={table} />}
          <ResultGrid table={table} name={`query-${query?.QueryId ?? 'results'}`} />
        </div>
      )}
    </section>
  );
}

function Stores({ stores, onCreated }: { stores: EventDataStore[]; onCreated: () => Promise<void> }) {
  const { cloudtrail } = useClients();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [retention, setRetention] = useState(2557);
  const [multiRegion, setMultiRegion] = useState(true);
  const [protect, setProtect] = useState(false);
  const [error, setError] = useState<string>();
  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      await cloudtrail.send(new CreateEventDataStoreCommand({ Name: name, RetentionPeriod: retention, MultiRegionEnabled: multiRegion, TerminationProtectionEnabled: protect }));
      setOpen(false);
      setName('');
      await onCreated();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div className="card">
      <div className="page-head">
        <h2>Event data stores</h2>
        <button type="button" onClick={() => setOpen(!open)} aria-expanded={open}>
          Create event data store
        </button>
      </div>
      {open && (
        <form className="filters" onSubmit={create} aria-label="Create event data store">
          <label className="grow">
            Name
            <input required value={name} pattern="[a-zA-Z0-9._\-]{3,128}" onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Retention (days)
            <input type="number" min={7} max={3653} value={retention} onChange={(e) => setRetention(Number(e.target.value))} />
          </label>
          <label className="toggle">
            <input type="checkbox" checked={multiRegion} onChange={(e) => setMultiRegion(e.target.checked)} /> Multi-region
          </label>
          <label className="toggle">
            <input type="checkbox" checked={protect} onChange={(e) => setProtect(e.target.checked)} /> Termination protection
          </label>
          <button type="submit" className="primary">
            Create
          </button>
          <ErrorAlert error={error} />
        </form>
      )}
      <div className="table-scroll">
        <table className="grid">
          <TableHead cols={['Name', 'ID (use in FROM)', 'Status', 'Retention', 'Multi-region', 'Created']} />
          <tbody>
            {stores.map((s) => (
              <tr key={s.EventDataStoreArn}>
                <td>{s.Name}</td>
                <td>
                  <code>{storeId(s.EventDataStoreArn ?? '')}</code>
                </td>
                <td>{s.Status}</td>
                <td>{s.RetentionPeriod} days</td>
                <td>{s.MultiRegionEnabled ? 'yes' : 'no'}</td>
                <td>{s.CreatedTimestamp?.toISOString().slice(0, 19).replace('T', ' ')}</td>
              </tr>
            ))}
            {stores.length === 0 && (
              <EmptyRow cols={6}>No event data stores yet.</EmptyRow>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
