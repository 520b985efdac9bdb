// A small live line chart drawn on a canvas by hand: a filled line over a
// few grid lines, with the scale's top value written in the corner. Colours
// come from the CSS custom properties --chart-line, --chart-fill and
// --chart-grid, so the chart follows the page's light or dark theme.

export interface ChartOptions {
  /** How many points fit across; older ones scroll off the left. */
  capacity: number;
  /** Unit after the scale's top value, e.g. "/s". */
  unit?: string;
}

export class LineChart {
  private readonly values: number[] = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly options: ChartOptions,
  ) {
    // Redraw when the layout (and so the canvas's size) changes.
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.draw()).observe(canvas);
  }

  push(value: number): void {
    this.values.push(Number.isFinite(value) ? Math.max(0, value) : 0);
    if (this.values.length > this.options.capacity) this.values.splice(0, this.values.length - this.options.capacity);
    this.draw();
  }

  draw(): void {
    const { canvas } = this;
    const cssWidth = canvas.clientWidth;
    const cssHeight = canvas.clientHeight;
    if (cssWidth === 0 || cssHeight === 0) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(cssWidth * dpr);
    const height = Math.round(cssHeight * dpr);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);

    const style = getComputedStyle(canvas);
    const color = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    const line = color('--chart-line', '#2a7ae2');
    const fill = color('--chart-fill', 'rgba(42, 122, 226, 0.15)');
    const grid = color('--chart-grid', 'rgba(128, 128, 128, 0.25)');
    const text = color('--chart-text', 'rgba(128, 128, 128, 0.9)');

    const top = niceCeiling(Math.max(1, ...this.values));
    const pad = { top: 6, bottom: 4 };
    const plotHeight = cssHeight - pad.top - pad.bottom;
    const y = (v: number) => pad.top + plotHeight * (1 - v / top);
    const step = cssWidth / Math.max(1, this.options.capacity - 1);
    // The newest point sits at the right edge.
    const x = (i: number) => cssWidth - (this.values.length - 1 - i) * step;

    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const f of [0, 0.5, 1]) {
      const gy = Math.round(y(top * f)) + 0.5;
      ctx.moveTo(0, gy);
      ctx.lineTo(cssWidth, gy);
    }
    ctx.stroke();

    if (this.values.length > 1) {
      ctx.beginPath();
      this.values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
      ctx.lineTo(x(this.values.length - 1), y(0));
      ctx.lineTo(x(0), y(0));
      ctx.closePath();
      ctx.fillStyle = fill;
      ctx.fill();
      ctx.beginPath();
      this.values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
      ctx.strokeStyle = line;
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      ctx.stroke();
    }

    ctx.fillStyle = text;
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillText(`${formatNumber(top)}${this.options.unit ?? ''}`, 4, pad.top + 2);
  }
}

/** 1, 2, 5, 10, 20, 50, ...: a round top for the scale at or above `v`. */
export function niceCeiling(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= v) return m * magnitude;
  return 10 * magnitude;
}

/** 1234567 -> "1,234,567"; 12.345 -> "12.3"; 0.5 -> "0.5". */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 100 || Number.isInteger(n)) return grouped(n);
  return n.toFixed(1);
}

/** A rounded number with a comma every three digits. Not toLocaleString:
 * its first call loads the locale data, about 80 ms of a join page's start
 * on a server core (more on a phone), for one comma. */
function grouped(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** Seconds as "45 s", "3 min 05 s", "2 h 04 min", "3 d 4 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

/** 0 -> "0 B"; 1536 -> "1.5 KB"; 5 MiB -> "5.0 MB" (binary multiples, as file sizes are usually shown). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, bytes);
  let i = 0;
  // Up a unit once the figure would round to 1,024 (1023.6 KB is "1.0 MB").
  while (i < units.length - 1 && v >= 1023.5) {
    v /= 1024;
    i++;
  }
  return `${i === 0 || v >= 100 ? grouped(v) : v.toFixed(1)} ${units[i]}`;
}
