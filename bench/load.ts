// How much of the machine processes other than the bench's own used while a
// scenario ran. On a shared 2-core machine a test suite running next door
// skews every figure; the report says so instead of passing it off as Ladle's.
// Linux only (/proc); elsewhere the figure is simply absent.
import { readFileSync, readdirSync } from 'node:fs';

interface Snapshot {
  /** Clock ticks of all CPUs: busy (incl. steal) and in total. */
  busy: number;
  total: number;
  /** utime+stime of every process, and each one's parent. */
  procs: Map<number, { ppid: number; ticks: number }>;
}

function snapshot(): Snapshot | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const procs = new Map<number, { ppid: number; ticks: number }>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // After the command name, which may itself hold spaces and parentheses:
        // state ppid ... utime stime (fields 3, 4, 14, 15 of proc(5)).
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        procs.set(Number(pid), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
      } catch {
        // It exited between the listing and the read.
      }
    }
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait, procs };
  } catch {
    return undefined;
  }
}

/** Watches from now until `stop()`; returns the share of the whole machine
 * (0..1) that anything outside this process tree used meanwhile. Polls,
 * because Chromium's helpers are often orphaned at shutdown and reaped by
 * init, so their time never reaches our own children's totals. */
export function watchForeignLoad(intervalMs = 250): { stop(): number | undefined } {
  const first = snapshot();
  if (!first) return { stop: () => undefined };
  const ours = new Set<number>([process.pid]);
  const lastTicks = new Map<number, number>();
  const sample = (): Snapshot | undefined => {
    const snap = snapshot();
    if (!snap) return undefined;
    const children = new Map<number, number[]>();
    for (const [pid, p] of snap.procs) {
      let list = children.get(p.ppid);
      if (!list) children.set(p.ppid, (list = []));
      list.push(pid);
    }
    // Once ours, always ours: an orphaned browser helper still works for us.
    const stack = [...ours].filter((pid) => snap.procs.has(pid));
    while (stack.length > 0) {
      for (const c of children.get(stack.pop()!) ?? []) {
        ours.add(c);
        stack.push(c);
      }
    }
    for (const pid of ours) {
      const p = snap.procs.get(pid);
      if (p) lastTicks.set(pid, p.ticks);
    }
    return snap;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const last = sample();
      if (!last || last.total === first.total) return undefined;
      let used = 0;
      for (const [pid, ticks] of lastTicks) used += ticks - (first.procs.get(pid)?.ticks ?? 0);
      return Math.max(0, (last.busy - first.busy - used) / (last.total - first.total));
    },
  };
}
