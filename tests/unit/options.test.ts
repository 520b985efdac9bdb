// Options given as plain objects (map's trailing options, handle.with) are
// checked key by key: a JavaScript caller's typo, or Python's `chunksize`,
// is an error naming the option meant, not an option silently ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../futures/future.ts';
import { FuturesApi } from '../../futures/futures-api.ts';
import { unknownOptionError } from '../../futures/inputs.ts';
import { tick } from '../helpers/futures.ts';
import { asCompleted, wait } from '../../futures/waiting.ts';
import { connect } from '../../client-sdk/index.ts';

test('an unknown key names the nearest known one: case apart, or within two edits', () => {
  const known = ['inFlight', 'chunkSize', 'timeout'];
  assert.equal(unknownOptionError('a map', { chunkSize: 2, inFlight: 8 }, known), undefined);
  assert.equal(unknownOptionError('a map', {}, known), undefined);
  assert.equal(unknownOptionError('a map', { chunksize: 10 }, known), '"chunksize" is not a map option (did you mean chunkSize?); the options are inFlight, chunkSize, timeout');
  assert.match(unknownOptionError('a task', { timout: 10 }, known) ?? '', /^"timout" is not a task option \(did you mean timeout\?\)/);
  assert.equal(unknownOptionError('a map', { colour: 'red' }, known), '"colour" is not a map option; the options are inFlight, chunkSize, timeout');
});

test('map, mapAsCompleted and mapReduce refuse unknown options with a TypeError before submitting anything', async () => {
  let submitted = 0;
  const api = new FuturesApi(() => (submitted++, new Future()));
  assert.throws(() => api.map('f', [[1, 2], { chunksize: 2 }]), { name: 'TypeError', message: /"chunksize" is not a map option \(did you mean chunkSize\?\)/ });
  assert.throws(() => api.mapAsCompleted('f', [[1, 2], { inflight: 2 }]), { name: 'TypeError', message: /did you mean inFlight\?/ });
  assert.throws(() => api.mapReduce('f', 'g', [[1, 2], { onprogress: () => undefined }]), { name: 'TypeError', message: /did you mean onProgress\?/ });
  assert.equal(submitted, 0);
  void api.map('f', [[1, 2], { chunkSize: 2, inFlight: 8, name: 'job', priority: 2, progress: false, total: 2, onProgress: () => undefined }]);
  await tick();
  assert.equal(submitted, 1, 'every documented option is known: the map ran, as one chunk');
});

test("wait, asCompleted, result() and connect() refuse options they do not know (Python's return_when, a misspelt token)", async () => {
  const f = new Future<number>();
  f.setResult(1);
  await assert.rejects(wait([f], { return_when: 'FIRST_COMPLETED' } as never), { name: 'TypeError', message: /"return_when" is not a wait option \(did you mean returnWhen\?\)/ });
  assert.throws(() => asCompleted([f], { timeOut: 5 } as never), { name: 'TypeError', message: /did you mean timeout\?/ });
  await assert.rejects(f.result({ timeOut: 5 } as never), { name: 'TypeError', message: /"timeOut" is not a result option \(did you mean timeout\?\)/ });
  assert.equal(await f.result({ timeout: 5 }), 1);
  const failed = new Future<number>();
  failed.setException(new RangeError('the task'));
  await assert.rejects(failed.exception({ timeOut: 5 } as never), { name: 'TypeError', message: /"timeOut" is not an exception option/ }, "not returned as if it were the task's error");
  // Refused before connecting: nothing listens at this address.
  await assert.rejects(connect({ url: 'http://127.0.0.1:9', tokn: 'secret' } as never), { name: 'TypeError', message: /"tokn" is not a connect option \(did you mean token\?\)/ });
});
