/**
 * `flowlab dq`: exit codes, one-line errors, table, --json, --strict. The
 * missing-dataset case runs the real CLI in a child process; the rest call
 * `main()` in process (same code path after argv, much faster).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { flowlab as cli } from '../helpers/flowlab.js';
import { buildFixture } from './fixture.js';

let tmp: string;
let ds: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dq-cli-'));
  ds = path.join(tmp, 'fixture');
  await buildFixture(ds);
}, 60_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('flowlab dq', () => {
  it('missing dataset: exit 1, one line naming it, no stack', () => {
    const missing = path.join(tmp, 'no-such-dataset');
    const r = runCli(['dq', '--data', missing, '--out', path.join(tmp, 'o0')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/^flowlab: dataset '.*' does not exist\n$/);
    expect(r.stdout).toBe('');
  });

  it('usage errors exit 2; an unknown symbol exits 1', async () => {
    const bad = await cli(['dq', '--data', ds, '--out', path.join(tmp, 'o1'), '--symbols', 'btc-usdt']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    const unknown = await cli(['dq', '--data', ds, '--out', path.join(tmp, 'o1'), '--symbols', 'XRPUSDT']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/symbol 'XRPUSDT' is not in dataset/);
    const noOut = await cli(['dq', '--data', ds]);
    expect(noOut.code).toBe(2);
  });

  it('runs: table and verdict on stdout, files written, exit 0 even when the verdict is FAIL; --strict exits 1', async () => {
    const out = path.join(tmp, 'o2');
    const r = await cli(['dq', '--data', ds, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^symbol\s+trades\s+quotes\s+empty t/m);
    expect(r.stdout).toMatch(/^BTCUSDT\s+360\s+360\s+0% ok/m);
    expect(r.stdout).toMatch(/^ETHUSDT\s+303\s+151\s+16\.7% FAIL/m);
    expect(r.stdout).toMatch(/^verdict: FAIL \(4 of 14 computable checks fail/m);
    expect(fs.readdirSync(out).sort()).toEqual(['dq_20240808_22.json', 'dq_20240808_23.json', 'dq_summary.json']);
    const strict = await cli(['dq', '--data', ds, '--out', out, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe('');
    const pass = await cli(['dq', '--data', ds, '--out', path.join(tmp, 'o3'), '--symbols', 'BTCUSDT', '--strict']);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/^verdict: PASS/m);
  });

  it('--config takes the thresholds from the config key dq:', async () => {
    const cfg = path.join(tmp, 'dq.yaml');
    fs.writeFileSync(cfg, 'dq:\n  dup_rate_max: 0.02\n  empty_bucket_max: 0.2\n');
    const r = await cli([
      'dq',
      '--data',
      ds,
      '--out',
      path.join(tmp, 'o5'),
      '--symbols',
      'ETHUSDT',
      '--config',
      cfg,
      '--json',
      '--strict',
    ]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.params.thresholds).toEqual({
      empty_bucket_max: 0.2,
      dup_rate_max: 0.02,
      latency_p99_max_ms: 120,
      latency_p50_max_ms: 60,
    });
    expect(s.verdict).toBe('PASS');
  });

  it('--json prints exactly the summary file', async () => {
    const out = path.join(tmp, 'o4');
    const r = await cli(['dq', '--data', ds, '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(path.join(out, 'dq_summary.json'), 'utf8'));
    expect(JSON.parse(r.stdout).verdict).toBe('FAIL');
  });
});
