// The SCOOP paper's plot: efficiency against task duration, log x axis.
// Hand-written SVG so the bench needs no charting dependency.
import type { EfficiencyPoint } from './table.ts';

const W = 640;
const H = 400;
const M = { left: 60, right: 20, top: 40, bottom: 50 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export function efficiencySvg(points: readonly EfficiencyPoint[], subtitle: string): string {
  const lo = Math.log10(Math.min(...points.map((p) => p.ms)));
  const hi = Math.log10(Math.max(...points.map((p) => p.ms)));
  const yMax = Math.max(1.1, ...points.flatMap((p) => [p.ladle, p.piscina]));
  const x = (ms: number) => M.left + ((Math.log10(ms) - lo) / (hi - lo)) * PW;
  const y = (e: number) => M.top + PH - (Math.max(0, e) / yMax) * PH;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${M.left}" y="18" font-size="15" font-weight="bold">Efficiency against task duration (2 workers)</text>`);
  parts.push(`<text x="${M.left}" y="33" fill="#555">${escape(subtitle)}</text>`);
  for (let e = 0; e <= yMax + 1e-9; e += 0.2) {
    parts.push(`<line x1="${M.left}" x2="${M.left + PW}" y1="${f(y(e))}" y2="${f(y(e))}" stroke="${Math.abs(e - 1) < 1e-9 ? '#999' : '#e5e5e5'}"/>`);
    parts.push(`<text x="${M.left - 8}" y="${f(y(e) + 4)}" text-anchor="end">${e.toFixed(1)}</text>`);
  }
  for (const p of points) {
    parts.push(`<line x1="${f(x(p.ms))}" x2="${f(x(p.ms))}" y1="${M.top}" y2="${M.top + PH}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${f(x(p.ms))}" y="${M.top + PH + 18}" text-anchor="middle">${p.ms}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + PW / 2}" y="${H - 10}" text-anchor="middle">task duration (ms, log scale)</text>`);
  parts.push(`<text transform="translate(16 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">efficiency = ideal time / actual time</text>`);
  parts.push(`<rect x="${M.left + PW - 200}" y="${M.top + PH - 58}" width="194" height="50" fill="white" stroke="#ccc"/>`);
  const series = [
    { name: 'Ladle (1 Chromium page)', key: 'ladle', color: '#d9480f' },
    { name: 'Piscina (2 threads)', key: 'piscina', color: '#1971c2' },
  ] as const;
  series.forEach((s, i) => {
    const pts = points.map((p) => `${f(x(p.ms))},${f(y(p[s.key]))}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of points) parts.push(`<circle cx="${f(x(p.ms))}" cy="${f(y(p[s.key]))}" r="3.5" fill="${s.color}"><title>${s.name}: ${p[s.key].toFixed(3)} at ${p.ms} ms</title></circle>`);
    // Bottom right of the plot: where short tasks' low efficiency never reaches.
    const lx = M.left + PW - 190;
    const ly = M.top + PH - 44 + i * 20;
    parts.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 26}" y="${ly + 4}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
