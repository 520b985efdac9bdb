// `ladle/task`: the API a task module imports. Bundled into each task module
// as this thin facade; the Web Worker runtime installs the implementation
// under a well-known symbol, so bundles stay small and independent of the
// runtime's version.

/** What the runtime provides inside a Web Worker. */
export interface TaskHost {
  /** The value of a shared constant set by the submitting client. */
  sharedGet(name: string): unknown;
}

export const TASK_HOST = Symbol.for('ladle.task.host');

function host(): TaskHost {
  const h = (globalThis as { [TASK_HOST]?: TaskHost })[TASK_HOST];
  if (!h) throw new Error('ladle/task is only usable inside a task run by a Ladle page');
  return h;
}

/** Read-only constants shared by the submitting client (SCOOP's setConst/getConst). */
export const shared = {
  get(name: string): unknown {
    return host().sharedGet(name);
  },
};
