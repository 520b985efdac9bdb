// The strict validators: each takes a decoded frame, which nothing vouches
// for, and returns it typed as a message of messages.ts or throws a
// ProtocolError. messages.ts re-exports them, and its decodeFrame runs one on
// every frame; the message types come from there as types only, so the two
// modules do not load each other.
import { MAX_GRACE_MS, MAX_JOB_NAME, jobOptionsError, taskOptionsError, type Limits } from './limits.ts';
import type {
  ClientMessage,
  FailureKind,
  Hello,
  LaneMessage,
  PageMessage,
  PeerMessage,
  RemoteErrorInfo,
  TaskOutcome,
  TaskRef,
  TaskSpec,
  ToClient,
  ToLane,
  ToPage,
} from './messages.ts';
import { capabilitiesError, needsError } from './needs.ts';

/** Thrown for any frame that does not match the protocol. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Job numbers a client may use (its own numbering). */
const MAX_JOBS_ID = 2 ** 31 - 1;

/** Bounds on what a RemoteErrorInfo carries; a page trims to them before sending. */
export const ERROR_LIMITS = { name: 256, message: 65536, stack: 65536, code: 256, bytes: 65536, dropped: 64 } as const;

/** FailureKind's members, which a result's `kind` is checked against: types are gone at run time. */
const FAILURE_KINDS: readonly FailureKind[] = ['lost', 'timeout', 'cancelled', 'unverified', 'invalid', 'tooLarge', 'tooMany'];

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
    if (o.lanes !== undefined && typeof o.lanes !== 'boolean') throw new ProtocolError('hello.lanes must be a boolean');
  } else if (o.role === 'lane') {
    str(o.key, 'hello.key', 64);
    str(o.nonce, 'hello.nonce', 64);
  } else {
    throw new ProtocolError('hello.role must be "client", "worker" or "lane"');
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
      limits(o.limits);
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
    case 'lane':
      str(o.scope, 'lane.scope', 64);
      str(o.key, 'lane.key', 64);
      break;
    case 'laned':
      str(o.nonce, 'laned.nonce', 64);
      for (const t of arr(o.tasks, 'laned.tasks')) taskSpec(t);
      break;
    case 'laneClosed':
      str(o.nonce, 'laneClosed.nonce', 64);
      ids(o.ids, 'laneClosed.ids');
      break;
    default:
      throw new ProtocolError(`unknown coordinator message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ToPage;
}

/** Bundles a lane's `ready` may name: more than a worker ever loads. */
export const MAX_LANE_BUNDLES = 256;

export function parseLaneMessage(x: unknown): LaneMessage {
  const o = tag(x);
  switch (o.t) {
    case 'ready':
      for (const b of arr(o.bundles, 'ready.bundles', MAX_LANE_BUNDLES)) if (!isBundleHash(b)) throw new ProtocolError('ready.bundles[] must be hex sha256 hashes');
      int(o.shared, 'ready.shared');
      break;
    case 'spawning':
      int(o.id, 'spawning.id');
      break;
    case 'results':
      for (const r of arr(o.results, 'results.results')) outcome(r);
      break;
    default:
      throw new ProtocolError(`unknown lane message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as LaneMessage;
}

export function parseToLane(x: unknown): ToLane {
  const o = tag(x);
  if (o.t !== 'tasks') throw new ProtocolError(`unknown coordinator message on a lane ${String(o.t).slice(0, 32)}`);
  for (const t of arr(o.tasks, 'tasks.tasks')) taskSpec(t);
  return o as unknown as ToLane;
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
