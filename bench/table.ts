// One line of the report. `ratio` is Ladle ÷ baseline for rates, sizes and
// latencies, and baseline ÷ Ladle for wall times (the efficiency),
// as `ratioIs` says; `target` is issue 7's, in words.
export interface Row {
  figure: string;
  unit: string;
  ladle: number;
  baseline?: number;
  ratio?: number;
  ratioIs?: 'ladle/baseline' | 'baseline/ladle';
  target?: string;
  met?: boolean;
}

export interface EfficiencyPoint {
  ms: number;
  tasks: number;
  ladle: number;
  piscina: number;
}

export interface ScenarioResult {
  rows: Row[];
  /** Scenario-specific detail kept in the JSON (calibration, samples, ...). */
  detail?: Record<string, unknown>;
  efficiency?: EfficiencyPoint[];
}

export function rate(figure: string, unit: string, ladle: number, baseline: number | undefined, extra: Partial<Row> = {}): Row {
  return { figure, unit, ladle, baseline, ratio: baseline ? ladle / baseline : undefined, ratioIs: 'ladle/baseline', ...extra };
}

export function wall(figure: string, unit: string, ladle: number, baseline: number, extra: Partial<Row> = {}): Row {
  return { figure, unit, ladle, baseline, ratio: baseline / ladle, ratioIs: 'baseline/ladle', ...extra };
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export function formatTable(rows: readonly Row[]): string {
  const head = ['figure', 'Ladle', 'baseline', 'ratio', 'target'];
  const body = rows.map((r) => [
    `${r.figure} (${r.unit})`,
    fmt(r.ladle),
    fmt(r.baseline),
    r.ratio === undefined ? '—' : `${fmt(r.ratio)}${r.ratioIs === 'baseline/ladle' ? ' eff' : 'x'}`,
    r.target === undefined ? '' : `${r.target}${r.met === undefined ? '' : r.met ? '  ok' : '  MISSED'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}
