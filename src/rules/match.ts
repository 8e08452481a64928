/**
 * Matching one compiled (sub-)pattern against a parsed JSON event, with
 * event-ruler's array consistency: the fields a pattern names inside objects
 * of one array must all be satisfied by the same element of that array.
 * Walking pattern and event together gives that for free: an object pattern
 * meeting an array is tried against each element as a whole.
 */
import type { LeafValue, Leaf, Node } from './pattern.js';

type Json = LeafValue | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The leaf values found at a field: a scalar, or the scalars of an array (nested arrays flattened). */
function collectLeaves(v: Json | undefined, out: LeafValue[]): void {
  if (v === undefined) return;
  if (Array.isArray(v)) {
    for (const x of v) collectLeaves(x, out);
  } else if (!isObject(v)) out.push(v);
}

function leafMatches(leaf: Leaf, v: Json | undefined): boolean {
  // Fast path: a scalar field.
  if (v !== undefined && !Array.isArray(v) && !isObject(v)) {
    for (const m of leaf.matchers) if (m.exists === undefined ? m.test(v) : m.exists) return true;
    return false;
  }
  const values: LeafValue[] = [];
  collectLeaves(v, values);
  for (const m of leaf.matchers) {
    if (m.exists !== undefined) {
      if (m.exists === values.length > 0) return true;
    } else {
      for (const x of values) if (m.test(x)) return true;
    }
  }
  return false;
}

/** The objects an array holds (nested arrays flattened). */
function collectObjects(v: Json[], out: (Record<string, Json> | undefined)[]): void {
  for (const x of v) {
    if (Array.isArray(x)) collectObjects(x, out);
    else out.push(isObject(x) ? x : undefined);
  }
}

/**
 * A field named `a.b` in a pattern also means field `b` of object `a` (event-ruler compares
 * dot-joined paths): every way of reading the name against the event, values combined.
 */
function dotted(obj: Record<string, Json>, k: string): Json | undefined {
  const found: Json[] = [];
  for (let i = k.indexOf('.'); i > 0; i = k.indexOf('.', i + 1)) {
    const head = obj[k.slice(0, i)];
    const rest = k.slice(i + 1);
    const heads = Array.isArray(head) ? head : [head];
    for (const h of heads) {
      if (!isObject(h)) continue;
      const v = h[rest] ?? dotted(h, rest);
      if (v !== undefined) found.push(v);
    }
  }
  return found.length === 0 ? undefined : found.length === 1 ? found[0] : found;
}

export function matchNode(node: Node, obj: Record<string, Json> | undefined): boolean {
  for (const [k, child] of node.fields) {
    let v = obj === undefined ? undefined : obj[k];
    if (v === undefined && obj !== undefined && k.includes('.')) v = dotted(obj, k);
    if (child.leaf) {
      if (!leafMatches(child, v)) return false;
    } else if (Array.isArray(v)) {
      const elements: (Record<string, Json> | undefined)[] = [];
      collectObjects(v, elements);
      if (elements.length === 0) elements.push(undefined);
      let any = false;
      for (const e of elements) {
        if (matchNode(child, e)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    } else if (!matchNode(child, isObject(v) ? v : undefined)) return false;
  }
  return true;
}

export type { Json };
