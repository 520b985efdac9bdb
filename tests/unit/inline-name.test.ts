// What an inline task (grid.fn) is called in its handle, its errors and its
// timeouts: its own name when that can name an export, else `inline`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleInline, inlineName } from '../../client-sdk/bundler.ts';

test('a function passed by name keeps it; an anonymous arrow is `inline`', () => {
  const double = (x: number) => 2 * x;
  function square(x: number) {
    return x * x;
  }
  assert.equal(inlineName(double), 'double');
  assert.equal(inlineName(square), 'square');
  assert.equal(inlineName((x: number) => x), 'inline');
});

test('names that cannot follow `export const` fall back to `inline`', () => {
  const methods = { class: () => 1, default: () => 2, 'with space': () => 3, $ok_1: () => 4 };
  assert.equal(inlineName(methods.class), 'inline');
  assert.equal(inlineName(methods.default), 'inline');
  assert.equal(inlineName(methods['with space']), 'inline');
  assert.equal(inlineName(methods.$ok_1), '$ok_1');
  assert.equal(inlineName(((x: number) => x).bind(null)), 'inline', "a bound function is named 'bound ...'");
});

test('the bundle exports the function under that name, and it may call itself by it', async () => {
  const fact = (n: number): number => (n < 2 ? 1 : n * fact(n - 1));
  const b = await bundleInline(fact.toString(), inlineName(fact));
  assert.deepEqual(b.exports, ['fact']);
  const mod = (await import(`data:text/javascript,${encodeURIComponent(b.code)}`)) as { fact: (n: number) => number };
  assert.equal(mod.fact(5), 120);
});
