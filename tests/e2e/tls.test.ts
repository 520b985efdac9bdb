// `ladle coordinator --tls-cert F --tls-key F`: https and wss on one port,
// with a self-signed certificate made here. A Chromium page joins over wss
// (told to accept the certificate) as a secure context, and an SDK program
// that trusts it submits tasks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchWorkers, type LocalWorkers } from '../../cli/workers.ts';
import type { Stats } from '../../coordinator/stats.ts';
import { runLadle, type LadleProcess } from '../helpers/cli.ts';

let dir: string;
let cert: string;
let key: string;
let ladle: LadleProcess;
let url: string;
let workers: LocalWorkers | undefined;
const TOKEN = 'tls-test-token';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ladle-tls-'));
  cert = join(dir, 'cert.pem');
  key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  ladle = runLadle(['coordinator', '--host', '127.0.0.1', '--port', '0', '--token', TOKEN, '--data', join(dir, 'data'), '--tls-cert', cert, '--tls-key', key]);
  [url] = await ladle.waitFor(/https:\/\/127\.0\.0\.1:\d+/, 60_000);
});
after(async () => {
  await workers?.close();
  await ladle?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** GET over https, trusting only the test's certificate. */
async function getJson(path: string): Promise<Stats> {
  const ca = await readFile(cert);
  return new Promise((resolve, reject) => {
    get(`${url}${path}`, { ca, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body) as Stats));
    }).on('error', reject);
  });
}

test('the coordinator serves https with the given certificate, and prints https join URLs', async () => {
  const stats = await getJson('/api/stats');
  assert.equal(stats.workers, 0);
  assert.match(ladle.output(), /Dashboard: https:\/\/127\.0\.0\.1:\d+\/dashboard/);
});

test('a page joins over wss as a secure context, and an SDK program submits over https and wss', { timeout: 120_000 }, async () => {
  workers = await launchWorkers({ url, count: 1, threads: 1, browserArgs: ['--ignore-certificate-errors'] });
  const [w] = (await getJson('/api/stats')).perWorker;
  assert.equal(w.capabilities?.secureContext, true);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/tls-client.ts'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, LADLE_URL: url, LADLE_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: cert },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((resolve) => proc.once('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /squares \[1,4,9\]/);
});

test('--tls-cert without --tls-key, or a file that is not there, is a clear error', async () => {
  const alone = runLadle(['coordinator', '--port', '0', '--tls-cert', cert]);
  assert.equal(await alone.exited, 2);
  assert.match(alone.output(), /--tls-cert and --tls-key go together/);
  const missing = runLadle(['coordinator', '--port', '0', '--tls-cert', join(dir, 'nope.pem'), '--tls-key', key]);
  assert.equal(await missing.exited, 2);
  assert.match(missing.output(), /--tls-cert .*nope\.pem: ENOENT/);
});
