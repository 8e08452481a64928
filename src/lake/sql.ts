/**
 * Lake's SQL (Trino's dialect) made ready for DuckDB. The statement is parsed
 * by DuckDB's own parser (json_serialize_sql, which accepts SELECT statements
 * only — anything else is refused there), the syntax tree is checked (every
 * table is a CTE or an event data store of the caller's account; no table
 * functions; no file or system functions), Trino's functions that DuckDB
 * spells differently are renamed to macros that behave like Trino's, unnamed
 * result columns get Trino's names, and the tree is turned back into SQL.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { EventDataStoreNotFoundException, InvalidQueryStatementException } from '../protocols/errors.js';
import { LAKE_COLUMN_NAMES } from './schema.js';
import { readRanges, type DateRange } from './time-range.js';

/** DuckDB macros with Trino's behaviour, created in every query's database. */
export const TRINO_MACROS = [
  'CREATE MACRO trino_element_at(c, k) AS c[k]',
  'CREATE MACRO from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP)',
  'CREATE MACRO from_iso8601_date(s) AS CAST(s AS DATE)',
  'CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)',
  'CREATE MACRO approx_distinct(x) AS approx_count_distinct(x)',
  "CREATE MACRO trino_date_add(u, n, t) AS t + (n) * CAST('1 ' || u AS INTERVAL)",
  'CREATE MACRO trino_day_of_week(t) AS isodow(t)',
  'CREATE MACRO day_of_month(t) AS dayofmonth(t)',
  'CREATE MACRO day_of_year(t) AS dayofyear(t)',
  'CREATE MACRO doy(t) AS dayofyear(t)',
  'CREATE MACRO week_of_year(t) AS weekofyear(t)',
  'CREATE MACRO year_of_week(t) AS isoyear(t)',
  'CREATE MACRO yow(t) AS isoyear(t)',
  'CREATE MACRO trino_contains(a, x) AS list_contains(a, x)',
  // Trino's replace(s, x) removes every x (DuckDB's needs the replacement).
  "CREATE MACRO trino_replace(s, x) AS replace(s, x, '')",
  'CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE MACRO json_parse(s) AS CAST(s AS JSON)',
  'CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)',
  "CREATE MACRO json_array_get(j, i) AS json_extract(j, '$[' || CAST(i AS VARCHAR) || ']')",
  'CREATE MACRO trino_date(x) AS CAST(x AS DATE)',
  'CREATE MACRO to_unixtime(t) AS epoch(t)',
  'CREATE MACRO from_unixtime(n) AS CAST(to_timestamp(n) AS TIMESTAMP)',
  'CREATE MACRO array_join(a, s) AS array_to_string(a, s)',
  'CREATE MACRO array_distinct(a) AS list_distinct(a)',
  'CREATE MACRO array_max(a) AS list_max(a)',
  'CREATE MACRO array_min(a) AS list_min(a)',
  'CREATE MACRO is_json_scalar(j) AS json_type(j) NOT IN (\'OBJECT\', \'ARRAY\')',
  'CREATE MACRO to_iso8601(t) AS strftime(t, \'%Y-%m-%dT%H:%M:%S.%gZ\')',
  // Trino compares a timestamp column with current_timestamp in the session's zone (UTC in Lake):
  // the same as comparing with UTC's wall clock, which keeps the comparison a timestamp one, that
  // DuckDB can push into the Parquet scan instead of converting every row's time to a zoned one.
  'CREATE MACRO trino_current_timestamp() AS CAST(get_current_timestamp() AS TIMESTAMP)',
];

/** What every query database runs first: Lake's session time zone (UTC), then the macros. */
export const TRINO_SETUP = ["SET TimeZone = 'UTC'", ...TRINO_MACROS];

/** Trino names DuckDB also has, with another meaning or arity: renamed to the macros above. */
const RENAMES: Record<string, (args: number) => string | undefined> = {
  element_at: () => 'trino_element_at',
  date_add: (n) => (n === 3 ? 'trino_date_add' : undefined),
  day_of_week: () => 'trino_day_of_week',
  dow: () => 'trino_day_of_week',
  contains: (n) => (n === 2 ? 'trino_contains' : undefined),
  replace: (n) => (n === 2 ? 'trino_replace' : undefined),
  transform: (n) => (n === 2 ? 'list_transform' : undefined),
  date: (n) => (n === 1 ? 'trino_date' : undefined),
  now: (n) => (n === 0 ? 'trino_current_timestamp' : undefined),
};

/** Keywords that DuckDB parses as column names and binds to functions: the ones Lake's zone changes. */
const TIME_KEYWORDS: Record<string, string> = { current_timestamp: 'trino_current_timestamp' };

/** Functions that reach outside the data (files, settings, the catalog, the environment): refused. */
const DENIED = /^(read_|parquet_|sniff_csv$|glob$|getenv$|current_setting$|duckdb_|pragma_|query$|query_table$|iceberg_|delta_scan$|sqlite_|postgres_|mysql_|httpfs|s3_|load_|install_|checkpoint$|force_checkpoint$|enable_|disable_|set_|write_|copy_|export_|import_|system$|shell$)/i;

/** Store ids are UUIDs; Lake takes them unquoted in FROM, which no SQL parser does. */
const ID_RE = /[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}/y;

/** The statement with every unquoted store-id-shaped token quoted as an identifier. */
export function quoteStoreIds(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const j = sql.indexOf('\n', i);
      const end = j < 0 ? sql.length : j;
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const j = sql.indexOf('*/', i + 2);
      const end = j < 0 ? sql.length : j + 2;
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (/[A-Za-z0-9]/.test(c) && (i === 0 || !/[A-Za-z0-9_.$]/.test(sql[i - 1]!))) {
      ID_RE.lastIndex = i;
      const m = ID_RE.exec(sql);
      if (m && !/[A-Za-z0-9_]/.test(sql[i + m[0].length] ?? '')) {
        out += `"${m[0]}"`;
        i += m[0].length;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

type Node = Record<string, unknown>;

/** One place a query reads a store, and the days it can need there (undefined: every day). */
export interface StoreRead {
  storeId: string;
  range?: DateRange;
}

export interface PreparedQuery {
  /** Store ids the query reads, as the account's stores spell them. */
  stores: string[];
  /** Each place the statement reads a store (a store read twice, say in a self-join, is two reads). */
  reads: StoreRead[];
  /**
   * SQL for DuckDB reading each store from `source(read)`, a FROM item (a table function call or
   * a parenthesised SELECT) put where the store is named, under the name the query gives it: the
   * query binds its files itself, with no view to create first.
   */
  from(source: (read: StoreRead) => string): string;
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * Check and translate `statement`. `storeIdOf(name)` answers the caller's store id a table name
 * refers to (case-insensitive), or undefined.
 */
export async function prepareQuery(conn: DuckDBConnection, statement: string, storeIdOf: (name: string) => string | undefined): Promise<PreparedQuery> {
  const quoted = quoteStoreIds(statement);
  const reader = await conn.runAndReadAll(`SELECT json_serialize_sql(${sqlString(quoted)}) AS ast`);
  // query_location is a uint64 (max = unknown), beyond what a JS number holds exactly: zeroed, it only feeds error messages.
  const ast = JSON.parse(String(reader.getRowObjects()[0]!.ast).replace(/"query_location":\d{16,}/g, '"query_location":0')) as { error: boolean; error_type?: string; error_message?: string; statements?: { node: Node }[] };
  if (ast.error) {
    if (/Only SELECT statements/i.test(ast.error_message ?? '')) {
      throw new InvalidQueryStatementException('Only SELECT statements are supported: a query cannot insert, update, delete, create, copy, attach or change settings.');
    }
    throw new InvalidQueryStatementException(`The query statement is malformed: ${(ast.error_message ?? 'syntax error').split('\n')[0]}`);
  }
  if (!ast.statements || ast.statements.length !== 1) throw new InvalidQueryStatementException('Give exactly one SELECT statement.');
  const ctes = new Set<string>();
  const collectCtes = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collectCtes);
    else if (v && typeof v === 'object') {
      const n = v as Node;
      const map = (n.cte_map as { map?: { key: string }[] } | undefined)?.map;
      if (map) for (const e of map) ctes.add(e.key.toLowerCase());
      for (const x of Object.values(n)) collectCtes(x);
    }
  };
  collectCtes(ast.statements);
  const ranges = readRanges(ast.statements, LAKE_COLUMN_NAMES);
  // Each store read gets a table name only this preparation knows (a random nonce), swapped for
  // the store's source by from().
  const nonce = randomBytes(8).toString('hex');
  const markers = new Map<string, StoreRead>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const n = v as Node;
    if (n.type === 'TABLE_FUNCTION') {
      const fn = (n.function as Node | undefined)?.function_name;
      throw new InvalidQueryStatementException(`FROM takes event data store ids; the table function ${String(fn)} cannot be used.`);
    }
    if (n.type === 'BASE_TABLE') {
      const name = String(n.table_name);
      if (n.schema_name || n.catalog_name) throw new EventDataStoreNotFoundException(`The event data store ${[n.catalog_name, n.schema_name, name].filter(Boolean).join('.')} was not found.`);
      if (!ctes.has(name.toLowerCase())) {
        const id = storeIdOf(name);
        if (!id) throw new EventDataStoreNotFoundException(`The event data store ${name} was not found.`);
        const marker = `ot_${nonce}_${markers.size}`;
        markers.set(marker, { storeId: id, ...(ranges.has(n) ? { range: ranges.get(n)! } : {}) });
        n.table_name = marker;
        if (!n.alias) n.alias = id;
      }
    }
    if (n.class === 'COLUMN_REF') {
      const names = n.column_names as string[];
      const fn = names.length === 1 ? TIME_KEYWORDS[names[0]!.toLowerCase()] : undefined;
      if (fn) {
        delete n.column_names;
        Object.assign(n, { class: 'FUNCTION', type: 'FUNCTION', function_name: fn, schema: '', catalog: '', children: [], filter: null, order_bys: { type: 'ORDER_MODIFIER', orders: [] }, distinct: false, is_operator: false, export_state: false });
      }
    }
    // Trino's CAST(json AS VARCHAR) gives a JSON string's value, not its quoted JSON text.
    const child = n.child as Node | undefined;
    if (n.class === 'CAST' && !n.try_cast && (n.cast_type as Node | undefined)?.id === 'VARCHAR' && child?.class === 'FUNCTION' && String(child.function_name).toLowerCase() === 'json_extract' && !child.schema && (child.children as unknown[] | undefined)?.length === 2) {
      const alias = n.alias;
      for (const k of Object.keys(n)) delete n[k];
      Object.assign(n, child, { function_name: 'json_extract_string', alias });
    }
    if (n.class === 'FUNCTION' && typeof n.function_name === 'string') {
      const fn = n.function_name.toLowerCase();
      if (DENIED.test(fn) || n.schema || n.catalog) throw new InvalidQueryStatementException(`The function ${n.function_name} is not available in queries.`);
      const renamed = RENAMES[fn]?.((n.children as unknown[] | undefined)?.length ?? 0);
      if (renamed) n.function_name = renamed;
    }
    for (const x of Object.values(n)) walk(x);
  };
  walk(ast.statements);
  // Result columns named as Trino names them: an alias, a column as written, else _col<N>.
  let top = ast.statements[0]!.node;
  while (top.type === 'SET_OPERATION_NODE') top = top.left as Node;
  const list = top.select_list as Node[] | undefined;
  list?.forEach((item, i) => {
    if (item.alias || item.class === 'STAR') return;
    if (item.class === 'COLUMN_REF') item.alias = (item.column_names as string[])[(item.column_names as string[]).length - 1];
    else item.alias = `_col${i}`;
  });
  const back = await conn.runAndReadAll(`SELECT json_deserialize_sql(${sqlString(JSON.stringify(ast))}) AS sql`);
  const template = String(back.getRowObjects()[0]!.sql);
  const reads = [...markers.values()];
  return {
    stores: [...new Set(reads.map((r) => r.storeId))],
    reads,
    // Markers in reverse order: ot_<nonce>_1 must not be replaced inside ot_<nonce>_10.
    from: (source) => [...markers].reverse().reduce((sql, [marker, read]) => sql.replaceAll(marker, source(read)), template),
  };
}
