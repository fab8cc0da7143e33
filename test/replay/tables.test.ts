/**
 * `flowlab replay --tables`: only the derived tables asked for are written,
 * byte-identical to the same tables of a full run; the manifest records the
 * list; `flowlab verify` re-runs with it (and treats a manifest without the
 * field, from before `--tables`, as all five); bad lists exit 2 in one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { replay, type ReplayResult } from '../../src/replay/replay.js';
import { verifyRun } from '../../src/canary/verify.js';
import { loadConfig } from '../../src/config/load.js';
import { checkTables } from '../../src/pipeline/tables.js';
import { REPO, runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-tables-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const CONFIG = loadConfig(PROD, {});
const D = path.join(tmp, 'D');
let full: ReplayResult;

const outs = (r: { outputs: { path: string; rows: number; sha256: string }[] }) =>
  r.outputs.map((o) => `${o.path} ${o.rows} ${o.sha256}`);
const kindOf = (p: string) => /kind=([a-z]+)/.exec(p)![1];

beforeAll(async () => {
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['ADAUSDT', 'SOLUSDT'], hours: 0.5, seed: 3 }, D);
  full = await replay({ data: D, config: CONFIG, out: tmp, runTag: 'full', progress: false, blockRows: 8192 });
}, 120_000);

describe('replay --tables', () => {
  it('writes only the tables asked for, byte-identical to a full run, and records them', async () => {
    expect(full.manifest.tables).toEqual(['prices', 'ofi', 'cvd', 'fusion', 'events']);
    expect(new Set(full.manifest.outputs.map((o) => kindOf(o.path)))).toEqual(
      new Set(['prices', 'ofi', 'cvd', 'fusion', 'events']),
    );
    const r = runCli([
      'replay',
      '--data',
      D,
      '--out',
      tmp,
      '--run-tag',
      'part',
      '--no-progress',
      '--tables',
      'fusion, cvd,fusion',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(fs.readFileSync(path.join(tmp, 'part', 'manifest.json'), 'utf8'));
    expect(m.tables).toEqual(['cvd', 'fusion']);
    // blockRows differs from `full` (CLI default): compare against a full run with the same cut
    const ref = await replay({ data: D, config: CONFIG, out: tmp, runTag: 'full-default', progress: false });
    const want = outs(ref.manifest).filter((l) => ['cvd', 'fusion'].includes(kindOf(l)));
    expect(want.length).toBeGreaterThanOrEqual(4);
    expect(outs(m)).toEqual(want);
    // nothing else on disk
    const kinds = new Set<string>();
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else kinds.add(kindOf(path.join(d, e.name)));
      }
    };
    walk(path.join(tmp, 'part', 'data'));
    expect(kinds).toEqual(new Set(['cvd', 'fusion']));
    // counters and per-symbol figures are those of the full run
    expect(m.counters).toEqual(ref.manifest.counters);
    expect(m.symbols).toEqual(ref.manifest.symbols);
  }, 120_000);

  it('verify re-runs with the recorded tables, and a manifest without the field means all five', async () => {
    const part = await replay({
      data: D,
      config: CONFIG,
      out: tmp,
      runTag: 'events-only',
      progress: false,
      blockRows: 8192,
      tables: ['events'],
    });
    expect(part.manifest.outputs.every((o) => kindOf(o.path) === 'events')).toBe(true);
    const v = await verifyRun(part.runDir);
    expect(v.message).toMatch(/identical/);
    expect(v.code).toBe(0);
    // a run from before --tables: no `tables` in its manifest
    const file = path.join(full.runDir, 'manifest.json');
    const old = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete old.tables;
    fs.writeFileSync(file, `${JSON.stringify(old, null, 2)}\n`);
    const v2 = await verifyRun(full.runDir);
    expect(v2.message).toMatch(/identical/);
    expect(v2.code).toBe(0);
  }, 120_000);

  it('bad lists: one-line error naming the value and the allowed tables, exit 2, nothing written', () => {
    for (const [arg, msg] of [
      [
        'fusion,ohlc',
        /^flowlab: --tables: 'ohlc' is not a derived table \(expected some of prices, ofi, cvd, fusion, events\)$/,
      ],
      [' , ', /^flowlab: --tables: ' , ' names no table/],
    ] as const) {
      const r = runCli(['replay', '--data', D, '--out', tmp, '--run-tag', 'bad', '--tables', arg]);
      expect(r.code, arg).toBe(2);
      expect(r.stderr.trim().split('\n'), arg).toHaveLength(1);
      expect(r.stderr.trim(), arg).toMatch(msg);
      expect(fs.existsSync(path.join(tmp, 'bad')), arg).toBe(false);
    }
    expect(() => checkTables(['fusion', 'Fusion'], 'tables')).toThrow(/'Fusion' is not a derived table/);
    expect(checkTables('events,prices')).toEqual(['prices', 'events']);
  });
});
