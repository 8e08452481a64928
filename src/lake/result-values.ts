/**
 * Values as Lake's GetQueryResults shows them: every value as text, the way
 * Trino renders it — timestamps with milliseconds, rows and maps as
 * `{name=value, …}`, arrays as `[a, b]`, null inside them as `null`.
 */
import { DuckDBArrayType, DuckDBListType, DuckDBMapType, DuckDBStructType, DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';

const isTimestamp = (t: DuckDBType): boolean =>
  t.typeId === DuckDBTypeId.TIMESTAMP ||
  t.typeId === DuckDBTypeId.TIMESTAMP_TZ ||
  t.typeId === DuckDBTypeId.TIMESTAMP_MS ||
  t.typeId === DuckDBTypeId.TIMESTAMP_S ||
  t.typeId === DuckDBTypeId.TIMESTAMP_NS;

/** A timestamp with exactly three fractional digits and no zone suffix for UTC. */
function timestampText(v: string): string {
  const s = v.replace(/\+00(:00)?$/, '');
  return /\.\d+/.test(s) ? s.replace(/(\.\d{3})\d*/, '$1').replace(/\.(\d{1,2})$/, (_m, d: string) => `.${d.padEnd(3, '0')}`) : `${s}.000`;
}

/** Text of a value nested in a row, map or array (null shows as `null`). */
function nested(v: unknown, t: DuckDBType): string {
  if (v === null || v === undefined) return 'null';
  if (t instanceof DuckDBStructType) {
    const o = v as Record<string, unknown>;
    return `{${t.entryNames.map((n, i) => `${n}=${nested(o[n], t.entryTypes[i]!)}`).join(', ')}}`;
  }
  if (t instanceof DuckDBMapType) {
    const entries = v as { key: unknown; value: unknown }[];
    return `{${entries.map((e) => `${nested(e.key, t.keyType)}=${nested(e.value, t.valueType)}`).join(', ')}}`;
  }
  if (t instanceof DuckDBListType || t instanceof DuckDBArrayType) return `[${(v as unknown[]).map((x) => nested(x, t.valueType)).join(', ')}]`;
  if (isTimestamp(t) && typeof v === 'string') return timestampText(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** A result value (from DuckDB's JSON rows) as Lake returns it: text, or null for SQL NULL. */
export function queryResultValue(v: unknown, type: DuckDBType): string | null {
  if (v === null || v === undefined) return null;
  return nested(v, type);
}
