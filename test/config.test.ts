import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configFromObject, loadConfig } from '../src/config/load.js';
import { runCli, REPO } from './helpers/cli.js';

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');

describe('config', () => {
  it('prod.yaml holds the seed defaults and the version label', () => {
    const { config } = loadConfig(PROD, {});
    expect(config.version).toBe('v2.0-prod');
    expect(config.symbols).toEqual(['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'SOLUSDT']);
    expect(config.fusion.weights).toEqual({ ofi: 0.6, cvd: 0.4 });
    expect(config.fusion.gate).toBe(0);
    expect(config.fusion.slice_overrides.Active).toEqual({ ofi: 0.7, cvd: 0.3 });
    expect(config.cvd).toMatchObject({
      half_life_sec: 600,
      scale_fast_weight: 0.2,
      mad_multiplier: 1.8,
      winsor_limit: 8,
    });
    expect(config.slices.regime).toMatchObject({ win_secs: 300, active_tps: 2 });
    expect(config.labels).toEqual({ horizons_s: [60], merge_tol_ms: 1500 });
    expect(config.calibration).toMatchObject({ train_sec: 7200, test_sec: 1800 });
    expect(config.sequencer.watermark_ms).toBe(500);
    expect(config.recorder.parquet_rotate_sec).toBe(60);
    expect(config.slices.fee_tier.default).toBe('TM');
  });

  it('fingerprint is canonical: the file and the all-defaults config agree, key order does not matter, any change moves it', () => {
    const a = loadConfig(PROD, {});
    const b = configFromObject({}, {});
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const c = configFromObject({ labels: { merge_tol_ms: 1500, horizons_s: [60] }, version: 'v2.0-prod' }, {});
    expect(c.fingerprint).toBe(a.fingerprint);
    const d = configFromObject({ fusion: { gate: 0.1 } }, {});
    expect(d.fingerprint).not.toBe(a.fingerprint);
  });

  it('seed environment variables override keys', () => {
    const c = loadConfig(PROD, {
      SYMBOLS: 'adausdt, SOLUSDT',
      HALF_LIFE_SEC: '300',
      TICK_SKIP: 'x',
      ACTIVE_TPS: '3.5',
    });
    expect(c.config.symbols).toEqual(['ADAUSDT', 'SOLUSDT']);
    expect(c.config.cvd.half_life_sec).toBe(300);
    expect(c.config.slices.regime.active_tps).toBe(3.5);
    expect(c.envApplied).toEqual({ SYMBOLS: 'adausdt, SOLUSDT', HALF_LIFE_SEC: '300', ACTIVE_TPS: '3.5' });
  });

  it.each([
    [
      { fusion: { weights: { ofi: 'x', cvd: 1 } } },
      {},
      /x\.yaml: fusion\.weights\.ofi = "x" is not allowed: expected number/,
    ],
    [{ cvd: { halflife: 3 } }, {}, /unknown key 'cvd\.halflife' \(allowed: .*half_life_sec/],
    [
      {},
      { HALF_LIFE_SEC: 'abc' },
      /environment HALF_LIFE_SEC='abc' \(overrides cvd\.half_life_sec\): expected a number/,
    ],
    [{}, { HALF_LIFE_SEC: '0' }, /environment HALF_LIFE_SEC: cvd\.half_life_sec = 0 is not allowed: expected >= 1/],
    [
      { slices: { session_fallback: 'Sydney' } },
      {},
      /slices\.session_fallback = "Sydney" is not allowed: expected one of "Tokyo", "London", "NY"/,
    ],
    [{ fusion: { window_ms: 1500 } }, {}, /window_ms must be a multiple of sample_ms/],
    [{ slices: { sessions: [{ name: 'NY', tz: 'Mars/Base', from: '08:00', to: '17:00' }] } }, {}, /IANA time zone/],
    [{ symbols: ['btc usdt'] }, {}, /symbols\.0 = "btc usdt" is not allowed/],
    [{ ofi: { levels: 3 } }, {}, /level_weights must have exactly/],
    [{ canary: { merge_tol_bounds_ms: [3000, 500] } }, {}, /low <= high/],
  ])('rejects %j (env %j) naming key, value and what is allowed', (raw, env, re) => {
    expect(() => configFromObject(raw, env as Record<string, string>, 'x.yaml')).toThrow(re);
    try {
      configFromObject(raw, env as Record<string, string>, 'x.yaml');
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('overlays extend a base file and are validated as a whole', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-cfg-'));
    fs.writeFileSync(
      path.join(dir, 'overlay.yaml'),
      `extends: ${PROD}\nfusion:\n  slice_overrides:\n    Quiet: { ofi: 0.5, cvd: 0.5 }\n`,
    );
    const c = loadConfig(path.join(dir, 'overlay.yaml'), {});
    expect(c.config.fusion.slice_overrides).toEqual({ Active: { ofi: 0.7, cvd: 0.3 }, Quiet: { ofi: 0.5, cvd: 0.5 } });
    expect(c.config.fusion.weights).toEqual({ ofi: 0.6, cvd: 0.4 });
    expect(c.files).toHaveLength(2);
    fs.writeFileSync(path.join(dir, 'loop.yaml'), 'extends: loop.yaml\n');
    expect(() => loadConfig(path.join(dir, 'loop.yaml'), {})).toThrow(/cycle/);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'fusion: [1, 2\n');
    expect(() => loadConfig(path.join(dir, 'bad.yaml'), {})).toThrow(/bad\.yaml: not valid YAML/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('CLI: a bad config key exits 2 with one line; a good one prints the fingerprint', () => {
    const ok = runCli(['config', '--config', PROD]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^config_fingerprint=[0-9a-f]{16} version=v2\.0-prod/);
    const bad = runCli(['config', '--config', PROD], { env: { WINSOR_LIMIT: 'lots' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/WINSOR_LIMIT/);
    const missing = runCli(['config', '--config', 'no/such.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no\/such\.yaml/);
  });
});
