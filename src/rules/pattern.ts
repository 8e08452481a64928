/**
 * EventBridge event patterns: compiled once, with event-ruler's validation
 * (the library EventBridge is built on), into trees of field matchers.
 * `$or` is expanded at compile time into alternative sub-patterns, so a
 * compiled pattern is a list of plain trees and an event matches when one of
 * them does.
 */
import { BlockList, isIP } from 'node:net';
import { isPNumber, isPObject, parsePatternJson, PatternSyntaxError, type PNumber, type PObject, type PValue } from './pattern-json.js';

/** Why a pattern was refused (the service answers InvalidEventPatternException with it). */
export class PatternError extends Error {}

/** A leaf value of an event: what patterns compare against. */
export type LeafValue = string | number | boolean | null;

export interface Matcher {
  /** The operator, for anchoring and diagnostics: exact, prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, cidr, exists. */
  op: string;
  test: (v: LeafValue) => boolean;
  /** exact: the value; prefix (case-sensitive): the prefix. Used to index rules. */
  key?: LeafValue;
  /** exists: true or false. */
  exists?: boolean;
}

export interface Leaf {
  leaf: true;
  matchers: Matcher[];
}
export interface Node {
  leaf: false;
  fields: Map<string, Node | Leaf>;
}

export interface CompiledPattern {
  /** Alternatives ($or expanded): the pattern matches when any of them does. */
  subPatterns: Node[];
}

/** Field names that are operators, refused as field names inside $or. */
const RESERVED = new Set(['prefix', 'suffix', 'anything-but', 'numeric', 'cidr', 'exists', 'equals-ignore-case', 'wildcard', 'exactly']);
/** Most alternatives one pattern may expand into through $or. */
const MAX_ALTERNATIVES = 1000;

const lower = (s: string): string => s.toLowerCase();
const isString = (v: LeafValue): v is string => typeof v === 'string';

function describeJson(v: PValue): string {
  if (isPNumber(v)) return v.text;
  if (isPObject(v)) return 'an object';
  if (Array.isArray(v)) return 'an array';
  return JSON.stringify(v);
}

function stringOf(v: PValue, what: string): string {
  if (typeof v !== 'string') throw new PatternError(`${what} match pattern must be a string`);
  return v;
}

function single(o: PObject): [string, PValue] {
  if (o.entries.length !== 1) throw new PatternError('Only one key allowed in match expression');
  return o.entries[0]!;
}

function finiteNumber(n: PNumber): number {
  const underflow = n.value === 0 && /[1-9]/.test(n.text.split(/[eE]/)[0]!);
  if (!Number.isFinite(n.value) || underflow) throw new PatternError(`Cannot compare number : ${n.text}`);
  return n.value;
}

/** `*` matches any run of characters; `\*` and `\\` are a literal star and backslash. */
export function compileWildcard(p: string): RegExp {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') throw new PatternError(`Consecutive wildcard characters at pos ${i + 1}`);
      re += '.*';
    } else if (c === '\\') {
      const n = p[i + 1];
      if (n !== '*' && n !== '\\') throw new PatternError(`Invalid escape character at pos ${i}`);
      re += `\\${n}`;
      i++;
    } else re += c.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

function stringList(v: PValue, what: string, opts: { nonEmpty?: boolean } = {}): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new PatternError(`${what} list must not be empty`);
  return list.map((x) => {
    if (typeof x !== 'string') {
      if (what === 'equals-ignore-case' && Array.isArray(v)) throw new PatternError('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
      throw new PatternError(`${what === 'prefix' || what === 'suffix' ? 'prefix/suffix' : what} match pattern must be a string`);
    }
    if (opts.nonEmpty && x === '') throw new PatternError('Null prefix/suffix not allowed');
    return x;
  });
}

function anythingBut(v: PValue): Matcher {
  const op = 'anything-but';
  if (isPObject(v)) {
    const [k, x] = single(v);
    switch (k) {
      case 'prefix': {
        const ps = stringList(x, 'prefix', { nonEmpty: true });
        return { op, test: (e) => !isString(e) || !ps.some((p) => e.startsWith(p)) };
      }
      case 'suffix': {
        const ss = stringList(x, 'suffix', { nonEmpty: true });
        return { op, test: (e) => !isString(e) || !ss.some((s) => e.endsWith(s)) };
      }
      case 'equals-ignore-case': {
        const set = new Set(stringList(x, 'equals-ignore-case').map(lower));
        return { op, test: (e) => !isString(e) || !set.has(lower(e)) };
      }
      case 'wildcard': {
        const res = stringList(x, 'wildcard').map(compileWildcard);
        return { op, test: (e) => !isString(e) || !res.some((r) => r.test(e)) };
      }
      default:
        throw new PatternError(`Unsupported anything-but pattern: ${k}`);
    }
  }
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw new PatternError('anything-but list must not be empty');
  const strings = new Set<string>();
  const numbers = new Set<number>();
  for (const x of list) {
    if (typeof x === 'string') strings.add(x);
    else if (isPNumber(x)) numbers.add(finiteNumber(x));
    else throw new PatternError(`anything-but values must be strings or numbers, not ${describeJson(x)}`);
  }
  if (strings.size > 0 && numbers.size > 0) throw new PatternError('Inside anything but list, either all values are number or string, mixed type is not supported');
  return { op, test: (e) => (typeof e === 'string' ? !strings.has(e) : typeof e === 'number' ? !numbers.has(e) : true) };
}

const RANGE_OPS = new Set(['<', '<=', '=', '>', '>=']);

function numeric(v: PValue): Matcher {
  if (!Array.isArray(v)) throw new PatternError('Value of numeric must be an array');
  let lo = -Infinity;
  let loInc = false;
  let hi = Infinity;
  let hiInc = false;
  let eq: number | undefined;
  const num = (i: number, op: string): number => {
    const x = v[i];
    if (x === undefined || !isPNumber(x)) throw new PatternError(`Value of ${op === '=' ? 'equals' : op} must be numeric`);
    return finiteNumber(x);
  };
  const first = v[0];
  if (typeof first !== 'string' || !RANGE_OPS.has(first)) throw new PatternError(`Unrecognized numeric range operator: ${first === undefined ? '' : describeJson(first)}`);
  if (first === '=') {
    eq = num(1, '=');
    if (v.length > 2) throw new PatternError('Too many elements in numeric expression');
  } else if (first === '<' || first === '<=') {
    hi = num(1, first);
    hiInc = first === '<=';
    if (v.length > 2) throw new PatternError('Too many elements in numeric expression');
  } else {
    lo = num(1, first);
    loInc = first === '>=';
    if (v.length > 2) {
      const second = v[2];
      if (typeof second !== 'string' || !RANGE_OPS.has(second)) throw new PatternError(`Unrecognized numeric range operator: ${describeJson(second!)}`);
      if (second !== '<' && second !== '<=') throw new PatternError('Too many elements in numeric expression');
      hi = num(3, second);
      hiInc = second === '<=';
      if (v.length > 4) throw new PatternError('Too many terms in numeric range expression');
      if (lo >= hi) throw new PatternError('Bottom must be less than top');
    }
  }
  if (eq !== undefined) {
    const e = eq;
    return { op: 'numeric', test: (x) => typeof x === 'number' && x === e };
  }
  return { op: 'numeric', test: (x) => typeof x === 'number' && (loInc ? x >= lo : x > lo) && (hiInc ? x <= hi : x < hi) };
}

function cidr(v: PValue): Matcher {
  const s = stringOf(v, 'cidr');
  const parts = s.split('/');
  if (parts.length !== 2) throw new PatternError("Malformed CIDR, one '/' required");
  const [ip, bits] = parts as [string, string];
  const family = isIP(ip);
  const n = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (family === 0) throw new PatternError(`Invalid CIDR format: ${s}`);
  if (!(n >= 0 && n <= (family === 4 ? 32 : 128))) throw new PatternError(`Invalid CIDR format: ${s}`);
  const list = new BlockList();
  list.addSubnet(ip, n, family === 4 ? 'ipv4' : 'ipv6');
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return { op: 'cidr', test: (x) => typeof x === 'string' && isIP(x) === family && list.check(x, type) };
}

function matchExpression(o: PObject): Matcher {
  const [k, v] = single(o);
  switch (k) {
    case 'exactly': {
      const s = stringOf(v, 'exact');
      return { op: 'exact', key: s, test: (x) => x === s };
    }
    case 'prefix':
    case 'suffix': {
      let ignoreCase = false;
      let s: string;
      if (isPObject(v)) {
        const [kk, vv] = single(v);
        if (kk !== 'equals-ignore-case') throw new PatternError(`Unsupported ${k} pattern: ${kk}`);
        s = stringOf(vv, 'equals-ignore-case');
        ignoreCase = true;
      } else s = stringOf(v, k);
      const want = ignoreCase ? lower(s) : s;
      if (k === 'prefix') {
        return ignoreCase
          ? { op: 'prefix', test: (x) => isString(x) && lower(x).startsWith(want) }
          : { op: 'prefix', key: s, test: (x) => isString(x) && x.startsWith(want) };
      }
      return { op: 'suffix', test: (x) => isString(x) && (ignoreCase ? lower(x) : x).endsWith(want) };
    }
    case 'equals-ignore-case': {
      const want = lower(stringOf(v, 'equals-ignore-case'));
      return { op: 'equals-ignore-case', test: (x) => isString(x) && lower(x) === want };
    }
    case 'wildcard': {
      const re = compileWildcard(stringOf(v, 'wildcard'));
      return { op: 'wildcard', test: (x) => isString(x) && re.test(x) };
    }
    case 'anything-but':
      return anythingBut(v);
    case 'numeric':
      return numeric(v);
    case 'cidr':
      return cidr(v);
    case 'exists': {
      if (typeof v !== 'boolean') throw new PatternError('exists match pattern must be either true or false.');
      return { op: 'exists', exists: v, test: () => v };
    }
    default:
      throw new PatternError(`Unrecognized match type ${k}`);
  }
}

function leaf(values: PValue[]): Leaf {
  const matchers = values.map((x): Matcher => {
    if (typeof x === 'string' || typeof x === 'boolean' || x === null) return { op: 'exact', key: x, test: (e) => e === x };
    if (isPNumber(x)) {
      const n = finiteNumber(x);
      return { op: 'exact', key: n, test: (e) => e === n };
    }
    if (isPObject(x)) return matchExpression(x);
    throw new PatternError('Match values must be strings, numbers, true, false, null or match expressions, not arrays');
  });
  return { leaf: true, matchers };
}

type Tree = Map<string, Node | Leaf>;

/** Two alternatives side by side: the union of their fields (a field in both: either's matchers). */
function merge(a: Tree, b: Tree): Tree {
  const out = new Map(a);
  for (const [k, v] of b) {
    const mine = out.get(k);
    if (!mine) out.set(k, v);
    else if (mine.leaf && v.leaf) out.set(k, { leaf: true, matchers: [...mine.matchers, ...v.matchers] });
    else if (!mine.leaf && !v.leaf) out.set(k, { leaf: false, fields: merge(mine.fields, v.fields) });
    else throw new PatternError(`Field ${k} is both a value list and an object`);
  }
  return out;
}

function product(sets: Tree[][]): Tree[] {
  let acc: Tree[] = [new Map()];
  for (const alts of sets) {
    const next: Tree[] = [];
    for (const a of acc) for (const b of alts) next.push(merge(a, b));
    if (next.length > MAX_ALTERNATIVES) throw new PatternError(`The pattern expands into more than ${MAX_ALTERNATIVES} alternatives through $or`);
    acc = next;
  }
  return acc;
}

/** The alternatives an object of the pattern stands for ($or expanded). */
function alternatives(o: PObject, insideOr: boolean): Tree[] {
  const sets: Tree[][] = [];
  for (const [k, v] of o.entries) {
    if (k === '$or') {
      if (!Array.isArray(v)) throw new PatternError('It must be an Array followed with $or.');
      if (v.length < 2) throw new PatternError('There must have at least 2 Objects in $or Array.');
      const alts: Tree[] = [];
      for (const alt of v) {
        if (!isPObject(alt)) throw new PatternError('Each alternative of $or must be an object');
        if (alt.entries.length === 0) throw new PatternError('Empty objects are not allowed in $or');
        alts.push(...alternatives(alt, true));
      }
      sets.push(alts);
      continue;
    }
    if (insideOr && RESERVED.has(k)) throw new PatternError(`${k} is Ruler reserved fieldName which cannot be used inside $or.`);
    if (Array.isArray(v)) sets.push([new Map([[k, leaf(v)]])]);
    else if (isPObject(v)) {
      if (v.entries.length === 0) throw new PatternError(`Field ${k} has an empty object; give it fields or a list of values`);
      sets.push(alternatives(v, false).map((t) => new Map([[k, { leaf: false, fields: t } as Node]])));
    } else throw new PatternError(`Match value for ${k} must be an array or an object, not ${describeJson(v)}`);
  }
  return product(sets);
}

/** Compile a pattern given as JSON text; throws PatternError saying what is wrong. */
export function compilePattern(text: string | PValue): CompiledPattern {
  let root: PValue;
  if (typeof text === 'string') {
    try {
      root = parsePatternJson(text);
    } catch (e) {
      if (e instanceof PatternSyntaxError) throw new PatternError(`The pattern is not valid JSON: ${e.message}`);
      throw e;
    }
  } else root = text;
  if (!isPObject(root)) throw new PatternError('Filter is not an object');
  return { subPatterns: alternatives(root, false).map((fields) => ({ leaf: false, fields })) };
}
