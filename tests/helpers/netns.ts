// Network namespaces for tests that need pages on distinct network addresses.
// Connecting to 127.0.0.2 still comes from 127.0.0.1, so "another machine"
// is played by a namespace joined to this one by a veth pair: the host end
// holds 10.231.N.1/24, the namespace end 10.231.N.2/24 with a default route
// through the host end. A coordinator listening on the first pair's host
// address is then reached from three distinct source addresses: 10.231.1.1
// (the root namespace itself), 10.231.1.2 (namespace A) and 10.231.2.2
// (namespace B). A page "in" a namespace is a real Chromium whose every
// process runs there (`ip netns exec`). Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)
// and iproute2.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath, loadPlaywright } from '../../cli/chromium.ts';

const run = promisify(execFile);

export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

/** Namespaces of this helper are named `ladle-<pid>-<i>`: the pid tells a
 * live run's from one a killed process left behind. */
const PREFIX = 'ladle-';

export interface Namespace {
  /** As `ip netns` knows it. */
  name: string;
  /** The veth end in the root namespace (10.231.N.1). */
  hostAddress: string;
  /** The veth end inside the namespace (10.231.N.2): where its connections come from. */
  address: string;
  /** An executable that runs Chromium inside this namespace, for Playwright's executablePath. */
  chromium: string;
}

export interface Namespaces {
  list: Namespace[];
  /** The first pair's host end: a server listening here is reachable from the root namespace and every namespace. */
  serverAddress: string;
  /** Launches headless Chromium inside `ns` (in the root namespace when
   * undefined), with the project's flags and `extraArgs`; `close()` closes it
   * if the test has not. */
  launch(ns?: Namespace, extraArgs?: string[]): Promise<Browser>;
  /** Closes the browsers launched here, then removes every namespace and veth pair. Safe to call twice. */
  close(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run(IP, args)).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes namespaces (and so their veth pairs) that a process killed before its cleanup left behind. */
async function removeStale(): Promise<void> {
  const names = (await ip('netns', 'list')).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX));
  for (const n of names) {
    const pid = Number(n.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await ip('netns', 'del', n).catch(() => undefined);
  }
}

/** Subnet numbers N of 10.231.N.0/24 that no interface here uses, starting
 * at an offset from the pid so that two processes creating at once pick
 * different ones. */
async function freeSubnets(count: number): Promise<number[]> {
  const used = new Set<number>();
  for (const m of (await ip('-o', '-4', 'addr', 'show')).matchAll(/inet 10\.231\.(\d+)\./g)) used.add(Number(m[1]));
  const found: number[] = [];
  const start = (process.pid % 50) * 5;
  for (let k = 0; k < 250 && found.length < count; k++) {
    const n = ((start + k) % 250) + 1;
    if (!used.has(n)) found.push(n);
  }
  if (found.length < count) throw new Error('no free 10.231.N.0/24 subnet left');
  return found;
}

/** Creates `count` namespaces (default 2), each joined to the root namespace by a veth pair. */
export async function createNamespaces(count = 2): Promise<Namespaces> {
  await removeStale();
  const dir = await mkdtemp(join(tmpdir(), 'ladle-netns-'));
  const created: { name: string; hostLink: string }[] = [];
  const list: Namespace[] = [];
  let closed = false;
  const browsers = new Set<Browser>();

  /** Synchronous, for process exit: the namespaces must not outlive the test process. */
  const removeNow = () => {
    for (const { name, hostLink } of created.splice(0)) {
      for (const args of [['link', 'del', hostLink], ['netns', 'del', name]]) {
        try {
          execFileSync(IP, args, { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
    }
  };
  process.once('exit', removeNow);

  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all([...browsers].map((b) => b.close().catch(() => undefined)));
    // Deleting one end of a veth pair deletes both; deleting the namespace then leaves nothing.
    for (const { name, hostLink } of created.splice(0)) {
      await ip('link', 'del', hostLink).catch(() => undefined);
      await ip('netns', 'del', name).catch(() => undefined);
    }
    process.off('exit', removeNow);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const subnets = await freeSubnets(count);
    for (let i = 0; i < count; i++) {
      const n = subnets[i];
      const name = `${PREFIX}${process.pid}-${i}`;
      // Interface names are at most 15 characters.
      const hostLink = `lv${process.pid}h${i}`;
      const innerLink = `lv${process.pid}p${i}`;
      const hostAddress = `10.231.${n}.1`;
      const address = `10.231.${n}.2`;
      await ip('netns', 'add', name);
      created.push({ name, hostLink });
      await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', innerLink);
      await ip('link', 'set', innerLink, 'netns', name);
      await ip('addr', 'add', `${hostAddress}/24`, 'dev', hostLink);
      await ip('link', 'set', hostLink, 'up');
      const inside = (...args: string[]) => ip('-n', name, ...args);
      await inside('addr', 'add', `${address}/24`, 'dev', innerLink);
      await inside('link', 'set', 'lo', 'up');
      await inside('link', 'set', innerLink, 'up');
      await inside('route', 'add', 'default', 'via', hostAddress);
      const chromium = join(dir, `chromium-${name}`);
      const real = chromiumPath();
      if (!real) throw new Error('no Chromium at /usr/bin/chromium and CHROMIUM_PATH unset: a namespaced page needs a Chromium executable');
      await writeFile(chromium, `#!/bin/sh\nexec ${IP} netns exec ${name} ${real} "$@"\n`);
      await chmod(chromium, 0o755);
      list.push({ name, hostAddress, address, chromium });
    }
  } catch (e) {
    await close();
    throw e;
  }

  const launch = async (ns?: Namespace, extraArgs: string[] = []): Promise<Browser> => {
    if (closed) throw new Error('these namespaces are closed');
    const { chromium } = await loadPlaywright();
    const browser = await chromium.launch({ executablePath: ns?.chromium ?? chromiumPath(), args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
    browsers.add(browser);
    browser.once('disconnected', () => browsers.delete(browser));
    return browser;
  };
  return { list, serverAddress: list[0]?.hostAddress ?? '127.0.0.1', launch, close };
}
