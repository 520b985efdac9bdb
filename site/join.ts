// The join page: opening it starts the volunteer runtime, and the page shows
// what it does and lets the volunteer choose how much to give: threads,
// pause, and automatic pauses on battery power or while the tab is hidden.
import { Runtime, threadsFromLocation, type RuntimeStatus } from '../browser-worker/runtime.ts';
import type { PeerStatus } from '../browser-worker/peer-offload.ts';
import { LineChart, formatBytes, formatNumber } from './chart.ts';
import { describeCapabilities } from '../browser-worker/capabilities.ts';
import { describeStanding, standingState } from './standing.ts';

// ---- remembered settings (localStorage may be unavailable: private modes) ----

const KEYS = { threads: 'ladle.threads', battery: 'ladle.pauseOnBattery', hidden: 'ladle.pauseWhenHidden', awake: 'ladle.keepAwake' } as const;

function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
function save(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not remembered, but it still applies to this visit.
  }
}

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`join page: #${id} is missing`);
  return el as T;
}

const cores = Math.max(1, navigator.hardwareConcurrency || 1);
/** Half the cores: what a phone, or a laptop on battery, starts with. */
const gentle = Math.max(1, Math.floor(cores / 2));
const isPhone =
  (navigator as Navigator & { userAgentData?: { mobile?: boolean } }).userAgentData?.mobile === true || /Android|iPhone|iPad|Mobile/i.test(navigator.userAgent);
/** Whether the volunteer chose the thread count (`?threads=N` or the slider). */
const chosenThreads = new URLSearchParams(location.search).has('threads') || Number.isInteger(Number(load(KEYS.threads))) && Number(load(KEYS.threads)) >= 1;
/** `?threads=N` wins (scripts and `ladle workers` use it), then the remembered
 * choice, then one per core (half of them on a phone). */
function initialThreads(): number {
  if (new URLSearchParams(location.search).has('threads')) return threadsFromLocation();
  const stored = Number(load(KEYS.threads));
  if (Number.isInteger(stored) && stored >= 1) return Math.min(stored, cores);
  return isPhone ? gentle : cores;
}

// ---- the runtime ----

const threads = initialThreads();
const reasons = { manual: false, battery: false, hidden: false };
const settings = { battery: load(KEYS.battery) === 'true', hidden: load(KEYS.hidden) === 'true', awake: load(KEYS.awake) !== 'false' };

const els = {
  state: byId('state'),
  pause: byId<HTMLButtonElement>('pause'),
  pauseReason: byId('pause-reason'),
  threads: byId<HTMLInputElement>('threads'),
  threadsValue: byId('threads-value'),
  threadsMax: byId('threads-max'),
  battery: byId<HTMLInputElement>('pause-on-battery'),
  batteryNote: byId('battery-note'),
  hidden: byId<HTMLInputElement>('pause-when-hidden'),
  done: byId('done'),
  rate: byId('rate'),
  running: byId('running'),
  workerId: byId('worker-id'),
  gridWorkers: byId('grid-workers'),
  gridQueued: byId('grid-queued'),
  gridCompleted: byId('grid-completed'),
  peer: byId('peer'),
  peerState: byId('peer-state'),
  peerCounts: byId('peer-counts'),
  awake: byId<HTMLInputElement>('keep-awake'),
  awakeNote: byId('keep-awake-note'),
  sleepHint: byId('sleep-hint'),
  device: byId('device'),
  record: byId('record'),
  standing: byId('standing'),
  volunteerId: byId('volunteer-id'),
  identityNote: byId('identity-note'),
};

const runtime = new Runtime({ threads, paused: false, onStatus: render });
// Exposed for tests and for the curious: `ladle.status` in the console.
(globalThis as { ladle?: Runtime }).ladle = runtime;

function render(status: RuntimeStatus): void {
  let label: string;
  let state: string;
  if (status.state !== 'connected') {
    state = status.state;
    label = status.state === 'connecting' ? 'Connecting…' : 'Disconnected: retrying';
  } else if (status.paused) {
    state = 'paused';
    label = status.running > 0 ? `Paused: finishing ${status.running} started task${status.running === 1 ? '' : 's'}` : 'Paused';
  } else {
    state = status.running > 0 ? 'working' : 'connected';
    label = status.running > 0 ? 'Computing' : 'Connected: waiting for work';
  }
  els.state.textContent = label;
  els.state.dataset.state = state;
  els.done.textContent = formatNumber(status.tasksDone);
  els.running.textContent = String(status.running);
  els.threadsValue.textContent = String(status.threads);
  els.workerId.textContent = status.workerId ? `Worker ${status.workerId.slice(0, 8)} · ` : '';
  els.pause.textContent = reasons.manual ? 'Resume' : 'Pause';
  els.pause.setAttribute('aria-pressed', String(reasons.manual));
  const why = [reasons.battery && 'this device is on battery power', reasons.hidden && 'this tab is hidden'].filter(Boolean);
  els.pauseReason.hidden = why.length === 0;
  els.pauseReason.textContent = why.length ? `Paused because ${why.join(' and ')} (see the settings below).` : '';
  renderPeer(status.peer);
  if (status.capabilities) els.device.textContent = `This device: ${describeCapabilities(status.capabilities)}`;
  renderRecord(status);
}

/** The volunteer's record (when the grid verifies results) and public id,
 * which the operator's dashboard lists: a volunteer can name it. */
function renderRecord({ identity, standing }: RuntimeStatus): void {
  els.identityNote.hidden = identity?.kept !== false;
  els.record.hidden = !identity && !standing;
  els.record.dataset.state = standing ? standingState(standing) : 'unchecked';
  els.standing.textContent = standing ? describeStanding(standing) : '';
  if (identity) {
    els.volunteerId.textContent = `${standing ? ' · ' : ''}Volunteer id ${identity.id.slice(0, 8)}`;
    els.volunteerId.title = identity.id;
  }
}

const plural = (n: number, one: string, many: string) => `${formatNumber(n)} ${n === 1 ? one : many}`;

/** One quiet line on whether this tab trades tasks with other tabs directly (WebRTC), in plain words. */
function renderPeer(peer: PeerStatus): void {
  let label: string;
  switch (peer.state) {
    case 'open':
      label = peer.links > 0 ? `Sharing work directly with ${plural(peer.links, 'other tab', 'other tabs')}` : 'Ready to share work directly with other tabs';
      break;
    case 'connecting':
      label = 'Linking to other tabs…';
      break;
    case 'unavailable':
      label = 'No direct links to other tabs: work goes through the grid server';
      break;
    default:
      label = 'Direct links to other tabs: off';
  }
  const counts =
    peer.given + peer.taken > 0
      ? [`handed ${plural(peer.given, 'task', 'tasks')} to other tabs`, `took ${formatNumber(peer.taken)} from other tabs`, `sent ${formatBytes(peer.bytesSent)}`]
      : [];
  // Only when it happened: another tab was too slow and this tab ran its tasks too.
  if (peer.copied > 0) counts.push(`reran ${formatNumber(peer.copied)} another tab was slow with`);
  els.peer.dataset.state = peer.state;
  els.peerState.textContent = label;
  els.peerCounts.textContent = counts.map((c) => ` · ${c}`).join('');
}

function applyPause(): void {
  runtime.setPaused(reasons.manual || reasons.battery || reasons.hidden);
  render(runtime.status);
  void keepAwake();
}

// ---- the screen wake lock: a phone that sleeps drops its tab ----

interface WakeLockSentinel extends EventTarget {
  released: boolean;
  release(): Promise<void>;
}
const wakeLockApi = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<WakeLockSentinel> } }).wakeLock;
let wakeLock: WakeLockSentinel | undefined;
/** Holds the lock while the tab helps and is in front (the browser drops it when hidden); lets it go otherwise. */
async function keepAwake(): Promise<void> {
  const want = settings.awake && !runtime.status.paused && document.visibilityState === 'visible';
  if (!want) {
    const held = wakeLock;
    wakeLock = undefined;
    await held?.release().catch(() => undefined);
    return;
  }
  if (!wakeLockApi || (wakeLock && !wakeLock.released)) return;
  try {
    wakeLock = await wakeLockApi.request('screen');
    els.awakeNote.textContent = '';
  } catch {
    els.awakeNote.textContent = '(the browser refused: low battery, or not allowed here)';
  }
}

// ---- controls ----

els.threads.max = String(Math.max(cores, threads));
els.threads.value = String(threads);
els.threadsMax.textContent = String(cores);
els.threads.addEventListener('input', () => {
  els.threadsValue.textContent = els.threads.value;
});
// Applied on release (and on each arrow key), not on every pixel of a drag.
els.threads.addEventListener('change', () => {
  const n = Number(els.threads.value);
  save(KEYS.threads, String(n));
  runtime.setThreads(n);
});

els.pause.addEventListener('click', () => {
  reasons.manual = !reasons.manual;
  applyPause();
});

els.awake.checked = settings.awake;
if (!wakeLockApi) {
  els.awake.disabled = true;
  // Browsers give it only to secure pages, and a grid's plain http:// address on a LAN is not one.
  els.awakeNote.textContent = window.isSecureContext ? '(this browser cannot)' : '(browsers allow it only on https:// addresses: keep the screen on by hand)';
}
els.awake.addEventListener('change', () => {
  settings.awake = els.awake.checked;
  save(KEYS.awake, String(settings.awake));
  void keepAwake();
});

els.hidden.checked = settings.hidden;
const onVisibility = () => {
  reasons.hidden = settings.hidden && document.visibilityState === 'hidden';
  applyPause();
};
els.hidden.addEventListener('change', () => {
  settings.hidden = els.hidden.checked;
  save(KEYS.hidden, String(settings.hidden));
  onVisibility();
});
document.addEventListener('visibilitychange', onVisibility);

interface BatteryManager extends EventTarget {
  charging: boolean;
}
let battery: BatteryManager | undefined;
let batteryChecked = false;
const onBattery = () => {
  reasons.battery = settings.battery && battery !== undefined && !battery.charging;
  // On battery, a first visit starts gently: half the cores (the slider gives more).
  if (!batteryChecked && battery && !battery.charging && !chosenThreads && runtime.status.threads > gentle) {
    runtime.setThreads(gentle);
    els.threads.value = String(gentle);
  }
  batteryChecked = true;
  applyPause();
};
const noBatteryApi = () => {
  els.battery.disabled = true;
  els.batteryNote.textContent = '(this browser does not tell)';
};
els.battery.checked = settings.battery;
els.battery.addEventListener('change', () => {
  settings.battery = els.battery.checked;
  save(KEYS.battery, String(settings.battery));
  onBattery();
});
const getBattery = (navigator as Navigator & { getBattery?: () => Promise<BatteryManager> }).getBattery;
if (typeof getBattery !== 'function') {
  noBatteryApi();
} else {
  getBattery.call(navigator).then((b) => {
    battery = b;
    battery.addEventListener('chargingchange', onBattery);
    onBattery();
  }, noBatteryApi);
}

// ---- this tab's rate and chart: one sample a second ----

const chart = new LineChart(byId<HTMLCanvasElement>('chart'), { capacity: 120, unit: '/s' });
/** A gap between one-second ticks this long means the tab slept. */
const SLEPT_MS = 10_000;
const samples: { t: number; done: number }[] = [];
let lastDone = 0;
let lastT = performance.now();
setInterval(() => {
  const t = performance.now();
  // Timers stop while a device sleeps or a hidden tab is frozen: say so, once back.
  if (t - lastT > SLEPT_MS) {
    els.sleepHint.textContent = `This tab was put to sleep for about ${Math.round((t - lastT) / 1000)} s (the screen went off, or the browser froze a tab in the background). Keep the screen on and this tab in front to keep helping.`;
    els.sleepHint.hidden = false;
  }
  const done = runtime.status.tasksDone;
  chart.push(((done - lastDone) * 1000) / (t - lastT));
  lastDone = done;
  lastT = t;
  samples.push({ t, done });
  while (samples.length > 1 && t - samples[0].t > 5000) samples.shift();
  // The rate over the last five seconds: steady enough to read.
  const first = samples[0];
  const rate = t > first.t ? ((done - first.done) * 1000) / (t - first.t) : 0;
  els.rate.textContent = formatNumber(rate);
}, 1000);

// ---- the grid's totals, pushed by the coordinator ----

interface Totals {
  workers: number;
  queued: number;
  completed: number;
}
const events = new EventSource('/api/events?view=totals');
events.onmessage = (e: MessageEvent<string>) => {
  const totals = JSON.parse(e.data) as Totals;
  els.gridWorkers.textContent = formatNumber(totals.workers);
  els.gridQueued.textContent = formatNumber(totals.queued);
  els.gridCompleted.textContent = formatNumber(totals.completed);
};

onVisibility();
runtime.start();
render(runtime.status);
