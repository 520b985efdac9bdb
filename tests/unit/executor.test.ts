// The executor charges each call of the task API to the task whose code made
// it: a timer fires in its own task's turn, and a call from no task's turn is
// refused rather than guessed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from '../../protocol/codec.ts';
import type { TaskSpec } from '../../protocol/messages.ts';
import { Executor, type TaskModule } from '../../browser-worker/executor.ts';
import { installTaskTimers } from '../../browser-worker/task-timers.ts';

/** An executor over one in-memory module, in a scope whose timers fire when the test says. */
function setup(mod: (x: { executor: Executor; timers: typeof globalThis }) => TaskModule) {
  const due: (() => void)[] = [];
  const timers = { setTimeout: (fn: () => void) => due.push(fn), setInterval: () => 0 } as unknown as typeof globalThis;
  const executor: Executor = new Executor((fn) => setImmediate(fn), () => undefined, () => Promise.resolve(module));
  const module = mod({ executor, timers });
  installTaskTimers(executor, timers);
  executor.loadBundle('b', '');
  const spec = (id: number, fn: string): TaskSpec => ({ id, bundle: 'b', fn, args: pack([]) });
  /** Fires the timers set so far, as the event loop would. */
  const fire = () => due.splice(0).forEach((fn) => fn());
  return { executor, spec, module, fire, due };
}

const turn = () => new Promise((r) => setImmediate(r));

/** Lets the event loop turn until `condition` holds (it may consume what it looks at), at most 1000 turns. */
async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await turn();
  }
  assert.fail(`never: ${what}`);
}

test("a timer fires in its own task's turn: a subtask it spawns while another task is busy is charged to its task", async () => {
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  let timerFired = false;
  const { executor, spec, fire, due } = setup(({ executor, timers }) => {
    const leaf = () => 1;
    return {
      leaf,
      // Waits on a subtask; meanwhile its timer submits another.
      parent: async () => {
        const child = executor.submit(leaf, []);
        timers.setTimeout(() => {
          timerFired = true;
          void executor.submit(leaf, []);
        }, 0);
        await child;
      },
      // Busy (no subtasks) until the test opens the gate.
      busy: () => gate,
    };
  });
  executor.run([spec(10, 'parent'), spec(20, 'busy')]);
  await until('the busy task starts', () => executor.take().started.includes(20));
  assert.equal(due.length, 1);
  // The timer fires while task 20 is busy: its callback waits for task 10's turn.
  fire();
  await turn();
  assert.equal(timerFired, false, 'the timer did not run in the turn of task 20');
  openGate();
  await until('the timer ran', () => timerFired);
  const submitted = executor.take().submit;
  assert.deepEqual(submitted.map((s) => s.parent), [10], 'the subtask of the timer has task 10 as its parent');
});

test('a call of the task API from no task\'s turn is refused with a clear error, not charged to the last task', async () => {
  const { executor, spec, module } = setup(({ executor }) => {
    const leaf = () => 1;
    return { leaf, parent: async () => void (await executor.submit(leaf, [])) };
  });
  executor.run([spec(1, 'parent')]);
  await until('the parent waits on its subtask', () => executor.take().submit.length === 1);
  await until('no task is busy', () => executor.blocked === 1);
  // Task 1 ran last, but this call is not its code's: it is refused.
  assert.throws(() => executor.submit(module.leaf, []), /submit was called outside a running task/);
  assert.throws(() => executor.sharedGet('x'), /shared.get was called outside a running task/);
});

test("a timer of a finished task runs, and its calls of the task API are refused", async () => {
  let outcome: unknown;
  const { executor, spec, fire } = setup(({ executor, timers }) => {
    const leaf = () => 1;
    return {
      leaf,
      quick: () => {
        timers.setTimeout(() => {
          try {
            void executor.submit(leaf, []);
            outcome = 'accepted';
          } catch (e) {
            outcome = e;
          }
        }, 0);
        return 'done';
      },
    };
  });
  executor.run([spec(1, 'quick')]);
  await until('the task is done', () => executor.take().done.length === 1);
  fire();
  assert.ok(outcome instanceof Error);
  assert.match(outcome.message, /submit was called from a timer of a task that has finished/);
});
