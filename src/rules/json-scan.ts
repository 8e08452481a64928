/**
 * Reading only the fields rules look at out of JSON text. Events are mostly
 * fields no rule names (a CloudTrail record's requestParameters, a feature's
 * coordinates); building JS objects for all of them costs more than matching.
 * This scanner walks the text once, decodes the values at the paths of a
 * field trie (arrays are transparent, as in patterns), and skips everything
 * else by its brackets and quotes. The input must be valid JSON: it is meant
 * for text that JSON.stringify wrote (the event log), not for checking input.
 */

export interface FieldTrie {
  children: Map<string, FieldTrie>;
}

export const newFieldTrie = (): FieldTrie => ({ children: new Map() });

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;

class Scanner {
  i = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.i);
  }

  /** Index of the quote closing the string whose opening quote is at `at`. */
  private stringEnd(at: number): number {
    const s = this.s;
    let j = s.indexOf('"', at + 1);
    for (;;) {
      if (j < 0) throw new SyntaxError('Unterminated string in JSON');
      let k = j - 1;
      while (s.charCodeAt(k) === BACKSLASH) k--;
      if ((j - 1 - k) % 2 === 0) return j;
      j = s.indexOf('"', j + 1);
    }
  }

  string(): string {
    const start = this.i;
    const end = this.stringEnd(start);
    this.i = end + 1;
    const raw = this.s.slice(start + 1, end);
    return raw.indexOf('\\') < 0 ? raw : (JSON.parse(this.s.slice(start, end + 1)) as string);
  }

  /**
   * The index after the object or array opening at `at`. Jumps from one bracket or quote to
   * the next with indexOf (native, fast over long runs of digits) instead of reading each char.
   */
  private blockEnd(at: number): number {
    const s = this.s;
    const BIG = 0x7fffffff;
    const next = (ch: string, from: number): number => {
      const k = s.indexOf(ch, from);
      return k < 0 ? BIG : k;
    };
    let pos = at + 1;
    let depth = 1;
    let q = next('"', pos);
    let oa = next('[', pos);
    let ca = next(']', pos);
    let oo = next('{', pos);
    let co = next('}', pos);
    for (;;) {
      const m = Math.min(q, oa, ca, oo, co);
      if (m === BIG) throw new SyntaxError('Unterminated object or array in JSON');
      if (m === q) {
        pos = this.stringEnd(m) + 1;
      } else {
        pos = m + 1;
        if (m === oa || m === oo) depth++;
        else if (--depth === 0) return pos;
      }
      if (q < pos) q = next('"', pos);
      if (oa < pos) oa = next('[', pos);
      if (ca < pos) ca = next(']', pos);
      if (oo < pos) oo = next('{', pos);
      if (co < pos) co = next('}', pos);
    }
  }

  skip(): void {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === QUOTE) {
      this.i = this.stringEnd(this.i) + 1;
      return;
    }
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      this.i = this.blockEnd(this.i);
      return;
    }
    let i = this.i;
    for (let d = s.charCodeAt(i); i < s.length && d !== COMMA && d !== CLOSE_OBJ && d !== CLOSE_ARR && d !== 32 && d !== 10 && d !== 13 && d !== 9; d = s.charCodeAt(++i));
    this.i = i;
  }

  value(t: FieldTrie): unknown {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === OPEN_OBJ) return this.object(t);
    if (c === OPEN_ARR) {
      const out: unknown[] = [];
      this.i++;
      this.ws();
      if (s.charCodeAt(this.i) === CLOSE_ARR) {
        this.i++;
        return out;
      }
      for (;;) {
        this.ws();
        out.push(this.value(t));
        this.ws();
        const d = s.charCodeAt(this.i++);
        if (d === CLOSE_ARR) return out;
        if (d !== COMMA) throw new SyntaxError(`Expected ',' or ']' in JSON at position ${this.i - 1}`);
      }
    }
    if (c === QUOTE) return this.string();
    const start = this.i;
    this.skip();
    const lit = s.slice(start, this.i);
    if (lit === 'true') return true;
    if (lit === 'false') return false;
    if (lit === 'null') return null;
    const n = Number(lit);
    if (lit === '' || Number.isNaN(n)) throw new SyntaxError(`Unexpected token in JSON at position ${start}`);
    return n;
  }

  object(t: FieldTrie): Record<string, unknown> {
    const s = this.s;
    const out = Object.create(null) as Record<string, unknown>;
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === CLOSE_OBJ) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (s.charCodeAt(this.i) !== QUOTE) throw new SyntaxError(`Expected a field name in JSON at position ${this.i}`);
      const key = this.string();
      this.ws();
      if (s.charCodeAt(this.i++) !== COLON) throw new SyntaxError(`Expected ':' in JSON at position ${this.i - 1}`);
      this.ws();
      const child = t.children.get(key);
      if (child) out[key] = this.value(child);
      else this.skip();
      this.ws();
      const d = s.charCodeAt(this.i++);
      if (d === CLOSE_OBJ) return out;
      if (d !== COMMA) throw new SyntaxError(`Expected ',' or '}' in JSON at position ${this.i - 1}`);
    }
  }
}

/** The fields of `text` (a JSON object) at the paths of `trie`, as plain objects, arrays and scalars. */
export function extractFields(text: string, trie: FieldTrie): Record<string, unknown> | undefined {
  const sc = new Scanner(text);
  sc.ws();
  if (text.charCodeAt(sc.i) !== OPEN_OBJ) return undefined;
  return sc.object(trie);
}
