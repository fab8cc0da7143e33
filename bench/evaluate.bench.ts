/**
 * Re-scoring a canary run (src/canary/rescore.ts, the notebooks' evaluate()):
 * one evaluate() of a 24 h x 6 symbol run with every slice dimension and with
 * the regime slices only (no top-k), and a 50-point weight x gate grid (the same),
 * wall and CPU time. The run: $FLOWLAB_BENCH_RUN, else artifacts/runtime/demo
 * (`npm run demo`), else a canary run on datasets/default made here (minutes).
 * Targets (issue 14): one evaluate() < 100 ms, the grid < 5 s.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadRescoreRun, rescore, type RescoreRequest, type RescoreRun } from '../src/canary/rescore.js';
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

function best(run: RescoreRun, req: RescoreRequest, reps: number): { ms: number; cpu: number } {
  let b = { ms: Infinity, cpu: Infinity };
  for (let i = 0; i < reps; i++) {
    const t = timed(() => rescore(run, req));
    if (t.ms < b.ms) b = t;
  }
  return b;
}

export async function benchEvaluate(): Promise<{ name: string; value: number; unit: string }[]> {
  const dir = await runDir();
  const t0 = performance.now();
  const run = await loadRescoreRun(dir);
  const loadMs = performance.now() - t0;
  const samples = [...run.tracks.values()].reduce((a, t) => a + t.t.length, 0);
  const full = best(run, {}, 3);
  const regime = best(run, { dims: ['regime'], topk: false }, 3);
  const grid = timed(() => {
    for (const gate of [0, 0.25, 0.5, 0.75, 1])
      for (let k = 0; k < 10; k++)
        rescore(run, { slices: { Active: { ofi: k / 10, cvd: 1 - k / 10, gate } }, dims: ['regime'], topk: false });
  });
  const gridAuc = timed(() => {
    for (const gate of [0, 0.25, 0.5, 0.75, 1])
      for (let k = 0; k < 10; k++)
        rescore(run, {
          slices: { Active: { ofi: k / 10, cvd: 1 - k / 10, gate } },
          dims: ['regime'],
          topk: false,
          calibrate: false,
        });
  });
  const tag = `${run.symbols.length} symbols, ${samples.toLocaleString('en-US')} samples`;
  return [
    { name: `evaluate: load run (${tag})`, value: loadMs / 1000, unit: 's' },
    {
      name: 'evaluate: one call, all slice dimensions (target < 100 ms)',
      value: full.ms,
      unit: `ms (CPU ${full.cpu.toFixed(0)} ms)`,
    },
    {
      name: 'evaluate: one call, regime slices, no top-k',
      value: regime.ms,
      unit: `ms (CPU ${regime.cpu.toFixed(0)} ms)`,
    },
    {
      name: 'evaluate: 50-point weight x gate grid (target < 5 s)',
      value: grid.ms / 1000,
      unit: `s (CPU ${(grid.cpu / 1000).toFixed(1)} s)`,
    },
    {
      name: 'evaluate: the same grid, calibrate: false (AUC, CI, n)',
      value: gridAuc.ms / 1000,
      unit: `s (CPU ${(gridAuc.cpu / 1000).toFixed(1)} s)`,
    },
  ];
}
