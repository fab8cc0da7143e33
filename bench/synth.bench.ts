/**
 * Synthetic-market throughput:
 * - generation only (model + latency/faults + arrival merge) into a sink that
 *   drops rows: 6 symbols x 2 h, best of REPS, ticks (rows) per second;
 * - end to end into a Parquet dataset (DuckDB writes, sha256, manifest):
 *   6 symbols x 2 h, best of REPS, ticks per second;
 * - the extrapolated wall time of the default 24 h x 6 symbols dataset
 *   (end-to-end rate applied to its row count measured by the generation run).
 * Set FLOWLAB_BENCH_SYNTH_FULL=1 to time the real 24 h x 6 symbols dataset once instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawSink } from '../src/core/types.js';
import { DEFAULT_SYNTH, generate, synthesize } from '../src/synth/index.js';

const REPS = 2;
const HOURS = 2;

const nullSink: RawSink = {
  trade() {},
  quote() {},
  depth() {},
};

export async function benchSynth(): Promise<{ name: string; value: number; unit: string }[]> {
  const opts = { ...DEFAULT_SYNTH, hours: HOURS };
  let rows = 0;
  let bestGen = Infinity;
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    const s = await generate(opts, nullSink);
    bestGen = Math.min(bestGen, performance.now() - t0);
    rows = s.rows.total;
  }
  let bestFull = Infinity;
  for (let i = 0; i < REPS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-synth-'));
    try {
      const t0 = performance.now();
      await synthesize(opts, path.join(dir, 'ds'));
      bestFull = Math.min(bestFull, performance.now() - t0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const day = await generate(DEFAULT_SYNTH, nullSink);
  const out = [
    { name: `synth generate 6 sym x ${HOURS} h (null sink)`, value: (rows / bestGen) * 1000, unit: 'ticks/s' },
    { name: `synth end to end to Parquet 6 sym x ${HOURS} h`, value: (rows / bestFull) * 1000, unit: 'ticks/s' },
    { name: 'synth default dataset 24 h x 6 sym: rows', value: day.rows.total, unit: 'rows' },
    {
      name: 'synth default dataset 24 h x 6 sym: est. wall time',
      value: (day.rows.total / rows) * (bestFull / 1000),
      unit: 's',
    },
  ];
  if (process.env.FLOWLAB_BENCH_SYNTH_FULL === '1') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-synth-'));
    try {
      const t0 = performance.now();
      await synthesize(DEFAULT_SYNTH, path.join(dir, 'ds'));
      out.push({
        name: 'synth default dataset 24 h x 6 sym: wall time',
        value: (performance.now() - t0) / 1000,
        unit: 's',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
