// What `ladle coordinator` prints when it is up: every join URL, a QR code
// of the first (phones join by pointing their camera at the terminal), the
// dashboard (its public totals, and the private URL carrying the admin token
// that lists each worker and job), the stats API and how to submit.
//
// The QR code comes from `qrcode` (node-qrcode): widely used, maintained, and
// it renders to a terminal in half-block characters with explicit black on
// white, so it scans on dark and light terminals alike.
import QRCode from 'qrcode';

export interface BannerInfo {
  /** Join URLs, LAN addresses first, 127.0.0.1 last. */
  urls: string[];
  port: number;
  /** The single submit token, or '' when only named tokens are set. */
  token: string;
  /** Views each worker and job: the private dashboard URL carries it. */
  adminToken?: string;
  /** Colour the QR code with ANSI escapes (for a terminal); plain blocks otherwise. */
  ansi?: boolean;
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

/** A QR code of `text` for a terminal, two modules per character row. */
export async function terminalQr(text: string, ansi = false): Promise<string> {
  const art = ansi ? await QRCode.toString(text, { type: 'terminal', small: true }) : await QRCode.toString(text, { type: 'utf8', margin: 2 });
  return art.replace(/\n+$/, '');
}

export async function coordinatorBanner(info: BannerInfo): Promise<string> {
  const [first] = info.urls;
  const local = `${first?.startsWith('https:') ? 'https' : 'http'}://127.0.0.1:${info.port}`;
  const lines = ['Ladle coordinator is up.', 'Join by opening, in any browser:', ...info.urls.map((u) => `  ${u}`)];
  if (first && !isLoopback(first)) {
    lines.push(`Or scan this code to open ${first}:`, await terminalQr(first, info.ansi));
  } else {
    lines.push('(Listening on this machine only: --host 0.0.0.0 lets other devices join, with a QR code to scan.)');
  }
  const origin = first ? new URL(first).origin : local;
  lines.push(
    `Dashboard: ${origin}/dashboard`,
    info.adminToken
      ? `Details:   ${origin}/dashboard?token=${encodeURIComponent(info.adminToken)} (workers and jobs; keep it private)`
      : `Details:   ${origin}/dashboard?token=<a submit token> (workers and jobs)`,
    `Stats:     ${local}/api/stats`,
    `Submit:    LADLE_URL=${local} LADLE_TOKEN=${info.token || '<one of the named tokens>'}`,
  );
  return lines.join('\n');
}
