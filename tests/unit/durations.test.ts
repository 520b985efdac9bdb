import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Durations, fnKey } from '../../browser-worker/durations.ts';

test('task durations: unknown until timed, a plain mean at first, then a moving average', () => {
  const d = new Durations();
  const key = fnKey({ bundle: 'b', fn: 'leaf' });
  assert.equal(d.get(key, 1000), 1000, 'never timed: the caller says what to assume');
  d.add(key, 50); // the first task also loaded the bundle
  assert.equal(d.get(key, 1000), 50);
  for (let i = 0; i < 9; i++) d.add(key, 5);
  assert.equal(d.get(key, 1000), (50 + 9 * 5) / 10, 'the first ten are a plain mean');
  for (let i = 0; i < 60; i++) d.add(key, 5);
  assert.ok(Math.abs(d.get(key, 1000) - 5) < 0.01, 'the slow first timing has faded');
  d.add(key, 15);
  assert.ok(Math.abs(d.get(key, 1000) - 6) < 0.01, 'then each new timing weighs a tenth');
  assert.equal(d.get(fnKey({ bundle: 'b', fn: 'other' }), 7), 7, 'each function on its own');
});

test('a function seen awaiting once is known to await', () => {
  const d = new Durations();
  d.add('f', 3);
  assert.equal(d.awaits('f'), false);
  d.add('f', 40, true);
  d.add('f', 3);
  assert.equal(d.awaits('f'), true);
  assert.equal(d.awaits('never-timed'), false);
});
