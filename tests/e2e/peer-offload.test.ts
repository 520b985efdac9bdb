// Peer offloading in real Chromium: pages hand subtasks to each other over
// WebRTC data channels, signalled through the coordinator's PeerServer. The
// answers stay right when a peer dies holding subtasks, when a page has no
// WebRTC at all, and when an argument is megabytes long.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchWorkers, joinUrl, describePage, type LocalWorkers } from '../../cli/workers.ts';
import { connect } from '../../client-sdk/index.ts';
import { startTestGrid, fixture, testBrowser, type TestGrid, type TestGridOptions } from '../helpers/grid.ts';
import { fetchStats, statsUntil } from '../helpers/cli.ts';
import { browserPid, rendererPids } from '../helpers/processes.ts';
import { expectedChain } from '../fixtures/offload.ts';
import type * as Offload from '../fixtures/offload.ts';
import type * as Scoop from '../fixtures/scoop.ts';
import type { PeerStatus } from '../../browser-worker/peer-offload.ts';

const stats = fetchStats;
type Status = { ladle: { status: { tasksDone: number; peer: PeerStatus } } };
const pageStatus = (page: Page) => page.evaluate(() => (globalThis as unknown as Status).ladle.status);

test('nested work is offloaded page to page and gives the right answers; a 5 MB argument arrives intact', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 2, threads: 2 });
  try {
    await statsUntil(g.coordinator, (s) => s.workers === 2 && s.peer.pages === 2);
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    const scoop = await g.grid.module<typeof Scoop>(fixture('scoop.ts'));

    // SCOOP's chain with some computation in each of its 364 leaves.
    assert.equal(await g.grid.submit(offload.chain, 12, 3), expectedChain(12));
    const after = (await stats(g.coordinator)).peer;
    assert.ok(after.tasksOffloaded > 0, `subtasks offloaded over WebRTC: ${after.tasksOffloaded}`);
    assert.ok(after.links >= 1, 'a link is open');
    assert.ok(after.bytesSent > 0);
    assert.equal(after.tasksReleased, 0, 'with WebRTC working, nothing went through the coordinator');
    const [a, b] = await Promise.all(g.workers.pages.map(pageStatus));
    assert.ok(a.peer.taken + b.peer.taken > 0 && a.peer.given + b.peer.given > 0, 'the pages agree something moved');
    assert.equal(a.tasksDone + b.tasksDone, 1 + 1 + 12 + 78 + 364, 'each task of the tree ran once');
    const perWorker = (await stats(g.coordinator)).perWorker;
    assert.equal(perWorker.reduce((n, w) => n + w.tasksDone, 0), 456, "the coordinator's per-worker counts include subtasks");

    // The plain SCOOP chain and recursion, with offloading on.
    assert.equal(await g.grid.submit(scoop.func0, 12), 7371);
    assert.equal(await g.grid.submit(scoop.fib, 15), 610);

    // 655,360 doubles = 5 MiB, the argument of each of 6 subtasks.
    const before = (await stats(g.coordinator)).peer;
    const big = await g.grid.submit(offload.bigArgs, 655_360, 6);
    assert.deepEqual(big, { matched: 6, lengths: Array(6).fill(655_360) });
    const moved = (await stats(g.coordinator)).peer;
    assert.ok(moved.tasksOffloaded > before.tasksOffloaded, 'some of the big subtasks went to the other page');
    assert.ok(moved.bytesSent - before.bytesSent > 5 * 1024 * 1024, `over 5 MiB went page to page: ${moved.bytesSent - before.bytesSent}`);
  } finally {
    await g.close();
  }
});

test('three pages share one tree over WebRTC: each works, each task runs once, and nothing goes through the coordinator', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 3, threads: 1 });
  try {
    await statsUntil(g.coordinator, (s) => s.workers === 3 && s.peer.pages === 3);
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    // One root task: the two other pages get work only by stealing, from it
    // or from each other's stolen subtrees.
    assert.equal(await g.grid.submit(offload.chain, 12, 3), expectedChain(12));
    const s = await stats(g.coordinator);
    assert.ok(s.peer.links >= 2, `both thieves linked: ${s.peer.links} links`);
    assert.ok(s.peer.tasksOffloaded > 0);
    assert.equal(s.peer.tasksReleased, 0);
    const done = await Promise.all(g.workers.pages.map(async (p) => (await pageStatus(p)).tasksDone));
    assert.ok(done.every((n) => n > 0), `every page ran tasks of the tree: ${done.join(', ')}`);
    assert.equal(done.reduce((a, b) => a + b, 0), 456, 'each task of the tree ran once');
  } finally {
    await g.close();
  }
});

test('a verified tree is never lent to a single peer: its subtasks go through the grid, where they are verified too', { timeout: 120_000 }, async () => {
  // Two pages run the task's two replicas; the third, idle, is told to steal from them.
  const g = await startTestGrid({ pages: 3, threads: 1 });
  try {
    await statsUntil(g.coordinator, (s) => s.workers === 3 && s.peer.pages === 3);
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    // Its leaves wait until a subtask is released to the grid: the tree cannot end before the idle page's steal arrives.
    assert.equal(await g.grid.submit(offload.chain.with({ verify: 2 }), 6, 'released'), expectedChain(6));
    const s = await stats(g.coordinator);
    assert.equal(s.peer.tasksOffloaded, 0, 'no subtask of a verified tree crossed WebRTC');
    assert.ok(s.peer.tasksReleased > 0, 'the steal found verified subtasks and sent them to the grid');
    // Each replica's subtasks that left their page were verified on the grid: more verified tasks than the one submitted.
    assert.ok(s.verify.tasks > 1, `verified tasks: ${s.verify.tasks}`);
    assert.equal(s.verify.failed, 0);
  } finally {
    await g.close();
  }
});

test('a peer killed while it holds offloaded subtasks: they run again and every answer is right', { timeout: 120_000 }, () =>
  withTwoBrowsers({ threads: 2 }, async (g, pages) => {
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    // 40 subtasks of about 100 ms: 40 * 1^2 .. 40^2 summed.
    const result = g.grid.submit(offload.spread, 40, 60);
    const holder = await holdingPeer(g, pages);
    process.kill(await browserPid(holder.browser), 'SIGKILL');
    assert.equal(await result, (40 * 41 * 81) / 6);
    const end = await statsUntil(g.coordinator, (s) => s.workers === 1);
    assert.equal(end.peer.tasksOnPeers, 0, 'the record of offloads holds nothing for the dead page');
  }),
);

test('a peer frozen while it holds offloaded subtasks: the lending page, once idle, runs them itself long before the peer is dropped', { timeout: 120_000 }, () =>
  // The coordinator gives up on a silent page only after 2 minutes here: the
  // answer has to come from the lending page's copies, not from that.
  withTwoBrowsers({ threads: 1, coordinator: { deadlineMs: 120_000 } }, async (g, pages) => {
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    // 8 subtasks of 800 ms each on 1-thread pages: the other page steals one at a time.
    const result = g.grid.submit(offload.naps, 8, 800);
    const holder = await holdingPeer(g, pages);
    const lender = pages.find((p) => p !== holder)!;
    // SIGSTOP, as a shut laptop lid: its link stays up, it answers nothing.
    const frozen = await rendererPids(holder.browser);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      assert.equal(await result, (8 * 9) / 2);
      assert.equal((await stats(g.coordinator)).workers, 2, 'the frozen page is still connected: its removal did not give the answer');
      const copied = (await pageStatus(lender.page)).peer.copied;
      assert.ok(copied >= 1, `the lending page ran the frozen peer's subtasks itself: ${copied}`);
      const settled = await statsUntil(g.coordinator, (s) => s.peer.tasksOnPeers === 0 && s.peer.tasksCopied === copied);
      assert.equal(settled.peer.tasksOnPeers, 0, 'the record of offloads let go of them');
      assert.equal(settled.peer.tasksCopied, copied, 'and counts the copies');
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    // Awake again, the peer finishes its stale copies; they are ignored and the grid works on.
    assert.equal(await g.grid.submit(offload.naps, 6, 50), 21);
  }),
);

test('a page the coordinator did not send to steal gets nothing from a peer, and the work completes where it was', { timeout: 120_000 }, () =>
  withTwoBrowsers({ threads: 1 }, async (g, [victim, rogue]) => {
    // Paused, it is never sent to steal, nor given grid tasks.
    await rogue.page.evaluate(() => (globalThis as unknown as { ladle: { setPaused(p: boolean): void } }).ladle.setPaused(true));
    await statsUntil(g.coordinator, (s) => s.perWorker.some((w) => w.paused));
    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    const result = g.grid.submit(offload.naps, 8, 500);
    await victim.page.waitForFunction(() => (globalThis as unknown as { ladle: { status: { queued: number } } }).ladle.status.queued > 0);
    // It asks anyway, straight over WebRTC, as altered page code could.
    await rogue.page.evaluate(`globalThis.ladle.peers.steal(${JSON.stringify(victim.id)}, 4)`);
    await victim.page.waitForFunction(() => (globalThis as unknown as Status).ladle.status.peer.refused >= 1);

    assert.equal(await result, (8 * 9) / 2);
    const [given, taken] = [await pageStatus(victim.page), await pageStatus(rogue.page)];
    assert.equal(given.peer.given, 0, 'the busy page gave nothing');
    assert.equal(taken.peer.taken, 0, 'the page that asked unannounced got nothing');
    assert.equal(taken.tasksDone, 0);
    const s = await statsUntil(g.coordinator, (x) => x.peer.stealsRefused >= 1);
    assert.equal(s.peer.tasksOffloaded, 0);
  }),
);

test("a client's constants reach a peer with its subtasks, and leave every page and Web Worker when the client does", { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 2, threads: 1 });
  const client = await connect({ url: g.coordinator.url, token: g.coordinator.token });
  try {
    await statsUntil(g.coordinator, (s) => s.workers === 2 && s.peer.pages === 2);
    const offload = await client.module<typeof Offload>(fixture('offload.ts'));
    await client.shared.set({ factor: 7 });
    assert.equal(await client.submit(offload.scaledSpread, 30, 30), (7 * 30 * 31) / 2);
    assert.ok((await stats(g.coordinator)).peer.tasksOffloaded > 0, 'the other page ran some subtasks');
    // The page the root task ran on had the constants from the coordinator;
    // the other from its peer, with the subtasks it took.
    // The runtime's own fields, read as they are: nothing else shows what a page holds.
    type Held = { ladle: { shared: { scopes: Map<string, unknown> }; pool: { all: { sharedSent: Map<string, number> }[] } } };
    const held = await Promise.all(g.workers.pages.map((p) => p.evaluate(() => (globalThis as unknown as Held).ladle.shared.scopes.size)));
    assert.deepEqual(held, [1, 1], 'both pages hold the constants');

    await client.close();
    for (const page of g.workers.pages) {
      await page.waitForFunction(() => {
        const { shared, pool } = (globalThis as unknown as Held).ladle;
        return shared.scopes.size === 0 && pool.all.every((slot) => slot.sharedSent.size === 0);
      });
    }
  } finally {
    await client.close().catch(() => undefined);
    await g.close();
  }
});

test('a page without WebRTC (RTCPeerConnection removed): subtasks move through the coordinator and all complete', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  // As in a browser with WebRTC turned off by policy.
  const { context, page, errors } = await joinWith(g.coordinator.url, 'delete globalThis.RTCPeerConnection;');
  try {
    await page.waitForFunction(() => (globalThis as unknown as Status).ladle?.status.peer.state === 'unavailable');
    await statsUntil(g.coordinator, (s) => s.workers === 2 && s.peer.pages === 1);

    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    assert.equal(await g.grid.submit(offload.chain, 12, 3), expectedChain(12));
    assert.equal(await g.grid.submit(offload.spread, 30, 20), (30 * 31 * 61) / 6);
    const s = await stats(g.coordinator);
    assert.equal(s.peer.tasksOffloaded, 0, 'no WebRTC link was possible');
    assert.ok(s.peer.tasksReleased > 0, `subtasks released to the grid queue: ${s.peer.tasksReleased}`);
    const noRtc = await pageStatus(page);
    const withRtc = await pageStatus(g.workers.pages[0]);
    assert.ok(noRtc.tasksDone > 0 && withRtc.tasksDone > 0, `both pages worked: ${noRtc.tasksDone} and ${withRtc.tasksDone}`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await g.close();
  }
});

test('WebRTC that cannot connect (no ICE candidates get through): the grid falls back to the coordinator and does not stall', { timeout: 120_000 }, async () => {
  const g = await startTestGrid({ pages: 1, threads: 2 });
  // As behind a firewall that drops every candidate: links are signalled but never open.
  const { context, page, errors } = await joinWith(g.coordinator.url, FIREWALLED_RTC);
  try {
    await statsUntil(g.coordinator, (s) => s.workers === 2 && s.peer.pages === 2);

    const offload = await g.grid.module<typeof Offload>(fixture('offload.ts'));
    // Its subtasks wait until one is released to the grid: the work cannot end before a link has failed and the grid took over.
    assert.equal(await g.grid.submit(offload.spread, 40, 'released'), (40 * 41 * 81) / 6);
    const s = await stats(g.coordinator);
    assert.equal(s.peer.tasksOffloaded, 0, 'no link ever opened');
    assert.ok(s.peer.linksFailed >= 1, 'a link was tried and given up');
    assert.ok(s.peer.tasksReleased > 0, `subtasks went through the coordinator: ${s.peer.tasksReleased}`);
    const both = [await pageStatus(page), await pageStatus(g.workers.pages[0])];
    assert.ok(both.every((p) => p.tasksDone > 0), 'both pages worked');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await g.close();
  }
});

/** A page in a context of its own that runs `script` before anything else
 * (a string: tsx would add helpers to a function's source). */
async function joinWith(url: string, script: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await (await testBrowser()).newContext();
  try {
    await context.addInitScript({ content: script });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(joinUrl(url, 2));
    return { context, page, errors };
  } catch (e) {
    await context.close();
    throw e;
  }
}

/** A page of a two-browser grid, by its worker id. */
interface Volunteer {
  id: string;
  browser: Browser;
  page: Page;
}

/** A grid of two pages, each in a browser of its own (so that one can be
 * killed or frozen alone), both registered with the PeerServer. */
async function withTwoBrowsers(
  options: { threads: number; coordinator?: TestGridOptions['coordinator'] },
  body: (g: TestGrid, pages: Volunteer[]) => Promise<void>,
): Promise<void> {
  const g = await startTestGrid({ pages: 1, threads: options.threads, coordinator: options.coordinator, ownBrowser: true });
  let other: LocalWorkers | undefined;
  try {
    other = await launchWorkers({ url: g.coordinator.url, count: 1, threads: options.threads });
    await statsUntil(g.coordinator, (s) => s.workers === 2 && s.peer.pages === 2);
    const pages: Volunteer[] = [];
    for (const { browser, pages: [page] } of [g.workers, other]) pages.push({ id: (await describePage(page)).workerId, browser, page });
    await body(g, pages);
  } finally {
    await other?.close().catch(() => undefined);
    await g.close();
  }
}

/** The page the coordinator's record shows holding offloaded subtasks, as soon as one does. */
async function holdingPeer(g: TestGrid, pages: Volunteer[]): Promise<Volunteer> {
  const s = await statsUntil(g.coordinator, (x) => x.perWorker.some((w) => w.peerTasks > 0), 30_000);
  const id = s.perWorker.find((w) => w.peerTasks > 0)!.id;
  return pages.find((p) => p.id === id)!;
}

/** Replaces RTCPeerConnection with one whose ICE candidates never get out or in. */
const FIREWALLED_RTC = `
  const Real = RTCPeerConnection;
  class Firewalled extends Real {
    constructor(config) {
      super(config);
      // First in line, so no later listener or onicecandidate handler hears of a candidate.
      this.addEventListener('icecandidate', (e) => e.stopImmediatePropagation());
    }
    addIceCandidate() {
      return Promise.resolve();
    }
    setRemoteDescription(d) {
      const sdp = (d.sdp || '').split('\\r\\n').filter((line) => !line.startsWith('a=candidate')).join('\\r\\n');
      return super.setRemoteDescription({ type: d.type, sdp });
    }
  }
  globalThis.RTCPeerConnection = Firewalled;
`;
