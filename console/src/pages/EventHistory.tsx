/**
 * Event history: LookupEvents with AWS's filters, a virtualised table with infinite scroll,
 * the full record in a side panel, exports with progress, a histogram and a live mode.
 */
import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import { useClients } from '../lib/clients-context.js';
import { errorText } from '../lib/session.js';
import { ATTRIBUTES, CSV_HEADER, csvFields, lookupPage, type Filter, type Row } from '../lib/events.js';
import { RELATIVE, fmtTime, localInput, resolveRange, type TimeRange } from '../lib/time.js';
import { download, toCsv } from '../lib/download.js';
import { JsonView } from '../components/JsonView.js';
import { Progress } from '../components/Progress.js';
import { fromCounts, type Bucket } from '../lib/buckets.js';
import { countEvents } from '../lib/counts.js';
import { ErrorAlert } from '../components/ErrorAlert.js';
import { bucketMs } from '../lib/time.js';

// The chart library loads after the table: the first page of events does not wait for it.
const TimeHistogram = lazy(() => import('../components/TimeHistogram.js').then((m) => ({ default: m.TimeHistogram })));

const COLUMNS: { label: string; cell: (r: Row) => string }[] = [
  { label: 'Event time', cell: (r) => fmtTime(r.time) },
  { label: 'User name', cell: (r) => r.user },
  { label: 'Event name', cell: (r) => r.name },
  { label: 'Resource type', cell: (r) => r.resourceType },
  { label: 'Resource name', cell: (r) => r.resourceName },
  { label: 'Event source', cell: (r) => r.source },
  { label: 'AWS access key', cell: (r) => r.accessKey },
  { label: 'Source IP address', cell: (r) => r.sourceIp },
  { label: 'Error code', cell: (r) => r.errorCode },
];
const ROW_HEIGHT = 34;

export function EventHistory() {
  const { session } = useClients();
  const [key, setKey] = useState<LookupAttributeKey>('EventName');
  const [value, setValue] = useState('');
  const [range, setRange] = useState<TimeRange>({ kind: 'relative', relative: '1d', from: localInput(new Date(Date.now() - 86_400_000)), to: localInput(new Date()) });
  const [hideReadOnly, setHideReadOnly] = useState(false);
  const [filter, setFilter] = useState<Filter>(() => ({ key, value, hideReadOnly, ...resolveRange(range) }));
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [complete, setComplete] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<Row>();
  const [live, setLive] = useState(false);
  const [exporting, setExporting] = useState<{ kind: string; done: number }>();
  const [firstPageMs, setFirstPageMs] = useState<number>();
  const exportAbort = useRef<AbortController>(undefined);
  const generation = useRef(0);

  // A new filter: first page.
  useEffect(() => {
    const gen = ++generation.current;
    const started = performance.now();
    setRows([]);
    setNext(undefined);
    setComplete(false);
    setFirstPageMs(undefined);
    setSelected(undefined);
    setError(undefined);
    setLoading(true);
    lookupPage(session, filter)
      .then((p) => {
        if (gen !== generation.current) return;
        setRows(p.rows);
        setNext(p.next);
        setComplete(!p.next);
        setFirstPageMs(Math.round(performance.now() - started));
      })
      .catch((e: unknown) => gen === generation.current && setError(errorText(e)))
      .finally(() => gen === generation.current && setLoading(false));
  }, [session, filter]);

  const loadMore = useCallback(() => {
    if (loading || !next) return;
    const gen = generation.current;
    setLoading(true);
    lookupPage(session, filter, next)
      .then((p) => {
        if (gen !== generation.current) return;
        setRows((r) => r.concat(p.rows));
        setNext(p.next);
        setComplete(!p.next);
      })
      .catch((e: unknown) => gen === generation.current && setError(errorText(e)))
      .finally(() => gen === generation.current && setLoading(false));
  }, [session, filter, next, loading]);

  // Live mode: new events since the newest shown, every 3 seconds (relative ranges only).
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => {
      const gen = generation.current;
      const newest = rows[0]?.time ?? filter.start;
      lookupPage(session, { ...filter, start: newest, end: new Date() })
        .then((p) => {
          if (gen !== generation.current) return;
          setRows((old) => {
            const seen = new Set(old.slice(0, 200).map((r) => r.id));
            const fresh = p.rows.filter((r) => !seen.has(r.id));
            return fresh.length ? fresh.concat(old) : old;
          });
        })
        .catch(() => undefined);
    }, 3000);
    return () => clearInterval(timer);
  }, [live, rows, filter, session]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtual.getVirtualItems();
  useEffect(() => {
    const last = items.at(-1);
    if (last && last.index >= rows.length - 10) loadMore();
  }, [items, rows.length, loadMore]);

  const apply = (): void => {
    setLive(range.kind === 'relative' ? live : false);
    setFilter({ key, value, hideReadOnly, ...resolveRange(range) });
  };

  const exportAll = async (kind: 'json' | 'csv'): Promise<void> => {
    const abort = new AbortController();
    exportAbort.current = abort;
    const all: Row[] = [];
    setExporting({ kind, done: 0 });
    try {
      let token: string | undefined;
      do {
        const p = await lookupPage(session, filter, token, 50, abort.signal);
        all.push(...p.rows);
        token = p.next;
        setExporting({ kind, done: all.length });
      } while (token && !abort.signal.aborted);
      if (abort.signal.aborted) return;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      if (kind === 'json') download(`event-history-${stamp}.json`, JSON.stringify({ Records: all.map((r) => r.record) }, null, 2), 'application/json');
      else download(`event-history-${stamp}.csv`, toCsv(CSV_HEADER, all.map(csvFields)), 'text/csv');
    } catch (e) {
      if (!abort.signal.aborted) setError(errorText(e));
    } finally {
      setExporting(undefined);
    }
  };

  // Exact counts over the whole range from the server (CountEvents), refreshed every 10 s in live
  // mode; asked once the first page is in, so the table never waits behind the histogram.
  const [histogram, setHistogram] = useState<Bucket[]>([]);
  const [total, setTotal] = useState<number>();
  useEffect(() => {
    if (firstPageMs === undefined) return;
    const abort = new AbortController();
    const load = (): void => {
      const f = live ? { ...filter, end: new Date() } : filter;
      const seconds = bucketMs(f.end.getTime() - f.start.getTime()) / 1000;
      countEvents(session, f, seconds, abort.signal)
        .then((c) => {
          setHistogram(fromCounts(c.Buckets, c.BucketSeconds));
          setTotal(c.Total);
        })
        .catch(() => undefined);
    };
    setTotal(undefined);
    load();
    const timer = live ? setInterval(load, 10_000) : undefined;
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [session, filter, live, firstPageMs === undefined]);

  return (
    <section aria-labelledby="eh-title" className={`page events-page${selected ? ' with-panel' : ''}`}>
      <div className="page-head">
        <h1 id="eh-title">Event history</h1>
        <div className="actions">
          <label className="toggle">
            <input type="checkbox" checked={live} disabled={range.kind !== 'relative'} onChange={(e) => setLive(e.target.checked)} /> Live
          </label>
          <button type="button" onClick={() => void exportAll('json')} disabled={!!exporting}>
            Download JSON
          </button>
          <button type="button" onClick={() => void exportAll('csv')} disabled={!!exporting}>
            Download CSV
          </button>
        </div>
      </div>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
      >
        <label>
          Lookup attribute
          <select value={key} onChange={(e) => setKey(e.target.value as LookupAttributeKey)}>
            {ATTRIBUTES.map((a) => (
              <option key={a.key} value={a.key}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Value
          <input type="search" placeholder={key === 'ReadOnly' ? 'true or false' : 'Enter a value (exact match)'} value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <label>
          Time range
          <select value={range.kind === 'relative' ? range.relative : 'absolute'} onChange={(e) => setRange(e.target.value === 'absolute' ? { ...range, kind: 'absolute' } : { ...range, kind: 'relative', relative: e.target.value })}>
            {RELATIVE.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
            <option value="absolute">Absolute range…</option>
          </select>
        </label>
        {range.kind === 'absolute' && (
          <>
            <label>
              From
              <input type="datetime-local" value={range.from} onChange={(e) => setRange({ ...range, from: e.target.value })} />
            </label>
            <label>
              To
              <input type="datetime-local" value={range.to} onChange={(e) => setRange({ ...range, to: e.target.value })} />
            </label>
          </>
        )}
        <label className="toggle">
          <input type="checkbox" checked={hideReadOnly} onChange={(e) => setHideReadOnly(e.target.checked)} /> Hide read-only events
        </label>
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <ErrorAlert error={error} />
      {exporting && (
        <div className="row">
          <Progress label={`Exporting ${exporting.kind.toUpperCase()}`} done={exporting.done} />
          <button type="button" onClick={() => exportAbort.current?.abort()}>
            Cancel
          </button>
        </div>
      )}
      <Suspense fallback={<div style={{ height: 140 }} />}>
        <TimeHistogram data={histogram} label="Events over the time range" />
      </Suspense>
      <p className="muted small" aria-live="polite" data-testid="eh-status">
        {rows.length.toLocaleString()} {rows.length === 1 ? 'event' : 'events'} {complete ? 'shown (all of the range)' : `loaded${total !== undefined ? ` of ${total.toLocaleString()}` : ''} (scroll for more)`}
        {filter.hideReadOnly && filter.value.trim() ? ' · the histogram includes read-only events' : ''}
        {firstPageMs !== undefined ? ` · first page in ${firstPageMs} ms` : ''}
        {loading ? ' · loading…' : ''}
      </p>
      <div className="events-body">
        <div className="vtable" role="table" aria-label="Events" aria-rowcount={rows.length + 1}>
          <div className="vrow vhead" role="row">
            {COLUMNS.map((c) => (
              <div key={c.label} role="columnheader" className="vcell">
                {c.label}
              </div>
            ))}
          </div>
          <div ref={scroller} className="vscroll">
            <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
              {items.map((it) => {
                const r = rows[it.index]!;
                return (
                  <div
                    key={r.id + it.index}
                    role="row"
                    tabIndex={0}
                    aria-rowindex={it.index + 2}
                    aria-selected={selected?.id === r.id}
                    className={`vrow${selected?.id === r.id ? ' selected' : ''}${r.errorCode ? ' has-error' : ''}`}
                    style={{ position: 'absolute', top: 0, transform: `translateY(${it.start}px)`, height: ROW_HEIGHT, width: '100%' }}
                    onClick={() => setSelected(r)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        setSelected(r);
                      }
                    }}
                  >
                    {COLUMNS.map((c) => (
                      <div key={c.label} role="cell" className="vcell" title={c.cell(r)}>
                        {c.cell(r)}
                      </div>
                    ))}
                  </div>
                );
              })}
            </div>
            {!loading && rows.length === 0 && !error && <p className="empty">No events match this filter and time range.</p>}
          </div>
        </div>
        {selected && <EventPanel row={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </section>
  );
}

function EventPanel({ row, onClose }: { row: Row; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const text = useMemo(() => JSON.stringify(row.record, null, 2), [row]);
  return (
    <aside className="side-panel" aria-label={`Event ${row.name}`}>
      <div className="page-head">
        <h2>{row.name}</h2>
        <button type="button" className="ghost" onClick={onClose} aria-label="Close event details">
          ✕
        </button>
      </div>
      <dl className="facts">
        <dt>Event time</dt>
        <dd>{row.time?.toISOString()}</dd>
        <dt>Event ID</dt>
        <dd>{row.id}</dd>
        <dt>Event source</dt>
        <dd>{row.source}</dd>
        {row.errorCode && (
          <>
            <dt>Error code</dt>
            <dd className="error-text">{row.errorCode}</dd>
          </>
        )}
      </dl>
      <div className="row">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true));
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          {copied ? 'Copied' : 'Copy JSON'}
        </button>
        <button type="button" onClick={() => download(`${row.id}.json`, text, 'application/json')}>
          Download
        </button>
      </div>
      <JsonView value={row.record} />
    </aside>
  );
}
