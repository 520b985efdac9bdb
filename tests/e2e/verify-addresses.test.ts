// One person's tabs cannot outvote the rest: with pages joined from more than
// one network address, a verified task's replicas go to distinct addresses,
// and agreeing results count once per address. Addresses are real: two
// network namespaces joined to this one by veth pairs (tests/helpers/netns.ts),
// a Chromium in each, and one in the root namespace, all joined to a
// coordinator listening on the first pair's host address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startCoordinator, type Coordinator } from '../../coordinator/coordinator.ts';
import { describePage, launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import { connect, type Grid } from '../../client-sdk/index.ts';
import { fetchStats } from '../helpers/cli.ts';
import { createNamespaces, type Namespaces } from '../helpers/netns.ts';
import { fixture } from '../helpers/grid.ts';
import type * as Verify from '../fixtures/verify.ts';

let namespaces: Namespaces;
let dataDir: string;
let coordinator: Coordinator;
let grid: Grid;
let tasks: Awaited<ReturnType<typeof load>>;
const load = () => grid.module<typeof Verify>(fixture('verify.ts'));
/** Where each socket the coordinator accepted came from, in order. */
const accepted: string[] = [];
let liars: Browser;
const honest: LocalWorkers[] = [];

before(async () => {
  namespaces = await createNamespaces(2);
  dataDir = await mkdtemp(join(tmpdir(), 'ladle-test-'));
  coordinator = await startCoordinator({ host: namespaces.serverAddress, port: 0, dataDir });
  // What the WebSocket server hands the hub for each socket: its peer's address.
  const accept = coordinator.hub.accept.bind(coordinator.hub);
  coordinator.hub.accept = (...args) => {
    accepted.push(args[1] ?? 'none');
    accept(...args);
  };
  const [a, b] = namespaces.list;
  // Namespace A holds the liars (two tabs of one browser, lying identically);
  // namespace B and the root namespace one honest page each.
  liars = await namespaces.launch(a, ['--user-agent=Mozilla/5.0 LadleLiar in A']);
  for (const [ns, name] of [[undefined, 'root'], [b, 'B']] as const) {
    const browser = await namespaces.launch(ns, [`--user-agent=Mozilla/5.0 LadleHonest in ${name}`]);
    honest.push(await launchWorkers({ url: coordinator.url, browser, threads: 1 }));
  }
  grid = await connect({ url: coordinator.url, token: coordinator.token });
  tasks = await load();
});

after(async () => {
  await grid?.close();
  await coordinator?.close();
  await namespaces?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('pages in the root namespace, namespace A and namespace B reach the coordinator from three distinct addresses', { timeout: 60_000 }, async () => {
  const tabs = await launchWorkers({ url: coordinator.url, browser: liars, threads: 1 });
  try {
    const [a, b] = namespaces.list;
    assert.deepEqual([...new Set(accepted)].sort(), [namespaces.serverAddress, a.address, b.address].sort());
    // The liar's Web Workers see the user agent it was launched with.
    assert.match(await tabs.pages[0].evaluate(() => new Promise<string>((resolve) => {
      const w = new Worker(URL.createObjectURL(new Blob(['postMessage(navigator.userAgent)'], { type: 'text/javascript' })));
      w.onmessage = (e: MessageEvent<string>) => resolve(e.data);
    })), /LadleLiar in A$/);
  } finally {
    await tabs.close();
  }
});

test("verify: 2: two tabs on one address lying alike never form a quorum while other addresses are joined", { timeout: 240_000 }, async () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  // Rounds with fresh tabs (fresh identities, untrusted, not quarantined):
  // each tab is quarantined at its first lost quorum, so each round gives the
  // two tabs a new chance to pair up.
  for (let round = 1; round <= 4; round++) {
    const tabs = await launchWorkers({ url: coordinator.url, browser: liars, count: 2, threads: 1 });
    try {
      const ys = await grid.map(tasks.square.with({ verify: 2 }), xs, { chunkSize: 1 });
      const wrong = xs.filter((x, i) => ys[i] !== x * x);
      assert.deepEqual(wrong, [], `round ${round}: wrong results arrived for these inputs`);
      const s = await fetchStats({ url: coordinator.url, adminToken: coordinator.adminToken });
      const ids = await Promise.all(tabs.pages.map(async (p) => (await describePage(p)).workerId));
      const inA = s.perWorker.filter((w) => ids.includes(w.id));
      assert.equal(inA.length, 2, `round ${round}: both tabs of namespace A are joined`);
      assert.ok(inA.some((w) => w.trust.quarantined), `round ${round}: the tabs of namespace A got work and lost a quorum: ${JSON.stringify(inA.map((w) => w.trust))}`);
      assert.ok(s.perWorker.filter((w) => w.userAgent.includes('LadleHonest')).every((w) => !w.trust.quarantined), 'no honest page is quarantined');
    } finally {
      await tabs.close();
    }
  }
  const s = await fetchStats({ url: coordinator.url, adminToken: coordinator.adminToken });
  assert.equal(s.verify.tasks, 400);
  assert.ok(s.verify.disagreements > 0, JSON.stringify(s.verify));
});
