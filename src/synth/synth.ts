/**
 * `synthesize()`: flowlab's embedded default dataset, a deterministic synthetic
 * market (see market.ts for the model, channel.ts for latency and faults,
 * README.md in this folder for the parameters and the measured signal strength).
 *
 * Pipeline: per symbol (sorted by name), a `SymbolMarket` simulates one chunk
 * of event time (60 s) into its `Outbox`; then every message whose receive
 * time can no longer be overtaken (recv <= chunk end + skew: any later event
 * arrives after that) is released into the sink in arrival order
 * `(recv_ts_ms, symbol, generation order)`; the writer is drained. Memory is
 * one chunk wide whatever `hours` is.
 *
 * Determinism: every draw comes from `Rng.derive(seed, symbol, stream)`; no
 * clock, no `Math.random`. Same options => same calls on the sink => the same
 * bytes from the DatasetWriter. A symbol's ticks do not depend on which other
 * symbols are generated (only the interleaving and recv_seq do).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RawSink } from '../core/types.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import { validateSymbol } from '../core/validate.js';
import { INCOMPLETE_MARKER, markComplete, markIncomplete } from '../core/atomic.js';
import { progressBar } from '../core/progress.js';
import { DatasetWriter } from '../dataset/writer.js';
import { SYNTHETIC_SPOT } from '../core/market.js';
import { LEGACY_MANIFEST_FILE, MANIFEST_FILE, type DatasetManifest } from '../dataset/manifest.js';
import { DEFAULT_CHANNEL, Outbox, releaseUntil, type ChannelCounters } from './channel.js';
import { SymbolMarket, type MarketTruth } from './market.js';
import { SEED_SYMBOL_NAMES, specFor } from './symbols.js';

export const GENERATOR_VERSION = 'flowlab-synth/1';

export interface SynthOptions {
  /** Symbols to generate (upper case, deduplicated and sorted before use). */
  readonly symbols: readonly string[];
  /** Length of the dataset in hours (rounded to whole seconds). */
  readonly hours: number;
  /** Start, epoch ms UTC. */
  readonly startMs: number;
  /** Run seed: any non-negative safe integer. */
  readonly seed: number;
  /** Order-flow effect strength (0 = none): mid drift per second, in 1-second vols, per unit of standardised recent flow F (market.ts). */
  readonly effect: number;
  /** Probability that a trade is delivered twice. */
  readonly dupRate: number;
  /** Probability that a trade is lost (its agg id skipped). */
  readonly gapRate: number;
  /** Probability that a message is held back and overtaken. */
  readonly oooRate: number;
  /** Constant clock skew added to receive times, integer ms (may be negative). */
  readonly skewMs: number;
  /**
   * Depth snapshot cadence per symbol, ms (>= 1000: at most one per second).
   * Default 5000: depth rows cost ~10x a trade row to write, and 1 s snapshots
   * would more than double the 24 h x 6 generation time.
   */
  readonly depthIntervalMs: number;
  /** Depth levels per side. */
  readonly depthLevels: number;
  /**
   * Ground truth that changes mid-run: from `offsetMs` after `startMs` on, `symbol`'s
   * effect is `effect` (until its next change). `effect` stays the base of every
   * symbol. Empty or absent: the effect is constant (and the bytes are those of a
   * run without a schedule).
   */
  readonly effectSchedule?: readonly EffectChange[];
}

/** One change of a symbol's order-flow effect, `offsetMs` (integer ms) after the dataset start. */
export interface EffectChange {
  readonly symbol: string;
  readonly offsetMs: number;
  readonly effect: number;
}

/** Default strength of the order-flow effect: 60 s flow AUC ≈ 0.56 (trade volume) / 0.58 (0.6/0.4 OFI+CVD fusion), measured in README.md. */
export const DEFAULT_EFFECT = 0.045;

export const DEFAULT_SYNTH: SynthOptions = {
  symbols: SEED_SYMBOL_NAMES,
  hours: 24,
  startMs: Date.UTC(2024, 7, 8, 0, 0, 0),
  seed: 42,
  effect: DEFAULT_EFFECT,
  dupRate: 0.001,
  gapRate: 0.0005,
  oooRate: 0.002,
  skewMs: 0,
  depthIntervalMs: 5000,
  depthLevels: 20,
  effectSchedule: [],
};

/** What `npm run demo` generates when no real data is at hand. */
export const DEFAULT_DATASET_RECIPE = {
  name: 'default',
  dir: 'datasets/default',
  options: DEFAULT_SYNTH,
} as const;

const CHUNK_MS = 60_000;
const MAX_HOURS = 24 * 31;

export interface SymbolSummary {
  readonly symbol: string;
  readonly market: MarketTruth;
  readonly channel: ChannelCounters;
  /** Chain latency recv - E - skew, ms (before ooo hold-backs). */
  readonly latency_ms: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

export interface SynthSummary {
  readonly outDir: string | null;
  readonly options: SynthOptions;
  readonly rows: { readonly trades: number; readonly quotes: number; readonly depth: number; readonly total: number };
  readonly injected: {
    readonly dup_trades: number;
    readonly lost_trades: number;
    readonly ooo_delayed: number;
    readonly ooo_reordered: number;
    readonly late_over_watermark: number;
  };
  readonly symbols: readonly SymbolSummary[];
}

/** Check and normalise options (symbols upper-cased, deduplicated, sorted). Throws UsageError naming the field. */
export function normalizeOptions(o: SynthOptions): SynthOptions {
  if (o.symbols.length === 0) throw new UsageError('synth: symbols is empty (expected e.g. BTCUSDT,ETHUSDT)');
  const symbols = [...new Set(o.symbols.map((s) => validateSymbol(s, 'synth symbols')))].sort();
  const num = (name: string, v: number, lo: number, hi: number, integer = false): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new UsageError(
        `synth: ${name} = ${v} is not valid (expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}])`,
      );
    }
    return v;
  };
  num('hours', o.hours, 1 / 3600, MAX_HOURS);
  if (Math.round(o.hours * 3600) < 1) throw new UsageError(`synth: hours = ${o.hours} is shorter than one second`);
  num('startMs', o.startMs, 0, 8.64e15, true);
  num('seed', o.seed, 0, Number.MAX_SAFE_INTEGER, true);
  num('effect', o.effect, 0, 5);
  num('dupRate', o.dupRate, 0, 0.5);
  num('gapRate', o.gapRate, 0, 0.5);
  num('oooRate', o.oooRate, 0, 0.5);
  num('skewMs', o.skewMs, -3_600_000, 3_600_000, true);
  num('depthIntervalMs', o.depthIntervalMs, 1000, 3_600_000, true);
  num('depthLevels', o.depthLevels, 1, 100, true);
  const durMs = Math.round(o.hours * 3600) * 1000;
  const schedule = (o.effectSchedule ?? []).map((c) => {
    const symbol = validateSymbol(c.symbol, 'synth effectSchedule symbol');
    if (!symbols.includes(symbol))
      throw new UsageError(
        `synth: effectSchedule symbol ${symbol} is not generated (expected one of ${symbols.join(',')})`,
      );
    if (typeof c.offsetMs !== 'number' || !Number.isInteger(c.offsetMs) || c.offsetMs < 0 || c.offsetMs >= durMs)
      throw new UsageError(
        `synth: effectSchedule offset ${c.offsetMs} ms for ${symbol} is not valid (expected an integer in [0, ${durMs}) ms, inside hours = ${o.hours})`,
      );
    num(`effectSchedule effect for ${symbol}`, c.effect, 0, 5);
    return { symbol, offsetMs: c.offsetMs, effect: c.effect };
  });
  schedule.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.offsetMs - b.offsetMs));
  for (let i = 1; i < schedule.length; i++) {
    if (schedule[i].symbol === schedule[i - 1].symbol && schedule[i].offsetMs === schedule[i - 1].offsetMs)
      throw new UsageError(
        `synth: effectSchedule changes ${schedule[i].symbol} twice at offset ${schedule[i].offsetMs} ms (expected one effect per symbol and offset)`,
      );
  }
  return { ...o, symbols, effectSchedule: schedule };
}

/** The effect changes of one symbol as absolute times (epoch ms), in time order. */
function scheduleFor(opts: SynthOptions, symbol: string): { atMs: number; effect: number }[] {
  return (opts.effectSchedule ?? [])
    .filter((c) => c.symbol === symbol)
    .map((c) => ({ atMs: opts.startMs + c.offsetMs, effect: c.effect }));
}

/**
 * Generate the synthetic market into any RawSink, in arrival order.
 * `onChunk` is awaited after every released chunk (the writer drains there),
 * with the generated and total milliseconds of market time.
 */
export async function generate(
  options: SynthOptions,
  sink: RawSink,
  onChunk?: (doneMs: number, totalMs: number) => Promise<void>,
): Promise<Omit<SynthSummary, 'outDir'>> {
  const opts = normalizeOptions(options);
  const channel = {
    ...DEFAULT_CHANNEL,
    skewMs: opts.skewMs,
    dupRate: opts.dupRate,
    gapRate: opts.gapRate,
    oooRate: opts.oooRate,
  };
  const outboxes: Outbox[] = [];
  const markets: SymbolMarket[] = [];
  opts.symbols.forEach((sym, k) => {
    const ob = new Outbox(sym, k, opts.seed, channel, opts.depthLevels);
    outboxes.push(ob);
    markets.push(
      new SymbolMarket(
        specFor(sym),
        {
          seed: opts.seed,
          startMs: opts.startMs,
          effect: opts.effect,
          effectSchedule: scheduleFor(opts, sym),
          depthIntervalMs: opts.depthIntervalMs,
          depthLevels: opts.depthLevels,
        },
        ob,
      ),
    );
  });
  const endMs = opts.startMs + Math.round(opts.hours * 3600) * 1000;
  for (let c = opts.startMs; c < endMs; c += CHUNK_MS) {
    const ce = Math.min(c + CHUNK_MS, endMs);
    for (const m of markets) m.run(ce);
    releaseUntil(outboxes, ce + opts.skewMs, sink);
    for (const ob of outboxes) ob.compact();
    if (onChunk) await onChunk(ce - opts.startMs, endMs - opts.startMs);
  }
  releaseUntil(outboxes, Infinity, sink);
  if (onChunk) await onChunk(endMs - opts.startMs, endMs - opts.startMs);

  const symbols: SymbolSummary[] = markets.map((m, k) => ({
    symbol: opts.symbols[k],
    market: { ...m.truth },
    channel: { ...outboxes[k].counters },
    latency_ms: latencyQuantiles(outboxes[k].latencyHist),
  }));
  const sum = (f: (s: SymbolSummary) => number) => symbols.reduce((a, s) => a + f(s), 0);
  const trades = sum((s) => s.channel.trades_delivered);
  const quotes = sum((s) => s.channel.quotes_delivered);
  const depth = sum((s) => s.channel.depth_delivered);
  return {
    options: opts,
    rows: { trades, quotes, depth, total: trades + quotes + depth },
    injected: {
      dup_trades: sum((s) => s.channel.dup_trades),
      lost_trades: sum((s) => s.channel.lost_trades),
      ooo_delayed: sum((s) => s.channel.ooo_delayed),
      ooo_reordered: sum((s) => s.channel.ooo_reordered),
      late_over_watermark: sum((s) => s.channel.late_over_watermark),
    },
    symbols,
  };
}

function latencyQuantiles(hist: Float64Array): SymbolSummary['latency_ms'] {
  let n = 0;
  let max = 0;
  for (let i = 0; i < hist.length; i++) {
    n += hist[i];
    if (hist[i] > 0) max = i;
  }
  const q = (p: number): number => {
    if (n === 0) return NaN;
    const target = p * n;
    let c = 0;
    for (let i = 0; i < hist.length; i++) {
      c += hist[i];
      if (c >= target) return i;
    }
    return hist.length - 1;
  };
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max };
}

/**
 * Manifest `source` block for a synthetic dataset: the whole recipe
 * (`synthOptionsFromSource` reads it back). `effect_schedule` is written only
 * when there is one, so datasets without a schedule keep their manifest bytes.
 */
export function synthSource(opts: SynthOptions): Record<string, unknown> {
  const schedule = opts.effectSchedule ?? [];
  return {
    type: 'synth',
    generator_version: GENERATOR_VERSION,
    seed: opts.seed,
    symbols: [...opts.symbols],
    hours: opts.hours,
    start: new Date(opts.startMs).toISOString(),
    start_ms: opts.startMs,
    effect: opts.effect,
    dup_rate: opts.dupRate,
    gap_rate: opts.gapRate,
    ooo_rate: opts.oooRate,
    skew_ms: opts.skewMs,
    depth_interval_ms: opts.depthIntervalMs,
    depth_levels: opts.depthLevels,
    ...(schedule.length > 0
      ? {
          effect_schedule: schedule.map((c) => ({
            symbol: c.symbol,
            offset_ms: c.offsetMs,
            at: new Date(opts.startMs + c.offsetMs).toISOString(),
            effect: c.effect,
          })),
        }
      : {}),
  };
}

/**
 * The options a synthetic dataset was generated with, read back from its
 * manifest `source` (what `synthSource` wrote): `synthesize()` on them
 * regenerates the same bytes. Throws a FlowlabError (exit 1) naming the field when the
 * source is not a flowlab-synth recipe.
 */
export function synthOptionsFromSource(source: Record<string, unknown>, where = MANIFEST_FILE): SynthOptions {
  if (source.type !== 'synth' || source.generator_version !== GENERATOR_VERSION)
    throw new FlowlabError(
      `${where}: source is ${String(source.type)} / ${String(source.generator_version)} (expected type synth, generator_version ${GENERATOR_VERSION})`,
    );
  const n = (key: string): number => {
    const v = source[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new FlowlabError(`${where}: source.${key} = ${JSON.stringify(v)} (expected a number)`);
    return v;
  };
  const symbols = source.symbols;
  if (!Array.isArray(symbols) || !symbols.every((x) => typeof x === 'string'))
    throw new FlowlabError(`${where}: source.symbols = ${JSON.stringify(symbols)} (expected an array of symbols)`);
  const rawSchedule = source.effect_schedule ?? [];
  if (!Array.isArray(rawSchedule))
    throw new FlowlabError(`${where}: source.effect_schedule = ${JSON.stringify(rawSchedule)} (expected an array)`);
  const effectSchedule = rawSchedule.map((c: unknown, i: number) => {
    const e = c as Record<string, unknown>;
    if (typeof e?.symbol !== 'string' || typeof e.offset_ms !== 'number' || typeof e.effect !== 'number')
      throw new FlowlabError(
        `${where}: source.effect_schedule[${i}] = ${JSON.stringify(c)} (expected { symbol, offset_ms, effect })`,
      );
    return { symbol: e.symbol, offsetMs: e.offset_ms, effect: e.effect };
  });
  return {
    symbols: symbols as string[],
    hours: n('hours'),
    startMs: n('start_ms'),
    seed: n('seed'),
    effect: n('effect'),
    dupRate: n('dup_rate'),
    gapRate: n('gap_rate'),
    oooRate: n('ooo_rate'),
    skewMs: n('skew_ms'),
    depthIntervalMs: n('depth_interval_ms'),
    depthLevels: n('depth_levels'),
    effectSchedule,
  };
}

export interface SynthesizeOptions {
  /** Replace an existing flowlab dataset at outDir (only one that has a manifest). */
  readonly overwrite?: boolean;
  /** Progress bar of generated market minutes (default: when stderr is a terminal). */
  readonly progress?: boolean;
  /** The option that named outDir, for error messages (default `--out`; `demo` gives `--data`). */
  readonly where?: string;
}

/**
 * Generate a synthetic dataset into `outDir` (a fresh directory, or an existing
 * flowlab dataset with `overwrite`). Part files rotate hourly; the manifest
 * carries `source` (the recipe) and `stats.synth` (the injected faults and
 * latent truth).
 */
export async function synthesize(
  opts: SynthOptions,
  outDir: string,
  so: SynthesizeOptions = {},
): Promise<SynthSummary & { readonly manifest: DatasetManifest }> {
  const o = normalizeOptions(opts);
  const root = path.resolve(outDir);
  prepareOutDir(root, so.overwrite === true, so.where ?? '--out');
  const writer = new DatasetWriter(root, {
    rotateSec: 3600,
    depthLevels: o.depthLevels,
    source: synthSource(o),
    market: SYNTHETIC_SPOT,
    append: false,
  });
  // readers refuse the folder until the manifest is in place; a rerun with --force replaces it
  markIncomplete(root, 'synth');
  const bar = progressBar(so.progress);
  bar.start('synth', Math.round((o.hours * 3600) / 60), 'market minutes');
  const summary = await generate(o, writer, async (doneMs) => {
    bar.update(Math.round(doneMs / 60_000));
    await writer.drain();
  }).finally(() => bar.stop());
  writer.stats = { synth: statsBlock(summary) };
  const manifest = await writer.close();
  markComplete(root);
  return { outDir: root, ...summary, manifest };
}

function statsBlock(s: Omit<SynthSummary, 'outDir'>): Record<string, unknown> {
  const per: Record<string, unknown> = {};
  for (const x of s.symbols) per[x.symbol] = { ...x.market, ...x.channel, latency_ms: x.latency_ms };
  return { generator_version: GENERATOR_VERSION, rows: s.rows, injected: s.injected, per_symbol: per };
}

function prepareOutDir(root: string, overwrite: boolean, where: string): void {
  if (!fs.existsSync(root)) return;
  if (!fs.statSync(root).isDirectory()) throw new UsageError(`${where} '${root}' exists and is not a directory`);
  const entries = fs.readdirSync(root);
  if (entries.length === 0) return;
  const isDataset =
    entries.includes(MANIFEST_FILE) || entries.includes(LEGACY_MANIFEST_FILE) || entries.includes(INCOMPLETE_MARKER);
  if (!overwrite) {
    throw new UsageError(
      `${where} '${root}' is not empty${isDataset ? ' (it holds a dataset; pass --force to replace it)' : ' and holds no flowlab dataset'}`,
    );
  }
  if (!isDataset)
    throw new UsageError(`${where} '${root}' is not empty and is not a flowlab dataset; refusing to replace it`);
  for (const e of entries) {
    if (
      e === MANIFEST_FILE ||
      e === LEGACY_MANIFEST_FILE ||
      e === INCOMPLETE_MARKER ||
      /^date=\d{4}-\d{2}-\d{2}$/.test(e)
    )
      fs.rmSync(path.join(root, e), { recursive: true, force: true });
  }
  const left = fs.readdirSync(root);
  if (left.length > 0)
    throw new UsageError(
      `${where} '${root}' still holds ${left.join(', ')} after removing the old dataset; refusing to mix`,
    );
}
