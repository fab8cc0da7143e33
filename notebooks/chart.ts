/**
 * The notebooks' one chart helper: a typed spec -> a Plotly figure (JSON)
 * whose title, axis titles and legend are always there. plotly.js 2+ renders
 * only `title: { text }` (a bare string title is ignored), so the helper
 * writes every title in that form, and refuses a chart without a title, an
 * axis without a title, or two or more traces of which one has no name (the
 * legend would not say what it is).
 *
 * Pure (no tslab, no DOM): `lib.ts` displays the figure; tests check the JSON.
 * Keep within TypeScript 5.0 syntax (tslab's compiler).
 */

export interface Axis {
  /** Axis title (required, with the unit where there is one). */
  title: string;
  range?: [number, number];
  type?: 'linear' | 'log' | 'date' | 'category';
  tickformat?: string;
  /** Ticks at these values with these labels (e.g. config names on a numeric axis with dodged points). */
  ticks?: { values: number[]; labels: string[] };
}

/** A Plotly trace; `name` is what the legend shows; `panel` (0-based) picks the stacked y axis. */
export type Trace = { name: string; panel?: number } & Record<string, unknown>;

export interface ChartSpec {
  title: string;
  x: Axis;
  /** One y axis, or stacked panels sharing the x axis (top first; traces choose with `panel`). */
  y: Axis | Axis[];
  traces: Trace[];
  /** Pixels (default 420, +160 per extra panel). */
  height?: number;
  /** Plotly shapes (threshold lines, shading); `yref: 'paper'` spans every panel. */
  shapes?: Record<string, unknown>[];
  annotations?: Record<string, unknown>[];
  /** Legend (default: when there are 2+ traces). */
  legend?: boolean;
}

export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

function axisLayout(a: Axis, where: string): Record<string, unknown> {
  if (typeof a?.title !== 'string' || a.title.trim() === '') throw new Error(`chart: ${where} has no title`);
  const o: Record<string, unknown> = { title: { text: a.title }, automargin: true };
  if (a.range) o.range = a.range;
  if (a.type) o.type = a.type;
  if (a.tickformat) o.tickformat = a.tickformat;
  if (a.ticks) {
    if (a.ticks.values.length !== a.ticks.labels.length)
      throw new Error(`chart: ${where} has ${a.ticks.values.length} tick values and ${a.ticks.labels.length} labels`);
    o.tickmode = 'array';
    o.tickvals = [...a.ticks.values];
    o.ticktext = [...a.ticks.labels];
  }
  return o;
}

/** The Plotly figure of a spec (throws on a missing title, axis title or trace name). */
export function figure(spec: ChartSpec): Figure {
  if (typeof spec.title !== 'string' || spec.title.trim() === '') throw new Error('chart: no title');
  const panels = Array.isArray(spec.y) ? spec.y : [spec.y];
  if (panels.length === 0) throw new Error(`chart '${spec.title}': no y axis`);
  const named = spec.traces.every((t) => typeof t.name === 'string' && t.name.trim() !== '');
  if (spec.traces.length > 1 && !named) throw new Error(`chart '${spec.title}': every trace needs a name (legend)`);
  const data = spec.traces.map((t) => {
    const { panel, ...rest } = t;
    const p = panel ?? 0;
    if (!(Number.isInteger(p) && p >= 0 && p < panels.length))
      throw new Error(`chart '${spec.title}': trace '${t.name}' is on panel ${p} of ${panels.length}`);
    return p === 0 ? rest : { ...rest, yaxis: `y${p + 1}` };
  });
  const layout: Record<string, unknown> = {
    title: { text: spec.title, x: 0.01, xanchor: 'left' },
    xaxis: axisLayout(spec.x, 'x axis'),
    showlegend: spec.legend ?? spec.traces.length > 1,
    legend: { orientation: 'h', x: 0, y: -0.12, yanchor: 'top' },
    height: spec.height ?? 420 + 160 * (panels.length - 1),
    margin: { l: 70, r: 30, t: 50, b: 60 },
  };
  if (panels.length > 1)
    layout.grid = { rows: panels.length, columns: 1, pattern: 'coupled', roworder: 'top to bottom' };
  panels.forEach((a, i) => {
    layout[i === 0 ? 'yaxis' : `yaxis${i + 1}`] = axisLayout(a, `y axis ${i + 1}`);
  });
  if (spec.shapes) layout.shapes = spec.shapes;
  if (spec.annotations) layout.annotations = spec.annotations;
  return { data, layout };
}

/** Names of every axis title of a figure (x, y, y2, ...) with its text, for checks. */
export function axisTitles(f: Figure): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(f.layout)) {
    if (!/^[xy]axis\d*$/.test(k)) continue;
    const t = (v as { title?: { text?: unknown } }).title?.text;
    out[k] = typeof t === 'string' ? t : null;
  }
  return out;
}
