/**
 * `flowlab import` CLI: exit codes and one-line errors (1 = failure such as an
 * unreadable input, 2 = usage), summary on success.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE } from '../../src/dataset/manifest.js';
import { runCli } from '../helpers/cli.js';
import { flowlab as run } from '../helpers/flowlab.js';
import { T0, line, tmpDir, tradeMsg, writeGz } from './helpers.js';

const tmp = tmpDir('importcli');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const capture = writeGz(path.join(tmp, 'btcusdt_20240808.gz'), [
  line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0)),
  line(T0 + 1, tradeMsg('BTCUSDT', 2, '100', '-1', T0 + 1)),
  line(T0 + 2, tradeMsg('BTCUSDT', 3, '101', '2', T0 + 2)),
]);

describe('flowlab import (CLI)', () => {
  it('imports and prints a summary with rows per symbol and the non-zero counters', async () => {
    const out = path.join(tmp, 'ok');
    const r = await run(['import', '--format', 'ws-capture', '--in', capture, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported 1 file\(s\) as ws-capture/);
    expect(r.stdout).toMatch(/BTCUSDT\s+trades\s+2\s+quotes\s+0\s+depth\s+0/);
    expect(r.stdout).toMatch(/bad_rows\.trade_qty=1/);
    expect(r.stdout).toMatch(/trade_id_gaps=1/);
    expect(fs.existsSync(path.join(out, MANIFEST_FILE))).toBe(true);
  });

  it('a missing input file: exit 1, one stderr line naming it, nothing written', async () => {
    const missing = path.join(tmp, 'nope_20240808.gz');
    const out = path.join(tmp, 'missing');
    const r = await run(['import', '--format', 'ws-capture', '--in', capture, missing, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/^flowlab: cannot read input file .*: no such file\n$/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('usage errors exit 2: unknown --format, bad --depth-levels, --symbol with ws-capture, non-empty --out', async () => {
    const fmt = await run(['import', '--format', 'csv', '--in', capture, '--out', path.join(tmp, 'u1')]);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr.split('\n')[0]).toMatch(/--format.*'csv' is invalid/);
    const lv = await run([
      'import',
      '--format',
      'ws-capture',
      '--in',
      capture,
      '--out',
      path.join(tmp, 'u2'),
      '--depth-levels',
      '0',
    ]);
    expect(lv.code).toBe(2);
    expect(lv.stderr).toMatch(/^flowlab: --depth-levels: '0' is not valid/);
    const sym = await run([
      'import',
      '--format',
      'ws-capture',
      '--in',
      capture,
      '--out',
      path.join(tmp, 'u3'),
      '--symbol',
      'BTCUSDT',
    ]);
    expect(sym.code).toBe(2);
    expect(sym.stderr).toMatch(/--symbol applies to --format binance-vision only/);
    const full = path.join(tmp, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'x'), 'x');
    const ne = await run(['import', '--format', 'ws-capture', '--in', capture, '--out', full]);
    expect(ne.code).toBe(2);
    expect(ne.stderr).toMatch(/is not empty/);
    const bad = await run([
      'import',
      '--format',
      'binance-vision',
      '--in',
      capture,
      '--out',
      path.join(tmp, 'u4'),
      '--symbol',
      'btc usdt',
    ]);
    expect(bad.code).toBe(2);
    for (const r of [fmt, lv, sym, ne, bad]) expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace
  });

  it('--help works', async () => {
    const r = await run(['import', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--format <format>/);
    expect(r.stdout).toMatch(/--depth-levels/);
  });

  it('the real binary: missing input -> exit 1 with one line naming the file', () => {
    const missing = path.join(tmp, 'absent.gz');
    const r = runCli(['import', '--format', 'ws-capture', '--in', missing, '--out', path.join(tmp, 'bin-out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`flowlab: cannot read input file '${missing}': no such file\n`);
  });
});
