// The URLs a volunteer can open, LAN addresses first and 127.0.0.1 last: the
// banner prints them, and the dashboard shows the first large with its QR code.
import { networkInterfaces } from 'node:os';
import QRCode from 'qrcode';

export interface Listening {
  /** What the coordinator is bound to. */
  host: string;
  port: number;
  /** http(s)://host:port as bound. */
  url: string;
  joinToken?: string;
}

/** One URL per LAN address when bound to all interfaces; else the bound address. */
export function joinUrls(c: Listening, withJoinToken = true): string[] {
  const query = c.joinToken && withJoinToken ? `/?join=${encodeURIComponent(c.joinToken)}` : '';
  if (c.host !== '0.0.0.0' && c.host !== '::') return [c.url + query];
  const scheme = new URL(c.url).protocol.slice(0, -1);
  const urls: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) urls.push(`${scheme}://${a.address}:${c.port}${query}`);
    }
  }
  urls.push(`${scheme}://127.0.0.1:${c.port}${query}`);
  return urls;
}

/** A QR code of `text` as an SVG document (black on white, for a projector). */
export function svgQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', margin: 2, color: { dark: '#000000', light: '#ffffff' } });
}
