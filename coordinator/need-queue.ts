// Queued tasks that need something of their page (`handle.with({ needs })`),
// kept apart from the scheduler's main queue: grouped by their needs, each
// group first in, first out (a requeued task goes to its group's front). A
// page takes only from groups whose every need it meets; a group no joined
// page can serve waits, and is counted (see waiting).
import { needsKey, type Need } from '../protocol/needs.ts';

interface Group<T> {
  needs: readonly Need[];
  /** Requeued tasks, in the order they came back: they go before the rest. */
  retry: T[];
  tasks: T[];
  head: number;
}

export class NeedQueue<T> {
  private readonly groups = new Map<string, Group<T>>();
  /** Each queued task's group; a task deleted here is skipped lazily. */
  private readonly where = new Map<T, string>();

  get size(): number {
    return this.where.size;
  }

  has(task: T): boolean {
    return this.where.has(task);
  }

  /** Queues a task under its needs (not empty), at the back, or when
   * `first` (requeued) ahead of those never run. */
  add(task: T, needs: readonly Need[], first = false): void {
    if (this.where.has(task)) throw new Error(`task ${String(task)} is already queued`);
    const key = needsKey(needs);
    if (key === '') throw new Error('a task without needs belongs in the main queue');
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { needs: key.split('+') as Need[], retry: [], tasks: [], head: 0 }));
    (first ? group.retry : group.tasks).push(task);
    this.where.set(task, key);
  }

  /** Removes a queued task; false if it was not here. */
  delete(task: T): boolean {
    return this.where.delete(task);
  }

  /** The next task a page meeting `met` may run: from the group that has
   * waited longest at its head, among those it can serve. */
  take(met: ReadonlySet<Need>): T | undefined {
    for (const [key, group] of this.groups) {
      if (!group.needs.every((n) => met.has(n))) continue;
      while (group.retry.length > 0) {
        const task = group.retry.shift()!;
        if (this.where.get(task) !== key) continue;
        this.where.delete(task);
        this.compact(key, group);
        return task;
      }
      while (group.head < group.tasks.length) {
        const task = group.tasks[group.head++];
        if (this.where.get(task) !== key) continue;
        this.where.delete(task);
        this.compact(key, group);
        return task;
      }
      this.compact(key, group);
    }
    return undefined;
  }

  /** Queued tasks that none of `pages` (each the needs a page meets) can run, by needs ('webgpu+wasm-simd'). */
  waiting(pages: Iterable<ReadonlySet<Need>>): Record<string, number> {
    const all = [...pages];
    const counts: Record<string, number> = {};
    for (const [key, group] of this.groups) {
      if (all.some((met) => group.needs.every((n) => met.has(n)))) continue;
      let n = 0;
      for (const task of group.retry) if (this.where.get(task) === key) n++;
      for (let i = group.head; i < group.tasks.length; i++) if (this.where.get(group.tasks[i]) === key) n++;
      if (n > 0) counts[key] = n;
    }
    return counts;
  }

  /** Frees an emptied group, or the consumed head of a long one. */
  private compact(key: string, group: Group<T>): void {
    if (group.head >= group.tasks.length && group.retry.length === 0) this.groups.delete(key);
    else if (group.head > 1024 && group.head * 2 > group.tasks.length) {
      group.tasks = group.tasks.slice(group.head);
      group.head = 0;
    }
  }
}
