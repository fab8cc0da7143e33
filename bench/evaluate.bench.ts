/**
 * Re-scoring a canary run (src/canary/rescore.ts, the notebooks' evaluate()),
 * run from the modules notebooks load (notebooks/lib.ts `projectModules`: the
 * compiled dist/ when it is fresh, `npm run build`, else the sources through
 * tsx; the first line says which). The compiled modules are imported as ES
 * modules: this process runs under tsx, whose require hook would re-compile
 * them (a notebook kernel requires them natively).
 * One evaluate() of a 24 h x 6 symbol run with every slice dimension as
 * notebooks call it (with a CalibrationThread: src/canary/calibration-thread.ts)
 * and on one thread, alternately (medians of 9 after 3 warm-up rounds), with
 * the regime slices only (no top-k), and a 50-point weight x gate grid (the same),
 * wall and CPU time (CPU of every thread of the process; medians of 7 calls / 3
 * grids after a warm-up, with the 1-minute load average: the machine is shared), and the same grid on 2 worker
 * threads (RescorePool, src/canary/rescore-pool.ts: its first map, which starts the
 * workers and hands them the run's shared columns, then the median of 3 maps). The run: $FLOWLAB_BENCH_RUN, else artifacts/runtime/demo
 * (`npm run demo`), else a canary run on datasets/default made here (minutes).
 * Targets (issue 14): one evaluate() < 100 ms, the grid < 5 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RescoreRequest, RescoreRun } from '../src/canary/rescore.js';
import type { CalibrationThread } from '../src/canary/calibration-thread.js';
import { projectModules } from '../notebooks/lib.js';
import { runCanary } from '../src/canary/canary.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/load.js';
import { DEFAULT_DATASET_RECIPE, synthesize } from '../src/synth/index.js';

async function runDir(): Promise<string> {
  const given = process.env.FLOWLAB_BENCH_RUN;
  if (given) return path.resolve(given);
  const demo = path.resolve('artifacts/runtime/demo');
  if (fs.existsSync(path.join(demo, 'canary_report', 'eval_samples.parquet'))) return demo;
  const data = path.resolve(DEFAULT_DATASET_RECIPE.dir);
  if (!fs.existsSync(path.join(data, 'manifest.json'))) await synthesize(DEFAULT_DATASET_RECIPE.options, data);
  const config = loadConfig(DEFAULT_CONFIG_PATH, {});
  const out = path.resolve('artifacts/runtime');
  const r = await runCanary({
    data,
    config,
    configPath: DEFAULT_CONFIG_PATH,
    out,
    runTag: 'bench-evaluate',
    overwrite: true,
    progress: false,
  });
  return r.replay.runDir;
}

function timed(fn: () => void): { ms: number; cpu: number } {
  const c = process.cpuUsage();
  const t = performance.now();
  fn();
  const u = process.cpuUsage(c);
  return { ms: performance.now() - t, cpu: (u.user + u.system) / 1000 };
}

/** Median wall and median CPU of `reps` runs (after one warm-up run), and the 1-minute load average meanwhile. */
function median(fn: () => void, reps: number): { ms: number; cpu: number; load: number } {
  fn();
  const ms: number[] = [];
  const cpu: number[] = [];
  const load: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = timed(fn);
    ms.push(t.ms);
    cpu.push(t.cpu);
    load.push(os.loadavg()[0]);
  }
  const mid = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return { ms: mid(ms), cpu: mid(cpu), load: mid(load) };
}

/** `median` of two functions run alternately (a, b, a, b, ...): both see the same machine. */
function medianPair(
  a: () => void,
  b: () => void,
  reps: number,
): [ReturnType<typeof median>, ReturnType<typeof median>] {
  for (let w = 0; w < 3; w++) {
    a();
    b();
  }
  const runs: { ms: number; cpu: number; load: number }[][] = [[], []];
  for (let i = 0; i < reps; i++)
    for (const [k, fn] of [a, b].entries()) runs[k].push({ ...timed(fn), load: os.loadavg()[0] });
  const mid = (r: { ms: number; cpu: number; load: number }[], key: 'ms' | 'cpu' | 'load') =>
    r.map((x) => x[key]).sort((x, y) => x - y)[r.length >> 1];
  const out = runs.map((r) => ({ ms: mid(r, 'ms'), cpu: mid(r, 'cpu'), load: mid(r, 'load') }));
  return [out[0], out[1]];
}

/** The grid of notebook 04's shape: Active weights x Active gate, regime slices, no top-k. */
function gridPoints(calibrate: boolean): RescoreRequest[] {
  const out: RescoreRequest[] = [];
  for (const gate of [0, 0.25, 0.5, 0.75, 1])
    for (let k = 0; k < 10; k++)
      out.push({
        slices: { Active: { ofi: k / 10, cvd: 1 - k / 10, gate } },
        dims: ['regime'],
        topk: false,
        calibrate,
      });
  return out;
}

type Rescore = typeof import('../src/canary/rescore.js');
type Pool = typeof import('../src/canary/rescore-pool.js');
type Thread = typeof import('../src/canary/calibration-thread.js');

function grid(rescore: Rescore['rescore'], run: RescoreRun, calibrate: boolean): void {
  for (const req of gridPoints(calibrate)) rescore(run, req);
}

/** Median wall of `reps` awaited runs of `fn`, with the main thread's CPU (the workers' is not in it). */
async function medianAsync(fn: () => Promise<unknown>, reps: number): Promise<{ ms: number; load: number }> {
  const ms: number[] = [];
  const load: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
    load.push(os.loadavg()[0]);
  }
  const mid = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return { ms: mid(ms), load: mid(load) };
}

export async function benchEvaluate(): Promise<{ name: string; value: number; unit: string }[]> {
  const dir = await runDir();
  const modules = projectModules();
  const mod = async <T>(rel: string): Promise<T> =>
    (await import(pathToFileURL(path.join(modules.dir, `${rel}${modules.ext}`)).href)) as T;
  const { loadRescoreRun, rescore } = await mod<Rescore>('canary/rescore');
  const { RescorePool } = await mod<Pool>('canary/rescore-pool');
  const { CalibrationThread: Calibration } = await mod<Thread>('canary/calibration-thread');
  const t0 = performance.now();
  const run = await loadRescoreRun(dir);
  const loadMs = performance.now() - t0;
  const samples = [...run.tracks.values()].reduce((a, t) => a + t.t.length, 0);
  const call = (req: RescoreRequest, thread?: CalibrationThread) => () => {
    rescore(run, req, { thread });
  };
  // what a notebook's evaluate() does: the walk-forward fits split with a CalibrationThread
  const thread = await Calibration.start();
  const [full, one] = medianPair(call({}, thread), call({}), 9);
  if (!thread.usable) throw new Error(`bench evaluate: the calibration thread failed: ${thread.failure}`);
  await thread.close();
  const regime = median(call({ dims: ['regime'], topk: false }), 7);
  const auc = median(call({ calibrate: false }), 7);
  const g = median(() => grid(rescore, run, true), 3);
  const gAuc = median(() => grid(rescore, run, false), 3);
  const t1 = performance.now();
  const pool = new RescorePool(run, 2);
  await pool.map(gridPoints(true));
  const firstMs = performance.now() - t1;
  const pg = await medianAsync(() => pool.map(gridPoints(true)), 3);
  const pgAuc = await medianAsync(() => pool.map(gridPoints(false)), 3);
  await pool.close();
  const how =
    modules.kind === 'dist'
      ? 'compiled dist/, as notebooks load it when fresh'
      : 'sources through tsx (dist/ stale or absent: npm run build; or FLOWLAB_TSX=1), as notebooks would';
  const tag = `${run.symbols.length} symbols, ${samples.toLocaleString('en-US')} samples; modules: ${how}`;
  const unit = (r: { cpu: number; load: number }, scale: number, u: string) =>
    `${u} wall (CPU ${(r.cpu / scale).toFixed(scale === 1 ? 0 : 2)} ${u}, load ${r.load.toFixed(1)})`;
  return [
    { name: `evaluate: load run (${tag})`, value: loadMs / 1000, unit: 's' },
    {
      name: 'evaluate: one call, all slice dimensions, as notebooks (fits on 2 threads; target < 100 ms)',
      value: full.ms,
      unit: unit(full, 1, 'ms'),
    },
    { name: 'evaluate: one call, all slice dimensions, one thread', value: one.ms, unit: unit(one, 1, 'ms') },
    { name: 'evaluate: one call, regime slices, no top-k', value: regime.ms, unit: unit(regime, 1, 'ms') },
    { name: 'evaluate: one call, all dimensions, calibrate: false', value: auc.ms, unit: unit(auc, 1, 'ms') },
    { name: 'evaluate: 50-point weight x gate grid (target < 5 s)', value: g.ms / 1000, unit: unit(g, 1000, 's') },
    {
      name: 'evaluate: the same grid, calibrate: false (AUC, CI, n)',
      value: gAuc.ms / 1000,
      unit: unit(gAuc, 1000, 's'),
    },
    {
      name: 'evaluate: the grid on 2 worker threads, first map (starts the workers)',
      value: firstMs / 1000,
      unit: 's wall',
    },
    {
      name: 'evaluate: the grid on 2 worker threads (target < 5 s)',
      value: pg.ms / 1000,
      unit: `s wall (load ${pg.load.toFixed(1)})`,
    },
    {
      name: 'evaluate: the grid on 2 worker threads, calibrate: false',
      value: pgAuc.ms / 1000,
      unit: `s wall (load ${pgAuc.load.toFixed(1)})`,
    },
  ];
}
