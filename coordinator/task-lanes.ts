// Task lanes (see LaneHello in protocol/messages.ts): sockets a page's Web
// Workers open of their own, each serving one client. This module keeps who
// may open one (a key per page and client), the lanes open, and which lane
// may take a task; page-gateway.ts sends over them and hears what they say.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { TaskSpec } from '../protocol/messages.ts';
import type { PageId, ScopeId, TaskId } from './ids.ts';
import type { LaneStats } from './stats.ts';

/** Arms a timer; what it returns disarms it. Tests pass their own clock. */
export type Timer = (fire: () => void, ms: number) => () => void;

const realTimer: Timer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

export interface Lane {
  ws: WebSocket;
  page: PageId;
  scope: ScopeId;
  /** What its page gave the worker: the page knows the worker by it. */
  nonce: string;
  /** What the worker says it holds (its latest `ready`). */
  bundles: ReadonlySet<string>;
  shared: number;
  /** Tasks sent over it and not answered there, each as its page would
   * hear of it, with the timer of that notice until it is sent (see sent). */
  outstanding: Map<TaskId, { spec: TaskSpec; disarm?: () => void }>;
}

/** How long a lane task may run before its page hears of it (see `laned`):
 * most lone tasks answer sooner, and the page's main thread sleeps on. */
export const LANE_NOTICE_MS = 2;

interface PageLanes {
  keys: Map<ScopeId, string>;
  lanes: Set<Lane>;
}

export class TaskLanes {
  private readonly keys = new Map<string, { page: PageId; scope: ScopeId }>();
  private readonly pages = new Map<PageId, PageLanes>();
  /** The lane each outstanding lane task went over. */
  private readonly laneOf = new Map<TaskId, Lane>();
  /** Tasks sent over lanes so far (see sent). */
  private tasks = 0;

  constructor(private readonly timer: Timer = realTimer) {}

  /** A key for `page`'s Web Workers serving `scope`; undefined when it has one already. */
  grant(page: PageId, scope: ScopeId): string | undefined {
    const lanes = this.of(page);
    if (lanes.keys.has(scope)) return undefined;
    const key = randomBytes(18).toString('base64url');
    lanes.keys.set(scope, key);
    this.keys.set(key, { page, scope });
    return key;
  }

  /** Opens a lane under `key`: the lane, or why it is refused. At most
   * `max(page)` lanes per page and client (its workers, and replaced ones
   * closing): a client's task code can read its key, and must not use up
   * the lanes of the page's other clients. */
  open(ws: WebSocket, key: string, nonce: string, max: (page: PageId) => number): Lane | string {
    const granted = this.keys.get(key);
    if (!granted) return 'unknown lane key';
    const { lanes } = this.of(granted.page);
    const most = max(granted.page);
    let open = 0;
    for (const lane of lanes) if (lane.scope === granted.scope) open++;
    if (open >= most) return `this page has ${most} task lanes open for this client already`;
    for (const lane of lanes) if (lane.nonce === nonce) return 'a lane with this nonce is open already';
    const lane: Lane = { ws, ...granted, nonce, bundles: new Set(), shared: 0, outstanding: new Map() };
    lanes.add(lane);
    return lane;
  }

  /** Task `spec` goes over `lane` (it takes nothing else until that is
   * answered); `notice` is called if it has not answered within
   * LANE_NOTICE_MS. The spec is kept as the page would hear of it (without
   * its arguments): a task revoked meanwhile is gone from the task store. */
  sent(lane: Lane, spec: TaskSpec, notice: () => void): void {
    const id = spec.id as TaskId;
    lane.outstanding.set(id, { spec: { ...spec, args: NO_ARGS }, disarm: this.timer(notice, LANE_NOTICE_MS) });
    this.laneOf.set(id, lane);
    this.tasks++;
  }

  /** A lane task whose page has not heard of it yet, which it now must: its
   * lane and spec (the notice is taken: the next call says undefined). */
  takeNotice(id: TaskId): { lane: Lane; spec: TaskSpec } | undefined {
    const lane = this.laneOf.get(id);
    const sent = lane?.outstanding.get(id);
    if (!lane || sent?.disarm === undefined) return undefined;
    sent.disarm();
    sent.disarm = undefined;
    return { lane, spec: sent.spec };
  }

  /** `lane` answered task `id`; false if it was not sent it, or answered it already. */
  answered(lane: Lane, id: TaskId): boolean {
    const sent = lane.outstanding.get(id);
    if (!sent) return false;
    sent.disarm?.();
    lane.outstanding.delete(id);
    this.laneOf.delete(id);
    return true;
  }

  stats(): LaneStats {
    let open = 0;
    for (const { lanes } of this.pages.values()) open += lanes.size;
    return { open, tasks: this.tasks };
  }

  /** A lane closed: its tasks' timers end (the page hears of them: see PageGateway.laneClosed). */
  closed(lane: Lane): void {
    this.pages.get(lane.page)?.lanes.delete(lane);
    for (const [id, { disarm }] of lane.outstanding) {
      disarm?.();
      if (this.laneOf.get(id) === lane) this.laneOf.delete(id);
    }
  }

  /** A lane of `page` serving `scope` that answered all it was sent and
   * holds the task's bundle and its client's `shared` constants. */
  idle(page: PageId, scope: ScopeId, bundle: string, shared: number): Lane | undefined {
    const lanes = this.pages.get(page)?.lanes;
    if (!lanes) return undefined;
    for (const lane of lanes) if (lane.scope === scope && lane.outstanding.size === 0 && lane.shared === shared && lane.bundles.has(bundle)) return lane;
    return undefined;
  }

  /** A page left: its keys end, and its lanes (returned, to be closed). */
  pageGone(page: PageId): Lane[] {
    const lanes = this.pages.get(page);
    if (!lanes) return [];
    this.pages.delete(page);
    for (const key of lanes.keys.values()) this.keys.delete(key);
    for (const lane of lanes.lanes) this.closed(lane);
    return [...lanes.lanes];
  }

  /** A client left: its keys end, and its lanes on every page (returned, to be closed). */
  unshare(scope: ScopeId): Lane[] {
    const gone: Lane[] = [];
    for (const lanes of this.pages.values()) {
      const key = lanes.keys.get(scope);
      if (key === undefined) continue;
      lanes.keys.delete(scope);
      this.keys.delete(key);
      for (const lane of lanes.lanes) if (lane.scope === scope) gone.push(lane);
    }
    return gone;
  }

  private of(page: PageId): PageLanes {
    let lanes = this.pages.get(page);
    if (!lanes) this.pages.set(page, (lanes = { keys: new Map(), lanes: new Set() }));
    return lanes;
  }
}

/** What a page hears of a lane task's arguments: it does not run it. */
const NO_ARGS = new Uint8Array(0);
