/**
 * `canary --threads` (src/canary/shards.ts): every file of a canary run folder
 * (derived parts, slices, the whole canary_report, run_tag.txt, manifest.json)
 * is byte-identical for 1, 2 and 3 threads, on a synthetic dataset whose
 * incidents interleave across symbols and shards (seed gates under an overlay,
 * so rollbacks and p1_timeout incidents quote ids that the merge renumbers; and
 * the default evidence gates) and on the real spot captures; a bad part file
 * in a shard fails the run with the one-thread error and leaves no folder; a
 * killed shard worker is reported naming its shard; `verify` accepts a
 * threaded canary run (it re-runs it on one thread).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { runImport } from '../../src/import/run.js';
import { runCanary, type CanaryRequest, type CanaryRun } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { Dataset } from '../../src/dataset/reader.js';
import { planShards } from '../../src/replay/shards.js';
import type { Incident } from '../../src/canary/engine.js';
import { verifyRun } from '../../src/canary/verify.js';
import { REALDATA, REPO, runCli } from '../helpers/cli.js';
import { folderHashes } from '../helpers/files.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-canary-threads-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const SYMBOLS = ['ADAUSDT', 'BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const D = path.join(tmp, 'D');
const OVERLAY = path.join(tmp, 'overlay.yaml');
const SPOT = ['btcusdt_20240808', 'ethusdt_20240808'].map((f) => path.join(REALDATA, 'spot', `${f}.gz`));
const spot = path.join(tmp, 'spot');

const run = (data: string, configPath: string, out: string, extra: Partial<CanaryRequest>) =>
  runCanary({
    data,
    config: loadConfig(configPath, {}),
    configPath,
    out: path.join(tmp, out),
    runTag: 'c',
    progress: false,
    ...extra,
  });

let seedOne: CanaryRun;

beforeAll(async () => {
  // SOLUSDT's signal dies after 1 h: its P1 stays open past p1_rollback_min while the others' come and go
  await synthesize(
    {
      ...DEFAULT_SYNTH,
      symbols: SYMBOLS,
      hours: 2.5,
      seed: 5,
      effect: 0.15,
      effectSchedule: [{ symbol: 'SOLUSDT', effect: 0, offsetMs: 3_600_000 }],
    },
    D,
  );
  fs.writeFileSync(
    OVERLAY,
    `extends: ${PROD}\nfusion:\n  weights: { ofi: 0.5, cvd: 0.5 }\n  slice_overrides:\n    Active: { ofi: 0.9, cvd: 0.1 }\ncanary:\n  gate_mode: seed\n`,
  );
  seedOne = await run(D, OVERLAY, 'seed-1', { threads: 1 });
}, 300_000);

const incidentsOf = (r: CanaryRun): Incident[] =>
  JSON.parse(fs.readFileSync(path.join(r.reportDir, 'incidents.json'), 'utf8')).incidents;

describe('canary --threads', () => {
  it('the seed-gate fixture interleaves incidents across shards and quotes ids in rollback texts', () => {
    const inc = incidentsOf(seedOne);
    const plan = planShards(new Dataset(D).select({ kinds: ['trades', 'quotes'] }), 2);
    const shardOf = (s: string) => plan.findIndex((p) => p.symbols.includes(s));
    const switches = inc.filter((x, i) => i > 0 && shardOf(x.symbol) !== shardOf(inc[i - 1].symbol)).length;
    expect(inc.length).toBeGreaterThan(20);
    expect(switches).toBeGreaterThan(5);
    // every p1_timeout names an incident opened before it, of its symbol
    const timeouts = inc.filter((x) => x.gate === 'p1_timeout');
    expect(timeouts.length).toBeGreaterThan(0);
    for (const t of timeouts) {
      const id = t.why.match(/^INC-\d{4}/)![0];
      const ref = inc.find((x) => x.id === id)!;
      expect(ref.symbol).toBe(t.symbol);
      expect(ref.severity).toBe('P1');
      expect(inc.indexOf(ref)).toBeLessThan(inc.indexOf(t));
    }
    const fps = JSON.parse(fs.readFileSync(path.join(seedOne.reportDir, 'incidents.json'), 'utf8')).fingerprints;
    expect(fps.some((f: { reason: string }) => /^rollback: INC-\d{4} /.test(f.reason))).toBe(true);
  });

  for (const threads of [2, 3]) {
    it(`seed gates, threads ${threads}: every file of the run folder byte-identical to one thread`, async () => {
      const r = await run(D, OVERLAY, `seed-${threads}`, { threads });
      const want = folderHashes(seedOne.replay.runDir);
      expect(want.filter((l) => l.startsWith('canary_report/')).length).toBeGreaterThan(10);
      expect(folderHashes(r.replay.runDir)).toEqual(want);
      if (threads === 2) {
        // verify re-runs it with one engine on one thread: the same outputs
        const v = await verifyRun(r.replay.runDir);
        expect(v.message).toMatch(/^identical: \d+ output files/);
        expect(v.code).toBe(0);
      }
    }, 300_000);
  }

  it('evidence gates (the default config), threads 2 and auto: byte-identical to one thread', async () => {
    const one = await run(D, PROD, 'ev-1', { threads: 1 });
    const two = await run(D, PROD, 'ev-2', { threads: 2 });
    const auto = await run(D, PROD, 'ev-auto', {});
    expect(one.result.gateMode).toBe('evidence');
    expect(folderHashes(two.replay.runDir)).toEqual(folderHashes(one.replay.runDir));
    expect(folderHashes(auto.replay.runDir)).toEqual(folderHashes(one.replay.runDir));
  }, 300_000);

  it('real spot BTCUSDT + ETHUSDT (2024-08-08): threads 2 byte-identical to one thread', async () => {
    for (const f of SPOT) expect(fs.existsSync(f), `real capture ${f} must exist`).toBe(true);
    await runImport({ format: 'ws-capture', inputs: SPOT, out: spot });
    const one = await run(spot, PROD, 'spot-1', { threads: 1 });
    const two = await run(spot, PROD, 'spot-2', { threads: 2 });
    expect(one.result.tracks.size).toBe(2);
    expect(folderHashes(two.replay.runDir)).toEqual(folderHashes(one.replay.runDir));
  }, 300_000);

  it('a bad part file in a worker shard: the one-line error of one thread, exit 1, no run folder left', () => {
    const inputs = new Dataset(D).select({ kinds: ['trades', 'quotes'] });
    const sym = planShards(inputs, 2)[1].symbols[0];
    const copy = path.join(tmp, 'corrupt');
    fs.cpSync(D, copy, { recursive: true });
    const victim = new Dataset(copy).manifest.files.find((f) => f.symbol === sym && f.kind === 'quotes')!;
    const file = path.join(copy, victim.path);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 1000));
    const out = path.join(tmp, 'corrupt-out');
    const args = (tag: string, threads: string) =>
      ['canary', '--data', copy, '--out', out, '--run-tag', tag, '--threads', threads, '--no-progress'] as const;
    const r1 = runCli(args('one', '1'));
    expect(r1.code).toBe(1);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toContain(path.basename(file));
    const r2 = runCli(args('two', '2'));
    expect(r2.code, r2.stderr).toBe(1);
    expect(r2.stderr).toBe(r1.stderr);
    expect(fs.readdirSync(out)).toEqual([]);
  }, 300_000);

  it('a killed shard worker is reported naming its shard; the run folder is removed', async () => {
    const p = run(D, PROD, 'killed', {
      threads: 2,
      onShardWorkers: (ws) => {
        expect(ws).toHaveLength(1); // shard 1 runs on this thread
        void ws[0].terminate();
      },
    });
    await expect(p).rejects.toThrow(
      /^replay shard 2\/2 \([A-Z,]+\) worker failed: exited with code \d+ before reporting$/,
    );
    expect(fs.existsSync(path.join(tmp, 'killed', 'c'))).toBe(false);
  }, 300_000);
});
