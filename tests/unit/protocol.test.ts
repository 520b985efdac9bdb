import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProtocolError,
  decodeFrame,
  encodeFrame,
  parseClientMessage,
  parseHello,
  parseLaneMessage,
  parsePageMessage,
  parsePeerMessage,
  parseToClient,
  parseToLane,
  parseToPage,
  PROTOCOL_VERSION,
} from '../../protocol/messages.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';

const hash = 'a'.repeat(64);
const task = { id: 1, bundle: hash, fn: 'square', args: new Uint8Array([0x91, 0x04]) };

test('every message type round-trips through a frame', () => {
  const cases: [unknown, (x: unknown) => unknown][] = [
    [{ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION }, parseHello],
    [{ t: 'hello', role: 'worker', threads: 4, userAgent: 'UA', version: PROTOCOL_VERSION }, parseHello],
    [{ t: 'submit', seq: 1, tasks: [task] }, parseClientMessage],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, chunk: true }] }, parseClientMessage],
    [{ t: 'ack', seq: 7 }, parseClientMessage],
    [{ t: 'hello', role: 'client', token: 'tok', version: PROTOCOL_VERSION, grace: 5000, resume: { clientId: 'c', secret: 's', ack: 3 } }, parseHello],
    [{ t: 'pong' }, parsePageMessage],
    [{ t: 'ping' }, parseToPage],
    [{ t: 'cancel', seq: 2, ids: [1, 2] }, parseClientMessage],
    [{ t: 'report', started: [1], results: [{ id: 1, ok: true, value: new Uint8Array([1]) }, { id: 2, ok: false, error: { name: 'E', message: 'm', stack: 's' } }], lost: [3], submit: [{ ...task, scope: 'c1', timeout: 5, under: { task: 9 } }, { ...task, id: 2, under: { from: 'peer-a', id: 4 } }], cancel: [4], blocked: 1, ready: 2, local: 3 }, parsePageMessage],
    [
      {
        t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 1,
        spawning: [5], offload: [{ to: 'peer-b', ids: [1, 2], under: [{ task: 5 }, { from: 'peer-a', id: 3 }] }, { to: 'peer-c', ids: [3] }], returned: [1], stole: [{ from: 'peer-a', got: 2, linked: true }], links: 1, peerBytes: 4096, localDone: 12, copied: 1, refused: 2,
      },
      parsePageMessage,
    ],
    [{ t: 'peer', open: true }, parsePageMessage],
    [{ t: 'welcome', workerId: 'w', limits: DEFAULT_LIMITS, peer: { path: '/peerjs', key: 'ladle', iceServers: [{ urls: 'stun:stun.example.org' }, { urls: ['turn:t.example.org'], username: 'u', credential: 'c' }] } }, parseToPage],
    [{ t: 'steal', from: 'peer-a', max: 2 }, parseToPage],
    [{ t: 'release', max: 3 }, parseToPage],
    [{ t: 'lend', to: 'peer-b', max: 2 }, parseToPage],
    [{ t: 'peerGone', peer: 'peer-b' }, parseToPage],
    [{ t: 'steal', max: 4 }, parsePeerMessage],
    [{ t: 'tasks', tasks: [{ ...task, scope: 'c1' }], shared: { c1: { factor: new Uint8Array([3]) } } }, parsePeerMessage],
    [{ t: 'results', results: [{ id: 1, ok: true, value: new Uint8Array([1]) }] }, parsePeerMessage],
    [{ t: 'cancel', ids: [1] }, parsePeerMessage],
    [{ t: 'share', seq: 3, req: 1, values: { factor: new Uint8Array([3]) } }, parseClientMessage],
    [{ t: 'shared', seq: 4, req: 1, error: 'taken' }, parseToClient],
    [{ t: 'ack', seq: 4 }, parseToClient],
    [{ t: 'results', results: [{ id: 3, ok: false, kind: 'timeout', error: { name: 'TimeoutError', message: 'slow' } }] }, parseToPage],
    [{ t: 'shared', scope: 's', values: { a: new Uint8Array([1]) } }, parseToPage],
    [{ t: 'unshare', scope: 's' }, parseToPage],
    [{ t: 'welcome', clientId: 'c', secret: 's', resumed: false, ack: 0 }, parseToClient],
    [{ t: 'results', seq: 5, started: [], results: [{ id: 3, ok: false, kind: 'lost', error: { name: 'TaskLostError', message: 'gone' } }] }, parseToClient],
    [{ t: 'welcome', workerId: 'w', limits: DEFAULT_LIMITS }, parseToPage],
    [{ t: 'tasks', tasks: [task] }, parseToPage],
    [{ t: 'cancel', ids: [9] }, parseToPage],
    [{ t: 'submit', seq: 6, tasks: [{ ...task, verify: 3, equal: 'close' }, { ...task, id: 2, verify: 'adaptive' }, { ...task, id: 3, verify: 'off' }] }, parseClientMessage],
    [{ t: 'tasks', tasks: [{ ...task, verify: 'adaptive' }] }, parseToPage],
    [{ t: 'compare', seq: 6, req: 2, bundle: task.bundle, fn: 'close', pairs: [[new Uint8Array([1]), new Uint8Array([2])]] }, parseToClient],
    [{ t: 'compared', seq: 7, req: 2, equal: [true] }, parseClientMessage],
    [{ t: 'waiting', seq: 8, needs: {}, verify: { pages: 3, joined: 2 } }, parseToClient],
    [{ t: 'results', seq: 9, started: [], results: [{ id: 3, ok: false, kind: 'unverified', error: { name: 'VerificationError', message: 'no quorum' }, verify: { distinct: 2, runs: 3 } }] }, parseToClient],
  ];
  for (const [msg, parse] of cases) {
    assert.deepEqual(decodeFrame(encodeFrame(msg as never), parse), msg);
  }
});

test("a client's task with an option out of range is not a protocol error: the coordinator refuses that task alone", () => {
  for (const options of [{ timeout: 0 }, { timeout: 3_000_000_000 }, { timeout: 1.5 }, { attempts: 101 }]) {
    const msg = { t: 'submit', seq: 1, tasks: [task, { ...task, id: 2, ...options }] };
    assert.deepEqual(decodeFrame(encodeFrame(msg as never), parseClientMessage), msg);
  }
});

test('a client welcome may state the limits', () => {
  const msg = { t: 'welcome', clientId: 'c', secret: 's', resumed: false, ack: 0, limits: { frameBytes: 64, taskBytes: 32, resultBytes: 16, timeout: 2 ** 31 - 1, attempts: 100 } };
  assert.deepEqual(decodeFrame(encodeFrame(msg as never), parseToClient), msg);
});

test('verification messages out of shape are ProtocolErrors', () => {
  const bad: [unknown, (x: unknown) => unknown, RegExp][] = [
    [{ t: 'compared', seq: 1, req: 1, equal: ['yes'] }, parseClientMessage, /compared.equal\[\] must be booleans/],
    [{ t: 'compared', seq: 1, req: 1, equal: new Array(201).fill(true) }, parseClientMessage, /at most 200/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, equal: 'not a name!' }] }, parseClientMessage, /task.equal must name an export/],
    [{ t: 'tasks', tasks: [{ ...task, verify: 1 }] }, parseToPage, /verify is/],
    [{ t: 'compare', seq: 1, req: 1, bundle: 'x', fn: 'close', pairs: [] }, parseToClient, /compare.bundle/],
    [{ t: 'compare', seq: 1, req: 1, bundle: task.bundle, fn: 'close', pairs: [[new Uint8Array([1])]] }, parseToClient, /compare.pairs/],
  ];
  for (const [msg, parse, reason] of bad) assert.throws(() => decodeFrame(encodeFrame(msg as never), parse), reason);
});

test('malformed messages are ProtocolErrors with a reason', () => {
  const bad: [unknown, (x: unknown) => unknown, RegExp][] = [
    [{ t: 'submit', seq: 1, tasks: [{ ...task, bundle: '../etc/passwd' }] }, parseClientMessage, /sha256/],
    [{ t: 'submit', tasks: [task] }, parseClientMessage, /submit.seq/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, id: -1 }] }, parseClientMessage, /task.id/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, args: 'no' }] }, parseClientMessage, /task.args/],
    [{ t: 'submit', seq: 1, tasks: 'x' }, parseClientMessage, /submit.tasks/],
    [{ t: 'nope', seq: 1 }, parseClientMessage, /unknown client message/],
    [[1, 2], parseClientMessage, /object/],
    [{ t: 'hello', role: 'client', version: 1 }, parseHello, /token/],
    [{ t: 'hello', role: 'worker', threads: 0, userAgent: 'x', version: 1 }, parseHello, /threads/],
    [{ t: 'hello', role: 'admin', version: 1 }, parseHello, /role/],
    [{ t: 'submit', tasks: [] }, parseHello, /expected hello/],
    [{ t: 'report', started: [1], results: [{ id: 1, ok: 'yes' }], lost: [], submit: [], cancel: [], blocked: 0 }, parsePageMessage, /result.ok/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [] }, parsePageMessage, /report.blocked/],
    // A released subtask names the task it descends from: a scope alone is not enough.
    [{ t: 'report', started: [], results: [], lost: [], submit: [{ ...task, scope: 'c1' }], cancel: [], blocked: 0, ready: 0, local: 0 }, parsePageMessage, /submit\[\]\.under/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [{ ...task, under: { task: -1 } }], cancel: [], blocked: 0, ready: 0, local: 0 }, parsePageMessage, /under\.task/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [{ ...task, under: { from: 7, id: 1 } }], cancel: [], blocked: 0, ready: 0, local: 0 }, parsePageMessage, /under\.from/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, offload: [{ to: 'b', ids: [1, 2], under: [{ task: 1 }] }] }, parsePageMessage, /one task per id/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0, stole: [{ from: 'a', got: 1 }] }, parsePageMessage, /linked/],
    [{ t: 'steal', max: 0 }, parsePeerMessage, /steal.max/],
    [{ t: 'lend', to: 'peer-b', max: 0 }, parseToPage, /lend.max/],
    [{ t: 'lend', max: 1 }, parseToPage, /lend.to/],
    [{ t: 'tasks', tasks: [task] }, parsePeerMessage, /scope/],
    [{ t: 'tasks', tasks: [], shared: { c1: { 'not a name': new Uint8Array(1) } } }, parsePeerMessage, /identifier/],
    [{ t: 'results', results: [{ id: 1, ok: true, value: 'x' }] }, parsePeerMessage, /result.value/],
    [{ t: 'report', started: [] }, parsePeerMessage, /unknown peer message/],
    [{ t: 'steal', from: 'a', max: -1 }, parseToPage, /steal.max/],
    [{ t: 'welcome', workerId: 'w', limits: DEFAULT_LIMITS, peer: { path: '/p', key: 'k', iceServers: [{ urls: 5 }] } }, parseToPage, /urls/],
    [{ t: 'welcome', workerId: 'w' }, parseToPage, /welcome.limits must be an object/],
    [{ t: 'welcome', workerId: 'w', limits: { ...DEFAULT_LIMITS, frameBytes: 0 } }, parseToPage, /welcome.limits.frameBytes/],
    [{ t: 'share', seq: 1, req: 1, values: { 'not a name': new Uint8Array() } }, parseClientMessage, /identifier/],
    [{ t: 'share', seq: 1, req: 1, values: JSON.parse('{"__proto__": 1}') as unknown }, parseClientMessage, /identifier|bytes/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, chunk: false }] }, parseClientMessage, /task.chunk must be true/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, chunk: 1 }] }, parseClientMessage, /task.chunk must be true/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, timeout: '5' }] }, parseClientMessage, /task.timeout/],
    [{ t: 'submit', seq: 1, tasks: [{ ...task, attempts: null }] }, parseClientMessage, /task.attempts/],
    [{ t: 'tasks', tasks: [{ ...task, timeout: 0 }] }, parseToPage, /task.timeout/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [{ ...task, scope: 'c', attempts: 101 }], cancel: [], blocked: 0, ready: 0, local: 0 }, parsePageMessage, /task.attempts/],
    [{ t: 'welcome', clientId: 'c', secret: 's', resumed: false, ack: 0, limits: { frameBytes: 1, taskBytes: 1, resultBytes: 1, timeout: 1 } }, parseToClient, /limits.attempts/],
  ];
  for (const [msg, parse, reason] of bad) {
    assert.throws(() => decodeFrame(encodeFrame(msg as never), parse), (e: unknown) => e instanceof ProtocolError && reason.test(e.message));
  }
  assert.throws(() => decodeFrame(new Uint8Array([0xc1, 0xff]), parseClientMessage), ProtocolError);
});

test('task lane messages round-trip, and out of shape they are ProtocolErrors', () => {
  const good: [unknown, (x: unknown) => unknown][] = [
    [{ t: 'hello', role: 'lane', version: PROTOCOL_VERSION, key: 'k', nonce: 'n' }, parseHello],
    [{ t: 'hello', role: 'worker', threads: 2, userAgent: 'UA', version: PROTOCOL_VERSION, lanes: true }, parseHello],
    [{ t: 'ready', bundles: [hash], shared: 2 }, parseLaneMessage],
    [{ t: 'spawning', id: 3 }, parseLaneMessage],
    [{ t: 'results', results: [{ id: 1, ok: true, value: new Uint8Array([1]) }] }, parseLaneMessage],
    [{ t: 'tasks', tasks: [{ ...task, scope: 's' }] }, parseToLane],
    [{ t: 'lane', scope: 's', key: 'k' }, parseToPage],
    [{ t: 'laned', nonce: 'n', tasks: [{ ...task, args: new Uint8Array(0), scope: 's' }] }, parseToPage],
    [{ t: 'laneClosed', nonce: 'n', ids: [1, 2] }, parseToPage],
  ];
  for (const [msg, parse] of good) assert.deepEqual(decodeFrame(encodeFrame(msg as never), parse), msg);
  const bad: [unknown, (x: unknown) => unknown, RegExp][] = [
    [{ t: 'hello', role: 'lane', version: PROTOCOL_VERSION, nonce: 'n' }, parseHello, /hello.key/],
    [{ t: 'hello', role: 'lane', version: PROTOCOL_VERSION, key: 'k', nonce: 'n'.repeat(65) }, parseHello, /hello.nonce/],
    [{ t: 'hello', role: 'worker', threads: 2, userAgent: 'UA', version: PROTOCOL_VERSION, lanes: 'yes' }, parseHello, /hello.lanes/],
    [{ t: 'ready', bundles: ['not-a-hash'], shared: 0 }, parseLaneMessage, /ready.bundles/],
    [{ t: 'ready', bundles: Array.from({ length: 257 }, () => hash), shared: 0 }, parseLaneMessage, /ready.bundles/],
    [{ t: 'spawning', id: -1 }, parseLaneMessage, /spawning.id/],
    [{ t: 'report', started: [], results: [], lost: [], submit: [], cancel: [], blocked: 0, ready: 0, local: 0 }, parseLaneMessage, /unknown lane message/],
    [{ t: 'cancel', ids: [1] }, parseToLane, /on a lane/],
    [{ t: 'laned', nonce: 'n', tasks: [{ id: 1 }] }, parseToPage, /bundle|fn|args/],
  ];
  for (const [msg, parse, reason] of bad) {
    assert.throws(() => decodeFrame(encodeFrame(msg as never), parse), (e: unknown) => e instanceof ProtocolError && reason.test(e.message), String(reason));
  }
});
