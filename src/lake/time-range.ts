/**
 * Partition pruning: the days of a store a read of it can need, from its SELECT's WHERE clause.
 * A store's files are partitioned by the UTC date of eventTime (lake-files.ts), so a conjunct of
 * the WHERE such as `eventTime >= '2026-11-14 10:00:00'` rules out whole days before it, as Lake
 * prunes its partitions (and bills fewer bytes scanned). Only what cannot change a result is used:
 * top-level AND conjuncts comparing the read's own eventTime with a constant time without a zone
 * offset (UTC, the session's zone), or from below with the query's start time less a constant
 * interval (`eventTime > now() - interval '7' day`), in a SELECT whose FROM is the store, or the
 * store within ordinary joins (a WHERE condition on a table's column with a constant is false or
 * null on the rows of pruned days, whichever side of an outer join the table is on). Anything
 * else reads every day.
 */

type Node = Record<string, unknown>;

/**
 * Inclusive UTC dates (YYYY-MM-DD) a read needs; a missing end is open. `withinMs`: a lower bound
 * relative to the query's start (`eventTime > now() - interval '7' day`), resolved when it runs.
 */
export interface DateRange {
  from?: string;
  to?: string;
  withinMs?: number;
}

/** Whether a partition's date lies in the range, for a query starting at `now`. */
export function inRange(date: string, range: DateRange | undefined, now = Date.now()): boolean {
  if (!range) return true;
  if (range.withinMs !== undefined && date < new Date(now - range.withinMs).toISOString().slice(0, 10)) return false;
  return (range.from === undefined || date >= range.from) && (range.to === undefined || date <= range.to);
}

/** Longest span of each unit (months and years at their longest, so a bound is never too tight). */
const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 31 * 86_400_000,
  year: 366 * 86_400_000,
};
/** DuckDB's spelling of `interval 'N' unit`: to_<unit>s(N). */
const INTERVAL_FNS: Record<string, string> = { to_seconds: 'second', to_minutes: 'minute', to_hours: 'hour', to_days: 'day', to_weeks: 'week', to_months: 'month', to_years: 'year' };

const fnName = (n: Node | undefined): string => (n?.class === 'FUNCTION' && !n.schema ? String(n.function_name).toLowerCase() : '');

/** The query's start time as Lake's SQL spells it: current_timestamp, now(), current_timestamp(). */
function isNow(n: unknown): boolean {
  const c = n as Node | undefined;
  if (c?.class === 'COLUMN_REF') return (c.column_names as string[]).length === 1 && (c.column_names as string[])[0]!.toLowerCase() === 'current_timestamp';
  return ['now', 'current_timestamp', 'get_current_timestamp'].includes(fnName(c)) && ((c!.children as unknown[] | undefined)?.length ?? 0) === 0;
}

/** A constant number, through the casts and trunc() DuckDB wraps an interval's count in. */
function constantNumber(n: unknown): number | undefined {
  let c = n as Node | undefined;
  while (c && (c.class === 'CAST' || fnName(c) === 'trunc')) c = c.class === 'CAST' ? (c.child as Node) : ((c.children as Node[])[0] as Node);
  if (c?.class !== 'CONSTANT') return undefined;
  const v = c.value as { is_null?: boolean; value?: unknown } | undefined;
  const x = v && !v.is_null ? Number(v.value) : NaN;
  return Number.isFinite(x) ? x : undefined;
}

/** Spans beyond this (~30,000 years) are no bound at all (and no date JavaScript can hold). */
const MAX_AGO_MS = 1e15;

/** How far before the query's start a bound lies: now(), now() - interval 'N' unit, date_add(unit, -N, now()). */
function agoMs(n: unknown): number | undefined {
  const ms = agoMsOf(n);
  return ms !== undefined && ms <= MAX_AGO_MS ? ms : undefined;
}

function agoMsOf(n: unknown): number | undefined {
  if (isNow(n)) return 0;
  const c = n as Node | undefined;
  const args = (c?.children as Node[] | undefined) ?? [];
  if (fnName(c) === '-' && args.length === 2 && isNow(args[0])) {
    const unit = INTERVAL_FNS[fnName(args[1])];
    const count = unit ? constantNumber((args[1]!.children as Node[] | undefined)?.[0]) : undefined;
    return count !== undefined && count >= 0 ? count * UNIT_MS[unit!]! : undefined;
  }
  if (fnName(c) === 'date_add' && args.length === 3 && isNow(args[2]) && args[0]?.class === 'CONSTANT') {
    const unit = UNIT_MS[String((args[0].value as { value?: unknown } | undefined)?.value).toLowerCase()];
    const count = constantNumber(args[1]);
    return unit !== undefined && count !== undefined && count <= 0 ? -count * unit : undefined;
  }
  return undefined;
}

/** A time literal DuckDB reads as the same UTC instant in a TIMESTAMP comparison: its date. */
const TIME_RE = /^(\d{4}-\d\d-\d\d)(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)?(?:Z|\+00(?::?00)?)?$/;
const TIME_CASTS = new Set(['VARCHAR', 'TIMESTAMP', 'DATE', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S']);

function constantDate(n: unknown): string | undefined {
  let c = n as Node | undefined;
  if (c?.class === 'CAST') {
    if (c.try_cast || !TIME_CASTS.has(String((c.cast_type as Node | undefined)?.id))) return undefined;
    c = c.child as Node | undefined;
  }
  if (c?.class !== 'CONSTANT') return undefined;
  const v = c.value as { type?: { id?: string }; is_null?: boolean; value?: unknown } | undefined;
  if (!v || v.is_null || v.type?.id !== 'VARCHAR' || typeof v.value !== 'string') return undefined;
  return TIME_RE.exec(v.value)?.[1];
}

/** The WHERE's top-level AND conjuncts. */
function conjuncts(n: unknown, out: Node[] = []): Node[] {
  const c = n as Node | null | undefined;
  if (!c) return out;
  if (c.class === 'CONJUNCTION' && c.type === 'CONJUNCTION_AND') for (const x of c.children as unknown[]) conjuncts(x, out);
  else out.push(c);
  return out;
}

/** FROM items whose rows reach the WHERE unchanged in kind: tables through ordinary joins. */
function fromTables(n: unknown, out: { tables: Node[]; items: number }): boolean {
  const f = n as Node | null | undefined;
  if (!f) return true;
  if (f.type === 'JOIN') {
    const ordinary = (f.ref_type === 'REGULAR' || f.ref_type === 'CROSS') && ['INNER', 'LEFT', 'RIGHT', 'OUTER', 'FULL'].includes(String(f.join_type));
    return ordinary && fromTables(f.left, out) && fromTables(f.right, out);
  }
  out.items++;
  if (f.type === 'BASE_TABLE' && !f.sample && !f.at_clause && !(f.column_name_alias as unknown[] | undefined)?.length) out.tables.push(f);
  return true;
}

const COMPARISONS: Record<string, { lower?: true; upper?: true; flip: string }> = {
  COMPARE_GREATERTHAN: { lower: true, flip: 'COMPARE_LESSTHAN' },
  COMPARE_GREATERTHANOREQUALTO: { lower: true, flip: 'COMPARE_LESSTHANOREQUALTO' },
  COMPARE_LESSTHAN: { upper: true, flip: 'COMPARE_GREATERTHAN' },
  COMPARE_LESSTHANOREQUALTO: { upper: true, flip: 'COMPARE_GREATERTHANOREQUALTO' },
  COMPARE_EQUAL: { lower: true, upper: true, flip: 'COMPARE_EQUAL' },
};

/**
 * The date range of each table read directly by a SELECT of the statement (keyed by the parsed
 * table node), for those whose WHERE bounds their eventTime. `columns` are the store tables' column
 * names (lower case): a table aliased as one of them is left alone (`x.eventTime` might be a field).
 */
export function readRanges(statements: unknown, columns: ReadonlySet<string>): Map<Node, DateRange> {
  const ranges = new Map<Node, DateRange>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    const n = v as Node;
    if (n.type === 'SELECT_NODE' && n.where_clause) {
      const from = { tables: [] as Node[], items: 0 };
      if (fromTables(n.from_table, from)) {
        const where = conjuncts(n.where_clause);
        for (const t of from.tables) {
          const name = String(t.alias || t.table_name).toLowerCase();
          if (columns.has(name)) continue;
          const isTime = (x: unknown): boolean => {
            const c = x as Node | undefined;
            if (c?.class !== 'COLUMN_REF') return false;
            const names = (c.column_names as string[]).map((s) => s.toLowerCase());
            return names.length === 1 ? from.items === 1 && names[0] === 'eventtime' : names.length === 2 && names[0] === name && names[1] === 'eventtime';
          };
          const range: DateRange = {};
          const bound = (kind: { lower?: true; upper?: true }, value: unknown): void => {
            const date = constantDate(value);
            if (date === undefined) {
              // Relative to the query's start: only as a lower bound (the usual "last N days").
              const ago = kind.lower && !kind.upper ? agoMs(value) : undefined;
              if (ago !== undefined && (range.withinMs === undefined || ago < range.withinMs)) range.withinMs = ago;
              return;
            }
            if (kind.lower && (range.from === undefined || date > range.from)) range.from = date;
            if (kind.upper && (range.to === undefined || date < range.to)) range.to = date;
          };
          for (const c of where) {
            if (c.class === 'COMPARISON' && COMPARISONS[String(c.type)]) {
              const op = COMPARISONS[String(c.type)]!;
              if (isTime(c.left)) bound(op, c.right);
              else if (isTime(c.right)) bound(COMPARISONS[op.flip]!, c.left);
            } else if (c.class === 'BETWEEN' && isTime(c.input)) {
              bound({ lower: true }, c.lower);
              bound({ upper: true }, c.upper);
            }
          }
          if (range.from !== undefined || range.to !== undefined || range.withinMs !== undefined) ranges.set(t, range);
        }
      }
    }
    for (const x of Object.values(n)) visit(x);
  };
  visit(statements);
  return ranges;
}
