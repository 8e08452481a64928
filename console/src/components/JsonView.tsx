/** A JSON document as a collapsible, highlighted tree (native <details>: keyboard and screen-reader friendly). */
import type { ReactNode } from 'react';

function scalar(v: unknown): ReactNode {
  if (v === null) return <span className="j-null">null</span>;
  if (typeof v === 'string') return <span className="j-str">{JSON.stringify(v)}</span>;
  if (typeof v === 'number') return <span className="j-num">{String(v)}</span>;
  if (typeof v === 'boolean') return <span className="j-bool">{String(v)}</span>;
  return <span>{String(v)}</span>;
}

function Node({ name, value, depth }: { name?: string; value: unknown; depth: number }) {
  const label = name !== undefined ? <span className="j-key">{JSON.stringify(name)}: </span> : null;
  if (value === null || typeof value !== 'object') {
    return (
      <div className="j-line">
        {label}
        {scalar(value)}
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) {
    return (
      <div className="j-line">
        {label}
        <span className="j-punct">{open + close}</span>
      </div>
    );
  }
  return (
    <details open={depth < 3} className="j-node">
      <summary>
        {label}
        <span className="j-punct">{open}</span>
        <span className="j-count"> {entries.length} {Array.isArray(value) ? 'items' : 'keys'} </span>
      </summary>
      <div className="j-children">
        {entries.map(([k, v]) => (
          <Node key={k} name={Array.isArray(value) ? undefined : k} value={v} depth={depth + 1} />
        ))}
      </div>
      <span className="j-punct">{close}</span>
    </details>
  );
}

export function JsonView({ value }: { value: unknown }) {
  return (
    <div className="json-view" role="region" aria-label="Record as JSON">
      <Node value={value} depth={0} />
    </div>
  );
}
