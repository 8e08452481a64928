/** A chart of any two columns of a result: bar, line, or time series (x parsed as time). */
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Table } from './ResultGrid.js';

type Kind = 'bar' | 'line' | 'time';

export function ResultChart({ table }: { table: Table }) {
  const numericCols = table.columns.map((_, i) => table.rows.length > 0 && table.rows.every((r) => r[i] === '' || !Number.isNaN(Number(r[i]))));
  const [x, setX] = useState(0);
  const [y, setY] = useState(() => Math.max(0, numericCols.lastIndexOf(true)));
  const [kind, setKind] = useState<Kind>('bar');
  const data = useMemo(() => {
    const pts = table.rows.map((r) => ({ x: r[x] ?? '', y: Number(r[y] ?? 0), t: Date.parse(String(r[x] ?? '').replace(' ', 'T') + (/(Z|[+-]\d\d:?\d\d)$/.test(r[x] ?? '') ? '' : 'Z')) }));
    if (kind === 'time') return pts.filter((p) => !Number.isNaN(p.t)).sort((a, b) => a.t - b.t);
    return pts.slice(0, 500);
  }, [table, x, y, kind]);
  const col = (label: string, v: number, set: (n: number) => void) => (
    <label>
      {label}
      <select value={v} onChange={(e) => set(Number(e.target.value))}>
        {table.columns.map((c, i) => (
          <option key={c + i} value={i}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
  const axisTick = { fontSize: 11, fill: 'var(--muted)' };
  return (
    <div className="result-chart">
      <div className="filters">
        {col('X column', x, setX)}
        {col('Y column', y, setY)}
        <label>
          Chart
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="bar">Bar</option>
            <option value="line">Line</option>
            <option value="time">Time series</option>
          </select>
        </label>
      </div>
      <figure className="chart" aria-label={`${table.columns[y]} by ${table.columns[x]}`} data-testid="result-chart">
        <ResponsiveContainer width="100%" height={260}>
          {kind === 'bar' ? (
            <BarChart data={data}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
              <XAxis dataKey="x" tick={axisTick} />
              <YAxis tick={axisTick} />
              <Tooltip contentStyle={{ background: 'var(--panel)', border: '1px solid var(--border)' }} />
              <Bar dataKey="y" name={table.columns[y]} fill="var(--accent)" isAnimationActive={false} />
            </BarChart>
          ) : (
            <LineChart data={data}>
              <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
              {kind === 'time' ? (
                <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tick={axisTick} tickFormatter={(t: number) => new Date(t).toISOString().slice(5, 16).replace('T', ' ')} />
              ) : (
                <XAxis dataKey="x" tick={axisTick} />
              )}
              <YAxis tick={axisTick} />
              <Tooltip contentStyle={{ background: 'var(--panel)', border: '1px solid var(--border)' }} />
              <Line dataKey="y" name={table.columns[y]} stroke="var(--accent)" dot={false} isAnimationActive={false} />
            </LineChart>
          )}
        </ResponsiveContainer>
      </figure>
    </div>
  );
}
