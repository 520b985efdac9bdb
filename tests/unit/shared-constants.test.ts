// The constants a page holds for its clients' tasks, by scope.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedConstants } from '../../browser-worker/shared-constants.ts';

test('constants add up per scope, a name given again replaces its value, and a scope goes whole', () => {
  const constants = new SharedConstants();
  constants.add('client-1', { a: new Uint8Array([1]) });
  constants.add('client-1', { a: new Uint8Array([2]), b: new Uint8Array([3]) });
  constants.add('client-2', { a: new Uint8Array([4]) });
  assert.deepEqual([...constants.get('client-1')!], [
    ['a', new Uint8Array([2])],
    ['b', new Uint8Array([3])],
  ]);
  constants.delete('client-1');
  assert.equal(constants.get('client-1'), undefined);
  assert.deepEqual([...constants.get('client-2')!], [['a', new Uint8Array([4])]]);
  constants.clear();
  assert.equal(constants.get('client-2'), undefined);
});
