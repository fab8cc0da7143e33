/**
 * Test helpers for test/calc: seeded PRNG, tolerant comparison, slow "obvious"
 * reference implementations (oracles) and the real-data line parser.
 */
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { RobustParams } from '../../src/calc/params.js';
import type { FusionSample, FusionSink } from '../../src/calc/fusion.js';
import type { EventSink, EventType } from '../../src/calc/events.js';
import type { SliceTracker } from '../../src/calc/slices.js';
import { GrowableF64, GrowableI8 } from '../../src/core/growable.js';

/** mulberry32: small deterministic PRNG in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a ≈ b within `rel` relative (to max(|a|,|b|, scaleRef)); NaN equals NaN only. */
export function close(a: number, b: number, rel = 1e-9, scaleRef = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  const m = Math.max(Math.abs(a), Math.abs(b), scaleRef);
  return Math.abs(a - b) <= rel * m;
}

export function expectClose(a: number, b: number, what: string, rel = 1e-9, scaleRef = 0): void {
  if (!close(a, b, rel, scaleRef)) throw new Error(`${what}: ${a} != ${b} (rel ${rel}, ref ${scaleRef})`);
}

function medianSorted(a: number[]): number {
  const n = a.length;
  if (n === 0) return NaN;
  const h = n >> 1;
  return n % 2 ? a[h] : (a[h - 1] + a[h]) / 2;
}

export function slowMedian(xs: number[]): number {
  return medianSorted([...xs].sort((p, q) => p - q));
}

export function slowMad(xs: number[]): number {
  const m = slowMedian(xs);
  return medianSorted(xs.map((x) => Math.abs(x - m)).sort((p, q) => p - q));
}

/** Type-7 quantile by full sort. */
export function slowQuantile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((u, v) => u - v);
  const h = (a.length - 1) * p;
  const lo = Math.floor(h);
  if (lo >= a.length - 1) return a[a.length - 1];
  return a[lo] + (h - lo) * (a[lo + 1] - a[lo]);
}

export interface RobustRow {
  z: number;
  z_raw: number;
  scale: number;
  sigma_floor: number;
  mix: number;
  floor_used: boolean;
}

/**
 * From-scratch robust scale (ARCHITECTURE §4 as specified in robust.ts): at step i the
 * scale uses observations j < i; EWMAs recomputed as Σ 2^(-(t_{i-1}-t_j)/H)|x_j| / Σ 2^(...).
 */
export function robustOracle(ts: number[], xs: number[], p: RobustParams): RobustRow[] {
  const out: RobustRow[] = [];
  let rewarm = 0;
  for (let i = 0; i < xs.length; i++) {
    if (i === 0) {
      out.push({ z: NaN, z_raw: NaN, scale: NaN, sigma_floor: NaN, mix: NaN, floor_used: false });
      continue;
    }
    const tRef = ts[i - 1];
    const ew = (h: number) => {
      let s = 0;
      let w = 0;
      for (let j = 0; j < i; j++) {
        const wj = 2 ** (-(tRef - ts[j]) / (h * 1000));
        s += wj * Math.abs(xs[j]);
        w += wj;
      }
      return s / w;
    };
    const mix = p.scale_fast_weight * ew(p.fast_half_life_sec) + (1 - p.scale_fast_weight) * ew(p.half_life_sec);
    const win = xs.slice(Math.max(0, i - p.mad_window), i);
    const floor = 1.4826 * slowMad(win) * p.mad_multiplier;
    const scale = Math.max(mix, floor, 1e-9);
    let isNull = i < p.warmup_samples || ts[i] - ts[0] < p.warmup_sec * 1000;
    if (ts[i] - ts[i - 1] > p.gap_sec * 1000) rewarm = p.rewarm_samples;
    if (rewarm > 0) {
      rewarm--;
      isNull = true;
    }
    const zr = isNull ? NaN : xs[i] / scale;
    const z = isNull ? NaN : Math.max(-p.winsor_limit, Math.min(p.winsor_limit, zr));
    out.push({ z, z_raw: zr, scale, sigma_floor: floor, mix, floor_used: floor > mix });
  }
  return out;
}

/** Average-rank Spearman by O(n²) counting. */
export function slowSpearman(x: number[], y: number[]): number {
  const n = x.length;
  const rank = (v: number[]) =>
    v.map((a) => {
      let less = 0;
      let eq = 0;
      for (const b of v) {
        if (b < a) less++;
        else if (b === a) eq++;
      }
      return less + (eq + 1) / 2;
    });
  const rx = rank(x);
  const ry = rank(y);
  const mx = rx.reduce((s, a) => s + a, 0) / n;
  const my = ry.reduce((s, a) => s + a, 0) / n;
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

// ------------------------------------------------------------- real data

export const REALDATA_DIR = '/work/shared/realdata/hftbacktest';

export interface RealTrade {
  recvMs: number;
  seq: number;
  T: number;
  price: number;
  qty: number;
  m: number;
}
export interface RealQuote {
  recvMs: number;
  seq: number;
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
}
export interface RealFile {
  trades: RealTrade[];
  quotes: RealQuote[];
  /** Arrival order: [kind 0 = quote | 2 = trade, index] per line, in file order. */
  arrival: Array<[number, number]>;
}

/**
 * Parse `<local_receive_ns> <json>` lines, keeping only @trade and @bookTicker.
 * Throws (so the test FAILS) when the file is missing.
 */
export function loadRealFile(rel: string): RealFile {
  const path = `${REALDATA_DIR}/${rel}`;
  if (!existsSync(path)) throw new Error(`real-data file missing: ${path}`);
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const trades: RealTrade[] = [];
  const quotes: RealQuote[] = [];
  const arrival: Array<[number, number]> = [];
  let seq = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const sp = line.indexOf(' ');
    const isTrade = line.includes('@trade"');
    const isBook = line.includes('@bookTicker"');
    seq++;
    if (!isTrade && !isBook) continue;
    const recvMs = Math.floor(Number(line.slice(0, sp)) / 1e6);
    const d = JSON.parse(line.slice(sp + 1)).data;
    if (isTrade) {
      arrival.push([2, trades.length]);
      trades.push({ recvMs, seq, T: d.T, price: Number(d.p), qty: Number(d.q), m: d.m ? 1 : 0 });
    } else {
      arrival.push([0, quotes.length]);
      quotes.push({ recvMs, seq, bid: Number(d.b), bidQty: Number(d.B), ask: Number(d.a), askQty: Number(d.A) });
    }
  }
  return { trades, quotes, arrival };
}

/**
 * A FusionSink for the calculator tests: every sample field in its own column
 * (named like FusionSample's keys), the slice codes of an attached tracker, and
 * the flips. (The pipeline's fusion rows are the schema's, src/pipeline/tables.ts.)
 */
export class SampleLog implements FusionSink {
  readonly ts = new GrowableF64();
  readonly score = new GrowableF64();
  readonly score_z = new GrowableF64();
  readonly z_ofi = new GrowableF64();
  readonly z_cvd = new GrowableF64();
  readonly w_ofi = new GrowableF64();
  readonly w_cvd = new GrowableF64();
  readonly cvd_dir = new GrowableF64();
  readonly gate = new GrowableF64();
  readonly mid = new GrowableF64();
  readonly ofi_flow = new GrowableF64();
  readonly cvd_flow = new GrowableF64();
  readonly merge_time_diff_ms = new GrowableF64();
  readonly session = new GrowableI8();
  readonly regime = new GrowableI8();
  readonly vol_bucket = new GrowableI8();
  readonly scenario_2x2 = new GrowableI8();
  readonly flip_ts: number[] = [];
  readonly flip_dir: number[] = [];
  readonly flip_rho: number[] = [];
  readonly flip_n: number[] = [];
  constructor(private readonly slices: SliceTracker | null = null) {}
  get length(): number {
    return this.ts.length;
  }
  sample(x: Readonly<FusionSample>): void {
    for (const k of Object.keys(x) as (keyof FusionSample)[]) this[k].push(x[k]);
    if (this.slices) {
      this.session.push(this.slices.session);
      this.regime.push(this.slices.regime);
      this.vol_bucket.push(this.slices.vol_bucket);
      this.scenario_2x2.push(this.slices.scenario_2x2);
    }
  }
  flip(ts: number, dir: number, rho: number, n: number): void {
    this.flip_ts.push(ts);
    this.flip_dir.push(dir);
    this.flip_rho.push(rho);
    this.flip_n.push(n);
  }
}

/** An EventSink for the calculator tests: the emitted events in arrays. */
export class EventLog implements EventSink {
  readonly ts: number[] = [];
  readonly symbol: string[] = [];
  readonly event_type: EventType[] = [];
  readonly meta_json: string[] = [];
  get length(): number {
    return this.ts.length;
  }
  event(ts: number, symbol: string, event_type: EventType, meta_json: string): void {
    this.ts.push(ts);
    this.symbol.push(symbol);
    this.event_type.push(event_type);
    this.meta_json.push(meta_json);
  }
}
