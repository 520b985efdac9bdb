// Unit tests for the volunteer-site work: pausing in the scheduler, the
// capacity message, user-agent descriptions, and the coordinator's banner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../coordinator/scheduler.ts';
import { ProtocolError, parsePageMessage } from '../../protocol/messages.ts';
import { describeUserAgent } from '../../site/user-agent.ts';
import { coordinatorBanner, isLoopback } from '../../cli/banner.ts';
import { niceCeiling, formatBytes, formatDuration, formatNumber } from '../../site/chart.ts';

test('a paused page (0 threads) gets nothing, and its unstarted tasks go to others', () => {
  const s = new Scheduler({ prefetch: () => 2 });
  s.addPage('a', 2);
  for (let i = 1; i <= 4; i++) s.enqueue(i);
  assert.deepEqual(s.dispatch().send.get('a'), [1, 2, 3, 4]);
  s.started(1, 'a');
  s.started(2, 'a');
  // Paused: the two unstarted tasks are taken back; the two running ones stay.
  assert.deepEqual(s.setThreads('a', 0), [3, 4]);
  assert.equal(s.queuedCount, 2);
  assert.deepEqual(s.holdersOf(1), ['a']);
  s.enqueue(5);
  assert.equal(s.dispatch().send.size, 0, 'nothing is sent to a paused page, not even a prefetch');
  assert.equal(s.threadCount, 0);
  // Another page takes them, the taken-back ones first.
  s.addPage('b', 1);
  assert.deepEqual(s.dispatch().send.get('b'), [3, 4, 5]);
  // A running task of the paused page still finishes there.
  assert.deepEqual(s.finish(1, 'a'), []);
  // Resumed, it takes work again.
  assert.deepEqual(s.setThreads('a', 2), []);
  for (let i = 6; i <= 8; i++) s.enqueue(i);
  assert.ok(s.dispatch().send.get('a')?.includes(6));
});

test('a paused page that holds a backup copy only drops its own copy', () => {
  let now = 0;
  const s = new Scheduler({ prefetch: () => 0, now: () => now });
  s.addPage('a', 1);
  s.enqueue(1);
  s.dispatch();
  s.started(1, 'a');
  // Long after, an idle page runs a backup copy of the straggler.
  s.addPage('b', 1);
  now = 10_000;
  assert.deepEqual(s.dispatch().send.get('b'), [1]);
  assert.deepEqual(s.holdersOf(1), ['a', 'b']);
  assert.deepEqual(s.setThreads('b', 0), [1]);
  assert.deepEqual(s.holdersOf(1), ['a']);
  assert.equal(s.queuedCount, 0, 'still running on its first page: not queued again');
});

test('the capacity message is validated', () => {
  assert.deepEqual(parsePageMessage({ t: 'capacity', threads: 4, paused: true }), { t: 'capacity', threads: 4, paused: true });
  assert.throws(() => parsePageMessage({ t: 'capacity', threads: 0, paused: false }), ProtocolError);
  assert.throws(() => parsePageMessage({ t: 'capacity', threads: 2 }), /capacity.paused/);
  assert.throws(() => parsePageMessage({ t: 'capacity', threads: 2.5, paused: false }), /capacity.threads/);
});

test('user agents are described as a browser and an OS', () => {
  const cases: [string, string, string][] = [
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome 126', 'Windows 10/11'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87', 'Edge 126', 'Windows 10/11'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari 17', 'macOS'],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Firefox 127', 'Linux'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari 17', 'iOS 17'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1', 'Chrome 126', 'iOS 17'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36', 'Chrome 126', 'Android 14'],
    ['Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36', 'Samsung Internet 25', 'Android 13'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome 126', 'ChromeOS'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'Headless Chrome 156', 'Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Opera 111', 'Windows 10/11'],
    ['curl/8.5.0', 'Unknown browser', 'Unknown OS'],
  ];
  for (const [ua, browser, os] of cases) assert.deepEqual(describeUserAgent(ua), { browser, os }, ua);
});

test('the banner lists the join URLs, a QR code of the first, the dashboard and the token', async () => {
  const banner = await coordinatorBanner({ urls: ['http://192.168.1.20:8080', 'http://127.0.0.1:8080'], port: 8080, token: 'tok-123456' });
  const lines = banner.split('\n');
  assert.ok(lines.includes('  http://192.168.1.20:8080'));
  assert.ok(lines.includes('  http://127.0.0.1:8080'));
  assert.ok(lines.includes('Dashboard: http://192.168.1.20:8080/dashboard'));
  assert.ok(lines.includes('Stats:     http://127.0.0.1:8080/api/stats'));
  assert.ok(lines.includes('Submit:    LADLE_URL=http://127.0.0.1:8080 LADLE_TOKEN=tok-123456'));
  // The QR code: a square of half-block characters, its three finder patterns on top and at the left.
  const qr = lines.filter((l) => /[█▀▄]/.test(l));
  assert.ok(qr.length >= 10, `a QR code of at least 10 rows:\n${banner}`);
  assert.match(qr[0], /█▀▀▀▀▀█.*█▀▀▀▀▀█/);
  // An ANSI-coloured code for terminals (black on white whatever the theme).
  const ansi = await coordinatorBanner({ urls: ['http://10.0.0.5:8080'], port: 8080, token: 't', ansi: true });
  assert.match(ansi, /\x1b\[47m/);
  // Loopback only: no code, and a hint instead.
  const local = await coordinatorBanner({ urls: ['http://127.0.0.1:8080/?join=x'], port: 8080, token: '' });
  assert.doesNotMatch(local, /█/);
  assert.match(local, /--host 0\.0\.0\.0/);
  assert.match(local, /LADLE_TOKEN=<one of the named tokens>/);
  assert.ok(isLoopback('http://127.0.0.1:1') && isLoopback('http://localhost:1') && !isLoopback('http://192.168.0.2:1'));
});

test('chart scale and number formatting', () => {
  assert.deepEqual([0.3, 1, 3, 7, 12, 99, 101].map(niceCeiling), [0.5, 1, 5, 10, 20, 100, 200]);
  assert.equal(formatNumber(1234567), '1,234,567');
  assert.deepEqual([0, 7, 100, 999.6, 1000, 123456, -1234, -999, 1234.5].map(formatNumber), ['0', '7', '100', '1,000', '1,000', '123,456', '-1,234', '-999', '1,235']);
  assert.equal(formatNumber(12.345), '12.3');
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(185), '3 min 05 s');
  assert.equal(formatDuration(7440), '2 h 04 min');
  assert.deepEqual(
    [0, 1023, 1024, 1536, 100 * 1024, 1023.4 * 1024, 1023.6 * 1024, 5 * 1024 ** 2, 1234 * 1024 ** 2, 3 * 1024 ** 4, 5000 * 1024 ** 4].map(formatBytes),
    ['0 B', '1,023 B', '1.0 KB', '1.5 KB', '100 KB', '1,023 KB', '1.0 MB', '5.0 MB', '1.2 GB', '3.0 TB', '5,000 TB'],
  );
  assert.equal(formatBytes(Number.NaN), '–');
});
