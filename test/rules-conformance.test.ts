/**
 * Replays ../shared/conformance/event-ruler (cases taken from AWS's own event-ruler library,
 * which EventBridge is built on) against our pattern compiler and matcher: every case must pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePattern, PatternError } from '../src/rules/pattern.js';
import { RuleIndex } from '../src/rules/rule-index.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance', 'event-ruler');
const load = <T>(f: string): T => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as T;

interface Case {
  pattern: unknown;
  event: unknown;
  matches: boolean;
  source: string;
  patternText?: string;
  eventText?: string;
}

/**
 * One pattern against one event, through the many-rule index (what the server uses), both from
 * the parsed event and from its JSON text (reading only the fields the pattern names): the two
 * must agree.
 */
function matches(pattern: string, event: unknown, eventText = JSON.stringify(event)): boolean {
  const index = new RuleIndex<string>();
  index.add('r', compilePattern(pattern));
  const parsed = index.match(event).includes('r');
  const fromText = index.matchText(eventText).includes('r');
  assert.equal(fromText, parsed, `matchText disagrees for ${pattern} on ${eventText.slice(0, 200)}`);
  return parsed;
}

function replay(file: string): void {
  const cases = load<Case[]>(file);
  const failures: string[] = [];
  for (const c of cases) {
    const pattern = c.patternText ?? JSON.stringify(c.pattern);
    const event = c.eventText !== undefined ? JSON.parse(c.eventText) : c.event;
    let got: boolean | string;
    try {
      got = matches(pattern, event, c.eventText ?? JSON.stringify(event, null, c.source.length % 2 ? 2 : undefined));
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    if (got !== c.matches) failures.push(`${c.source}: expected ${c.matches}, got ${got}\n  pattern ${pattern.slice(0, 300)}\n  event ${JSON.stringify(event).slice(0, 300)}`);
  }
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases failed:\n${failures.slice(0, 20).join('\n')}`);
}

test(`event-ruler cases.json: every pattern/event pair gives event-ruler's result`, () => replay('cases.json'));
test(`event-ruler readme-cases.json: the README's examples`, () => replay('readme-cases.json'));

test('event-ruler pattern-validity.json: valid patterns compile, invalid ones are refused with a reason', () => {
  const cases = load<{ pattern: string; valid: boolean; compiler: string; source: string }[]>('pattern-validity.json');
  const failures: string[] = [];
  let checked = 0;
  for (const c of cases) {
    // The legacy compiler treats $or as a field name; the current one (which EventBridge follows) is the reference.
    if (c.compiler.startsWith('RuleCompiler') && c.pattern.includes('$or')) continue;
    checked++;
    let ok = true;
    let why = '';
    try {
      compilePattern(c.pattern);
    } catch (e) {
      assert.ok(e instanceof PatternError, `${c.pattern}: threw ${(e as Error).stack}`);
      ok = false;
      why = e.message;
      assert.ok(why.length > 0);
    }
    if (ok !== c.valid) failures.push(`${c.source}: expected ${c.valid ? 'valid' : 'invalid'}, got ${ok ? 'valid' : `invalid (${why})`}: ${c.pattern}`);
  }
  assert.ok(checked > 250);
  assert.equal(failures.length, 0, `${failures.length} of ${checked} failed:\n${failures.join('\n')}`);
});

test('event-ruler data files: array rules, the big CloudTrail event, $or rule lists', () => {
  const pairs = load<{ pattern: string; event: string; matches: boolean; basis: string }[]>('data-pairs.json');
  for (const p of pairs) {
    const t0 = performance.now();
    const got = matches(readFileSync(join(DIR, p.pattern), 'utf8'), load(p.event), readFileSync(join(DIR, p.event), 'utf8'));
    assert.equal(got, p.matches, `${p.pattern} × ${p.event} (${p.basis})`);
    assert.ok(performance.now() - t0 < 500, `${p.pattern} × ${p.event} took ${performance.now() - t0} ms`);
  }
  const expansions = [2, 4, 3, 4, 2];
  load<unknown[]>('data/orRelationshipRules.json').forEach((r, i) => assert.equal(compilePattern(JSON.stringify(r)).subPatterns.length, expansions[i], `orRelationshipRules[${i}]`));
  for (const r of [...load<unknown[]>('data/wrongOrRelationshipRules.json'), ...load<unknown[]>('data/normalRulesWithOrWording.json')]) {
    assert.throws(() => compilePattern(JSON.stringify(r)), PatternError, JSON.stringify(r));
  }
});

test('event-ruler resources/correctness-cases.json with their expected results', () => {
  const cases = load<{ name: string; rule: unknown; event: unknown }[]>('resources/correctness-cases.json');
  const expected = load<{ name: string; matches: boolean }[]>('resources/correctness-cases.expected.json');
  assert.equal(cases.length, expected.length);
  cases.forEach((c, i) => {
    assert.equal(expected[i]!.name, c.name);
    assert.equal(matches(JSON.stringify(c.rule), c.event), expected[i]!.matches, c.name);
  });
});

test('null and the empty string are values like any other', () => {
  assert.equal(matches('{"a":[null]}', { a: null }), true);
  assert.equal(matches('{"a":[null]}', { b: 1 }), false);
  assert.equal(matches('{"a":[null]}', { a: 'null' }), false);
  assert.equal(matches('{"a":[""]}', { a: '' }), true);
  assert.equal(matches('{"a":[""]}', { a: null }), false);
  assert.equal(matches('{"a":[{"exists":true}]}', { a: null }), true);
  assert.equal(matches('{"a":[{"exists":false}]}', { a: null }), false);
  assert.equal(matches('{"a":[{"anything-but":""}]}', { a: '' }), false);
});

test('one index of every conformance pattern gives, for every event, exactly the rules that match one by one', () => {
  const cases = load<Case[]>('cases.json');
  const patterns = [...new Set(cases.map((c) => c.patternText ?? JSON.stringify(c.pattern)))];
  const compiled = patterns.map((p) => compilePattern(p));
  const index = new RuleIndex<number>();
  compiled.forEach((c, i) => index.add(i, c));
  const alone = (i: number, event: unknown): boolean => {
    const one = new RuleIndex<number>();
    one.add(i, compiled[i]!);
    return one.match(event).length === 1;
  };
  const events = cases.map((c) => (c.eventText !== undefined ? JSON.parse(c.eventText) : c.event) as unknown);
  for (const event of events.slice(0, 250)) {
    const want = compiled.map((_, i) => i).filter((i) => alone(i, event));
    assert.deepEqual([...index.match(event)].sort((a, b) => a - b), want);
  }
  // Removing rules takes them out of every answer; the rest still match.
  for (let i = 0; i < compiled.length; i += 2) index.remove(i);
  assert.equal(index.size, Math.floor(compiled.length / 2));
  for (const event of events.slice(0, 100)) {
    const want = compiled.map((_, i) => i).filter((i) => i % 2 === 1 && alone(i, event));
    assert.deepEqual([...index.match(event)].sort((a, b) => a - b), want);
  }
});

test('reading fields out of JSON text: escapes, brackets inside strings, nesting, numbers and whitespace', () => {
  const event = {
    'we"ird': { 'k\\ey': ['x]y}', 'a"b'] },
    skip: { deep: [[1, 2, { s: '"]}[{' }], 'tail\\'], n: -1.5e3 },
    text: 'caf\u00e9 \u2028 \\"quoted\\"',
    arr: [{ v: 1 }, { v: 2, w: [true, null] }],
    num: 12.5e-1,
  };
  const texts = [JSON.stringify(event), JSON.stringify(event, null, 3)];
  const patterns = [
    '{"we\\"ird":{"k\\\\ey":["x]y}"]}}',
    '{"text":[{"prefix":"café"}]}',
    '{"arr":{"v":[2],"w":[null]}}',
    '{"arr":{"v":[1],"w":[{"exists":true}]}}',
    '{"num":[{"numeric":["=",1.25]}]}',
    '{"skip":{"n":[-1500]}}',
  ];
  const expected = [true, true, true, false, true, true];
  for (const text of texts) {
    patterns.forEach((p, i) => {
      const idx = new RuleIndex<number>();
      idx.add(i, compilePattern(p));
      assert.equal(idx.matchText(text).length === 1, expected[i], `${p} on ${text.slice(0, 60)}`);
      assert.equal(idx.match(JSON.parse(text)).length === 1, expected[i], p);
    });
  }
});
