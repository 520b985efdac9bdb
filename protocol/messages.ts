// Every message that crosses a wire in Ladle, as discriminated unions on `t`,
// and the validators that turn untrusted decoded frames into typed messages.
// The coordinator, the SDK and the browser runtime all import this module.
import { pack, unpack } from './codec.ts';
import { FRAME_LIMITS, scanFrame, type FrameLimits } from './frame-scan.ts';
import { MAX_GRACE_MS, MAX_JOB_NAME, jobOptionsError, taskOptionsError, type Limits, type VerifyOption } from './limits.ts';
import { capabilitiesError, needsError, type Capabilities, type Need } from './needs.ts';

/** Job numbers a client may use (its own numbering). */
const MAX_JOBS_ID = 2 ** 31 - 1;

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

/** Bounds on what a RemoteErrorInfo carries; a page trims to them before sending. */
export const ERROR_LIMITS = { name: 256, message: 65536, stack: 65536, code: 256, bytes: 65536, dropped: 64 } as const;

/** Why a task failed when the task's own code did not throw: every page
 * running it was lost, it ran past its timeout, or it was cancelled. */
export type FailureKind = 'lost' | 'timeout' | 'cancelled' | 'unverified' | FailureKindRefused;
/** Why the coordinator refused a task without running it: an option out of
 * range, arguments or a result over the size limit, or too many unfinished
 * tasks for its client. */
export type FailureKindRefused = 'invalid' | 'tooLarge' | 'tooMany';
const FAILURE_KINDS: readonly FailureKind[] = ['lost', 'timeout', 'cancelled', 'unverified', 'invalid', 'tooLarge', 'tooMany'];

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
  | { t: 'welcome'; workerId: string; peer?: PeerConfig; identity?: string }
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
  | { t: 'peerGone'; peer: string };

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

export type Hello = ClientHello | PageHello;

/** Thrown for any frame that does not match the protocol. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

// ---- validation helpers: small, strict and allocation-free on success ----
type Obj = Record<string, unknown>;

function obj(x: unknown, what: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ProtocolError(`${what} must be an object`);
  return x as Obj;
}
function str(x: unknown, what: string, max = 4096): string {
  if (typeof x !== 'string' || x.length > max) throw new ProtocolError(`${what} must be a string of at most ${max} chars`);
  return x;
}
function int(x: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new ProtocolError(`${what} must be an integer in [${min}, ${max}]`);
  }
  return x;
}
function bytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new ProtocolError(`${what} must be bytes`);
  return x;
}
function arr(x: unknown, what: string, max = 1_000_000): unknown[] {
  if (!Array.isArray(x) || x.length > max) throw new ProtocolError(`${what} must be an array of at most ${max} items`);
  return x;
}
function ids(x: unknown, what: string): number[] {
  const a = arr(x, what);
  for (const id of a) int(id, `${what}[]`);
  return a as number[];
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isBundleHash(x: unknown): x is string {
  return typeof x === 'string' && HEX64.test(x);
}

/** Checks a task's shape. Its option values are checked against the limits
 * by `checkOptions`, or by the coordinator task by task (see client-gateway.ts): a
 * client's task out of range fails alone, it does not break the protocol. */
function taskSpec(x: unknown, checkOptions = true): TaskSpec {
  const o = obj(x, 'task');
  int(o.id, 'task.id');
  if (!isBundleHash(o.bundle)) throw new ProtocolError('task.bundle must be a hex sha256');
  str(o.fn, 'task.fn', 256);
  bytes(o.args, 'task.args');
  if (o.timeout !== undefined && typeof o.timeout !== 'number') throw new ProtocolError('task.timeout must be a number');
  if (o.attempts !== undefined && typeof o.attempts !== 'number') throw new ProtocolError('task.attempts must be a number');
  if (checkOptions) {
    const error = taskOptionsError(o);
    if (error) throw new ProtocolError(`task.${error}`);
  }
  if (o.scope !== undefined) str(o.scope, 'task.scope', 64);
  if (o.parent !== undefined) int(o.parent, 'task.parent');
  if (o.chunk !== undefined && o.chunk !== true) throw new ProtocolError('task.chunk must be true when present');
  if (o.calls !== undefined) int(o.calls, 'task.calls', 1, 1_000_000);
  if (o.job !== undefined) int(o.job, 'task.job', 0, MAX_JOBS_ID);
  if (o.equal !== undefined && !(typeof o.equal === 'string' && NAME.test(o.equal))) throw new ProtocolError('task.equal must name an export of the task module');
  return o as unknown as TaskSpec;
}

function taskRef(x: unknown, what: string): TaskRef {
  const o = obj(x, what);
  if (o.from === undefined) int(o.task, `${what}.task`);
  else {
    str(o.from, `${what}.from`, 64);
    int(o.id, `${what}.id`);
  }
  return o as unknown as TaskRef;
}

const NAME = /^[A-Za-z_$][\w$]{0,127}$/;
function packedValues(x: unknown, what: string): Record<string, Uint8Array> {
  const o = obj(x, what);
  for (const key of Object.keys(o)) {
    if (!NAME.test(key) || key === '__proto__') throw new ProtocolError(`${what} name "${key.slice(0, 32)}" must be an identifier`);
    bytes(o[key], `${what}.${key}`);
  }
  return o as Record<string, Uint8Array>;
}

function errorInfo(x: unknown): RemoteErrorInfo {
  const o = obj(x, 'error');
  str(o.name, 'error.name', ERROR_LIMITS.name);
  str(o.message, 'error.message', ERROR_LIMITS.message);
  if (o.stack !== undefined) str(o.stack, 'error.stack', ERROR_LIMITS.stack);
  if (o.code !== undefined && !(typeof o.code === 'number' && Number.isFinite(o.code))) str(o.code, 'error.code', ERROR_LIMITS.code);
  for (const key of ['props', 'value'] as const) {
    if (o[key] !== undefined && bytes(o[key], `error.${key}`).byteLength > ERROR_LIMITS.bytes) {
      throw new ProtocolError(`error.${key} must be at most ${ERROR_LIMITS.bytes} bytes`);
    }
  }
  if (o.dropped !== undefined) for (const name of arr(o.dropped, 'error.dropped', ERROR_LIMITS.dropped)) str(name, 'error.dropped[]', ERROR_LIMITS.name);
  return o as unknown as RemoteErrorInfo;
}

/** A task's reported run time is at most a year, in ms. */
const MAX_RUN_MS = 365 * 24 * 3600 * 1000;

function outcome(x: unknown): TaskOutcome {
  const o = obj(x, 'result');
  int(o.id, 'result.id');
  if (o.ok === true) bytes(o.value, 'result.value');
  else if (o.ok === false) {
    errorInfo(o.error);
    if (o.kind !== undefined && !FAILURE_KINDS.includes(o.kind as FailureKind)) {
      throw new ProtocolError(`result.kind must be one of ${FAILURE_KINDS.join(', ')}`);
    }
    if (o.verify !== undefined) {
      const v = obj(o.verify, 'result.verify');
      int(v.distinct, 'result.verify.distinct');
      int(v.runs, 'result.verify.runs');
    }
  } else throw new ProtocolError('result.ok must be a boolean');
  if (o.ms !== undefined && !(typeof o.ms === 'number' && o.ms >= 0 && o.ms <= MAX_RUN_MS)) throw new ProtocolError(`result.ms must be a number of milliseconds from 0 to ${MAX_RUN_MS}`);
  return o as unknown as TaskOutcome;
}

function limits(x: unknown): Limits {
  const o = obj(x, 'welcome.limits');
  for (const key of ['frameBytes', 'taskBytes', 'resultBytes', 'timeout', 'attempts'] as const) int(o[key], `welcome.limits.${key}`, 1);
  return o as unknown as Limits;
}

function tag(x: unknown): Obj & { t: unknown } {
  const o = obj(x, 'message');
  if (typeof o.t !== 'string') throw new ProtocolError('message.t must be a string');
  return o as Obj & { t: unknown };
}

const IDENTITY = /^[A-Za-z0-9_-]{43}$/;

/** Pairs of results one `compare` asks about: a task has at most 19 replicas (verify: 9). */
export const MAX_COMPARE_PAIRS = 200;

export function parseHello(x: unknown): Hello {
  const o = tag(x);
  if (o.t !== 'hello') throw new ProtocolError(`expected hello first, got ${String(o.t).slice(0, 32)}`);
  int(o.version, 'hello.version');
  if (o.role === 'client') {
    str(o.token, 'hello.token', 1024);
    if (o.grace !== undefined) int(o.grace, 'hello.grace', 0, MAX_GRACE_MS);
    if (o.resume !== undefined) {
      const r = obj(o.resume, 'hello.resume');
      str(r.clientId, 'hello.resume.clientId', 64);
      str(r.secret, 'hello.resume.secret', 128);
      int(r.ack, 'hello.resume.ack');
    }
  } else if (o.role === 'worker') {
    int(o.threads, 'hello.threads', 1, 1024);
    str(o.userAgent, 'hello.userAgent', 1024);
    if (o.joinToken !== undefined) str(o.joinToken, 'hello.joinToken', 1024);
    if (o.identity !== undefined && !(typeof o.identity === 'string' && IDENTITY.test(o.identity))) {
      throw new ProtocolError('hello.identity must be 43 base64url characters (32 random bytes)');
    }
    if (o.capabilities !== undefined) {
      const error = capabilitiesError(o.capabilities);
      if (error) throw new ProtocolError(`hello.capabilities${error.startsWith('.') ? '' : ' '}${error}`);
    }
  } else {
    throw new ProtocolError('hello.role must be "client" or "worker"');
  }
  return o as unknown as Hello;
}

export function parseClientMessage(x: unknown): ClientMessage {
  const o = tag(x);
  int(o.seq, `${String(o.t).slice(0, 32)}.seq`);
  switch (o.t) {
    case 'ack':
      break;
    case 'submit':
      for (const t of arr(o.tasks, 'submit.tasks')) taskSpec(t, false);
      break;
    case 'cancel':
      ids(o.ids, 'cancel.ids');
      break;
    case 'job': {
      int(o.job, 'job.job', 0, MAX_JOBS_ID);
      if (o.name !== undefined) str(o.name, 'job.name', MAX_JOB_NAME);
      const error = jobOptionsError(o as { name?: unknown; priority?: unknown });
      if (error) throw new ProtocolError(`job.${error}`);
      if (o.adds !== undefined) int(o.adds, 'job.adds');
      break;
    }
    case 'share':
      int(o.req, 'share.req');
      packedValues(o.values, 'share.values');
      break;
    case 'compared':
      int(o.req, 'compared.req');
      for (const e of arr(o.equal, 'compared.equal', MAX_COMPARE_PAIRS)) if (typeof e !== 'boolean') throw new ProtocolError('compared.equal[] must be booleans');
      break;
    default:
      throw new ProtocolError(`unknown client message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ClientMessage;
}

export function parsePageMessage(x: unknown): PageMessage {
  const o = tag(x);
  switch (o.t) {
    case 'pong':
      break;
    case 'capacity':
      int(o.threads, 'capacity.threads', 1, 1024);
      if (typeof o.paused !== 'boolean') throw new ProtocolError('capacity.paused must be a boolean');
      break;
    case 'report':
      ids(o.started, 'report.started');
      for (const r of arr(o.results, 'report.results')) outcome(r);
      ids(o.lost, 'report.lost');
      for (const t of arr(o.submit, 'report.submit')) {
        taskSpec(t);
        taskRef((t as Obj).under, 'report.submit[].under');
      }
      ids(o.cancel, 'report.cancel');
      int(o.blocked, 'report.blocked');
      int(o.ready, 'report.ready');
      int(o.local, 'report.local');
      if (o.spawning !== undefined) ids(o.spawning, 'report.spawning');
      if (o.offload !== undefined) {
        for (const x of arr(o.offload, 'report.offload')) {
          const off = obj(x, 'report.offload[]');
          str(off.to, 'report.offload[].to', 64);
          const offIds = ids(off.ids, 'report.offload[].ids');
          if (off.under !== undefined) {
            const under = arr(off.under, 'report.offload[].under');
            if (under.length !== offIds.length) throw new ProtocolError('report.offload[].under must name one task per id');
            for (const ref of under) taskRef(ref, 'report.offload[].under[]');
          }
        }
      }
      if (o.returned !== undefined) ids(o.returned, 'report.returned');
      if (o.stole !== undefined) {
        for (const x of arr(o.stole, 'report.stole')) {
          const st = obj(x, 'report.stole[]');
          str(st.from, 'report.stole[].from', 64);
          int(st.got, 'report.stole[].got');
          if (typeof st.linked !== 'boolean') throw new ProtocolError('report.stole[].linked must be a boolean');
        }
      }
      if (o.links !== undefined) int(o.links, 'report.links');
      if (o.peerBytes !== undefined) int(o.peerBytes, 'report.peerBytes');
      if (o.localDone !== undefined) int(o.localDone, 'report.localDone');
      if (o.copied !== undefined) int(o.copied, 'report.copied');
      if (o.refused !== undefined) int(o.refused, 'report.refused');
      break;
    case 'peer':
      if (typeof o.open !== 'boolean') throw new ProtocolError('peer.open must be a boolean');
      break;
    default:
      throw new ProtocolError(`unknown page message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as PageMessage;
}

export function parseToClient(x: unknown): ToClient {
  const o = tag(x);
  switch (o.t) {
    case 'welcome':
      str(o.clientId, 'welcome.clientId');
      str(o.secret, 'welcome.secret');
      if (typeof o.resumed !== 'boolean') throw new ProtocolError('welcome.resumed must be a boolean');
      int(o.ack, 'welcome.ack');
      if (o.limits !== undefined) limits(o.limits);
      break;
    case 'ack':
      int(o.seq, 'ack.seq');
      break;
    case 'results':
      int(o.seq, 'results.seq');
      ids(o.started, 'results.started');
      for (const r of arr(o.results, 'results.results')) outcome(r);
      break;
    case 'shared':
      int(o.seq, 'shared.seq');
      int(o.req, 'shared.req');
      if (o.error !== undefined) str(o.error, 'shared.error');
      break;
    case 'compare':
      int(o.seq, 'compare.seq');
      int(o.req, 'compare.req');
      if (!isBundleHash(o.bundle)) throw new ProtocolError('compare.bundle must be a hex sha256');
      str(o.fn, 'compare.fn', 256);
      for (const pair of arr(o.pairs, 'compare.pairs', MAX_COMPARE_PAIRS)) {
        const [a, b] = arr(pair, 'compare.pairs[]', 2);
        bytes(a, 'compare.pairs[][0]');
        bytes(b, 'compare.pairs[][1]');
      }
      break;
    case 'waiting': {
      int(o.seq, 'waiting.seq');
      const needs = obj(o.needs, 'waiting.needs');
      for (const [key, n] of Object.entries(needs)) {
        str(key, 'waiting.needs key', 64);
        int(n, `waiting.needs.${key.slice(0, 64)}`);
      }
      if (o.verify !== undefined) {
        const v = obj(o.verify, 'waiting.verify');
        int(v.pages, 'waiting.verify.pages');
        int(v.joined, 'waiting.verify.joined');
      }
      break;
    }
    default:
      throw new ProtocolError(`unknown coordinator message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ToClient;
}

export function parseToPage(x: unknown): ToPage {
  const o = tag(x);
  switch (o.t) {
    case 'welcome':
      str(o.workerId, 'welcome.workerId');
      if (o.identity !== undefined) str(o.identity, 'welcome.identity', 64);
      if (o.peer !== undefined) {
        const peer = obj(o.peer, 'welcome.peer');
        str(peer.path, 'welcome.peer.path', 256);
        str(peer.key, 'welcome.peer.key', 256);
        if (peer.token !== undefined) str(peer.token, 'welcome.peer.token', 128);
        for (const x of arr(peer.iceServers, 'welcome.peer.iceServers', 32)) {
          const server = obj(x, 'welcome.peer.iceServers[]');
          if (Array.isArray(server.urls)) for (const u of arr(server.urls, 'iceServers[].urls', 32)) str(u, 'iceServers[].urls[]', 1024);
          else str(server.urls, 'iceServers[].urls', 1024);
          if (server.username !== undefined) str(server.username, 'iceServers[].username', 1024);
          if (server.credential !== undefined) str(server.credential, 'iceServers[].credential', 1024);
        }
      }
      break;
    case 'standing':
      for (const key of ['checked', 'agreed'] as const) int(o[key], `standing.${key}`);
      for (const key of ['trusted', 'quarantined'] as const) if (typeof o[key] !== 'boolean') throw new ProtocolError(`standing.${key} must be a boolean`);
      break;
    case 'steal':
      str(o.from, 'steal.from', 64);
      int(o.max, 'steal.max', 1, 1_000_000);
      break;
    case 'lend':
      str(o.to, 'lend.to', 64);
      int(o.max, 'lend.max', 1, 1_000_000);
      if (o.has !== undefined && needsError(o.has) !== undefined) throw new ProtocolError(`lend.has: ${needsError(o.has)}`);
      break;
    case 'release':
      int(o.max, 'release.max', 1, 1_000_000);
      break;
    case 'peerGone':
      str(o.peer, 'peerGone.peer', 64);
      break;
    case 'tasks':
      for (const t of arr(o.tasks, 'tasks.tasks')) taskSpec(t);
      break;
    case 'cancel':
      ids(o.ids, 'cancel.ids');
      break;
    case 'results':
      for (const r of arr(o.results, 'results.results')) outcome(r);
      break;
    case 'shared':
      str(o.scope, 'shared.scope', 64);
      packedValues(o.values, 'shared.values');
      break;
    case 'unshare':
      str(o.scope, 'unshare.scope', 64);
      break;
    case 'ping':
      break;
    default:
      throw new ProtocolError(`unknown coordinator message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ToPage;
}

export function parsePeerMessage(x: unknown): PeerMessage {
  const o = tag(x);
  switch (o.t) {
    case 'steal':
      int(o.max, 'steal.max', 1, 1_000_000);
      break;
    case 'tasks':
      for (const t of arr(o.tasks, 'tasks.tasks')) str(taskSpec(t).scope, 'tasks.tasks[].scope', 64);
      if (o.shared !== undefined) {
        const scopes = obj(o.shared, 'tasks.shared');
        for (const scope of Object.keys(scopes)) {
          if (scope === '__proto__') throw new ProtocolError('tasks.shared scope must not be __proto__');
          str(scope, 'tasks.shared scope', 64);
          packedValues(scopes[scope], 'tasks.shared values');
        }
      }
      break;
    case 'results':
      for (const r of arr(o.results, 'results.results')) outcome(r);
      break;
    case 'cancel':
      ids(o.ids, 'cancel.ids');
      break;
    default:
      throw new ProtocolError(`unknown peer message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as PeerMessage;
}

/** Encodes one frame. Typed so each side can only send its own messages. */
export function encodeFrame(msg: Hello | ClientMessage | ToClient | PageMessage | ToPage | PeerMessage): Uint8Array {
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

// ---- page main thread <-> its Web Workers (postMessage, trusted) ----
// Batched both ways: one postMessage carries every task or outcome of a turn.
export type ToWebWorker =
  | { t: 'bundle'; hash: string; code: string }
  | { t: 'shared'; scope: string; values: Record<string, Uint8Array> }
  | { t: 'run'; tasks: TaskSpec[] }
  /** Results of subtasks this worker spawned, by its own subtask ids. */
  | { t: 'results'; results: TaskOutcome[] };
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
};

// ---- page main thread <-> its clock Web Worker ----
export type ClockRequest = { t: 'set'; id: number; ms: number } | { t: 'clear'; id: number };
export type ClockReply = { id: number };
