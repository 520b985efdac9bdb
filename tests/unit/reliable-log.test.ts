import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK_EVERY, ReliableLog } from '../../protocol/reliable-log.ts';

/** A frame whose bytes say its seq and have `size` bytes (at least 1). */
const frame = (size = 1) => (seq: number) => new Uint8Array(size).fill(seq);
const seqs = (frames: Uint8Array[]) => frames.map((bytes) => bytes[0]);

test('frames are numbered 1, 2, 3 in the order pushed, each encoded with its seq', () => {
  const log = new ReliableLog();
  const numbered: number[] = [];
  for (let i = 0; i < 3; i++) log.push((seq) => (numbered.push(seq), new Uint8Array([seq])));
  assert.deepEqual(numbered, [1, 2, 3]);
  assert.deepEqual(seqs(log.after(0)), [1, 2, 3]);
});

test('push returns the bytes it keeps', () => {
  const log = new ReliableLog();
  const bytes = log.push(frame(4));
  assert.deepEqual([...bytes], [1, 1, 1, 1]);
  assert.equal(log.after(0)[0], bytes);
});

test('an ack drops the frames up to its seq; the rest are resent, in order', () => {
  const log = new ReliableLog();
  for (let i = 0; i < 5; i++) log.push(frame());
  log.ack(2);
  assert.equal(log.retainedCount, 3);
  assert.deepEqual(seqs(log.after(0)), [3, 4, 5]);
  log.ack(4);
  assert.deepEqual(seqs(log.after(0)), [5]);
});

test('after a resume it resends only what the peer says it did not get, and keeps it all until acked', () => {
  const log = new ReliableLog();
  for (let i = 0; i < 4; i++) log.push(frame());
  assert.deepEqual(seqs(log.after(2)), [3, 4]);
  assert.deepEqual(seqs(log.after(4)), []);
  assert.equal(log.retainedCount, 4, 'a resume alone acknowledges nothing');
});

test('an old or repeated ack drops nothing more; an ack past the last frame drops everything', () => {
  const log = new ReliableLog<string>();
  log.push(frame(), 'a');
  log.push(frame(), 'b');
  log.push(frame(), 'c');
  assert.deepEqual(log.ack(2), ['a', 'b']);
  assert.deepEqual(log.ack(2), []);
  assert.deepEqual(log.ack(1), []);
  assert.deepEqual(seqs(log.after(0)), [3]);
  assert.deepEqual(log.ack(99), ['c']);
  assert.equal(log.retainedCount, 0);
  log.push(frame());
  assert.deepEqual(seqs(log.after(0)), [4], 'numbering goes on after an ack');
});

test('byte counts follow pushes and acks', () => {
  const log = new ReliableLog();
  assert.equal(log.retainedBytes, 0);
  log.push(frame(10));
  log.push(frame(20));
  log.push(frame(30));
  assert.equal(log.retainedBytes, 60);
  log.ack(1);
  assert.equal(log.retainedBytes, 50);
  log.ack(3);
  assert.equal(log.retainedBytes, 0);
});

test('an ack returns the tags of the frames it drops, in order, skipping untagged frames', () => {
  const log = new ReliableLog<number[]>();
  log.push(frame(), [7, 8]);
  log.push(frame());
  log.push(frame(), []);
  log.push(frame(), [9]);
  assert.deepEqual(log.ack(3), [[7, 8], []]);
  assert.deepEqual(log.ack(4), [[9]]);
});

test('a stream that lost its count numbers after what the peer saw, never below what it sent', () => {
  const log = new ReliableLog();
  log.continueAfter(41);
  log.push(frame());
  assert.deepEqual(seqs(log.after(0)), [42]);
  log.continueAfter(10);
  log.push(frame());
  assert.deepEqual(seqs(log.after(0)), [42, 43]);
});

test('each received seq is accepted once; old and repeated seqs are not', () => {
  const log = new ReliableLog();
  assert.equal(log.received, 0);
  assert.equal(log.accept(1), true);
  assert.equal(log.accept(2), true);
  assert.equal(log.accept(2), false, 'a duplicate');
  assert.equal(log.accept(1), false, 'an old frame resent after a resume');
  assert.equal(log.received, 2);
  assert.equal(log.accept(3), true);
  assert.equal(log.received, 3);
});

test('a restored receive side starts from what was processed before', () => {
  const log = new ReliableLog(5);
  assert.equal(log.received, 5);
  assert.equal(log.accept(5), false);
  assert.equal(log.takeAck(), undefined, 'nothing new to acknowledge');
  assert.equal(log.accept(6), true);
  assert.equal(log.takeAck(), 6);
});

test('an ack is due once after new frames, naming the last; not after duplicates', () => {
  const log = new ReliableLog();
  assert.equal(log.takeAck(), undefined);
  log.accept(1);
  log.accept(2);
  assert.equal(log.takeAck(), 2);
  assert.equal(log.takeAck(), undefined, 'taken');
  log.accept(2);
  assert.equal(log.takeAck(), undefined, 'a duplicate makes no ack due');
  log.accept(3);
  assert.equal(log.takeAck(), 3);
});

test('sending and receiving are independent', () => {
  const log = new ReliableLog();
  log.push(frame());
  log.push(frame());
  log.accept(1);
  assert.equal(log.received, 1);
  assert.deepEqual(log.ack(1), []);
  assert.deepEqual(seqs(log.after(0)), [2]);
  assert.equal(log.takeAck(), 1);
});

test('an ack may wait for more frames until ACK_EVERY are due; then it is urgent, and taking it starts the count again', () => {
  const log = new ReliableLog();
  assert.equal(log.ackDue, false);
  log.accept(1);
  assert.equal(log.ackDue, true);
  assert.equal(log.ackUrgent, false, 'one frame: its ack can wait to cover the next ones');
  for (let seq = 2; seq < ACK_EVERY; seq++) log.accept(seq);
  assert.equal(log.ackUrgent, false);
  log.accept(ACK_EVERY);
  assert.equal(log.accept(ACK_EVERY), false);
  assert.equal(log.ackUrgent, true);
  assert.equal(log.takeAck(), ACK_EVERY);
  assert.equal(log.ackDue, false);
  assert.equal(log.ackUrgent, false);
});
