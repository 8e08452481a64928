/**
 * A strict JSON reader for event patterns. JSON.parse would lose what the
 * pattern language cares about: the text of numbers (1E-325 is not 0, it is a
 * number a double cannot hold) and repeated field names (both kept, as
 * event-ruler keeps them). Errors say where the text went wrong.
 */

export class PatternSyntaxError extends Error {}

/** A number as written, and its value as a double. */
export interface PNumber {
  kind: 'number';
  text: string;
  value: number;
}
export interface PObject {
  kind: 'object';
  /** In the order written; a name may repeat. */
  entries: [string, PValue][];
}
export type PValue = string | boolean | null | PNumber | PValue[] | PObject;

export function isPNumber(v: PValue): v is PNumber {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && v.kind === 'number';
}
export function isPObject(v: PValue): v is PObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && v.kind === 'object';
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function parsePatternJson(text: string): PValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new PatternSyntaxError(`${what} at position ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('Unexpected end of input in a string');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          i += 2;
        } else fail(`Unrecognized character escape '${e ?? ''}'`);
      } else if (c < ' ') fail('Control character in a string');
      else {
        out += c;
        i++;
      }
    }
  };
  const value = (): PValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, PValue][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expected a field name');
        const k = str();
        ws();
        if (text[i] !== ':') fail("Expected ':'");
        i++;
        entries.push([k, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', entries };
        }
        fail("Expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: PValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("Expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(text);
    if (m) {
      i += m[0].length;
      return { kind: 'number', text: m[0], value: Number(m[0]) };
    }
    return fail(i >= text.length ? 'Unexpected end of input' : `Unexpected character '${c}'`);
  };
  const v = value();
  ws();
  if (i < text.length) fail('Unexpected text after the pattern');
  return v;
}

/** A parsed JSON value (from JSON.parse) in the reader's shape. */
export function fromJsonValue(v: unknown): PValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return { kind: 'number', text: String(v), value: v };
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (typeof v === 'object') return { kind: 'object', entries: Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromJsonValue(x)]) };
  throw new PatternSyntaxError('not a JSON value');
}
