// The dashboard: the grid's workers, jobs and throughput, live. The
// coordinator pushes its stats about once a second over Server-Sent Events
// (/api/events); this page only draws them. Every string from the wire is
// set as text, never as HTML: user agents are whatever a page claimed.
// Without a token the coordinator sends only the grid's totals; the
// dashboard URL the coordinator prints carries `?token=` (its admin token),
// which this page passes on to /api/events to see each worker and job.
import type { JobStats, PeerStats, PublicStats, Stats, WorkerStats } from '../coordinator/stats.ts';
import { LineChart, formatBytes, formatDuration, formatNumber } from './chart.ts';
import { describeUserAgent } from './user-agent.ts';
import { standingState } from './standing.ts';
import type { Capabilities } from '../protocol/needs.ts';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: #${id} is missing`);
  return el as T;
}

/** A table cell labelled with its column (phones show tables as cards, label first). */
function cell(label: string, text?: string, className?: string): HTMLTableCellElement {
  const td = el('td', text, className);
  td.dataset.label = label;
  return td;
}

function badge(label: string, state: string): HTMLTableCellElement {
  const td = cell(label);
  td.append(el('span', state, `badge ${state}`));
  return td;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

const live = byId('live');
const chart = new LineChart(byId<HTMLCanvasElement>('chart'), { capacity: 300, unit: '/s' });
const joinLink = byId<HTMLAnchorElement>('join-url');
joinLink.textContent = `${location.origin}/`;

/** The join address the coordinator knows (a LAN address, not the 127.0.0.1
 * a dashboard opened on the coordinator's machine sees) and its QR code. */
async function showJoin(): Promise<void> {
  const tokenQuery = token ? `?token=${encodeURIComponent(token)}` : '';
  const res = await fetch(`/api/join${tokenQuery}`);
  if (!res.ok) return;
  const join = (await res.json()) as { urls: string[]; qr?: string };
  const [first, ...others] = join.urls;
  if (!first) return;
  for (const a of [joinLink, byId<HTMLAnchorElement>('join-big')]) {
    a.href = first;
    a.textContent = first;
  }
  byId('join-more').textContent = others.length > 0 ? `Also: ${others.join(', ')}` : '';
  if (join.qr) {
    const img = byId<HTMLImageElement>('join-qr');
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(join.qr)}`;
    img.hidden = false;
  }
}

let previous: { t: number; finished: number } | undefined;
/** Each worker's recent (time, tasks done), for a rate that drops to 0 when it idles. */
const history = new Map<string, { t: number; done: number }[]>();
const RATE_WINDOW_MS = 5000;

function recentRate(id: string, t: number, done: number): number {
  let h = history.get(id);
  if (!h) history.set(id, (h = []));
  h.push({ t, done });
  while (h.length > 1 && t - h[0].t > RATE_WINDOW_MS) h.shift();
  return t > h[0].t ? ((done - h[0].done) * 1000) / (t - h[0].t) : 0;
}

function render(s: Stats | PublicStats): void {
  const t = performance.now();
  const finished = s.completed + s.failed;
  let rate = 0;
  if (previous && t > previous.t) rate = ((finished - previous.finished) * 1000) / (t - previous.t);
  if (previous) chart.push(rate);
  previous = { t, finished };

  byId('uptime').textContent = formatDuration(s.uptimeSeconds);
  const totals: [string, number][] = [
    ['t-workers', s.workers],
    ['t-threads', s.threads],
    ['t-queued', s.queued],
    // Running: what pages have started; prefetched: held ready to start.
    ['t-running', s.running - s.prefetched],
    ['t-prefetched', s.prefetched],
    ['t-completed', s.completed],
    ['t-failed', s.failed],
    ['t-rate', rate],
  ];
  for (const [id, n] of totals) byId(id).textContent = formatNumber(n);

  renderPeer(s.peer);
  renderVerify('verify' in s ? s.verify : undefined);
  const details = 'perWorker' in s;
  renderJobs(details ? s.jobs : []);
  renderWorkers(details ? s.perWorker : [], t);
  if (!details) {
    const hint = 'Listed for the operator only: open the dashboard URL the coordinator printed (it ends in ?token=…).';
    byId('no-jobs').textContent = hint;
    byId('no-workers').textContent = hint;
  }
}

/** The public totals carry only what the coordinator counts itself: the rest shows as –. */
function renderPeer(p: PeerStats | PublicStats['peer']): void {
  const full = 'links' in p ? p : undefined;
  const n = (x: number | undefined) => (x === undefined ? '–' : formatNumber(x));
  const figures: [string, string][] = [
    ['p-pages', n(p.pages)],
    ['p-links', n(full?.links)],
    ['p-offloaded', n(full?.tasksOffloaded)],
    ['p-on-peers', n(full?.tasksOnPeers)],
    ['p-bytes', full ? formatBytes(full.bytesSent) : '–'],
    ['p-released', n(p.tasksReleased)],
    ['p-copied', n(full?.tasksCopied)],
    ['p-refused', n(full?.stealsRefused)],
  ];
  for (const [id, text] of figures) byId(id).textContent = text;
  // The exact count, for whoever hovers over the rounded one.
  byId('p-bytes').title = full ? `${formatNumber(full.bytesSent)} bytes` : '';
}

/** Shown to the operator once the coordinator has verified anything. */
function renderVerify(v: Stats['verify'] | undefined): void {
  byId('verify-details').hidden = !v || (v.runs === 0 && v.waiting === 0);
  if (!v) return;
  const figures: [string, string][] = [
    ['v-tasks', formatNumber(v.tasks)],
    ['v-extra', formatNumber(v.extra)],
    ['v-share', v.tasks > 0 ? `${formatNumber((100 * v.extra) / v.tasks)}%` : '–'],
    ['v-agreements', formatNumber(v.agreements)],
    ['v-disagreements', formatNumber(v.disagreements)],
    ['v-failed', formatNumber(v.failed)],
    ['v-quarantined', formatNumber(v.quarantined)],
    ['v-waiting', formatNumber(v.waiting)],
  ];
  for (const [id, text] of figures) byId(id).textContent = text;
}

function renderJobs(jobs: JobStats[]): void {
  const body = byId('jobs').querySelector('tbody')!;
  // Newest first: the one being watched is usually the latest.
  const rows = [...jobs].reverse().map((job) => {
    const tr = el('tr');
    tr.dataset.job = String(job.id);
    const finished = job.done + job.failed + job.cancelled;
    const state = !job.active ? 'ended' : job.expected === 0 ? 'idle' : finished < job.expected ? 'running' : 'done';
    tr.append(
      cell('Job', job.name || `#${job.id}`),
      cell('Token', job.token),
      progressCell(job),
      cell('Done', formatNumber(job.done), 'num'),
      cell('Failed', formatNumber(job.failed), 'num'),
      cell('Submitted', formatNumber(job.submitted), 'num'),
      cell('Tasks/s', formatNumber(job.rate), 'num'),
      cell('ETA', job.etaSeconds === undefined ? '–' : formatDuration(job.etaSeconds), 'num'),
      badge('State', state),
      cell('Time', formatDuration(job.seconds), 'num'),
    );
    return tr;
  });
  body.replaceChildren(...rows);
  byId('no-jobs').hidden = jobs.length > 0;
}

function progressCell(job: JobStats): HTMLTableCellElement {
  const td = cell('Progress', undefined, 'progress-col');
  const wrap = el('div', undefined, 'progress');
  const bar = el('div', undefined, 'bar');
  const total = Math.max(1, job.expected);
  const done = el('div', undefined, 'fill done');
  done.style.width = `${(100 * job.done) / total}%`;
  const failed = el('div', undefined, 'fill failed');
  failed.style.width = `${(100 * (job.failed + job.cancelled)) / total}%`;
  bar.append(done, failed);
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', String(job.expected));
  bar.setAttribute('aria-valuenow', String(job.done + job.failed + job.cancelled));
  const percent = job.expected > 0 ? Math.floor((100 * (job.done + job.failed + job.cancelled)) / job.expected) : 0;
  wrap.append(bar, el('span', `${percent}%`, 'percent'));
  td.append(wrap);
  return td;
}

/** A worker's device in a few words: "8 cores, 16 GiB, GPU google swiftshader, speed 250". */
function deviceSummary(c: Capabilities): string {
  const gpu = c.gpu ? `GPU ${[c.gpu.vendor, c.gpu.architecture].filter(Boolean).join(' ') || 'yes'}` : c.noGpu === 'insecure-context' ? 'no GPU (not https)' : 'no GPU';
  return [`${c.cores} cores`, c.memoryGiB !== undefined && `${c.memoryGiB} GiB`, gpu, c.wasmSimd && 'SIMD', `speed ${c.speed}`].filter(Boolean).join(', ');
}

/** A page's public id, the same across its reloads (what a volunteer reads on the join page). */
function volunteerCell(identity: string | undefined): HTMLTableCellElement {
  const td = cell('Volunteer', identity ? identity.slice(0, 8) : '–', 'mono');
  if (identity) td.title = identity;
  return td;
}

/** Its record with result verification: a badge, and how many of its
 * checked results agreed. Nothing checked yet (or a coordinator that does
 * not verify): a dash, not an alarming "untrusted". */
function trustCell(w: WorkerStats): HTMLTableCellElement {
  const state = w.trust ? standingState(w.trust) : 'unchecked';
  if (!w.trust || state === 'unchecked') return cell('Trust', '–');
  const { checked, agreed } = w.trust;
  const td = badge('Trust', state);
  td.title = `${formatNumber(agreed)} of ${formatNumber(checked)} checked results agreed with other volunteers'`;
  td.append(` ${formatNumber(agreed)}/${formatNumber(checked)}`);
  return td;
}

function renderWorkers(workers: WorkerStats[], t: number): void {
  const body = byId('workers').querySelector('tbody')!;
  for (const id of history.keys()) if (!workers.some((w) => w.id === id)) history.delete(id);
  const rows = workers.map((w) => {
    const rate = recentRate(w.id, t, w.tasksDone);
    const { browser, os } = describeUserAgent(w.userAgent);
    const state = w.paused ? 'paused' : w.currentTasks > 0 ? 'working' : 'idle';
    const tr = el('tr');
    tr.dataset.worker = w.id;
    const name = cell('Worker', w.id.slice(0, 8), 'mono');
    name.title = w.userAgent;
    tr.append(
      name,
      volunteerCell(w.identity),
      trustCell(w),
      cell('Browser', browser),
      cell('OS', os),
      cell('Threads', String(w.threads), 'num'),
      cell('Device', w.capabilities ? deviceSummary(w.capabilities) : '?'),
      cell('Tasks done', formatNumber(w.tasksDone), 'num'),
      cell('Tasks/s', formatNumber(rate), 'num'),
      badge('State', state),
      cell('WebRTC', w.peer ? 'yes' : 'no'),
      cell('Held for peers', formatNumber(w.peerTasks), 'num'),
      cell('Joined for', formatDuration(w.connectedSeconds), 'num'),
    );
    return tr;
  });
  body.replaceChildren(...rows);
  byId('no-workers').hidden = workers.length > 0;
}

const token = new URLSearchParams(location.search).get('token');
void showJoin();
const events = new EventSource(token ? `/api/events?token=${encodeURIComponent(token)}` : '/api/events');
events.onopen = () => {
  live.textContent = 'Live';
  live.dataset.state = 'connected';
};
events.onerror = () => {
  // EventSource reconnects by itself (the server asks for 2 s).
  live.textContent = 'Reconnecting…';
  live.dataset.state = 'disconnected';
  previous = undefined;
  history.clear();
};
events.onmessage = (e: MessageEvent<string>) => {
  render(JSON.parse(e.data) as Stats | PublicStats);
};
