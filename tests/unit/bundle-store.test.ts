// The bundle store keeps recent bundles in memory within a byte budget
// (the rest are read back from disk) and charges each token for what it stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleQuotaError, BundleStore, sha256Hex } from '../../coordinator/bundle-store.ts';

test('memory stays within its budget, least recently used out first; evicted bundles are served from disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-bundles-'));
  try {
    const store = new BundleStore(dir, { memoryBytes: 2500 });
    await store.init();
    const bundles = ['a', 'b', 'c'].map((ch) => Buffer.from(ch.repeat(1000)));
    for (const b of bundles) await store.put(sha256Hex(b), b, 'alice');
    assert.ok(store.memoryInUse <= 2500, `${store.memoryInUse} bytes in memory`);
    for (const b of bundles) assert.deepEqual(await store.get(sha256Hex(b)), b);
    assert.ok(store.memoryInUse <= 2500);
    // A bundle bigger than the whole budget is served, never cached.
    const huge = Buffer.alloc(3000, 1);
    await store.put(sha256Hex(huge), huge, 'alice');
    assert.deepEqual(await store.get(sha256Hex(huge)), huge);
    assert.ok(store.memoryInUse <= 2500);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('each token has a quota of new bytes; a bundle already stored costs nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ladle-bundles-'));
  try {
    const store = new BundleStore(dir, { quotaBytes: 1500 });
    await store.init();
    const one = Buffer.alloc(1000, 1);
    const two = Buffer.alloc(1000, 2);
    await store.put(sha256Hex(one), one, 'alice');
    await store.put(sha256Hex(one), one, 'alice');
    await assert.rejects(store.put(sha256Hex(two), two, 'alice'), (e: unknown) => e instanceof BundleQuotaError && /quota of 1500 bytes/.test(e.message));
    await store.put(sha256Hex(two), two, 'bob');
    assert.equal(await store.has(sha256Hex(two)), true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
