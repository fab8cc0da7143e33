/**
 * `canary.gate_mode: seed` reproduces the seed's gates exactly: the engine of
 * commit aba3a8c (kept verbatim as a fixture, imports re-pointed) and today's
 * engine in seed mode are fed the same replay, and incidents.json must be
 * byte-identical apart from the added `gate_mode` field. Comparing against the
 * old engine run now (rather than a stored file) keeps the test exact when the
 * pipeline or the config's fingerprint change for reasons of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { runCanary, stableChain, type CanaryRun } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { replay } from '../../src/replay/replay.js';
import { CanaryEngine as SeedEngine } from './fixtures/engine-aba3a8c.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-seedmode-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let oldText = '';
let run: CanaryRun;

beforeAll(async () => {
  const data = path.join(tmp, 'data');
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'SOLUSDT'], hours: 6, seed: 11, effect: 0.15 }, data);
  // an overlay that extends prod, so the rollback has a previous stable fingerprint to go to
  const overlay = path.join(tmp, 'overlay.yaml');
  fs.writeFileSync(
    overlay,
    `extends: ${path.join(REPO, 'config/ofi_cvd/prod.yaml')}\nfusion:\n  weights: { ofi: 0.5, cvd: 0.5 }\n  slice_overrides:\n    Active: { ofi: 0.9, cvd: 0.1 }\ncanary:\n  gate_mode: seed\n`,
  );
  const config = loadConfig(overlay, {});
  const engine = new SeedEngine(config.config, stableChain(config));
  await replay({ data, config, out: path.join(tmp, 'old'), runTag: 'old', progress: false, observer: engine });
  const r = engine.finish();
  // incidents.json exactly as src/canary/canary.ts of aba3a8c serialised it
  oldText = `${JSON.stringify(
    {
      incidents: r.incidents.map((i) => ({ ...i, rolled_back: undefined })),
      fingerprints: r.fingerprints.map((f) => ({ ...f, from_ms: Number.isFinite(f.from_ms) ? f.from_ms : null })),
    },
    null,
    2,
  )}\n`;
  run = await runCanary({
    data,
    config,
    configPath: overlay,
    out: path.join(tmp, 'new'),
    runTag: 'new',
    progress: false,
  });
}, 300_000);

describe('gate_mode seed', () => {
  it('raises exactly the incidents the seed engine (aba3a8c) raised, byte for byte, plus gate_mode', () => {
    const text = fs.readFileSync(path.join(run.reportDir, 'incidents.json'), 'utf8');
    const old = JSON.parse(oldText);
    // the fixture is not vacuous: every seed gate fires, and a rollback happens
    const gates = new Set(old.incidents.map((i: { gate: string }) => i.gate));
    for (const g of ['fusion_auc_active', 'ece', 'merge_p99', 'p1_timeout']) expect(gates).toContain(g);
    expect(old.incidents.some((i: { action: string }) => i.action === 'rollback')).toBe(true);
    expect(old.incidents.length).toBeGreaterThan(10);
    const modes = [...text.matchAll(/"gate_mode": "seed"/g)].length;
    expect(modes).toBe(old.incidents.length);
    expect(text.replace(/,\n\s*"gate_mode": "seed"/g, '')).toBe(oldText);
  });

  it('metrics_timeseries.csv records the weights in force: after the rollback, the base config weights', () => {
    const inc = run.result.incidents.find((i) => i.action === 'rollback')!;
    // the 'all' row carries the default weights (the Active slice may be throttled to 0 at that time)
    const rows = run.result.timeseries.filter((r) => r.symbol === inc.symbol && r.slice === 'all');
    const before = rows.find((r) => r.ts_ms === inc.opened_at_ms - 60_000)!;
    const after = rows.find((r) => r.ts_ms === inc.opened_at_ms + 60_000)!;
    expect(before.multiplier).toBe(1);
    expect(after.multiplier).toBe(1);
    // overlay defaults 0.5 / 0.5 before, prod's 0.6 / 0.4 after
    expect([before.w_ofi, before.w_cvd]).toEqual([0.5, 0.5]);
    expect([after.w_ofi, after.w_cvd]).toEqual([0.6, 0.4]);
    expect(after.fingerprint).not.toBe(before.fingerprint);
  });
});
