// Every message that crosses a wire in Ladle, as discriminated unions on `t`,
// and the encoding of a frame. The coordinator, the SDK and the browser
// runtime all take their messages from here: the validators live in parse.ts
// and are re-exported here, so that one module still answers for every message.
import { pack, unpack } from './codec.ts';
import { FRAME_LIMITS, scanFrame, type FrameLimits } from './frame-scan.ts';
import type { Limits, VerifyOption } from './limits.ts';
import type { Capabilities, Need } from './needs.ts';
import { ProtocolError } from './parse.ts';

export {
  ERROR_LIMITS,
  MAX_COMPARE_PAIRS,
  ProtocolError,
  isBundleHash,
  parseClientMessage,
  parseHello,
  parseLaneMessage,
  parseToLane,
  parsePageMessage,
  parsePeerMessage,
  parseToClient,
  parseToPage,
} from './parse.ts';

export const PROTOCOL_VERSION = 1;
/** WebSocket path for both SDK clients and volunteer pages. */
export const WS_PATH = '/ws';

/** Why the coordinator closes a socket, as a number the other side acts on;
 * the close reason adds text for people. Two standard codes keep their
 * meaning (the \`ws\` library itself closes with 1009 on an oversized frame);
 * the others are application codes (4000-4999). */
export const CloseCode = {
  /** The coordinator is shutting down (standard "going away"). */
  SHUTDOWN: 1001,
  /** The coordinator is restarting and keeps its sessions (standard "service
   * restart"): clients resume within their grace, pages rejoin. */
  RESTARTING: 1012,
  /** A frame over the receiver's size limit (standard "message too big"). */
  TOO_LARGE: 1009,
  /** The protocol itself is broken: an undecodable frame, an envelope of the
   * wrong shape, an unsupported version, or no hello in time. */
  PROTOCOL: 4000,
  /** A client's submit token is not one the coordinator knows. */
  INVALID_TOKEN: 4001,
  /** A resume named a session the coordinator no longer has. */
  SESSION_EXPIRED: 4002,
  /** Too many failed attempts from one address, or submissions far above the rate limit. */
  THROTTLED: 4003,
  /** A page without the private grid's join token. */
  INVALID_JOIN_TOKEN: 4004,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
/** Close reason an SDK sends when it closes on purpose: its session ends at once. */
export const CLIENT_CLOSED = 'client closed';

/** A task as it travels: `args` stays packed bytes end to end, so the
 * coordinator forwards it without decoding. */
export interface TaskSpec {
  /** The sender's id for it: a client's or a page's own numbering on the way
   * in, the grid-wide id on the way to a page. */
  id: number;
  bundle: string;
  fn: string;
  args: Uint8Array;
  /** Milliseconds the task may run before its Web Worker is replaced. */
  timeout?: number;
  /** Pages lost while running it before it fails (default 3). */
  attempts?: number;
  /** Whose shared constants apply: the SDK client at the root of the task
   * tree. Set by the coordinator on tasks to pages, and by a page on the
   * subtasks it hands on. */
  scope?: string;
  /** Set by a Web Worker on a subtask it spawns: the id of the task spawning it. */
  parent?: number;
  /** From a client: the job it counts against (see the `job` message; 0, the
   * default, is the session's own). Not sent on to pages. */
  job?: number;
  /** Several calls in one task (map's chunkSize): `args` packs an array of
   * argument tuples, and the result packs one outcome per call (see
   * futures/chunking.ts). */
  chunk?: true;
  /** From a client, on a chunk: how many calls it carries, so that its job's
   * progress counts calls however they are chunked. */
  calls?: number;
  /** What the page running it must have (`handle.with({ needs })`); a
   * subtask inherits its parent's. */
  needs?: Need[];
  /** From a client: how its results are verified (see limits.ts), over the
   * coordinator's default. To a page: set on a verified task (never 'off'),
   * so that the page does not lend its subtasks to a single peer; subtasks
   * inherit it. */
  verify?: VerifyOption;
  /** From a client, with `verify`: the export of the same bundle that says
   * whether two results agree when their bytes differ (see the `compare`
   * message). Not sent on to pages. */
  equal?: string;
}

/** A task a page is running, named so that the coordinator can check it:
 * a grid task it was sent (`task`, the grid id), or a subtask page `from`
 * lent it over WebRTC (`id`, that page's id for it). */
export type TaskRef = { task: number } | { from: string; id: number };

/** A subtask a page hands to the grid, under the task it descends from: the
 * coordinator takes it only under a task that page runs, and files it in
 * that task's tree (any `scope` it carries is ignored). */
export type ReleasedTask = TaskSpec & { under: TaskRef };

export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack?: string;
  /** The thrown error's `code`, when a string or a number. */
  code?: string | number;
  /** Its other own enumerable properties (and `cause`) that can be copied, as one packed object. */
  props?: Uint8Array;
  /** Names of its own properties left out because they cannot be copied (or were too big). */
  dropped?: string[];
  /** A thrown value that is not an Error, packed, when it can be copied. */
  value?: Uint8Array;
}

/** Why a task failed when the task's own code did not throw: every page
 * running it was lost, it ran past its timeout, or it was cancelled. */
export type FailureKind = 'lost' | 'timeout' | 'cancelled' | 'unverified' | FailureKindRefused;
/** Why the coordinator refused a task without running it: an option out of
 * range, arguments or a result over the size limit, or too many unfinished
 * tasks for its client. */
export type FailureKindRefused = 'invalid' | 'tooLarge' | 'tooMany';

/** `ms`: how long the task ran in its Web Worker, as the page timed it
 * (what the SDK sizes automatic chunks by; absent where nothing ran it). */
export type TaskOutcome =
  | { id: number; ok: true; value: Uint8Array; ms?: number }
  | { id: number; ok: false; error: RemoteErrorInfo; kind?: FailureKind; ms?: number; verify?: VerifyFailure };

/** Why a verified task failed (kind 'unverified'): no quorum formed among
 * `runs` results, which were `distinct` different ones. */
export interface VerifyFailure {
  distinct: number;
  runs: number;
}

// ---- SDK client -> coordinator ----
// A client session outlives its socket for a grace period. Both sides number
// their data frames (`seq`), acknowledge what they processed (`ack`), and
// keep unacknowledged frames; a reconnect names the session and the last
// frame received, and each side resends the rest. Nothing is lost or run
// twice across a short disconnect. Each end keeps this in a ReliableLog
// (reliable-log.ts).
export type ClientHello = {
  t: 'hello';
  role: 'client';
  token: string;
  version: number;
  /** How long the session survives a lost socket, in ms. */
  grace?: number;
  resume?: { clientId: string; secret: string; ack: number };
};
export type ClientData =
  | { t: 'submit'; seq: number; tasks: TaskSpec[] }
  /** Names a job (a client's numbering; 0 is the session's default job) or
   * updates it, before tasks name it: its name and priority (a weight among
   * this client's jobs, 1 to 100) and, when a map knows it, how many more
   * tasks it will submit (`adds`), for the dashboard's progress. */
  | { t: 'job'; seq: number; job: number; name?: string; priority?: number; adds?: number }
  | { t: 'cancel'; seq: number; ids: number[] }
  /** Shared constants: each value packed; names already set are refused. */
  | { t: 'share'; seq: number; req: number; values: Record<string, Uint8Array> }
  /** The answer to `compare`: for each pair, whether its two results agree. */
  | { t: 'compared'; seq: number; req: number; equal: boolean[] };
export type Ack = { t: 'ack'; seq: number };
export type ClientMessage = ClientData | Ack;

// ---- coordinator -> SDK client ----
export type ToClientData =
  | { t: 'results'; seq: number; results: TaskOutcome[]; started: number[] }
  | { t: 'shared'; seq: number; req: number; error?: string }
  /** Tasks of this client's that no joined page can run, by needs
   * ('webgpu': 40); sent once per needs while none can. `verify`: verified
   * tasks wait for `pages` distinct pages and `joined` are eligible; sent once. */
  | { t: 'waiting'; seq: number; needs: Record<string, number>; verify?: { pages: number; joined: number } }
  /** A verified task with `equal` got results whose bytes differ: the client
   * runs `fn` of `bundle` on each pair (packed results) and answers with
   * `compared`. Its own code judges its own results, in its own process. */
  | { t: 'compare'; seq: number; req: number; bundle: string; fn: string; pairs: [Uint8Array, Uint8Array][] };
export type ToClient =
  /** `ack`: the last client frame the coordinator processed (on resume);
   * `limits`: what the coordinator accepts, so the SDK never sends more
   * (DEFAULT_LIMITS when absent). */
  | { t: 'welcome'; clientId: string; secret: string; resumed: boolean; ack: number; limits?: Limits }
  | ToClientData
  | Ack;

// ---- volunteer page -> coordinator ----
export type PageHello = {
  t: 'hello';
  role: 'worker';
  threads: number;
  userAgent: string;
  version: number;
  /** A private grid's join token, from the join URL's `join` parameter. */
  joinToken?: string;
  /** What the page measured of its device (none: it meets no need). */
  capabilities?: Capabilities;
  /** The secret its identity is derived from (32 random bytes, base64url),
   * kept across reloads: verification's record of its results follows it. */
  identity?: string;
  /** Its Web Workers can open task lanes (see LaneHello). */
  lanes?: boolean;
};
/** One batched report per turn: tasks started and finished, tasks given back
 * unrun (`lost`: their Web Worker was replaced), subtasks handed to the grid
 * (`submit`, when the coordinator asked for them with `release`) and
 * withdrawn (`cancel`), and the page's load. Subtasks a page spawns stay on
 * it and reach the coordinator only when they leave it. */
export type PageReport = {
  t: 'report';
  started: number[];
  results: TaskOutcome[];
  lost: number[];
  submit: ReleasedTask[];
  cancel: number[];
  /** Tasks waiting on subtasks: their slots are free. */
  blocked: number;
  /** Subtasks spawned here and not started: what peers may steal. */
  ready: number;
  /** Tasks held that the coordinator did not send: the page's own subtasks
   * and tasks taken from peers. They occupy slots the coordinator would
   * otherwise count free. */
  local: number;
  /** Tasks from the coordinator that spawned subtasks (backed up only after
   * a long deadline: a copy reruns the whole tree). */
  spawning?: number[];
  /** Subtasks (the page's ids) given to a peer over WebRTC, and for each the
   * task here it descends from: the peer may release its own subtasks under it. */
  offload?: { to: string; ids: number[]; under?: TaskRef[] }[];
  /** Offloaded subtasks that are settled: their result came back, they were
   * cancelled, or they were taken back from a lost peer. */
  returned?: number[];
  /** Answers to `steal` hints: how many tasks the peer gave, or that no
   * WebRTC link could be made to it. */
  stole?: { from: string; got: number; linked: boolean }[];
  /** Open peer links this page started, when the number changed. */
  links?: number;
  /** Bytes sent to peers since the last report. */
  peerBytes?: number;
  /** Tasks finished here since the last report that the coordinator did not
   * send (own subtasks, tasks taken from peers), for the page's stats. */
  localDone?: number;
  /** Subtasks lent to a peer that this page ran itself since the last
   * report, the peer being too slow to answer. */
  copied?: number;
  /** Steals from peers the coordinator had not announced, refused since the last report. */
  refused?: number;
};
export type PageMessage =
  | PageReport
  /** Answers a ping: the page's JavaScript is alive. */
  | { t: 'pong' }
  /** The page's Web Worker count changed, or the volunteer paused or resumed
   * it: a paused page is sent no new tasks, and its unstarted ones go elsewhere. */
  | { t: 'capacity'; threads: number; paused: boolean }
  /** Whether the page is registered with the PeerServer and can link to peers. */
  | { t: 'peer'; open: boolean };

/** How pages reach each other (sent in the welcome when offloading is on). */
export interface PeerConfig {
  /** Where the PeerServer is mounted on the coordinator's origin. */
  path: string;
  key: string;
  /** This page's secret for the PeerServer (in its welcome only): the
   * PeerServer refuses the page's id to anyone who does not present it. */
  token?: string;
  /** RTCIceServer entries: none on a LAN; STUN/TURN when the operator sets them. */
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
}

// ---- coordinator -> volunteer page ----
export type ToPage =
  /** `peer`: offloading over WebRTC is on, with this PeerServer; the page
   * registers there under its worker id, presenting `peer.token`. */
  /** `identity`: the page's public id, as the coordinator derived it from its secret. */
  /** `limits`: what the page's frames must keep to (a frame over `frameBytes` closes its connection). */
  | { t: 'welcome'; workerId: string; peer?: PeerConfig; identity?: string; limits: Limits }
  /** The page's record in result verification (coordinator/trust.ts), to show its volunteer. */
  | { t: 'standing'; checked: number; agreed: number; trusted: boolean; quarantined: boolean }
  | { t: 'tasks'; tasks: TaskSpec[] }
  | { t: 'cancel'; ids: number[] }
  /** Results of subtasks this page submitted, by the page's ids. */
  | { t: 'results'; results: TaskOutcome[] }
  | { t: 'shared'; scope: string; values: Record<string, Uint8Array> }
  | { t: 'unshare'; scope: string }
  /** A heartbeat: a page that does not answer in time is dropped. */
  | { t: 'ping' }
  /** Peer work stealing: this page has idle slots; take up to `max` ready
   * subtasks from page `from` over WebRTC. */
  | { t: 'steal'; from: string; max: number }
  /** The other half of a `steal`: page `to` was told to take up to `max` of
   * this page's ready subtasks. A page answers only steals so announced. */
  | { t: 'lend'; to: string; max: number; has?: Need[] }
  /** Hand up to `max` ready subtasks to the grid through the coordinator
   * (`report.submit`): the fallback when no WebRTC link serves. */
  | { t: 'release'; max: number }
  /** Page `peer` left the grid: take back the subtasks offloaded to it, and
   * drop the tasks taken from it. */
  | { t: 'peerGone'; peer: string }
  /** The key under which this page's Web Workers serving client `scope` may
   * open task lanes; sent before the first of that client's tasks. */
  | { t: 'lane'; scope: string; key: string }
  /** Tasks sent over the lane opened with `nonce`, without their arguments,
   * that did not answer at once (or spawn, or are to be cancelled): the page
   * keeps their records (cancels, subtasks, the worker's load) as if it had
   * placed them itself. */
  | { t: 'laned'; nonce: string; tasks: TaskSpec[] }
  /** The lane opened with `nonce` closed before it answered these tasks:
   * those no Web Worker here still runs are lost (the page says so). */
  | { t: 'laneClosed'; nonce: string; ids: number[] };

// ---- a page's Web Worker <-> coordinator: its task lane ----
// A lone task's round trip through a page's main thread wakes two threads
// on the way in and two on the way out, which on a loaded machine costs more
// than the network legs. A Web Worker serving one client may open a socket
// of its own, a lane, with the key its page was given for that client and a
// nonce its page gave it. The coordinator sends a task over it only when
// that page holds no other task and the worker has the task's bundle and
// every constant of its client; the worker answers there. Everything else
// (cancels, subtasks, losses) stays with the page, which hears of a lane
// task from the coordinator (`laned`), never from the worker: a task's code
// could claim another client's task. It hears only of those that need it
// (still running after a moment, spawning, cancelled, or on a lane that
// closed): on a lone round trip, a frame to the page's main thread while
// the worker runs the task costs the trip about a fifth (issue 17).
export type LaneHello = { t: 'hello'; role: 'lane'; version: number; key: string; nonce: string };
export type LaneMessage =
  /** What the worker holds: the bundles it was sent and how many of its client's constants. */
  | { t: 'ready'; bundles: string[]; shared: number }
  /** Lane task `id` spawns subtasks: its page must hear of it (`laned`) to take them. */
  | { t: 'spawning'; id: number }
  | { t: 'results'; results: TaskOutcome[] };
export type ToLane = { t: 'tasks'; tasks: TaskSpec[] };

// ---- volunteer page <-> volunteer page (WebRTC data channel) ----
// Peers are other volunteers' browsers: every message is validated.
export type PeerMessage =
  /** The sender has idle slots and the coordinator sent it (the giver hears
   * of it as `lend`): give it up to `max` ready subtasks. */
  | { t: 'steal'; max: number }
  /** Subtasks by the giver's ids (possibly none), with the constants of their
   * scopes that the taker has not been sent on this link. */
  | { t: 'tasks'; tasks: TaskSpec[]; shared?: Record<string, Record<string, Uint8Array>> }
  /** Outcomes of tasks taken, by the giver's ids. */
  | { t: 'results'; results: TaskOutcome[] }
  /** The giver no longer wants these tasks. */
  | { t: 'cancel'; ids: number[] };

export type Hello = ClientHello | PageHello | LaneHello;

// ---- page main thread <-> its Web Workers (postMessage, trusted) ----
// Batched both ways: one postMessage carries every task or outcome of a turn.
export type ToWebWorker =
  | { t: 'bundle'; hash: string; code: string }
  | { t: 'shared'; scope: string; values: Record<string, Uint8Array> }
  | { t: 'run'; tasks: TaskSpec[] }
  /** Results of subtasks this worker spawned, by its own subtask ids. */
  | { t: 'results'; results: TaskOutcome[] }
  /** Open a task lane to `url` (see LaneHello); results over `limits` fail there. */
  | { t: 'lane'; url: string; key: string; nonce: string; limits: Limits }
  /** The page heard of these lane tasks (see `laned`): their subtasks may come. */
  | { t: 'laned'; ids: number[] }
  /** This worker retires (a lower thread setting): its lane closes, and what it still runs answers through the page. */
  | { t: 'laneEnd' };
export type FromWebWorker = {
  t: 'report';
  started: number[];
  done: TaskOutcome[];
  /** Milliseconds each task in `done` took from its start, by the worker's
   * clock (the page cannot tell: synchronous tasks start and end within one
   * report). */
  took: number[];
  /** Whether each task in `done` awaited something (returned a promise):
   * only synchronous tasks are worth holding several of in a worker. */
  awaited: boolean[];
  /** Subtasks spawned, `id` numbered by the worker, `parent` the spawning task. */
  submit: TaskSpec[];
  /** Subtasks (worker ids) no longer wanted: their parent finished first. */
  cancel: number[];
  /** Tasks of this worker waiting on subtasks. */
  blocked: number;
  /** Its GPU device was lost: the page replaces it, and its running tasks run again. */
  gpuLost?: string;
  /** Of `done`, the tasks whose outcomes its lane carried to the coordinator:
   * the page sends those on only if the lane closed before they arrived. */
  laneSent?: number[];
};

// ---- page main thread <-> its clock Web Worker ----
export type ClockRequest = { t: 'set'; id: number; ms: number } | { t: 'clear'; id: number };
export type ClockReply = { id: number };

/** Encodes one frame. Typed so each side can only send its own messages. */
export function encodeFrame(msg: Hello | ClientMessage | ToClient | PageMessage | ToPage | PeerMessage | LaneMessage | ToLane): Uint8Array {
  return pack(msg);
}

/** Decodes a frame and validates it with `parse`; any failure is a ProtocolError.
 * The bytes are scanned first, so a frame that would cost far more to decode
 * than its size is refused before msgpackr allocates anything. */
export function decodeFrame<T>(data: Uint8Array, parse: (x: unknown) => T, limits: FrameLimits = FRAME_LIMITS): T {
  scanFrame(data, limits);
  let raw: unknown;
  try {
    raw = unpack(data);
  } catch (e) {
    throw new ProtocolError(`undecodable frame: ${(e as Error).message}`);
  }
  return parse(raw);
}
