/**
 * Many rules, one pass over an event. Each compiled sub-pattern is filed
 * under one anchor: a field path and the exact values (or case-sensitive
 * prefixes) one of its fields requires, or failing that the mere presence of
 * a value at a path. The anchors of all rules form one trie of field paths;
 * an event is walked once along that trie, and only the sub-patterns whose
 * anchor it meets are checked in full. With rules keyed on different values
 * (the usual case: eventName, eventSource, userIdentity.type …), the cost of
 * an event grows with the event, not with the number of rules.
 */
import type { CompiledPattern, Leaf, LeafValue, Node } from './pattern.js';
import { matchNode, type Json } from './match.js';
import { extractFields, newFieldTrie, type FieldTrie } from './json-scan.js';

interface Sub<R> {
  rule: R;
  node: Node;
  /** Text one of which any event this sub-pattern matches contains verbatim (when it has no escapes); none: no such text. */
  literals?: string[];
  /** Last match() pass that already took this sub-pattern as a candidate. */
  seen: number;
}

interface Trie<R> {
  children: Map<string, Trie<R>>;
  exact?: Map<LeafValue, Sub<R>[]>;
  /** Prefix lengths in use here, and the sub-patterns by prefix. */
  prefixLengths?: number[];
  prefixes?: Map<string, Sub<R>[]>;
  present?: Sub<R>[];
}

type Anchor = { path: string[]; kind: 'values'; leaf: Leaf } | { path: string[]; kind: 'present' };

const newTrie = <R>(): Trie<R> => ({ children: new Map() });

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * The most selective anchor of a sub-pattern: a field with only exact values/prefixes (the one
 * whose values the fewest rules already use), else a field that must be present.
 */
function chooseAnchor<R>(node: Node, root: Trie<R>): Anchor | undefined {
  let best: Anchor | undefined;
  let bestScore = Infinity;
  const load = (path: string[], leaf: Leaf): number => {
    let t: Trie<R> | undefined = root;
    for (const k of path) t = t?.children.get(k);
    let n = 0;
    for (const m of leaf.matchers) n += (m.op === 'exact' ? t?.exact?.get(m.key!) : t?.prefixes?.get(m.key as string))?.length ?? 0;
    return n;
  };
  const walk = (n: Node, path: string[]): void => {
    for (const [k, child] of n.fields) {
      // A dotted name can be read several ways against an event (see match.ts): not an anchor.
      if (k.includes('.')) continue;
      const p = [...path, k];
      if (!child.leaf) {
        walk(child, p);
        continue;
      }
      const indexable = child.matchers.every((m) => m.key !== undefined && (m.op === 'exact' || m.op === 'prefix'));
      const needsValue = child.matchers.every((m) => m.exists !== false);
      // Exact values and prefixes first (fewest rules sharing them, then fewest values), then presence (deepest first).
      let score = Infinity;
      if (indexable) score = load(p, child) * 1000 + child.matchers.length;
      else if (needsValue) score = 1e12 - p.length;
      if (score < bestScore) {
        bestScore = score;
        best = indexable ? { path: p, kind: 'values', leaf: child } : { path: p, kind: 'present' };
      }
    }
  };
  walk(node, []);
  return best;
}

/** What an event's JSON text must contain for the anchor to hold: the value (or prefix) in quotes, else the field name. */
function literalsOf(a: Anchor): string[] {
  const key = JSON.stringify(a.path[a.path.length - 1]);
  if (a.kind === 'present') return [key];
  return a.leaf.matchers.map((m) => (typeof m.key === 'string' ? (m.op === 'exact' ? JSON.stringify(m.key) : `"${JSON.stringify(m.key).slice(1, -1)}`) : key));
}

/** Beyond this many distinct literals, looking for each costs more than reading the event. */
const MAX_LITERALS = 3;

export class RuleIndex<R> {
  private readonly root: Trie<R> = newTrie();
  /** Sub-patterns with no field to anchor on (only exists:false): checked against every event. */
  private always: Sub<R>[] = [];
  private readonly byRule = new Map<R, Sub<R>[]>();
  private pass = 0;
  /** Every field path any pattern names (built when first needed after a change). */
  private fields: FieldTrie | undefined;
  /** Some pattern names a field with a dot in it (read several ways): text is then parsed in full. */
  private dotted = false;
  /** When few: the texts at least one of which an event must contain to match anything. */
  private literals: string[] | undefined;

  get size(): number {
    return this.byRule.size;
  }

  /** File a rule's pattern (replacing what the rule had). */
  add(rule: R, pattern: CompiledPattern): void {
    if (this.byRule.has(rule)) this.remove(rule);
    this.fields = undefined;
    const subs: Sub<R>[] = [];
    for (const node of pattern.subPatterns) {
      const sub: Sub<R> = { rule, node, seen: 0 };
      subs.push(sub);
      const anchor = chooseAnchor(node, this.root);
      if (anchor) sub.literals = literalsOf(anchor);
      if (!anchor) {
        this.always.push(sub);
        continue;
      }
      let t = this.root;
      for (const k of anchor.path) {
        let next = t.children.get(k);
        if (!next) t.children.set(k, (next = newTrie()));
        t = next;
      }
      if (anchor.kind === 'present') (t.present ??= []).push(sub);
      else {
        for (const m of anchor.leaf.matchers) {
          if (m.op === 'exact') push((t.exact ??= new Map()), m.key!, sub);
          else {
            const p = m.key as string;
            push((t.prefixes ??= new Map()), p, sub);
            t.prefixLengths ??= [];
            if (!t.prefixLengths.includes(p.length)) t.prefixLengths.push(p.length);
          }
        }
      }
    }
    this.byRule.set(rule, subs);
  }

  remove(rule: R): void {
    const subs = this.byRule.get(rule);
    if (!subs) return;
    this.byRule.delete(rule);
    this.fields = undefined;
    const gone = new Set(subs);
    const keep = (list: Sub<R>[] | undefined): Sub<R>[] | undefined => list?.filter((s) => !gone.has(s));
    this.always = keep(this.always)!;
    const prune = (t: Trie<R>): boolean => {
      if (t.present) t.present = keep(t.present)!.length ? keep(t.present) : undefined;
      for (const map of [t.exact, t.prefixes]) {
        if (!map) continue;
        for (const [k, list] of map) {
          const left = keep(list)!;
          if (left.length) map.set(k, left);
          else map.delete(k);
        }
      }
      if (t.exact?.size === 0) t.exact = undefined;
      if (t.prefixes?.size === 0) {
        t.prefixes = undefined;
        t.prefixLengths = undefined;
      } else if (t.prefixes) t.prefixLengths = [...new Set([...t.prefixes.keys()].map((p) => p.length))];
      for (const [k, c] of t.children) if (prune(c)) t.children.delete(k);
      return !t.present && !t.exact && !t.prefixes && t.children.size === 0;
    };
    prune(this.root);
  }

  /** The field paths the rules name, for reading only those out of JSON text; undefined when text must be parsed in full. */
  fieldTrie(): FieldTrie | undefined {
    if (!this.fields) {
      const root = newFieldTrie();
      let dotted = false;
      const add = (n: Node, t: FieldTrie): void => {
        for (const [k, child] of n.fields) {
          if (k.includes('.')) dotted = true;
          let c = t.children.get(k);
          if (!c) t.children.set(k, (c = newFieldTrie()));
          if (!child.leaf) add(child, c);
        }
      };
      const lits = new Set<string>();
      let bounded = true;
      for (const subs of this.byRule.values()) {
        for (const s of subs) {
          add(s.node, root);
          if (!s.literals) bounded = false;
          else for (const l of s.literals) lits.add(l);
        }
      }
      this.fields = root;
      this.dotted = dotted;
      this.literals = bounded && lits.size <= MAX_LITERALS ? [...lits] : undefined;
    }
    return this.dotted ? undefined : this.fields;
  }

  /** The rules whose pattern the event, given as JSON text, matches: only the fields rules name are read. */
  matchText(text: string): R[] {
    const trie = this.fieldTrie();
    // Text without escapes holds every string exactly as written: no literal, no match.
    const lits = this.literals;
    if (lits && text.indexOf('\\') < 0) {
      let found = false;
      for (const l of lits) {
        if (text.indexOf(l) >= 0) {
          found = true;
          break;
        }
      }
      if (!found) return [];
    }
    return this.match(trie ? extractFields(text, trie) : JSON.parse(text));
  }

  /** The rules whose pattern the (parsed JSON) event matches, each once. */
  match(event: unknown): R[] {
    const pass = ++this.pass;
    const candidates: Sub<R>[] = [];
    const take = (list: Sub<R>[] | undefined): void => {
      if (!list) return;
      for (const s of list) {
        if (s.seen !== pass) {
          s.seen = pass;
          candidates.push(s);
        }
      }
    };
    const walk = (v: unknown, t: Trie<R>): void => {
      if (Array.isArray(v)) {
        for (const x of v) walk(x, t);
        return;
      }
      if (typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        for (const [k, child] of t.children) {
          const x = o[k];
          if (x !== undefined) walk(x, child);
        }
        return;
      }
      if (v === undefined) return;
      const leaf = v as LeafValue;
      take(t.present);
      if (t.exact) take(t.exact.get(leaf));
      if (t.prefixes && typeof leaf === 'string') {
        for (const n of t.prefixLengths!) if (n <= leaf.length) take(t.prefixes.get(leaf.slice(0, n)));
      }
    };
    if (typeof event === 'object' && event !== null && !Array.isArray(event)) walk(event, this.root);
    take(this.always);
    if (candidates.length === 0) return [];
    const obj = event as Record<string, Json>;
    const out: R[] = [];
    const done = new Set<R>();
    for (const s of candidates) {
      if (done.has(s.rule)) continue;
      if (matchNode(s.node, typeof event === 'object' && event !== null && !Array.isArray(event) ? obj : undefined)) {
        done.add(s.rule);
        out.push(s.rule);
      }
    }
    return out;
  }
}
