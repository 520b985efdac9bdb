// The task store remembers every live task: who owns it (the SDK client that
// submitted it, or the page that handed its subtask to the grid), whose
// constants it sees, and how often it has been attempted. Finished tasks
// leave the store; only their counts remain.
import type { TaskSpec } from '../protocol/messages.ts';

/** `c:<clientId>` or `p:<pageId>`: where a task's outcome goes. */
export type OwnerKey = string;
export const clientOwner = (clientId: string): OwnerKey => `c:${clientId}`;
export const pageOwner = (pageId: string): OwnerKey => `p:${pageId}`;

export interface TaskRecord {
  /** Grid-wide id, the one pages see. */
  id: number;
  owner: OwnerKey;
  /** The id the owner knows the task by. */
  ownerTaskId: number;
  /** The SDK client at the root of the task tree: its constants apply, and
   * its departure cancels the whole tree. */
  scope: string;
  /** As sent to pages: grid id, scope, and the submitter's options. */
  spec: TaskSpec;
  /** It spawned subtasks where it runs. */
  spawned: boolean;
  attempts: number;
  maxAttempts: number;
  started: boolean;
}

export type Outcome = 'completed' | 'failed' | 'cancelled';

export class TaskStore {
  private nextId = 1;
  private readonly tasks = new Map<number, TaskRecord>();
  private readonly byOwner = new Map<OwnerKey, Map<number, number>>();
  private readonly byScope = new Map<string, Set<number>>();
  completed = 0;
  failed = 0;

  constructor(private readonly defaultAttempts = 3) {}

  get size(): number {
    return this.tasks.size;
  }

  add(owner: OwnerKey, scope: string, submitted: TaskSpec): TaskRecord {
    const id = this.nextId++;
    const spec: TaskSpec = { id, bundle: submitted.bundle, fn: submitted.fn, args: submitted.args, scope };
    if (submitted.timeout !== undefined) spec.timeout = submitted.timeout;
    if (submitted.chunk) spec.chunk = true;
    const record: TaskRecord = {
      id,
      owner,
      ownerTaskId: submitted.id,
      scope,
      spec,
      attempts: 0,
      maxAttempts: submitted.attempts ?? this.defaultAttempts,
      started: false,
      spawned: false,
    };
    this.tasks.set(id, record);
    let own = this.byOwner.get(owner);
    if (!own) this.byOwner.set(owner, (own = new Map()));
    own.set(submitted.id, id);
    let inScope = this.byScope.get(scope);
    if (!inScope) this.byScope.set(scope, (inScope = new Set()));
    inScope.add(id);
    return record;
  }

  get(id: number): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** The grid id of an owner's task, if it is still live. */
  lookup(owner: OwnerKey, ownerTaskId: number): number | undefined {
    return this.byOwner.get(owner)?.get(ownerTaskId);
  }

  /** Ids of every live task an owner submitted. */
  ofOwner(owner: OwnerKey): number[] {
    return [...(this.byOwner.get(owner)?.values() ?? [])];
  }

  /** How many live tasks a client's tree has. */
  scopeSize(scope: string): number {
    return this.byScope.get(scope)?.size ?? 0;
  }

  /** Ids of every live task in a client's tree. */
  ofScope(scope: string): number[] {
    return [...(this.byScope.get(scope) ?? [])];
  }

  /** Removes a task and counts its outcome. */
  remove(id: number, outcome: Outcome): TaskRecord | undefined {
    const record = this.tasks.get(id);
    if (!record) return undefined;
    this.tasks.delete(id);
    const own = this.byOwner.get(record.owner);
    own?.delete(record.ownerTaskId);
    if (own?.size === 0) this.byOwner.delete(record.owner);
    const inScope = this.byScope.get(record.scope);
    inScope?.delete(id);
    if (inScope?.size === 0) this.byScope.delete(record.scope);
    if (outcome === 'completed') this.completed++;
    else if (outcome === 'failed') this.failed++;
    return record;
  }
}
