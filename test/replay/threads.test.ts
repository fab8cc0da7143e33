/**
 * Symbol-parallel replay (`--threads`, src/replay/shards.ts): every file of a
 * run folder (all derived parts, slices, run_tag.txt, manifest.json) is
 * byte-identical whatever the thread count (1, 2, 3) and `--io` mode, and the
 * derived files and figures do not depend on how the input was partitioned;
 * `verify` accepts a threaded run; a bad part file in one shard fails the run
 * with the one-line error of a one-thread run and leaves no run folder; a
 * killed shard worker is reported by name and leaves no run folder either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { runImport } from '../../src/import/run.js';
import { replay, type ReplayRequest, type ReplayResult } from '../../src/replay/replay.js';
import { verifyRun } from '../../src/canary/verify.js';
import { AUTO_MIN_ROWS, planShards, resolveThreads } from '../../src/replay/shards.js';
import { loadConfig } from '../../src/config/load.js';
import { INCOMPLETE_MARKER } from '../../src/core/atomic.js';
import { Dataset } from '../../src/dataset/reader.js';
import { REALDATA, REPO, runCli } from '../helpers/cli.js';
import { folderHashes } from '../helpers/files.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-threads-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CONFIG = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
const SYMBOLS = ['ADAUSDT', 'BTCUSDT', 'SOLUSDT', 'XRPUSDT'];
const D = path.join(tmp, 'D');
const SPOT = ['btcusdt_20240808', 'ethusdt_20240808'].map((f) => path.join(REALDATA, 'spot', `${f}.gz`));
const spot = path.join(tmp, 'spot');
const spot20 = path.join(tmp, 'spot20');

const run = (data: string, out: string, extra: Partial<ReplayRequest>) =>
  replay({ data, config: CONFIG, out: path.join(tmp, out), runTag: 'r', progress: false, blockRows: 2048, ...extra });

let one: ReplayResult;

beforeAll(async () => {
  await synthesize(
    { ...DEFAULT_SYNTH, symbols: SYMBOLS, hours: 1, seed: 7, dupRate: 0.01, oooRate: 0.01, skewMs: -1270 },
    D,
  );
  one = await run(D, 'one', { threads: 1, io: 'inline' });
}, 180_000);

describe('replay --threads', () => {
  it('plans shards balanced by input rows, deterministically', () => {
    const inputs = new Dataset(D).select({ kinds: ['trades', 'quotes'] });
    const rows = (syms: string[]) => inputs.filter((f) => syms.includes(f.symbol)).reduce((s, f) => s + f.rows, 0);
    const two = planShards(inputs, 2);
    expect(two).toHaveLength(2);
    expect(two.flatMap((s) => s.symbols).sort()).toEqual(SYMBOLS);
    for (const s of two) expect(s.rows).toBe(rows(s.symbols));
    // largest-first greedy is within 7/6 of the best split into two (checked against every split)
    let best = Infinity;
    for (let mask = 0; mask < 1 << SYMBOLS.length; mask++) {
      const a = SYMBOLS.filter((_, i) => mask & (1 << i));
      const b = SYMBOLS.filter((_, i) => !(mask & (1 << i)));
      best = Math.min(best, Math.max(rows(a), rows(b)));
    }
    expect(Math.max(two[0].rows, two[1].rows)).toBeLessThanOrEqual((best * 7) / 6);
    // the same plan for the input files in any order; never more shards than symbols
    expect(planShards([...inputs].reverse(), 2)).toEqual(two);
    expect(planShards(inputs, 9)).toHaveLength(SYMBOLS.length);
    expect(planShards(inputs, 1)).toEqual([{ symbols: SYMBOLS, rows: rows(SYMBOLS) }]);
    // auto: 2 from AUTO_MIN_ROWS rows on; one thread with an observer or pacing; asking for more then is refused
    const big = { observer: false, paced: false, rows: AUTO_MIN_ROWS };
    expect(resolveThreads('auto', big)).toBe(2);
    expect(resolveThreads('auto', { ...big, rows: AUTO_MIN_ROWS - 1 })).toBe(1);
    expect(resolveThreads(undefined, { ...big, observer: true })).toBe(1);
    expect(resolveThreads('auto', { ...big, paced: true })).toBe(1);
    expect(resolveThreads(3, { ...big, rows: 10 })).toBe(3);
    expect(() => resolveThreads(2, { ...big, paced: true })).toThrow(/--speed/);
    expect(() => resolveThreads(0, big)).toThrow(/positive integer/);
  });

  for (const [threads, io] of [
    [2, 'inline'],
    [2, 'workers'],
    [3, 'inline'],
    [3, 'workers'],
    [1, 'workers'],
  ] as const) {
    it(`threads ${threads}, io ${io}: every file of the run folder byte-identical to one thread inline`, async () => {
      const r = await run(D, `t${threads}-${io}`, { threads, io });
      const want = folderHashes(one.runDir);
      // the fixture has several parts per (symbol, table), slices and both metadata files
      expect(want.filter((l) => l.startsWith('data/')).length).toBeGreaterThan(4 * 5 * 2);
      expect(want.some((l) => l.startsWith('run_tag.txt '))).toBe(true);
      expect(want.some((l) => l.startsWith('manifest.json '))).toBe(true);
      expect(want.some((l) => l.startsWith('slices/'))).toBe(true);
      expect(folderHashes(r.runDir)).toEqual(want);
      expect(r.ticks).toBe(one.ticks);
    }, 180_000);
  }

  it('the fixture exercises the merged counters (dedup, late ticks, per-symbol skew)', () => {
    const c = one.manifest.counters;
    expect(c.duplicate_trades).toBeGreaterThan(10);
    expect(c.late_ticks).toBeGreaterThan(0);
    expect(c.max_late_ms).toBeGreaterThan(0);
    const skews = SYMBOLS.map((s) => one.manifest.symbols[s].skew_ms as number).sort((a, b) => a - b);
    expect(c.skew_ms).toBe(skews[1]);
  });

  it('does not depend on input partitioning: real spot BTCUSDT + ETHUSDT (2024-08-08), 1 h parts vs 20 s parts', async () => {
    for (const f of SPOT) expect(fs.existsSync(f), `real capture ${f} must exist`).toBe(true);
    await runImport({ format: 'ws-capture', inputs: SPOT, out: spot });
    await runImport({ format: 'ws-capture', inputs: SPOT, out: spot20, rotateSec: 20 });
    expect(new Dataset(spot20).manifest.files.length).toBeGreaterThan(new Dataset(spot).manifest.files.length * 10);
    const a = await run(spot, 'spot-1', { threads: 1, io: 'inline' });
    const b = await run(spot20, 'spot20-2', { threads: 2, io: 'workers' });
    const c = await run(spot20, 'spot20-1', { threads: 1, io: 'inline' });
    const data = (r: ReplayResult) => folderHashes(r.runDir).filter((l) => l.startsWith('data/'));
    expect(data(a).length).toBeGreaterThan(10);
    expect(data(b)).toEqual(data(a));
    expect(b.manifest.outputs).toEqual(a.manifest.outputs);
    expect(b.manifest.counters).toEqual(a.manifest.counters);
    expect(b.manifest.symbols).toEqual(a.manifest.symbols);
    expect(b.manifest.slices).toEqual(a.manifest.slices);
    // the same input partitioning: the whole folder, manifest included
    expect(folderHashes(b.runDir)).toEqual(folderHashes(c.runDir));
  }, 300_000);

  it('verify accepts a threaded run', async () => {
    const r = await run(D, 'verify', { threads: 3 });
    const v = await verifyRun(r.runDir);
    expect(v.message).toMatch(/^identical: \d+ output files/);
    expect(v.code).toBe(0);
  }, 180_000);

  // SOLUSDT, the heaviest symbol, is in shard 1 (this thread) and ADAUSDT in a worker's shard, for 2 and 3 threads
  for (const sym of ['SOLUSDT', 'ADAUSDT']) {
    it(`a bad ${sym} part file: the one-line error of one thread, exit 1, no run folder left`, () => {
      const inputs = new Dataset(D).select({ kinds: ['trades', 'quotes'] });
      for (const n of [2, 3]) expect(planShards(inputs, n)[0].symbols.includes(sym), `${n}`).toBe(sym === 'SOLUSDT');
      const copy = path.join(tmp, `corrupt-${sym}`);
      fs.cpSync(D, copy, { recursive: true });
      const victim = new Dataset(copy).manifest.files.find((f) => f.symbol === sym && f.kind === 'quotes')!;
      const file = path.join(copy, victim.path);
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 1000));
      const before = folderHashes(copy);
      const out = path.join(tmp, `corrupt-out-${sym}`);
      const args = (tag: string, threads: string) => [
        'replay',
        '--data',
        copy,
        '--out',
        out,
        '--run-tag',
        tag,
        '--threads',
        threads,
      ];
      const r1 = runCli(args('one', '1'));
      expect(r1.code).toBe(1);
      expect(r1.stderr.trim().split('\n')).toHaveLength(1);
      expect(r1.stderr).toContain(path.basename(file));
      for (const t of ['2', '3']) {
        const r = runCli(args(`t${t}`, t));
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toBe(r1.stderr);
        expect(fs.existsSync(path.join(out, `t${t}`))).toBe(false);
      }
      expect(fs.readdirSync(out)).toEqual([]);
      expect(folderHashes(copy)).toEqual(before);
    }, 180_000);
  }

  it('usage errors: a bad --threads, more than one thread for a paced replay', () => {
    const out = path.join(tmp, 'usage-out');
    const bad = runCli(['replay', '--data', D, '--out', out, '--run-tag', 'x', '--threads', 'two']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--threads: 'two' is not a positive integer or 'auto'/);
    const paced = runCli(['replay', '--data', D, '--out', out, '--run-tag', 'x', '--threads', '2', '--speed', '100']);
    expect(paced.code).toBe(2);
    expect(paced.stderr).toMatch(/--speed/);
    expect(fs.existsSync(out)).toBe(false);
  }, 180_000);

  it('a killed shard worker is reported naming its shard; the run folder is removed', async () => {
    const out = path.join(tmp, 'killed');
    const p = replay({
      data: D,
      config: CONFIG,
      out,
      runTag: 'k',
      progress: false,
      threads: 2,
      onShardWorkers: (ws) => {
        expect(ws).toHaveLength(1); // shard 1 runs on this thread
        void ws[0].terminate();
      },
    });
    await expect(p).rejects.toThrow(
      /^replay shard 2\/2 \([A-Z,]+\) worker failed: exited with code \d+ before reporting$/,
    );
    expect(fs.existsSync(path.join(out, 'k'))).toBe(false);
  }, 180_000);

  it('SIGKILLed while its shards write: the folder is marked incomplete, verify refuses it, a rerun replaces it', async () => {
    const out = path.join(tmp, 'sigkill');
    const runDir = path.join(out, 'k');
    const args = ['replay', '--data', D, '--out', out, '--run-tag', 'k', '--threads', '2'];
    const parts = () => {
      try {
        return fs
          .readdirSync(path.join(runDir, 'data'), { recursive: true })
          .some((f) => String(f).endsWith('.parquet'));
      } catch {
        return false;
      }
    };
    const killed = await new Promise<boolean>((resolve) => {
      const child = spawn(process.execPath, [path.join(REPO, 'bin/flowlab.mjs'), ...args], {
        cwd: REPO,
        stdio: 'ignore',
      });
      let k = false;
      const poll = setInterval(() => {
        if (parts()) {
          k = child.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve(k);
      });
    });
    expect(killed).toBe(true);
    expect(fs.existsSync(path.join(runDir, INCOMPLETE_MARKER))).toBe(true);
    const v = runCli(['verify', '--run', runDir]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/is incomplete \(_INCOMPLETE/);
    const again = runCli([...args, '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.existsSync(path.join(runDir, INCOMPLETE_MARKER))).toBe(false);
    expect(runCli(['verify', '--run', runDir]).code).toBe(0);
  }, 180_000);
});
