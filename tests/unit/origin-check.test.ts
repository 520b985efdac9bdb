// Which Origins may open the coordinator's WebSockets, and the banner's private dashboard URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { originChecker, parseOrigins } from '../../coordinator/origin-check.ts';
import { coordinatorBanner } from '../../cli/banner.ts';

const req = (host: string, origin?: string) => ({ headers: origin === undefined ? { host } : { host, origin } }) as IncomingMessage;

test('no Origin (a program), the Host\'s own origin, or a listed one; nothing else', () => {
  const check = originChecker(parseOrigins('https://ladle.example.org, http://10.0.0.9:8080'));
  assert.equal(check(req('192.168.1.20:8080')), true);
  assert.equal(check(req('192.168.1.20:8080', 'http://192.168.1.20:8080')), true);
  assert.equal(check(req('ladle.example.org', 'https://ladle.example.org')), true, 'behind a TLS proxy that keeps Host');
  assert.equal(check(req('internal:8080', 'https://ladle.example.org')), true, 'listed');
  assert.equal(check(req('internal:8080', 'http://10.0.0.9:8080')), true);
  assert.equal(check(req('192.168.1.20:8080', 'http://192.168.1.20:8081')), false, 'another port is another origin');
  assert.equal(check(req('192.168.1.20:8080', 'http://evil.example')), false);
  assert.equal(check(req('192.168.1.20:8080', 'null')), false, 'a sandboxed frame or a file: page');
  assert.equal(check(req('192.168.1.20:8080', 'file://192.168.1.20:8080')), false);
});

test('--allowed-origins takes http(s) origins and says what is wrong otherwise', () => {
  assert.deepEqual(parseOrigins('https://A.example.org/,http://b:81'), ['https://a.example.org', 'http://b:81']);
  assert.throws(() => parseOrigins('a.example.org'), /is not an origin/);
  assert.throws(() => parseOrigins('ftp://a.example.org'), /http: or https:/);
});

test('the banner prints the private dashboard URL with the admin token', async () => {
  const lines = (await coordinatorBanner({ urls: ['http://127.0.0.1:8080'], port: 8080, token: 't', adminToken: 'adm-1' })).split('\n');
  assert.ok(lines.includes('Dashboard: http://127.0.0.1:8080/dashboard'));
  assert.ok(lines.some((l) => l.startsWith('Details:   http://127.0.0.1:8080/dashboard?token=adm-1 ')));
});
