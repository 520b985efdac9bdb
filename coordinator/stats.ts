// The shape of /api/stats, as the hub builds it: what the dashboard, the
// live events stream, the CLI and the tests read.
import type { Capabilities } from '../protocol/needs.ts';
import type { Standing } from './trust.ts';
import type { VerifyStats } from './verifier.ts';

/** Peer offloading, for /api/stats and the dashboard. */
export interface PeerStats {
  /** Pages registered with the PeerServer. */
  pages: number;
  /** Open WebRTC links between pages. */
  links: number;
  /** Subtasks moved page to page over WebRTC, in all. */
  tasksOffloaded: number;
  /** Of those, the ones on a peer now. */
  tasksOnPeers: number;
  /** Bytes pages sent each other over WebRTC. */
  bytesSent: number;
  /** Subtasks handed to the grid queue because no link served. */
  tasksReleased: number;
  /** Links that could not be made (the pair then uses the grid queue). */
  linksFailed: number;
  /** Offloaded subtasks their own page ran too, the peer being slow to answer. */
  tasksCopied: number;
  /** Steals between pages that the coordinator had not announced, refused. */
  stealsRefused: number;
}

/** One job of an SDK client (its session, or a named map), for the dashboard. */
export interface JobStats {
  /** Numbered in order of creation. */
  id: number;
  /** The name of the submit token it used ("default" for --token). */
  token: string;
  /** As the client named it (connect's or a map's `name`); empty when unnamed. */
  name: string;
  /** Its weight among its client's jobs (1 to 100). */
  priority: number;
  submitted: number;
  /** Tasks it is expected to have in all: what its maps announced, or what it submitted if more. */
  expected: number;
  done: number;
  failed: number;
  cancelled: number;
  /** False once the client has gone. */
  active: boolean;
  /** From its start to now, or to when its client left. */
  seconds: number;
  /** Tasks finished per second over the last few seconds. */
  rate: number;
  /** Seconds left at that rate, while it has tasks left and a rate. */
  etaSeconds?: number;
}

export interface WorkerStats {
  id: string;
  userAgent: string;
  threads: number;
  tasksDone: number;
  /** Tasks finished per second, smoothed. */
  rate: number;
  currentTasks: number;
  connectedSeconds: number;
  paused: boolean;
  /** Registered with the PeerServer (can take and give subtasks over WebRTC). */
  peer: boolean;
  /** Subtasks it holds for other pages, taken over WebRTC. */
  peerTasks: number;
  /** What the page reported of its device when it joined (its word only). */
  capabilities?: Capabilities;
  /** Its public identity (kept across reloads), and its record in result verification. */
  identity: string;
  trust: Standing;
}

export interface Stats {
  workers: number;
  threads: number;
  clients: number;
  queued: number;
  /** Of those, tasks whose needs no joined page meets, by needs ('webgpu'): they run when such a page joins. */
  waitingForNeeds: Record<string, number>;
  /** Tasks pages hold: started, or held ready to start (prefetched). */
  running: number;
  /** Of those, the ones not started yet. */
  prefetched: number;
  completed: number;
  failed: number;
  perWorker: WorkerStats[];
  /** Per SDK client that submitted, oldest first (ended ones kept a while). */
  jobs: JobStats[];
  uptimeSeconds: number;
  peer: PeerStats;
  /** Result verification (handle.with({ verify }) and --verify). */
  verify: VerifyStats;
  lanes: LaneStats;
}

/** Task lanes (Web Workers' own sockets, for lone tasks: see LaneHello in
 * protocol/messages.ts): open now, and tasks sent over them so far. */
export interface LaneStats {
  open: number;
  tasks: number;
}

/** What anyone may see, without a token: totals the coordinator counted
 * itself. No worker ids, user agents or token names, and nothing a page
 * merely reports (its subtask counts, its WebRTC traffic), which a hostile
 * page could inflate at will. */
export type PublicStats = Pick<Stats, 'workers' | 'threads' | 'clients' | 'queued' | 'running' | 'prefetched' | 'completed' | 'failed' | 'uptimeSeconds'> & {
  peer: Pick<PeerStats, 'pages' | 'tasksReleased'>;
};

export function publicStats(s: Stats): PublicStats {
  return {
    workers: s.workers,
    threads: s.threads,
    clients: s.clients,
    queued: s.queued,
    running: s.running,
    prefetched: s.prefetched,
    completed: s.completed,
    failed: s.failed,
    uptimeSeconds: s.uptimeSeconds,
    peer: { pages: s.peer.pages, tasksReleased: s.peer.tasksReleased },
  };
}
