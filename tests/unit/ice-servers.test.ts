import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIceServers } from '../../coordinator/peer-server.ts';

test('ICE servers from the command line: URLs, or JSON with TURN credentials', () => {
  assert.deepEqual(parseIceServers('stun:stun.example.org:3478'), [{ urls: 'stun:stun.example.org:3478' }]);
  assert.deepEqual(parseIceServers(' stun:a.example.org , turns:b.example.org:5349 '), [{ urls: 'stun:a.example.org' }, { urls: 'turns:b.example.org:5349' }]);
  assert.deepEqual(parseIceServers('[{"urls":["turn:t.example.org:3478?transport=udp"],"username":"u","credential":"p"}]'), [
    { urls: ['turn:t.example.org:3478?transport=udp'], username: 'u', credential: 'p' },
  ]);
  assert.deepEqual(parseIceServers(''), []);
});

test('bad ICE servers are refused with a reason', () => {
  assert.throws(() => parseIceServers('http://stun.example.org'), /server 1: urls must be stun:/);
  assert.throws(() => parseIceServers('[{"urls": 3}]'), /urls must be/);
  assert.throws(() => parseIceServers('[{"urls": "stun:x", "username": 1}]'), /username must be a string/);
  assert.throws(() => parseIceServers('[oops'), /not valid JSON/);
  assert.throws(() => parseIceServers('{"urls":"stun:x"}'), /urls must be/);
});
