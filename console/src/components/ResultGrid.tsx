/** A query result as a sortable grid (click or Enter on a header), with CSV download. */
import { useMemo, useState } from 'react';
import { download, toCsv } from '../lib/download.js';

export interface Table {
  columns: string[];
  rows: string[][];
}

function compare(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function ResultGrid({ table, name }: { table: Table; name: string }) {
  const [sort, setSort] = useState<{ col: number; dir: 1 | -1 }>();
  const rows = useMemo(() => {
    if (!sort) return table.rows;
    return [...table.rows].sort((x, y) => sort.dir * compare(x[sort.col] ?? '', y[sort.col] ?? ''));
  }, [table, sort]);
  const toggle = (col: number): void => setSort((s) => (s?.col === col ? { col, dir: s.dir === 1 ? -1 : 1 } : { col, dir: 1 }));
  return (
    <div className="result-grid">
      <div className="row">
        <span className="muted small">{table.rows.length.toLocaleString()} rows</span>
        <button type="button" onClick={() => download(`${name}.csv`, toCsv(table.columns, table.rows), 'text/csv')}>
          Download CSV
        </button>
      </div>
      <div className="table-scroll">
        <table className="grid">
          <thead>
            <tr>
              {table.columns.map((c, i) => (
                <th key={c + i} aria-sort={sort?.col === i ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" className="sort" onClick={() => toggle(i)}>
                    {c} {sort?.col === i ? (sort.dir === 1 ? '▲' : '▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, 2000).map((r, i) => (
              <tr key={i}>
                {r.map((v, j) => (
                  <td key={j} title={v}>
                    {v}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length > 2000 && <p className="muted small">Showing the first 2,000 rows; the CSV has all {rows.length.toLocaleString()}.</p>}
      </div>
    </div>
  );
}
