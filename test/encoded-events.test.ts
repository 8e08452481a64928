/**
 * The reader thread's kept LookupEvents entries: bounded by the bytes their texts take as V8
 * stores them (one a character in Latin-1, two otherwise), evicted by second chance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedEvents, textBytes } from '../src/storage/sqlite/encoded-events.js';

const entry = (text: string, timeMs = 1): { timeMs: number; eventId: string; text: string } => ({ timeMs, eventId: `id-${text.length}`, text });

test('text outside Latin-1 counts two bytes a character, Latin-1 one', () => {
  assert.equal(textBytes('abc'), 3);
  assert.equal(textBytes('café'), 4); // é is Latin-1
  assert.equal(textBytes('naïve ☃'), 14); // the snowman makes the whole string two-byte
  assert.equal(textBytes('日本'), 4);
  assert.equal(textBytes('😀'), 4); // a surrogate pair: two UTF-16 units
});

test('the bound holds half as many entries whose text is outside Latin-1', () => {
  const ascii = new EncodedEvents(1000);
  const wide = new EncodedEvents(1000);
  for (let seq = 1; seq <= 20; seq++) {
    ascii.set(seq, entry('x'.repeat(100)));
    wide.set(seq, entry('日'.repeat(100)));
  }
  assert.equal(ascii.count, 10);
  assert.equal(ascii.bytes, 1000);
  assert.equal(wide.count, 5);
  assert.equal(wide.bytes, 1000);
  // The newest are kept.
  assert.ok(wide.get(20, 1));
  assert.equal(wide.get(15, 1), undefined);
});

test('an entry larger than the whole bound is not kept, and replacing one counts it once', () => {
  const cache = new EncodedEvents(100);
  cache.set(1, entry('y'.repeat(60)));
  cache.set(2, entry('z'.repeat(101)));
  assert.equal(cache.count, 1);
  cache.set(1, entry('w'.repeat(30)));
  assert.equal(cache.bytes, 30);
  assert.equal(cache.get(1, 1)?.text, 'w'.repeat(30));
});

test('an entry shown again since the hand passed it gets a second chance', () => {
  const cache = new EncodedEvents(300);
  cache.set(1, entry('a'.repeat(100)));
  cache.set(2, entry('b'.repeat(100)));
  cache.set(3, entry('c'.repeat(100)));
  assert.ok(cache.get(1, 1)); // shown: stays past the next eviction
  cache.set(4, entry('d'.repeat(100)));
  assert.ok(cache.get(1, 1));
  assert.equal(cache.get(2, 1), undefined);
  assert.equal(cache.bytes, 300);
});

test('an entry is used only for the same time it was kept with', () => {
  const cache = new EncodedEvents(100);
  cache.set(7, entry('t', 1000));
  assert.equal(cache.get(7, 999), undefined);
  assert.equal(cache.get(7, 1000)?.text, 't');
});
