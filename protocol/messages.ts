// Every message that crosses a wire in Ladle, as discriminated unions on `t`,
// and the validators that turn untrusted decoded frames into typed messages.
// The coordinator, the SDK and the browser runtime all import this module.
import { pack, unpack } from './codec.ts';

export const PROTOCOL_VERSION = 1;
/** WebSocket path for both SDK clients and volunteer pages. */
export const WS_PATH = '/ws';

/** Close codes used by the coordinator; 1008 is the standard "policy violation". */
export const CLOSE_POLICY = 1008;
export const CLOSE_SHUTDOWN = 1001;

/** A task as it travels: `args` stays packed bytes end to end, so the
 * coordinator forwards it without decoding. */
export interface TaskSpec {
  id: number;
  bundle: string;
  fn: string;
  args: Uint8Array;
}

export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

/** `lost` marks a failure of the grid (the task could not be run), as opposed
 * to an exception thrown by task code. */
export type TaskOutcome =
  | { id: number; ok: true; value: Uint8Array }
  | { id: number; ok: false; error: RemoteErrorInfo; lost?: boolean };

// ---- SDK client -> coordinator ----
export type ClientHello = { t: 'hello'; role: 'client'; token: string; version: number };
export type ClientMessage =
  | { t: 'submit'; tasks: TaskSpec[] }
  | { t: 'cancel'; ids: number[] };

// ---- coordinator -> SDK client ----
export type ToClient =
  | { t: 'welcome'; clientId: string }
  | { t: 'results'; results: TaskOutcome[]; started: number[] };

// ---- volunteer page -> coordinator ----
export type PageHello = { t: 'hello'; role: 'worker'; threads: number; userAgent: string; version: number };
export type PageMessage =
  | { t: 'report'; started: number[]; results: TaskOutcome[] };

// ---- coordinator -> volunteer page ----
export type ToPage =
  | { t: 'welcome'; workerId: string }
  | { t: 'tasks'; tasks: TaskSpec[] }
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

function taskSpec(x: unknown): TaskSpec {
  const o = obj(x, 'task');
  int(o.id, 'task.id');
  if (!isBundleHash(o.bundle)) throw new ProtocolError('task.bundle must be a hex sha256');
  str(o.fn, 'task.fn', 256);
  bytes(o.args, 'task.args');
  return o as unknown as TaskSpec;
}

function errorInfo(x: unknown): RemoteErrorInfo {
  const o = obj(x, 'error');
  str(o.name, 'error.name', 256);
  str(o.message, 'error.message', 65536);
  if (o.stack !== undefined) str(o.stack, 'error.stack', 65536);
  return o as unknown as RemoteErrorInfo;
}

function outcome(x: unknown): TaskOutcome {
  const o = obj(x, 'result');
  int(o.id, 'result.id');
  if (o.ok === true) bytes(o.value, 'result.value');
  else if (o.ok === false) errorInfo(o.error);
  else throw new ProtocolError('result.ok must be a boolean');
  return o as unknown as TaskOutcome;
}

function tag(x: unknown): Obj & { t: unknown } {
  const o = obj(x, 'message');
  if (typeof o.t !== 'string') throw new ProtocolError('message.t must be a string');
  return o as Obj & { t: unknown };
}

export function parseHello(x: unknown): Hello {
  const o = tag(x);
  if (o.t !== 'hello') throw new ProtocolError(`expected hello first, got ${String(o.t).slice(0, 32)}`);
  int(o.version, 'hello.version');
  if (o.role === 'client') {
    str(o.token, 'hello.token', 1024);
  } else if (o.role === 'worker') {
    int(o.threads, 'hello.threads', 1, 1024);
    str(o.userAgent, 'hello.userAgent', 1024);
  } else {
    throw new ProtocolError('hello.role must be "client" or "worker"');
  }
  return o as unknown as Hello;
}

export function parseClientMessage(x: unknown): ClientMessage {
  const o = tag(x);
  switch (o.t) {
    case 'submit':
      for (const t of arr(o.tasks, 'submit.tasks')) taskSpec(t);
      break;
    case 'cancel':
      ids(o.ids, 'cancel.ids');
      break;
    default:
      throw new ProtocolError(`unknown client message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ClientMessage;
}

export function parsePageMessage(x: unknown): PageMessage {
  const o = tag(x);
  switch (o.t) {
    case 'report':
      ids(o.started, 'report.started');
      for (const r of arr(o.results, 'report.results')) outcome(r);
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
      break;
    case 'results':
      ids(o.started, 'results.started');
      for (const r of arr(o.results, 'results.results')) outcome(r);
      break;
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
      break;
    case 'tasks':
      for (const t of arr(o.tasks, 'tasks.tasks')) taskSpec(t);
      break;
    case 'cancel':
      ids(o.ids, 'cancel.ids');
      break;
    default:
      throw new ProtocolError(`unknown coordinator message ${String(o.t).slice(0, 32)}`);
  }
  return o as unknown as ToPage;
}

/** Encodes one frame. Typed so each side can only send its own messages. */
export function encodeFrame(msg: Hello | ClientMessage | ToClient | PageMessage | ToPage): Uint8Array {
  return pack(msg);
}

/** Decodes a frame and validates it with `parse`; any failure is a ProtocolError. */
export function decodeFrame<T>(data: Uint8Array, parse: (x: unknown) => T): T {
  let raw: unknown;
  try {
    raw = unpack(data);
  } catch (e) {
    throw new ProtocolError(`undecodable frame: ${(e as Error).message}`);
  }
  return parse(raw);
}

// ---- page main thread <-> its Web Workers (postMessage, trusted) ----
export type ToWebWorker =
  | { t: 'bundle'; hash: string; code: string }
  | { t: 'run'; task: TaskSpec };
export type FromWebWorker =
  | { t: 'started'; id: number }
  | { t: 'done'; outcome: TaskOutcome };
