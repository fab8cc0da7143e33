/**
 * Hand-written SVG charts for reports: self-contained (no scripts, no external
 * fonts: generic `sans-serif`), fixed size, deterministic (coordinates rounded
 * to 0.01 px, fixed palette, no ids from counters or clocks), so equal inputs
 * give identical bytes.
 *
 * - `lineChart`: several series over x (time in ms when `xTime`), horizontal
 *   threshold lines, vertical markers (incidents). A null / non-finite y breaks
 *   the line (it is never drawn as 0); an isolated point is drawn as a dot.
 * - `barChart`: bars with optional CI error bars, grouped labels, threshold
 *   lines; a null bar is drawn as the text `n/a` (with its note) instead of a bar.
 * - `reliabilityDiagram`: mean predicted vs observed per bin with the diagonal,
 *   and the per-bin counts as bars underneath; empty bins have no point.
 * - `percentileChart`: p50 / p90 / p99 over time (a `lineChart`).
 *
 * Axes scale from the data with "nice" ticks (1, 2, 5 × 10^k; time ticks at
 * whole minutes / hours in UTC). Every element drawn from data carries a class
 * (`series`, `dot`, `threshold`, `marker`, `bar`, `errbar`, `point`, `count`)
 * and `data-*` attributes, which the tests count.
 */

export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
] as const;

export interface Threshold {
  readonly y: number;
  readonly label: string;
  readonly color?: string;
}

export interface Marker {
  readonly x: number;
  readonly label: string;
  readonly color?: string;
}

export interface LineSeries {
  readonly name: string;
  /** x values (ms when the chart is `xTime`). */
  readonly x: ArrayLike<number>;
  /** y values; null / NaN = missing (breaks the line). */
  readonly y: ArrayLike<number | null>;
  readonly color?: string;
  readonly dash?: string;
  /** Draw as a step line (value holds until the next x), e.g. a config setting. */
  readonly step?: boolean;
  /** Stroke width (default 1.6); series are drawn in order, so the last is on top. */
  readonly width?: number;
  /** Stroke opacity (default 1). */
  readonly opacity?: number;
}

export interface LineChartSpec {
  readonly title: string;
  readonly series: readonly LineSeries[];
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** x values are epoch ms: ticks at whole UTC minutes / hours, labels HH:MM. */
  readonly xTime?: boolean;
  /** Fixed y range; default from the data, thresholds included. */
  readonly yDomain?: readonly [number, number];
  readonly thresholds?: readonly Threshold[];
  readonly markers?: readonly Marker[];
  /**
   * x ranges drawn as a strip under the plot, one row per distinct `row` label
   * (e.g. the periods each gate had an incident open), so the series stay clear.
   */
  readonly bands?: readonly Band[];
  /** A note at the top right of the plot (e.g. what the bands are). */
  readonly note?: string;
  readonly width?: number;
  readonly height?: number;
}

export interface Band {
  readonly x0: number;
  readonly x1: number;
  /** Strip row label (e.g. `fusion_auc_active P1`). */
  readonly row: string;
  readonly color?: string;
}

export interface Bar {
  readonly label: string;
  readonly value: number | null;
  readonly lo?: number | null;
  readonly hi?: number | null;
  /** Bars with the same group are drawn together under a group label. */
  readonly group?: string;
  /** Shown under a null bar (e.g. `n=12`). */
  readonly note?: string;
  readonly color?: string;
}

export interface BarChartSpec {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly yLabel?: string;
  /** Fixed y range; default: fitted to the bars, CIs, thresholds and the baseline. */
  readonly yDomain?: readonly [number, number];
  /** Where bars start (default 0), e.g. 0.5 for AUC: bars grow up or down from chance. */
  readonly baseline?: number;
  readonly thresholds?: readonly Threshold[];
  readonly width?: number;
  readonly height?: number;
}

export interface ReliabilityBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  readonly mean_p: number | null;
  readonly mean_y: number | null;
}

export interface ReliabilitySpec {
  readonly title: string;
  readonly bins: readonly ReliabilityBin[];
  /** Shown under the title, e.g. `ECE 0.043 (n=5400)`. */
  readonly subtitle?: string;
  readonly width?: number;
  readonly height?: number;
}

export interface PercentileSpec {
  readonly title: string;
  readonly x: ArrayLike<number>;
  readonly p50: ArrayLike<number | null>;
  readonly p90: ArrayLike<number | null>;
  readonly p99: ArrayLike<number | null>;
  /** Extra series (e.g. merge_tol_ms as a step line). */
  readonly extra?: readonly LineSeries[];
  readonly yLabel?: string;
  readonly thresholds?: readonly Threshold[];
  readonly markers?: readonly Marker[];
  readonly bands?: readonly Band[];
  readonly note?: string;
  readonly width?: number;
  readonly height?: number;
}

// ---------------------------------------------------------------- helpers

/** Coordinate text: 2 decimals, no trailing zeros, never `-0`. */
export function px(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`svg: non-finite coordinate ${v}`);
  const r = Math.round(v * 100) / 100;
  if (r === 0) return '0';
  return String(r);
}

/** XML text / attribute escape. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function isNum(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** "Nice" step for a range split into about `count` intervals (1, 2, 5 × 10^k). */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * mag;
}

/** Domain widened to nice tick multiples, with the ticks. A flat or empty range is widened. */
export function niceScale(
  min: number,
  max: number,
  count = 5,
): { lo: number; hi: number; ticks: number[]; step: number } {
  if (!isNum(min) || !isNum(max)) {
    min = 0;
    max = 1;
  }
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  const nTicks = Math.round((hi - lo) / step);
  for (let k = 0; k <= nTicks; k++) ticks.push(cleanFloat(lo + k * step));
  return { lo: cleanFloat(lo), hi: cleanFloat(hi), ticks, step };
}

function cleanFloat(v: number): number {
  return Number(v.toPrecision(12));
}

/** Tick label: up to 4 significant digits, no exponent for usual ranges. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 && Number.isInteger(v)) return String(v);
  const s = Number(v.toPrecision(4));
  return String(s);
}

const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60_000);

/** Time ticks (epoch ms) at whole UTC multiples of a step from 1 minute to 1 day. */
export function timeTicks(min: number, max: number, count = 6): { ticks: number[]; step: number } {
  const span = Math.max(max - min, 60_000);
  let step = TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
  for (const s of TIME_STEPS_MS) {
    if (span / s <= count) {
      step = s;
      break;
    }
  }
  if (span / step > count) step = Math.ceil(span / count / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  return { ticks, step };
}

/** `HH:MM` (UTC); with the date `MM-DD HH:MM` when the step is a day or the date changes inside the range. */
export function timeLabel(ms: number, withDate: boolean): string {
  const iso = new Date(ms).toISOString();
  return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

interface Frame {
  readonly w: number;
  readonly h: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

function open(w: number, h: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text class="title" x="${px(w / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
}

function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function yAxis(out: string[], f: Frame, ticks: readonly number[], y: (v: number) => number, label?: string): void {
  for (const t of ticks) {
    const yy = px(y(t));
    out.push(
      `<line class="grid" x1="${px(f.left)}" y1="${yy}" x2="${px(f.w - f.right)}" y2="${yy}" stroke="#e5e5e5"/>`,
    );
    out.push(
      `<text class="ytick" x="${px(f.left - 6)}" y="${yy}" dy="0.35em" text-anchor="end">${esc(tickLabel(t))}</text>`,
    );
  }
  out.push(
    `<line class="axis" x1="${px(f.left)}" y1="${px(f.top)}" x2="${px(f.left)}" y2="${px(f.h - f.bottom)}" stroke="#333333"/>`,
  );
  if (label) {
    const cy = (f.top + f.h - f.bottom) / 2;
    const lx = px(Math.max(14, f.left - 48));
    out.push(
      `<text class="ylabel" x="${lx}" y="${px(cy)}" text-anchor="middle" transform="rotate(-90 ${lx} ${px(cy)})">${esc(label)}</text>`,
    );
  }
}

function xAxisLine(out: string[], f: Frame): void {
  const yb = px(f.h - f.bottom);
  out.push(`<line class="axis" x1="${px(f.left)}" y1="${yb}" x2="${px(f.w - f.right)}" y2="${yb}" stroke="#333333"/>`);
}

/** Right margin that holds the threshold labels (outside the plot: no collision with data). */
function gutter(ths: readonly Threshold[]): number {
  const longest = ths.reduce((m, t) => Math.max(m, t.label.length), 0);
  return longest === 0 ? 18 : Math.ceil(12 + longest * 5.9);
}

function thresholdLines(out: string[], f: Frame, ths: readonly Threshold[], y: (v: number) => number): void {
  const shown = ths.filter((t) => isNum(t.y)).map((t) => ({ t, at: y(t.y) }));
  for (const { t, at } of shown) {
    const c = t.color ?? '#555555';
    out.push(
      `<line class="threshold" data-y="${esc(tickLabel(t.y))}" x1="${px(f.left)}" y1="${px(at)}" x2="${px(f.w - f.right)}" y2="${px(at)}" stroke="${c}" stroke-dasharray="6 3" stroke-width="1.4"/>`,
    );
  }
  // labels in the right gutter at their line's height, pushed apart to >= 12 px (top to bottom)
  const labels = [...shown].sort((a, b) => a.at - b.at);
  let prev = -Infinity;
  for (const l of labels) {
    const yy = Math.max(l.at, prev + 12);
    prev = yy;
    const c = l.t.color ?? '#555555';
    out.push(
      `<text class="threshold-label" x="${px(f.w - f.right + 4)}" y="${px(yy)}" dy="0.35em" text-anchor="start" font-size="10" fill="${c}">${esc(l.t.label)}</text>`,
    );
  }
}

function legend(out: string[], f: Frame, items: readonly { name: string; color: string; dash?: string }[]): void {
  let x = f.left;
  const y = f.top - 10;
  for (const it of items) {
    out.push(
      `<line class="legend" x1="${px(x)}" y1="${px(y)}" x2="${px(x + 18)}" y2="${px(y)}" stroke="${it.color}" stroke-width="2"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`,
    );
    out.push(`<text x="${px(x + 22)}" y="${px(y)}" dy="0.35em">${esc(it.name)}</text>`);
    x += 30 + it.name.length * 6.2;
  }
}

// ---------------------------------------------------------------- line chart

/** Multi-series line chart (see the file comment). */
export function lineChart(spec: LineChartSpec): string {
  const w = spec.width ?? 760;
  const bands = (spec.bands ?? []).filter((b) => isNum(b.x0) && isNum(b.x1));
  const rows = [...new Set(bands.map((b) => b.row))];
  const strip = rows.length > 0 ? 14 + rows.length * 14 : 0;
  const h = (spec.height ?? 340) + strip;
  const ths = (spec.thresholds ?? []).filter((t) => isNum(t.y));
  const f: Frame = {
    w,
    h,
    left: rows.length > 0 ? 132 : 62,
    right: gutter(ths),
    top: 52,
    bottom: 46 + strip,
  };
  const markers = (spec.markers ?? []).filter((m) => isNum(m.x));

  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const s of spec.series) {
    if (s.x.length !== s.y.length)
      throw new RangeError(`lineChart: series '${s.name}' has ${s.x.length} x and ${s.y.length} y values`);
    for (let i = 0; i < s.x.length; i++) {
      const xv = s.x[i];
      if (!isNum(xv)) continue;
      xmin = Math.min(xmin, xv);
      xmax = Math.max(xmax, xv);
      const yv = s.y[i];
      if (isNum(yv)) {
        ymin = Math.min(ymin, yv);
        ymax = Math.max(ymax, yv);
      }
    }
  }
  for (const m of markers) {
    xmin = Math.min(xmin, m.x);
    xmax = Math.max(xmax, m.x);
  }
  for (const t of ths) {
    ymin = Math.min(ymin, t.y);
    ymax = Math.max(ymax, t.y);
  }
  const hasX = Number.isFinite(xmin);
  if (!hasX) {
    xmin = 0;
    xmax = 1;
  } else if (xmin === xmax) {
    const pad = spec.xTime ? 60_000 : xmin === 0 ? 1 : Math.abs(xmin) * 0.1;
    xmin -= pad;
    xmax += pad;
  }
  const ys = spec.yDomain ? niceFixed(spec.yDomain) : niceScale(ymin, ymax, 5);
  const x = linear(xmin, xmax, f.left, w - f.right);
  const y = linear(ys.lo, ys.hi, h - f.bottom, f.top);

  const out = open(w, h, spec.title);
  yAxis(out, f, ys.ticks, y, spec.yLabel);
  xAxisLine(out, f);
  // x ticks
  if (spec.xTime) {
    const tt = timeTicks(xmin, xmax);
    const withDate =
      tt.step >= 86_400_000 || new Date(xmin).toISOString().slice(0, 10) !== new Date(xmax).toISOString().slice(0, 10);
    for (const t of tt.ticks) pushXTick(out, f, x(t), timeLabel(t, withDate));
  } else {
    const xs = niceScale(xmin, xmax, 6);
    for (const t of xs.ticks) if (t >= xmin && t <= xmax) pushXTick(out, f, x(t), tickLabel(t));
  }
  const xl = spec.xLabel ?? (spec.xTime ? 'time (UTC)' : undefined);
  if (xl)
    out.push(
      `<text class="xlabel" x="${px((f.left + w - f.right) / 2)}" y="${px(h - 8)}" text-anchor="middle">${esc(xl)}</text>`,
    );

  rows.forEach((r, k) => {
    const yy = h - f.bottom + 26 + k * 14;
    out.push(
      `<rect class="strip" x="${px(f.left)}" y="${px(yy)}" width="${px(w - f.right - f.left)}" height="10" fill="#f3f3f3"/>`,
    );
    out.push(
      `<text class="strip-label" x="${px(f.left - 6)}" y="${px(yy + 5)}" dy="0.35em" text-anchor="end" font-size="9" fill="#333">${esc(r)}</text>`,
    );
    for (const b of bands) {
      if (b.row !== r) continue;
      const x0 = x(clamp(b.x0, xmin, xmax));
      const x1 = x(clamp(b.x1, xmin, xmax));
      out.push(
        `<rect class="band" data-x0="${b.x0}" data-x1="${b.x1}" x="${px(x0)}" y="${px(yy)}" width="${px(Math.max(1, x1 - x0))}" height="10" fill="${b.color ?? '#d62728'}"/>`,
      );
    }
  });
  if (spec.note)
    out.push(
      `<text class="note" x="${px(w - f.right)}" y="${px(f.top + 2)}" text-anchor="end" dy="0.8em" font-size="10" fill="#555">${esc(spec.note)}</text>`,
    );
  thresholdLines(out, f, ths, y);
  // labels staggered over 4 rows (by x order) so close markers stay readable; past
  // MAX_MARKER_LABELS the lines stay (faint) and one note replaces the labels
  const byX = markers.map((m, i) => ({ m, i })).sort((a, b) => a.m.x - b.m.x || a.i - b.i);
  const labelled = byX.length <= MAX_MARKER_LABELS;
  byX.forEach(({ m }, k) => {
    const xx = px(x(m.x));
    const c = m.color ?? '#7f7f7f';
    out.push(
      `<line class="marker" data-x="${m.x}" x1="${xx}" y1="${px(f.top)}" x2="${xx}" y2="${px(h - f.bottom)}" stroke="${c}" stroke-width="1" stroke-opacity="${labelled ? 0.7 : 0.25}"/>`,
    );
    if (labelled)
      out.push(
        `<text class="marker-label" x="${xx}" y="${px(f.top + 2 + (k % 4) * 10)}" dx="2" dy="0.8em" font-size="9" fill="${c}">${esc(m.label)}</text>`,
      );
  });
  if (!labelled) {
    out.push(
      `<text class="marker-note" x="${px(w - f.right)}" y="${px(f.top + 2)}" text-anchor="end" dy="0.8em" font-size="10" fill="#555">${byX.length} incident markers (ids in the incidents table)</text>`,
    );
  }
  if (!hasX)
    out.push(
      `<text class="empty" x="${px(w / 2)}" y="${px(h / 2)}" text-anchor="middle" fill="#7f7f7f">no data</text>`,
    );

  const items: { name: string; color: string; dash?: string }[] = [];
  spec.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    items.push({ name: s.name, color, dash: s.dash });
    for (const seg of segments(s)) {
      const pts = s.step ? stepPoints(seg) : seg;
      if (seg.length === 1) {
        out.push(
          `<circle class="dot" data-series="${esc(s.name)}" cx="${px(x(seg[0][0]))}" cy="${px(y(clamp(seg[0][1], ys.lo, ys.hi)))}" r="2.5" fill="${color}"/>`,
        );
        continue;
      }
      const d = pts.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${px(x(a))} ${px(y(clamp(b, ys.lo, ys.hi)))}`).join(' ');
      out.push(
        `<path class="series" data-series="${esc(s.name)}" data-points="${seg.length}" d="${d}" fill="none" stroke="${color}" stroke-width="${px(s.width ?? 1.6)}"${s.opacity !== undefined ? ` stroke-opacity="${px(s.opacity)}"` : ''}${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
    }
  });
  legend(out, f, items);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceFixed(d: readonly [number, number]): { lo: number; hi: number; ticks: number[] } {
  const s = niceScale(d[0], d[1], 5);
  return { lo: d[0], hi: d[1], ticks: s.ticks.filter((t) => t >= d[0] - 1e-12 && t <= d[1] + 1e-12) };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function pushXTick(out: string[], f: Frame, xx: number, label: string): void {
  const yb = f.h - f.bottom;
  out.push(`<line class="xtick" x1="${px(xx)}" y1="${px(yb)}" x2="${px(xx)}" y2="${px(yb + 4)}" stroke="#333333"/>`);
  out.push(`<text class="xtick-label" x="${px(xx)}" y="${px(yb + 16)}" text-anchor="middle">${esc(label)}</text>`);
}

/** Runs of consecutive finite (x, y) points, in input order; a missing y ends a run. */
export function segments(s: Pick<LineSeries, 'x' | 'y'>): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (let i = 0; i < s.x.length; i++) {
    const xv = s.x[i];
    const yv = s.y[i];
    if (isNum(xv) && isNum(yv)) cur.push([xv, yv]);
    else if (cur.length > 0) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function stepPoints(seg: readonly [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < seg.length; i++) {
    if (i > 0) out.push([seg[i][0], seg[i - 1][1]]);
    out.push(seg[i]);
  }
  return out;
}

// ---------------------------------------------------------------- bar chart

/** Bars with optional CI error bars (see the file comment). */
export function barChart(spec: BarChartSpec): string {
  const n = spec.bars.length;
  const w = spec.width ?? Math.max(420, Math.min(1200, 90 + n * 46));
  const h = spec.height ?? 340;
  const ths = (spec.thresholds ?? []).filter((t) => isNum(t.y));
  const f: Frame = { w, h, left: 62, right: gutter(ths), top: 40, bottom: 74 };
  const baseline = spec.baseline ?? 0;
  let ymin = baseline;
  let ymax = -Infinity;
  for (const b of spec.bars) {
    for (const v of [b.value, b.lo, b.hi]) {
      if (isNum(v)) {
        ymin = Math.min(ymin, v);
        ymax = Math.max(ymax, v);
      }
    }
  }
  for (const t of ths) {
    ymin = Math.min(ymin, t.y);
    ymax = Math.max(ymax, t.y);
  }
  if (!Number.isFinite(ymax)) ymax = baseline + 1;
  const ys = spec.yDomain ? niceFixed(spec.yDomain) : niceScale(ymin, ymax, 6);
  const y = linear(ys.lo, ys.hi, h - f.bottom, f.top);
  const out = open(w, h, spec.title);
  yAxis(out, f, ys.ticks, y, spec.yLabel);
  xAxisLine(out, f);
  const slot = (w - f.left - f.right) / Math.max(1, n);
  const bw = Math.min(36, slot * 0.7);
  const base = y(clamp(baseline, ys.lo, ys.hi));
  spec.bars.forEach((b, i) => {
    const cx = f.left + slot * (i + 0.5);
    const color = b.color ?? PALETTE[0];
    if (isNum(b.value)) {
      const yv = y(clamp(b.value, ys.lo, ys.hi));
      const top = Math.min(yv, base);
      out.push(
        `<rect class="bar" data-label="${esc(b.label)}" x="${px(cx - bw / 2)}" y="${px(top)}" width="${px(bw)}" height="${px(Math.abs(base - yv))}" fill="${color}" fill-opacity="0.75"/>`,
      );
      if (isNum(b.lo) && isNum(b.hi)) {
        const y1 = px(y(clamp(b.lo, ys.lo, ys.hi)));
        const y2 = px(y(clamp(b.hi, ys.lo, ys.hi)));
        const c0 = px(cx - bw / 4);
        const c1 = px(cx + bw / 4);
        out.push(
          `<path class="errbar" data-label="${esc(b.label)}" d="M${px(cx)} ${y1} L${px(cx)} ${y2} M${c0} ${y1} L${c1} ${y1} M${c0} ${y2} L${c1} ${y2}" stroke="#222222" stroke-width="1.2" fill="none"/>`,
        );
      }
    } else {
      out.push(
        `<text class="na" data-label="${esc(b.label)}" x="${px(cx)}" y="${px(base - 6)}" text-anchor="middle" fill="#7f7f7f">n/a</text>`,
      );
      if (b.note)
        out.push(
          `<text class="na-note" x="${px(cx)}" y="${px(base - 18)}" text-anchor="middle" font-size="9" fill="#7f7f7f">${esc(b.note)}</text>`,
        );
    }
    out.push(
      `<text class="xtick-label" x="${px(cx)}" y="${px(h - f.bottom + 14)}" text-anchor="middle" font-size="10">${esc(b.label)}</text>`,
    );
  });
  // group labels under runs of bars with the same group
  let i = 0;
  while (i < n) {
    const g = spec.bars[i].group;
    let j = i;
    while (j + 1 < n && spec.bars[j + 1].group === g) j++;
    if (g) {
      const x0 = f.left + slot * i + 4;
      const x1 = f.left + slot * (j + 1) - 4;
      const yy = h - f.bottom + 26;
      out.push(`<line class="group" x1="${px(x0)}" y1="${px(yy)}" x2="${px(x1)}" y2="${px(yy)}" stroke="#999999"/>`);
      out.push(
        `<text class="group-label" x="${px((x0 + x1) / 2)}" y="${px(yy + 13)}" text-anchor="middle" font-size="10" fill="#555555">${esc(g)}</text>`,
      );
    }
    i = j + 1;
  }
  thresholdLines(out, f, ths, y);
  if (n === 0)
    out.push(
      `<text class="empty" x="${px(w / 2)}" y="${px(h / 2)}" text-anchor="middle" fill="#7f7f7f">no data</text>`,
    );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- reliability

/** Reliability diagram with a count histogram underneath (see the file comment). */
export function reliabilityDiagram(spec: ReliabilitySpec): string {
  const w = spec.width ?? 460;
  const h = spec.height ?? 520;
  const left = 62;
  const right = 18;
  const top = spec.subtitle ? 52 : 40;
  const size = Math.min(w - left - right, h - top - 150);
  const f: Frame = { w, h, left, right: w - left - size, top, bottom: h - top - size };
  const x = linear(0, 1, left, left + size);
  const y = linear(0, 1, top + size, top);
  const out = open(w, h, spec.title);
  if (spec.subtitle)
    out.push(
      `<text class="subtitle" x="${px(w / 2)}" y="34" text-anchor="middle" fill="#555555">${esc(spec.subtitle)}</text>`,
    );
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  yAxis(out, f, ticks, y, 'observed frequency (y = 1)');
  xAxisLine(out, f);
  for (const t of ticks) pushXTick(out, f, x(t), tickLabel(t));
  out.push(
    `<line class="diagonal" x1="${px(x(0))}" y1="${px(y(0))}" x2="${px(x(1))}" y2="${px(y(1))}" stroke="#999999" stroke-dasharray="4 4"/>`,
  );
  const pts = spec.bins.filter((b) => b.count > 0 && isNum(b.mean_p) && isNum(b.mean_y));
  if (pts.length > 1) {
    const d = pts
      .map(
        (b, i) =>
          `${i === 0 ? 'M' : 'L'}${px(x(clamp(b.mean_p as number, 0, 1)))} ${px(y(clamp(b.mean_y as number, 0, 1)))}`,
      )
      .join(' ');
    out.push(
      `<path class="series" data-points="${pts.length}" d="${d}" fill="none" stroke="${PALETTE[0]}" stroke-width="1.6"/>`,
    );
  }
  for (const b of pts) {
    out.push(
      `<circle class="point" data-bin="${esc(tickLabel(b.lo))}" cx="${px(x(clamp(b.mean_p as number, 0, 1)))}" cy="${px(y(clamp(b.mean_y as number, 0, 1)))}" r="3.5" fill="${PALETTE[0]}"/>`,
    );
  }
  // counts panel
  const cTop = top + size + 40;
  const cBottom = h - 34;
  let cmax = 0;
  for (const b of spec.bins) if (isNum(b.count)) cmax = Math.max(cmax, b.count);
  const cs = niceScale(0, Math.max(1, cmax), 2);
  const cy = linear(0, cs.hi, cBottom, cTop);
  const cf: Frame = { w, h, left, right: f.right, top: cTop, bottom: h - cBottom };
  yAxis(out, cf, cs.ticks, cy, 'count');
  xAxisLine(out, cf);
  for (const b of spec.bins) {
    if (!isNum(b.count) || !isNum(b.lo) || !isNum(b.hi)) continue;
    const x0 = x(clamp(b.lo, 0, 1));
    const x1 = x(clamp(b.hi, 0, 1));
    const yv = cy(b.count);
    out.push(
      `<rect class="count" data-count="${b.count}" x="${px(x0 + 1)}" y="${px(yv)}" width="${px(Math.max(0, x1 - x0 - 2))}" height="${px(cBottom - yv)}" fill="${PALETTE[0]}" fill-opacity="0.35"/>`,
    );
  }
  out.push(
    `<text class="xlabel" x="${px(left + size / 2)}" y="${px(h - 8)}" text-anchor="middle">mean predicted probability (bin)</text>`,
  );
  if (pts.length === 0)
    out.push(
      `<text class="empty" x="${px(x(0.5))}" y="${px(y(0.5))}" text-anchor="middle" fill="#7f7f7f">no calibrated bins</text>`,
    );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- percentiles

/** Incident markers are labelled with their id up to this many; beyond, one note says how many. */
export const MAX_MARKER_LABELS = 12;

/** p50 / p90 / p99 over time, with thresholds and markers. */
export function percentileChart(spec: PercentileSpec): string {
  return lineChart({
    title: spec.title,
    xTime: true,
    yLabel: spec.yLabel ?? 'ms',
    series: [
      { name: 'p50', x: spec.x, y: spec.p50, color: PALETTE[2] },
      { name: 'p90', x: spec.x, y: spec.p90, color: PALETTE[3] },
      { name: 'p99', x: spec.x, y: spec.p99, color: PALETTE[1] },
      ...(spec.extra ?? []),
    ],
    thresholds: spec.thresholds,
    markers: spec.markers,
    bands: spec.bands,
    note: spec.note,
    width: spec.width,
    height: spec.height,
  });
}
