// The task store remembers every live task: who submitted it, what to run,
// and how often it has been attempted. Finished tasks leave the store and
// only their counts remain.
import type { TaskSpec } from '../protocol/messages.ts';

export interface TaskRecord {
  /** Grid-wide id, the one pages see. */
  id: number;
  clientId: string;
  /** The id the submitting client knows the task by. */
  clientTaskId: number;
  spec: TaskSpec;
  attempts: number;
  started: boolean;
}

export class TaskStore {
  private nextId = 1;
  private readonly tasks = new Map<number, TaskRecord>();
  private readonly byClient = new Map<string, Map<number, number>>();
  completed = 0;
  failed = 0;

  get size(): number {
    return this.tasks.size;
  }

  add(clientId: string, submitted: TaskSpec): TaskRecord {
    const id = this.nextId++;
    const record: TaskRecord = {
      id,
      clientId,
      clientTaskId: submitted.id,
      spec: { id, bundle: submitted.bundle, fn: submitted.fn, args: submitted.args },
      attempts: 0,
      started: false,
    };
    this.tasks.set(id, record);
    let own = this.byClient.get(clientId);
    if (!own) this.byClient.set(clientId, (own = new Map()));
    own.set(submitted.id, id);
    return record;
  }

  get(id: number): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** The grid id of a client's task, if it is still live. */
  lookup(clientId: string, clientTaskId: number): number | undefined {
    return this.byClient.get(clientId)?.get(clientTaskId);
  }

  /** Ids of every live task of a client. */
  ofClient(clientId: string): number[] {
    return [...(this.byClient.get(clientId)?.values() ?? [])];
  }

  /** Removes a task; `outcome` updates the counters (cancelled tasks count as neither). */
  remove(id: number, outcome: 'completed' | 'failed' | 'cancelled'): TaskRecord | undefined {
    const record = this.tasks.get(id);
    if (!record) return undefined;
    this.tasks.delete(id);
    const own = this.byClient.get(record.clientId);
    own?.delete(record.clientTaskId);
    if (own?.size === 0) this.byClient.delete(record.clientId);
    if (outcome === 'completed') this.completed++;
    else if (outcome === 'failed') this.failed++;
    return record;
  }
}
