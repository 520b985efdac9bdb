// The task store remembers every live task: who owns it (the SDK client that
// submitted it, or the page that handed its subtask to the grid), whose
// constants it sees, and how often it has been attempted. Finished tasks
// leave the store; only their counts remain.
import type { TaskSpec } from '../protocol/messages.ts';
import type { ClientId, PageId, ScopeId, TaskId } from './ids.ts';

/** Where a task's outcome goes. */
export type Owner = { kind: 'client'; id: ClientId } | { kind: 'page'; id: PageId };
export const clientOwner = (id: ClientId): Owner => ({ kind: 'client', id });
export const pageOwner = (id: PageId): Owner => ({ kind: 'page', id });

/** One string per owner, for maps: a client and a page never share a key. */
const ownerKey = (owner: Owner): string => `${owner.kind}:${owner.id}`;

export interface TaskRecord {
  /** Grid-wide id, the one pages see. */
  id: TaskId;
  owner: Owner;
  /** The id the owner knows the task by. */
  ownerTaskId: number;
  /** The tree of the SDK client at its root: its constants apply, and the
   * client's departure cancels the whole tree. */
  scope: ScopeId;
  /** As sent to pages: grid id, scope, and the submitter's options. */
  spec: TaskSpec;
  /** It spawned subtasks where it runs. */
  spawned: boolean;
  attempts: number;
  maxAttempts: number;
  started: boolean;
  /** A replica of a verified task (see verifier.ts): the task it runs for.
   * Its owner knows only that task; its end is counted there. */
  replicaOf?: TaskId;
}

export type Outcome = 'completed' | 'failed' | 'cancelled';

export class TaskStore {
  private nextId = 1;
  private readonly tasks = new Map<TaskId, TaskRecord>();
  /** Owner key -> the owner's id for a task -> its grid id. */
  private readonly byOwner = new Map<string, Map<number, TaskId>>();
  private readonly byScope = new Map<ScopeId, Set<TaskId>>();
  /** Owner key -> how many live replicas its verified tasks have. */
  private readonly replicas = new Map<string, number>();
  completed = 0;
  failed = 0;

  constructor(private readonly defaultAttempts = 3) {}

  get size(): number {
    return this.tasks.size;
  }

  add(owner: Owner, scope: ScopeId, submitted: TaskSpec): TaskRecord {
    const id = this.nextId++ as TaskId;
    const spec: TaskSpec = { id, bundle: submitted.bundle, fn: submitted.fn, args: submitted.args, scope };
    if (submitted.timeout !== undefined) spec.timeout = submitted.timeout;
    if (submitted.chunk) spec.chunk = true;
    if (submitted.needs?.length) spec.needs = submitted.needs;
    if (submitted.verify !== undefined) spec.verify = submitted.verify;
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
    const key = ownerKey(owner);
    let own = this.byOwner.get(key);
    if (!own) this.byOwner.set(key, (own = new Map<number, TaskId>()));
    own.set(submitted.id, id);
    let inScope = this.byScope.get(scope);
    if (!inScope) this.byScope.set(scope, (inScope = new Set()));
    inScope.add(id);
    return record;
  }

  /** A new run of a verified task: a task of its own in the task's tree, with
   * `spec` (the task's, as pages see it), not known by its owner's id. */
  addReplica(of: TaskRecord, spec: Omit<TaskSpec, 'id'>): TaskRecord {
    const id = this.nextId++ as TaskId;
    const record: TaskRecord = { ...of, id, spec: { ...spec, id }, attempts: 0, started: false, spawned: false, replicaOf: of.id };
    this.tasks.set(id, record);
    this.byScope.get(of.scope)?.add(id);
    const key = ownerKey(of.owner);
    this.replicas.set(key, (this.replicas.get(key) ?? 0) + 1);
    return record;
  }

  get(id: TaskId): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** The grid id of an owner's task, if it is still live. */
  lookup(owner: Owner, ownerTaskId: number): TaskId | undefined {
    return this.byOwner.get(ownerKey(owner))?.get(ownerTaskId);
  }

  /** Ids of every live task an owner submitted. */
  ofOwner(owner: Owner): TaskId[] {
    return [...(this.byOwner.get(ownerKey(owner))?.values() ?? [])];
  }

  /** How many live tasks an owner submitted, each live replica of its
   * verified tasks counted too: they cost what tasks do (the bound on a
   * client's unfinished tasks bounds its replicas as well). */
  ownerSize(owner: Owner): number {
    const key = ownerKey(owner);
    return (this.byOwner.get(key)?.size ?? 0) + (this.replicas.get(key) ?? 0);
  }

  /** How many live tasks a client's tree has. */
  scopeSize(scope: ScopeId): number {
    return this.byScope.get(scope)?.size ?? 0;
  }

  /** Ids of every live task in a client's tree. */
  ofScope(scope: ScopeId): TaskId[] {
    return [...(this.byScope.get(scope) ?? [])];
  }

  /** Removes a task and counts its outcome. */
  remove(id: TaskId, outcome: Outcome): TaskRecord | undefined {
    const record = this.tasks.get(id);
    if (!record) return undefined;
    this.tasks.delete(id);
    const inScope = this.byScope.get(record.scope);
    inScope?.delete(id);
    if (inScope?.size === 0) this.byScope.delete(record.scope);
    const key = ownerKey(record.owner);
    if (record.replicaOf !== undefined) {
      const n = (this.replicas.get(key) ?? 1) - 1;
      if (n > 0) this.replicas.set(key, n);
      else this.replicas.delete(key);
      return record;
    }
    const own = this.byOwner.get(key);
    own?.delete(record.ownerTaskId);
    if (own?.size === 0) this.byOwner.delete(key);
    if (outcome === 'completed') this.completed++;
    else if (outcome === 'failed') this.failed++;
    return record;
  }
}
