/**
 * flowlab compare: two runs side by side (verdicts, checks with CI and n,
 * incidents by gate, config diff by key, dataset and code hashes); runs of
 * different datasets refused unless --allow-different-data; extra fields in
 * the run files are ignored.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flatten, loadCompareRun, renderCompare } from '../../src/report/compare.js';
import { codeSpan } from '../../src/report/ramp.js';
import { flowlab as cli } from '../helpers/flowlab.js';
import { VERDICTS, writeFixture } from './fixture.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-compare-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: the fixture is edited freely
type AnyJson = Record<string, any>;

function makeRun(
  name: string,
  o: { dataset?: string; weights?: { ofi: number; cvd: number }; edit?: (v: AnyJson) => void } = {},
) {
  const dir = path.join(tmp, name);
  writeFixture(path.join(dir, 'canary_report'));
  const v = structuredClone(VERDICTS) as AnyJson;
  v.run_tag = name;
  o.edit?.(v);
  v.future_field = { grows: true }; // read generically
  fs.writeFileSync(path.join(dir, 'canary_report', 'verdicts.json'), JSON.stringify(v, null, 2));
  const manifest = {
    flowlab_version: '0.1.0',
    code_sha256: `code-${name}-0123456789abcdef`,
    run_tag: name,
    dataset: { path: '/data/default', files_sha256: o.dataset ?? 'aaaa1111bbbb2222cccc3333' },
    selection: { symbols: ['ADAUSDT', 'SOLUSDT'], from_ms: null, to_ms: null },
    config_fingerprint: `fp-${name}`,
    config: { fusion: { weights: o.weights ?? { ofi: 0.6, cvd: 0.4 }, gate: 0 }, labels: { horizons_s: [60] } },
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

const a = makeRun('run-a');
const b = makeRun('run-b', {
  weights: { ofi: 0.3, cvd: 0.7 },
  edit: (v) => {
    const sol = v.symbols.SOLUSDT;
    sol.include_in_pool = true;
    sol.reason = 'all DoD checks pass';
    sol.checks[0] = { ...sol.checks[0], value: 0.6012, ci: [0.583, 0.6194], n: 1900, status: 'pass' };
  },
});
const other = makeRun('run-other-data', { dataset: 'ffff9999eeee8888' });

describe('flowlab compare', () => {
  it('writes verdicts, checks with CI and n, incidents by gate, config diff and hashes side by side', () => {
    const md = renderCompare([loadCompareRun(a), loadCompareRun(b)]);
    expect(md.startsWith('# Canary runs compared — run-a vs run-b\n')).toBe(true);
    expect(md).toContain('| config fingerprint | `fp-run-a` | `fp-run-b` |');
    expect(md).toContain('| code sha256 | `code-run-a-01234` | `code-run-b-01234` |');
    expect(md).toContain('| input data sha256 (replayed part files) | `aaaa1111bbbb2222` | `aaaa1111bbbb2222` |');
    expect(md).toMatch(/^\| SOLUSDT \| ❌ hold — active_auc fails .* \| ✅ include — all DoD checks pass \|$/m);
    const sol = md.slice(md.indexOf('### SOLUSDT'));
    expect(sol).toContain('| Active AUC >= 0.58 | ❌ 0.541 [0.512, 0.570] n=1,830 | ✅ 0.601 [0.583, 0.619] n=1,900 |');
    expect(sol).toContain('| ECE <= 0.10 | ⚠️ insufficient (n=12) | ⚠️ insufficient (n=12) |');
    expect(md).toMatch(/^## Incidents by gate \(total, still open\)$/m);
    expect(md).toMatch(/^\| all \| \d+ \(\d+ open\) \| \d+ \(\d+ open\) \|$/m);
    const diff = md.slice(md.indexOf('## Config differences'));
    expect(diff).toContain('| `fusion.weights.cvd` | `0.4` | `0.7` |');
    expect(diff).toContain('| `fusion.weights.ofi` | `0.6` | `0.3` |');
    expect(diff).not.toContain('fusion.gate');
    // deterministic
    expect(renderCompare([loadCompareRun(a), loadCompareRun(b)])).toBe(md);
    expect(md).not.toContain('different selections');
    const narrow = { ...loadCompareRun(b), selection: { symbols: ['SOLUSDT'], from_ms: null, to_ms: null } };
    expect(renderCompare([loadCompareRun(a), narrow])).toContain('> ⚠️ The runs cover different selections');
  });

  it('a backtick or pipe in a path or value stays inside its code span and its table cell', () => {
    const odd = { ...loadCompareRun(a), datasetPath: '/data/we`ird|x', dir: '`lead' };
    const md = renderCompare([odd, loadCompareRun(b)]);
    expect(md).toContain('| dataset | ``/data/we`ird\\|x`` | `/data/default` |');
    expect(md).toContain('| folder | `` `lead `` |');
    expect(codeSpan('a``b')).toBe('```a``b```');
    expect(codeSpan('plain')).toBe('`plain`');
  });

  it('config diff by dotted key (arrays are values)', () => {
    expect([...flatten({ b: { c: 1, a: [1, 2] }, x: 'y', e: {} })]).toEqual([
      ['b.a', '[1,2]'],
      ['b.c', '1'],
      ['e', '{}'],
      ['x', '"y"'],
    ]);
  });

  it('CLI: markdown on stdout (no done line), --out writes a file; different datasets refused (exit 2) unless allowed', async () => {
    const r = await cli(['compare', a, b]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(renderCompare([loadCompareRun(a), loadCompareRun(b)]));
    const file = path.join(tmp, 'cmp.md');
    const w = await cli(['compare', a, b, '--out', file]);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(
      new RegExp(`^wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(2 runs\\)\ndone in `),
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(r.stdout);
    const refused = await cli(['compare', a, other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/replayed different input data .*--allow-different-data/);
    const allowed = await cli(['compare', a, other, '--allow-different-data']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('**The runs replayed different input data**');
    const one = await cli(['compare', a]);
    expect(one.code).toBe(2);
    const missing = await cli(['compare', a, path.join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\/manifest\.json' is missing/);
  });
});
