/**
 * Notebook-only glue for flowlab's tslab notebooks: loading the project's
 * modules, parameters and their validation, one-line errors, the shared canary
 * run, titled Plotly charts (chart.ts), a typed re-scoring `evaluate` of a
 * canary run under other weights, and a walk-forward weight + gate search.
 *
 * Why the project is loaded with `load('canary/canary')` and not with
 * `import ... from '../src/canary/canary.js'`: tslab compiles cells with
 * `rootDir` = the kernel's working directory (this folder), so a static import
 * of a file under ../src fails with "File ... is not under 'rootDir'". The
 * modules are instead required at run time: the compiled dist/ modules when
 * dist/ was built from the sources as they are now (`npm run build`; the CLI's
 * own check, scripts/dist.mjs `freshDistSync`), else the sources through tsx's
 * CommonJS hook (tsx is a project dependency), as bin/flowlab.mjs does;
 * FLOWLAB_TSX=1 forces the sources. The choice is made once per kernel
 * (`projectModules`), so the modules share one module cache: `instanceof
 * FlowlabError` and the DuckDB connection work as in the CLI. The price is that
 * project functions are typed `any` inside notebooks.
 *
 * Keep this file within TypeScript 5.0 syntax (tslab's compiler).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tslab from 'tslab';
import { figure, type ChartSpec, type Figure, type Trace } from './chart.js';

/** The project root: the nearest folder up from the working directory whose package.json is flowlab's. */
export const ROOT: string = findRoot(process.cwd());

function findRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'flowlab') return dir;
      } catch {
        // not a readable package.json: keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`notebooks: no flowlab package.json in ${start} or above`);
    dir = up;
  }
}

const req = createRequire(path.join(ROOT, 'package.json'));

/** Where `load()` takes the project's modules from. */
export interface ProjectModules {
  /** 'dist': the compiled JavaScript (fresh); 'tsx': the TypeScript sources through tsx. */
  readonly kind: 'dist' | 'tsx';
  /** The folder of the modules (dist/src or src) and their file extension. */
  readonly dir: string;
  readonly ext: '.js' | '.ts';
}

/**
 * The compiled modules of `distDir` when they were built from the sources under `root` as they are now
 * (scripts/dist.mjs `freshDistSync`, the check bin/flowlab.mjs makes), else the sources; FLOWLAB_TSX=1
 * in `env` forces the sources. Decides only (registers nothing).
 */
export function projectModules(
  root: string = ROOT,
  distDir: string = path.join(root, 'dist'),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ProjectModules {
  const { freshDistSync } = createRequire(path.join(root, 'package.json'))(path.join(root, 'scripts', 'dist.mjs'));
  if (env.FLOWLAB_TSX !== '1' && freshDistSync(root, distDir))
    return { kind: 'dist', dir: path.join(distDir, 'src'), ext: '.js' };
  return { kind: 'tsx', dir: path.join(root, 'src'), ext: '.ts' };
}

let modules: ProjectModules | null = null;

/** Where this kernel's `load()` takes the project's modules from (decided on first use). */
export function loadedFrom(): ProjectModules {
  if (modules === null) {
    const m = projectModules();
    if (m.kind === 'tsx') req('tsx/cjs/api').register();
    modules = m;
  }
  return modules;
}

/** A project module by its path under src/ without extension, e.g. `load('canary/canary')`. */
// biome-ignore lint/suspicious/noExplicitAny: project modules are untyped in notebooks (see the file comment)
export function load(rel: string): any {
  const m = loadedFrom();
  return req(path.join(m.dir, `${rel}${m.ext}`));
}

/** Path under the project root. */
export function rootPath(...parts: string[]): string {
  return path.join(ROOT, ...parts);
}

// ------------------------------------------------------------------ errors

/** Notebook state: the first user-facing error stops the cells that follow. */
export const state: { error: string | null } = { error: null };

function isUserError(e: unknown): boolean {
  const { FlowlabError } = load('core/errors');
  return e instanceof FlowlabError;
}

/** A user-facing error (bad parameter, missing data): shown as one line, never a stack. */
export function userError(message: string): Error {
  const { UsageError } = load('core/errors');
  return new UsageError(message);
}

/**
 * Runs one cell's work. A FlowlabError (bad symbol, empty range, missing data)
 * prints `error: <message>` on one line and marks the notebook failed; later
 * `cell` calls then print `skipped: ...` instead of running on garbage. Other
 * errors are bugs: they propagate with their stack so the cell fails.
 */
export async function cell<T>(label: string, fn: () => T | Promise<T>): Promise<T | undefined> {
  if (state.error !== null) {
    console.log(`skipped: ${label} (see the error above)`);
    return undefined;
  }
  try {
    return await fn();
  } catch (e) {
    if (!isUserError(e)) throw e;
    const msg = (e as Error).message.split('\n')[0];
    state.error = msg;
    console.error(`error: ${msg}`);
    return undefined;
  }
}

// ------------------------------------------------------------------ parameters

export interface Params {
  /** Symbols to analyse (upper case). */
  symbols: string[];
  /** Window start: ISO-8601 UTC, or '' for the dataset start. */
  from: string;
  /** Window length in hours. */
  hours: number;
  /** Run tag of the canary run (artifacts/runtime/<tag>). */
  runTag: string;
}

/**
 * The parameters cell's values with environment overrides (for headless runs):
 * FLOWLAB_NB_SYMBOLS (comma list), FLOWLAB_NB_FROM (ISO UTC), FLOWLAB_NB_HOURS,
 * FLOWLAB_NB_RUN_TAG. Values are checked later against the dataset by `window`.
 */
export function params(defaults: Params, env: Readonly<Record<string, string | undefined>> = process.env): Params {
  const p: Params = { ...defaults, symbols: [...defaults.symbols] };
  if (env.FLOWLAB_NB_SYMBOLS)
    p.symbols = env.FLOWLAB_NB_SYMBOLS.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (env.FLOWLAB_NB_FROM !== undefined) p.from = env.FLOWLAB_NB_FROM;
  if (env.FLOWLAB_NB_HOURS) p.hours = Number(env.FLOWLAB_NB_HOURS);
  if (env.FLOWLAB_NB_RUN_TAG) p.runTag = env.FLOWLAB_NB_RUN_TAG;
  return p;
}

export interface Window {
  readonly symbols: string[];
  readonly fromMs: number;
  readonly toMs: number;
}

/** Validates parameters against a dataset; throws a one-line FlowlabError naming the bad value. */
export function window(p: Params, datasetDir: string): Window {
  const { Dataset } = load('dataset/reader');
  const ds = new Dataset(datasetDir);
  const have: string[] = ds.manifest.symbols;
  if (p.symbols.length === 0) throw userError('parameter symbols is empty (expected e.g. ADAUSDT,SOLUSDT)');
  const symbols = p.symbols.map((s) => s.toUpperCase());
  for (const s of symbols) {
    if (!have.includes(s))
      throw userError(
        `parameter symbols: '${s}' is not in dataset ${path.relative(ROOT, ds.root)} (it has: ${have.join(', ')})`,
      );
  }
  const range: [number, number] | undefined = ds.manifest.time_range.recv_ts_ms ?? undefined;
  if (!range) throw userError(`dataset ${datasetDir} holds no ticks`);
  let fromMs = Math.floor(range[0] / 3_600_000) * 3_600_000; // the dataset's first whole hour
  if (p.from !== '') {
    fromMs = Date.parse(p.from);
    if (!Number.isFinite(fromMs))
      throw userError(`parameter from = '${p.from}' is not an ISO-8601 time (expected e.g. 2024-08-08T00:00:00Z)`);
  }
  if (!(typeof p.hours === 'number' && Number.isFinite(p.hours) && p.hours > 0)) {
    throw userError(`parameter hours = ${p.hours}: empty time range (expected a number of hours > 0)`);
  }
  const toMs = fromMs + Math.round(p.hours * 3_600_000);
  if (fromMs >= range[1] || toMs <= range[0]) {
    throw userError(
      `empty time range: [${iso(fromMs)}, ${iso(toMs)}) does not overlap the dataset (${iso(range[0])} .. ${iso(range[1])})`,
    );
  }
  return { symbols, fromMs, toMs };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

// ------------------------------------------------------------------ data and runs

export const DEFAULT_CONFIG = 'config/ofi_cvd/prod.yaml';
export const NB_RUN_TAG = 'nb-default';

/** The embedded default dataset, synthesized when absent (~20 s); returns its absolute folder. */
export async function ensureDefaultDataset(): Promise<string> {
  const { DEFAULT_DATASET_RECIPE, synthesize } = load('synth/index');
  const dir = rootPath(DEFAULT_DATASET_RECIPE.dir);
  if (load('dataset/manifest').isDataset(dir)) return dir;
  const t0 = Date.now();
  await synthesize(DEFAULT_DATASET_RECIPE.options, dir);
  console.log(`synthesized ${DEFAULT_DATASET_RECIPE.dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

export interface CanaryInfo {
  readonly runDir: string;
  readonly reportDir: string;
  readonly reused: boolean;
  readonly seconds: number;
}

/**
 * The canary run `artifacts/runtime/<tag>` for this window and config: reused
 * when its verdicts.json exists and its manifest has the same selection and
 * config fingerprint; otherwise (re)run. Only `nb-*` tags are replaced.
 */
export async function ensureCanary(tag: string, w: Window, configPath: string = DEFAULT_CONFIG): Promise<CanaryInfo> {
  load('core/validate').validateTag(tag, 'parameter runTag'); // before it names a folder: no '../', '/' or quotes
  const { loadConfig } = load('config/load');
  const { runCanary } = load('canary/canary');
  const data = await ensureDefaultDataset();
  const cfgFile = rootPath(configPath);
  const config = loadConfig(cfgFile, {});
  const runDir = rootPath('artifacts', 'runtime', tag);
  const reportDir = path.join(runDir, 'canary_report');
  const symbols = [...w.symbols].sort();
  // a folder still marked _INCOMPLETE (an interrupted run) is never reused
  const runManifest = path.join(runDir, load('replay/replay').REPLAY_MANIFEST);
  if (
    fs.existsSync(path.join(reportDir, 'verdicts.json')) &&
    fs.existsSync(runManifest) &&
    !fs.existsSync(path.join(runDir, load('core/atomic').INCOMPLETE_MARKER))
  ) {
    const m = JSON.parse(fs.readFileSync(runManifest, 'utf8'));
    const same =
      m.config_fingerprint === config.fingerprint &&
      m.selection.from_ms === w.fromMs &&
      m.selection.to_ms === w.toMs &&
      JSON.stringify([...m.selection.symbols].sort()) === JSON.stringify(symbols);
    if (same) return { runDir, reportDir, reused: true, seconds: 0 };
    if (!tag.startsWith('nb-')) {
      throw userError(
        `run ${tag} exists with another selection or config; pick a new run tag (notebooks only replace nb-* runs)`,
      );
    }
  }
  const t0 = Date.now();
  await runCanary({
    data,
    config,
    configPath: cfgFile,
    out: rootPath('artifacts', 'runtime'),
    runTag: tag,
    symbols,
    fromMs: w.fromMs,
    toMs: w.toMs,
    overwrite: tag.startsWith('nb-'),
    progress: false,
  });
  return { runDir, reportDir, reused: false, seconds: (Date.now() - t0) / 1000 };
}

/** SQL rows from DuckDB (small results). */
export async function sql(query: string): Promise<Record<string, unknown>[]> {
  const { queryRows } = load('io/duck');
  return queryRows(query);
}

/** `read_parquet` over part files of a derived table of a run. */
export function derivedGlob(runDir: string, kind: string, symbol: string): string {
  const { sqlString } = load('io/duck');
  return `read_parquet(${sqlString(path.join(runDir, 'data', '*', `symbol=${symbol}`, `kind=${kind}`, '*.parquet'))}, hive_partitioning = false)`;
}

/** Rows of a CSV artifact as objects (numbers parsed). */
export function csv(file: string, text: string[] = []): Record<string, string | number | null>[] {
  const { readCsv, csvRecords } = load('report/csv');
  return csvRecords(
    readCsv(file, {
      text: [
        'time_utc',
        'symbol',
        'slice',
        'dimension',
        'value',
        'reason',
        'status',
        'fingerprint',
        'gates_failed',
        ...text,
      ],
    }),
  );
}

// ------------------------------------------------------------------ display

/** An HTML table of plain rows (arquero). */
export function table(rows: readonly Record<string, unknown>[], digits = 4): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const aq = req('arquero');
  const fmt = rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r))
      o[k] = typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(digits)) : v;
    return o;
  });
  tslab.display.html(aq.from(fmt).toHTML({ limit: 200 }));
}

let plotlyShown = false;

function plotlyScript(): string {
  const file = req.resolve('plotly.js-dist/plotly.js');
  let code = fs.readFileSync(file, 'utf8');
  try {
    code = req('esbuild').transformSync(code, { minify: true }).code;
  } catch {
    // esbuild (a tsx dependency) absent: inline the unminified bundle
  }
  // hide AMD `define` (classic Notebook's require.js) so the bundle sets window.Plotly
  return `<script>(function(){var __d=window.define;window.define=undefined;try{\n${code.replace(/<\/script/gi, '<\\/script')}\n}finally{window.define=__d;}})();</script>`;
}

let chartSeq = 0;

export { figure, axisTitles, type Axis, type ChartSpec, type Figure, type Trace } from './chart.js';

/**
 * Shows a chart (see chart.ts: title, axis titles and legend are required) and
 * returns its figure. The first chart of a kernel session inlines plotly.js
 * from node_modules (minified when esbuild is available): nothing is fetched
 * at run time, and the exported HTML works offline.
 */
export function chart(spec: ChartSpec): Figure {
  const fig = figure(spec);
  const height = fig.layout.height as number;
  const id = `flowlab-plot-${process.pid}-${++chartSeq}`;
  const lib = plotlyShown ? '' : plotlyScript();
  plotlyShown = true;
  const json = JSON.stringify(fig).replace(/<\//g, '<\\/');
  tslab.display.html(
    `${lib}<div id="${id}" class="flowlab-chart" style="width:100%;height:${height}px"></div>` +
      `<script>(function(){var flowlabFigure=${json};var go=function(){if(window.Plotly){window.Plotly.newPlot('${id}',flowlabFigure.data,flowlabFigure.layout,{responsive:true});}else{setTimeout(go,50);}};go();})();</script>`,
  );
  return fig;
}

export const SESSION_COLORS: Record<string, string> = {
  Tokyo: 'rgba(31,119,180,0.10)',
  London: 'rgba(44,160,44,0.10)',
  NY: 'rgba(214,39,40,0.10)',
};

/** Plotly shapes shading contiguous runs of one session value along a time axis. */
export function sessionShapes(ts: ArrayLike<number>, session: ArrayLike<string | null>): Record<string, unknown>[] {
  const shapes: Record<string, unknown>[] = [];
  let i = 0;
  while (i < ts.length) {
    const s = session[i];
    let j = i + 1;
    while (j < ts.length && session[j] === s) j++;
    if (s !== null && SESSION_COLORS[s]) {
      shapes.push({
        type: 'rect',
        xref: 'x',
        yref: 'paper',
        x0: iso(ts[i]),
        x1: iso(ts[j - 1]),
        y0: 0,
        y1: 1,
        fillcolor: SESSION_COLORS[s],
        line: { width: 0 },
        layer: 'below',
      });
    }
    i = j;
  }
  return shapes;
}

/** Legend entries for the session shading (empty traces with the shading colour). */
export function sessionLegend(): Trace[] {
  return Object.entries(SESSION_COLORS).map(([name, color]) => ({
    name: `${name} session (shading)`,
    x: [null],
    y: [null],
    type: 'scatter',
    mode: 'markers',
    marker: { size: 12, symbol: 'square', color: color.replace(/0\.10\)$/, '0.35)') },
    hoverinfo: 'skip',
  }));
}

// ------------------------------------------------------------------ re-scoring a run (evaluate)

export interface Weights {
  ofi: number;
  cvd: number;
}

export interface SliceWeights extends Weights {
  /** Gate of this slice (default: the default gate). */
  gate?: number;
}

export type EvalDimension = 'regime' | 'session' | 'vol_tertile' | 'scenario_2x2';

export interface EvaluateOptions {
  /** Default fusion weights (default: the run's config). */
  weights?: Weights;
  /** Default gate: |raw score| below it scores 0 (default: the run's config). */
  gate?: number;
  /** Slice overrides, slice value (Active, London, A_H, ...) -> weights (default: the run's config; {} = none). */
  slices?: Record<string, SliceWeights>;
  /** Symbols (default: all of the run); ALL pools them. */
  symbols?: string[];
  /** Slice dimensions to report (default all four; ['regime'] is the fastest). */
  dims?: EvalDimension[];
  /** Top-5% hit rate per slice (default true; false skips it, e.g. in a grid). */
  topk?: boolean;
  /** Walk-forward Platt for ECE / Brier skill (default true; false: AUC, CI and n only, 47 vs 70 ms on the 24 h x 6 demo run). */
  calibrate?: boolean;
}

/** One group (a symbol or ALL) x slice value: what `slices_overview.csv` holds. */
export interface SliceMetrics {
  group: string;
  dimension: string;
  value: string;
  /** Samples in the slice, and those with a resolved label. */
  rows: number;
  labeled: number;
  /** Samples in the AUC (finite score, resolved label) and their classes. */
  n: number;
  n_pos: number;
  n_neg: number;
  effective_hours: number;
  auc: number | null;
  /** DeLong 95% CI with the overlapping-label variance inflation. */
  ci_low: number | null;
  ci_high: number | null;
  ece: number | null;
  brier: number | null;
  brier_skill: number | null;
  /** Why a metric is null (insufficient samples ...). */
  reason: string | null;
}

export interface Evaluator {
  readonly runDir: string;
  readonly symbols: readonly string[];
  /** DeLong variance inflation the run's config implies (label horizon / sample interval). */
  readonly varianceInflation: number;
  /** Re-scores the run under `o` with the pipeline's own score rule; equal to a canary run with that config. */
  evaluate(o?: EvaluateOptions): SliceMetrics[];
  /**
   * `evaluate(points[i])` for every point, in point order (the same numbers to the bit), split over
   * 2 worker threads (src/canary/rescore-pool.ts; started on first use, ~1 s, then reused): a
   * 50-point grid in about half the time of 50 `evaluate` calls.
   */
  evaluateGrid(points: readonly EvaluateOptions[]): Promise<SliceMetrics[][]>;
  /** Stops the grid's worker threads (idle ones do not keep the process alive anyway). */
  close(): Promise<void>;
}

/**
 * Loads a canary run once (eval_samples.parquet joined with its fusion
 * components, ~1-3 s for 24 h x 6 symbols) for repeated `evaluate` calls
 * (src/canary/rescore.ts): gate and slice overrides included, walk-forward
 * Platt as the canary, no replay.
 */
export async function evaluator(runDir: string): Promise<Evaluator> {
  const { loadRescoreRun, rescore } = load('canary/rescore');
  const { RescorePool } = load('canary/rescore-pool');
  const { CalibrationThread } = load('canary/calibration-thread');
  const { overlapInflation } = load('canary/engine');
  const run = await loadRescoreRun(runDir);
  // a second core for each evaluate()'s walk-forward fits (same results; src/canary/calibration-thread.ts)
  // biome-ignore lint/suspicious/noExplicitAny: the untyped project module's thread
  let thread: any = await CalibrationThread.start();
  const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
  // biome-ignore lint/suspicious/noExplicitAny: rows of the untyped project module, typed here
  const metricsRows = (rows: any[]): SliceMetrics[] =>
    // biome-ignore lint/suspicious/noExplicitAny: as above
    rows.map((r: any) => ({
      group: r.group,
      dimension: r.dim,
      value: r.value,
      rows: r.rows,
      labeled: r.labeled,
      n: r.auc.n,
      n_pos: r.auc.n_pos,
      n_neg: r.auc.n_neg,
      effective_hours: r.effective_hours,
      auc: num(r.auc.auc),
      ci_low: num(r.auc.ci_low),
      ci_high: num(r.auc.ci_high),
      ece: num(r.ece.value),
      brier: num(r.brier.value),
      brier_skill: num(r.brier_skill.value),
      reason: r.auc.reason ?? r.ece.reason ?? null,
    }));
  // biome-ignore lint/suspicious/noExplicitAny: the untyped project module's pool
  let pool: any = null;
  return {
    runDir,
    symbols: run.symbols,
    varianceInflation: overlapInflation(run.config),
    evaluate(o: EvaluateOptions = {}): SliceMetrics[] {
      return metricsRows(rescore(run, o, { thread }).rows);
    },
    async evaluateGrid(points: readonly EvaluateOptions[]): Promise<SliceMetrics[][]> {
      if (pool === null) pool = new RescorePool(run, 2);
      // biome-ignore lint/suspicious/noExplicitAny: results of the untyped project module
      return (await pool.map(points)).map((r: any) => metricsRows(r.rows));
    },
    async close(): Promise<void> {
      if (pool !== null) await pool.close();
      pool = null;
      if (thread !== null) await thread.close();
      thread = null;
    },
  };
}

/**
 * The DeLong variance inflation of a run's samples (its config: label horizon /
 * sample interval, 60 by default): 1 s samples with 60 s labels overlap, and
 * the uncorrected CI is ~8x too narrow. Pass it to every AUC CI a notebook shows.
 */
export function varianceInflation(runDir: string): number {
  const { overlapInflation } = load('canary/engine');
  const m = load('replay/run-folder').readRunManifest(runDir); // a torn manifest: one line naming it, not a stack
  return overlapInflation(m.config);
}

/** The row of `group` x `value` (e.g. 'ALL', 'Active'); throws when absent. */
export function metricsOf(rows: readonly SliceMetrics[], group: string, value: string): SliceMetrics {
  const r = rows.find((x) => x.group === group && x.value === value);
  if (!r) throw new Error(`evaluate: no row ${group} x ${value}`);
  return r;
}

// ------------------------------------------------------------------ walk-forward weight + gate search

/**
 * The shared canary run for the parameters' window (created, or reused when
 * its symbols, window and config fingerprint match), with the window; says
 * which on one line.
 */
export async function sharedCanary(p: Params): Promise<CanaryInfo & { w: Window }> {
  const w = window(p, await ensureDefaultDataset());
  const c = await ensureCanary(p.runTag, w);
  console.log(`${c.reused ? 'reused' : `ran (${c.seconds.toFixed(1)} s)`} canary ${p.runTag}: ${c.reportDir}`);
  return { ...c, w };
}

export interface SearchRow {
  readonly t: number;
  readonly zo: number;
  /** z_cvd times the CVD direction in force. */
  readonly zc: number;
  readonly y: number;
  readonly resolved: number;
}

export interface SearchResult {
  readonly slice: string;
  /** Last fold's choice (what one would deploy now); null when no fold could be fitted. */
  readonly w_ofi: number | null;
  readonly w_cvd: number | null;
  readonly gate: number | null;
  readonly folds: number;
  /** Out-of-sample AUC over the test windows only, with its overlap-corrected DeLong CI. */
  readonly auc_oos: number | null;
  readonly ci_low: number | null;
  readonly ci_high: number | null;
  readonly n_oos: number;
  /** OOS AUC of the base weights (0.6, 0.4, gate 0) on the same test samples. */
  readonly auc_base: number | null;
  readonly per_fold: {
    fold_start: string;
    w_ofi: number;
    gate: number;
    train_auc: number;
    test_auc: number | null;
    n_test: number;
  }[];
}

export const W_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
export const GATE_GRID = [0, 0.25, 0.5, 1];

function fused(w: number, gate: number, r: SearchRow): number {
  const s = w * r.zo + (1 - w) * r.zc;
  return Math.abs(s) < gate ? 0 : s;
}

/**
 * For each fold start Tf (multiples of testMs), picks (w_ofi, gate) maximising
 * AUC on samples in [Tf - trainMs, Tf) whose labels resolved by Tf (30 per
 * class at least), and scores the next testMs with it. Only those test
 * predictions enter auc_oos: no sample is scored by a choice that saw its label.
 * Rows must be sorted by t.
 */
export function walkForwardSearch(
  slice: string,
  rows: readonly SearchRow[],
  trainMs: number,
  testMs: number,
  /** DeLong variance inflation of the reported CI (overlapping labels: horizon / sample interval). */
  varianceInflation: number,
  base = { w_ofi: 0.6, gate: 0 },
): SearchResult {
  const { aucDeLong } = load('eval/auc');
  const perFold: SearchResult['per_fold'] = [];
  const oosS: number[] = [];
  const baseS: number[] = [];
  const oosY: number[] = [];
  let last: { w: number; g: number } | null = null;
  if (rows.length > 0) {
    const t0 = rows[0].t;
    const t1 = rows[rows.length - 1].t;
    for (let Tf = Math.floor(t0 / testMs) * testMs + testMs; Tf <= t1; Tf += testMs) {
      const train = rows.filter((r) => r.t >= Tf - trainMs && r.t < Tf && r.resolved <= Tf);
      const test = rows.filter((r) => r.t >= Tf && r.t < Tf + testMs);
      if (test.length === 0) continue;
      const ty = train.map((r) => r.y);
      let best: { w: number; g: number; auc: number } | null = null;
      for (const g of GATE_GRID) {
        for (const w of W_GRID) {
          const a = aucDeLong(
            train.map((r) => fused(w, g, r)),
            ty,
            { min_per_class: 30 },
          );
          if (a.auc !== null && (best === null || a.auc > best.auc)) best = { w, g, auc: a.auc };
        }
      }
      if (best === null) continue;
      last = { w: best.w, g: best.g };
      const sc = test.map((r) => fused(best!.w, best!.g, r));
      const ta = aucDeLong(
        sc,
        test.map((r) => r.y),
      );
      perFold.push({
        fold_start: iso(Tf),
        w_ofi: best.w,
        gate: best.g,
        train_auc: best.auc,
        test_auc: ta.auc,
        n_test: test.length,
      });
      for (let i = 0; i < test.length; i++) {
        oosS.push(sc[i]);
        baseS.push(fused(base.w_ofi, base.gate, test[i]));
        oosY.push(test[i].y);
      }
    }
  }
  const a = aucDeLong(oosS, oosY, { min_per_class: 30, variance_inflation: varianceInflation });
  const b = aucDeLong(baseS, oosY, { min_per_class: 30 });
  return {
    slice,
    w_ofi: last === null ? null : last.w,
    w_cvd: last === null ? null : Math.round((1 - last.w) * 10) / 10,
    gate: last === null ? null : last.g,
    folds: perFold.length,
    auc_oos: a.auc,
    ci_low: a.ci_low ?? null,
    ci_high: a.ci_high ?? null,
    n_oos: a.n,
    auc_base: b.auc,
    per_fold: perFold,
  };
}

// ------------------------------------------------------------------ sweeps (flowlab sweep)

export interface SweepInfo {
  /** The sweep folder (sweep.json, configs/, shards/, sweep_results.parquet, sweep_summary.md). */
  readonly dir: string;
  readonly resultsFile: string;
  readonly summaryFile: string;
  readonly configs: number;
  readonly shards: number;
  /** Shards run by this call (0: the folder held the finished sweep). */
  readonly ran: number;
  readonly seconds: number;
}

/**
 * The sweep `artifacts/sweeps/<tag>` of `grid` (`KEY=a,b,c` or `KEY=lo:hi:step`
 * per axis) over the window's symbols and range on the default dataset, run
 * with `flowlab sweep`'s own code (src/sweep/sweep.ts, `workers` local
 * processes). A finished sweep in that folder runs nothing new; a folder that
 * holds another sweep (other grid, window, config or code) is replaced only
 * for `nb-*` tags, as notebooks replace only their own runs.
 */
export async function ensureSweep(
  tag: string,
  w: Window,
  grid: readonly string[],
  opts: { configPath?: string; workers?: number; holdout?: number } = {},
): Promise<SweepInfo> {
  const { runSweep, SWEEP_FILE } = load('sweep/sweep');
  const { UsageError } = load('core/errors');
  const data = await ensureDefaultDataset();
  const dir = rootPath('artifacts', 'sweeps', tag);
  const req = {
    data,
    configPath: rootPath(opts.configPath ?? DEFAULT_CONFIG),
    grid: [...grid],
    symbols: [...w.symbols].sort(),
    fromMs: w.fromMs,
    toMs: w.toMs,
    out: dir,
    workers: opts.workers ?? 2,
    holdout: opts.holdout ?? 0.3,
  };
  const t0 = Date.now();
  let r: { resultsFile: string; summaryFile: string; configs: number; shards: number; ran: number };
  try {
    r = await runSweep(req);
  } catch (e) {
    // runSweep refuses a folder holding another sweep (a usage error, nothing touched); ours to replace
    if (!(e instanceof UsageError && tag.startsWith('nb-') && fs.existsSync(path.join(dir, SWEEP_FILE)))) throw e;
    console.log(`replacing sweep ${tag}: ${(e as Error).message.split('\n')[0]}`);
    fs.rmSync(dir, { recursive: true, force: true });
    r = await runSweep(req);
  }
  return {
    dir,
    resultsFile: r.resultsFile,
    summaryFile: r.summaryFile,
    configs: r.configs,
    shards: r.shards,
    ran: r.ran,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** An AUC with its overlap-corrected DeLong 95% CI and n (null when too few samples). */
export interface SweepAuc {
  auc: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: number;
}

/** One row of sweep_results.parquet: a (config, symbol) shard. */
export interface SweepRow {
  config_index: number;
  config_fingerprint: string;
  symbol: string;
  /** The grid values of this config, by config key (e.g. `fusion.weights.ofi`). */
  grid: Record<string, number | string | boolean>;
  /** `key=value ...` of the grid values, as the sweep summary writes it. */
  label: string;
  include_in_pool: boolean;
  /**
   * Fusion AUC on the training period (embargoed by one horizon) and on the held-out period: the config's own
   * score rule over the whole shard (its stored components re-scored), also after a rollback.
   */
  train: SweepAuc;
  holdout: SweepAuc;
  /** The shard's canary run folder. */
  shard: string;
  /**
   * When the shard's canary first rolled back to the base config (null: never). From then on the canary ran
   * the base config, so its own figures (verdict checks, incidents: `raw`) after it are the base's; the
   * training / held-out AUCs above are re-scored and stay this config's.
   */
  rollback_at_ms: number | null;
  /** Every column of the row (checks, incidents by gate ...), integers as numbers. */
  raw: Record<string, unknown>;
}

/**
 * sweep_results.parquet of a sweep folder as typed rows (grid order, then
 * symbol). Grid columns are recovered with their config keys from the folder's
 * sweep.json.
 */
export async function sweepResults(dir: string): Promise<SweepRow[]> {
  const { RESULTS_FILE, SWEEP_FILE } = load('sweep/sweep');
  const { sqlString } = load('io/duck');
  const spec = JSON.parse(fs.readFileSync(path.join(dir, SWEEP_FILE), 'utf8')).spec as {
    grid: { key: string }[];
  };
  const keys = spec.grid.map((a) => a.key);
  const col = (k: string) => `grid_${k.replace(/[^A-Za-z0-9_]/g, '_')}`;
  // integer columns as DOUBLE: DuckDB hands BIGINT to JS as bigint
  const rows = await sql(
    `SELECT * REPLACE (CAST(config_index AS DOUBLE) AS config_index, CAST(auc_train_n AS DOUBLE) AS auc_train_n,
       CAST(auc_holdout_n AS DOUBLE) AS auc_holdout_n, CAST(rollback_at_ms AS DOUBLE) AS rollback_at_ms)
     FROM read_parquet(${sqlString(path.join(dir, RESULTS_FILE))}) ORDER BY config_index, symbol`,
  );
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const auc = (r: Record<string, unknown>, p: string): SweepAuc => ({
    auc: num(r[`auc_${p}`]),
    ci_low: num(r[`auc_${p}_ci_lo`]),
    ci_high: num(r[`auc_${p}_ci_hi`]),
    n: num(r[`auc_${p}_n`]) ?? 0,
  });
  return rows.map((r) => {
    const grid: Record<string, number | string | boolean> = {};
    for (const k of keys) grid[k] = r[col(k)] as number | string | boolean;
    const shard = load('core/validate').safeJoin(dir, String(r.shard)); // a results row names a folder of this sweep only
    return {
      config_index: r.config_index as number,
      config_fingerprint: r.config_fingerprint as string,
      symbol: r.symbol as string,
      grid,
      label: keys.map((k) => `${k}=${grid[k]}`).join(' '),
      include_in_pool: r.include_in_pool === true,
      train: auc(r, 'train'),
      holdout: auc(r, 'holdout'),
      shard,
      rollback_at_ms: num(r.rollback_at_ms),
      raw: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
    };
  });
}
