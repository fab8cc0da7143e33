import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderRampReport } from '../../src/report/ramp.js';
import { FP_A, FP_B, VERDICTS, writeFixture } from './fixture.js';
import { checkSvg, count } from './xml.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-ramp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fresh(name: string, opts?: { reliability?: boolean }): string {
  const dir = path.join(tmp, name, 'canary_report');
  writeFixture(dir, opts);
  return dir;
}

function readAll(dir: string, files: readonly string[]): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

/** The markdown table row whose first cell is `first` (inside `section`). */
function rowOf(md: string, first: string): string {
  const line = md.split('\n').find((l) => l.startsWith(`| ${first} |`));
  if (!line) throw new Error(`no row '${first}'`);
  return line;
}

function section(md: string, heading: string): string {
  const i = md.indexOf(`\n${heading}\n`);
  if (i < 0) throw new Error(`no section ${heading}`);
  const level = heading.split(' ')[0];
  const rest = md.slice(i + heading.length + 2);
  const end = rest.search(new RegExp(`\\n${level} `));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('renderRampReport', () => {
  const dir = fresh('a');
  const out = renderRampReport(dir);
  const md = out.markdown;

  it('writes ramp_batch_summary.md and returns it with the chart files', () => {
    expect(out.files[0]).toBe('ramp_batch_summary.md');
    expect(fs.readFileSync(path.join(dir, 'ramp_batch_summary.md'), 'utf8')).toBe(md);
    expect(md.startsWith(`# Canary ramp report — ${VERDICTS.run_tag}\n`)).toBe(true);
    expect(md).toContain(`Config fingerprint: \`${FP_A}\``);
    expect(md).toContain('included in the standard pool: 1 (ADAUSDT)');
  });

  it('a verdict per symbol (sorted), include yes/no with the reason', () => {
    expect(md.indexOf('\n## ADAUSDT\n')).toBeGreaterThan(0);
    expect(md.indexOf('\n## SOLUSDT\n')).toBeGreaterThan(md.indexOf('\n## ADAUSDT\n'));
    expect(md).toContain('**Include in standard pool: yes ✅** — all DoD checks pass');
    expect(md).toContain(
      '**Include in standard pool: no ❌** — active_auc fails (0.541 < 0.58); merge_p99 | P1 still open',
    );
    const summary = section(md, '## Decision');
    expect(rowOf(summary, 'ADAUSDT')).toBe(
      '| ADAUSDT | ✅ yes | 6 pass, 0 fail, 0 insufficient | all DoD checks pass |',
    );
    // the checks that decided it, each with figure, CI and n, against its threshold
    expect(rowOf(summary, 'SOLUSDT')).toContain('| ❌ no | 0 pass, 4 fail, 2 insufficient | active_auc fails: 0.541');
    expect(rowOf(summary, 'SOLUSDT')).toMatch(/vs >= 0\.58/);
    // blockers counted across symbols
    const blockers = section(md, '### Blockers across symbols');
    expect(rowOf(blockers, 'active_auc')).toBe('| active_auc | 1 | 0 | SOLUSDT |');
    const every = section(md, '### Every check: figure [95% CI] (n)');
    expect(rowOf(every, 'Active AUC >= 0.58')).toContain('✅ pass 0.612 [0.590, 0.634] (n=2400)');
  });

  it('every check row has its figure, CI, n, threshold and status; null prints insufficient samples', () => {
    const ada = section(md, '## ADAUSDT');
    expect(rowOf(ada, 'Active AUC >= 0.58')).toBe(
      '| Active AUC >= 0.58 | 0.612 | [0.590, 0.634] | 2400 | >= 0.58 | ✅ pass |  |',
    );
    expect(rowOf(ada, 'ECE <= 0.10')).toBe('| ECE <= 0.10 | 0.043 | — | 5400 | <= 0.1 | ✅ pass |  |');
    expect(rowOf(ada, 'merge p99 <= 2000 ms')).toBe(
      '| merge p99 <= 2000 ms | 1834.5 | — | 5400 | <= 2000 | ✅ pass |  |',
    );
    expect(rowOf(ada, 'Brier skill > 0')).toBe('| Brier skill > 0 | 0.021 | — | 5400 | > 0 | ✅ pass |  |');
    expect(rowOf(ada, 'best session AUC >= 0.60 and ECE <= 0.10')).toBe(
      '| best session AUC >= 0.60 and ECE <= 0.10 | 0.631 | [0.601, 0.661] | 1800 | >= 0.6 | ✅ pass | London |',
    );
    expect(rowOf(ada, 'no open P1 incident')).toBe('| no open P1 incident | 0 | — | 1 | == 0 | ✅ pass |  |');
    const sol = section(md, '## SOLUSDT');
    expect(rowOf(sol, 'Active AUC >= 0.58')).toBe(
      '| Active AUC >= 0.58 | 0.541 | [0.512, 0.570] | 1830 | >= 0.58 | ❌ fail |  |',
    );
    expect(rowOf(sol, 'ECE <= 0.10')).toBe(
      '| ECE <= 0.10 | insufficient samples (n=12) | — | 12 | <= 0.1 | ⚠ insufficient | insufficient samples (n=12; need >= 30) |',
    );
    expect(rowOf(sol, 'merge p99 <= 2000 ms')).toContain('| 2350.3 | — | 5400 | <= 2000 | ❌ fail |');
    expect(rowOf(sol, 'best session AUC >= 0.60 and ECE <= 0.10')).toContain(
      '| insufficient samples (n=17) | — | 17 | >= 0.6 | ⚠ insufficient | no session meets both |',
    );
    for (const s of [ada, sol]) for (const c of VERDICTS.symbols.ADAUSDT.checks) expect(s).toContain(`| ${c.label} |`);
  });

  it('slice weight table: slice, weights, out-of-sample AUC with CI, n, effective hours', () => {
    const ada = section(section(md, '## ADAUSDT'), '### Slice weights');
    expect(ada).toContain('| slice | w_ofi | w_cvd | out-of-sample AUC [95% CI] | n (OOS) | effective hours |');
    expect(rowOf(ada, 'Active')).toBe('| Active | 0.75 | 0.25 | 0.603 [0.581, 0.626] | 2400 | 10.23 |  |');
    expect(rowOf(ada, 'Quiet')).toBe('| Quiet | 0.55 | 0.45 | 0.571 [0.550, 0.592] | 3000 | 12.50 |  |');
    const sol = section(section(md, '## SOLUSDT'), '### Slice weights');
    expect(rowOf(sol, 'Active')).toBe('| Active | 0.7 | 0.3 | insufficient samples (n=22) | 22 | 0.25 |  |');
    const pooled = section(md, '## Pooled slice weights');
    expect(rowOf(pooled, 'Active')).toBe('| Active | 0.8 | 0.2 | 0.591 [0.575, 0.607] | 4230 | 10.48 | 3 folds |');
    expect(rowOf(pooled, 'Quiet')).toBe(
      '| Quiet | — | — | insufficient samples (n=0) | 0 | 0.00 | 0 folds; no fold with enough samples |',
    );
  });

  it('slices table per symbol in a fixed order, with the reason of a thin slice', () => {
    const sol = section(section(md, '## SOLUSDT'), '### Slices');
    const firsts = sol
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| dimension') && !l.startsWith('| ---'))
      .map((l) => l.split(' | ')[1]);
    expect(firsts).toEqual([
      'all',
      'Active',
      'Quiet',
      'Tokyo',
      'London',
      'NY',
      'Q1',
      'Median',
      'Q3+',
      'A_H',
      'A_L',
      'Q_H',
      'Q_L',
    ]);
    expect(sol).toContain(
      '| scenario_2x2 | A_L | 40 | 25 | 12 / 13 | 0.01 | insufficient samples (n=25) | — | — | — | — | insufficient samples (n_pos=12, n_neg=13; need >= 30 each) |',
    );
    // the ALL aggregate has its own section
    expect(md).toContain('## Aggregates and symbols without a verdict');
    expect(md).toContain('### ALL');
  });

  it('incidents table: sorted by opening, UTC times, open / closed, action, fingerprints, why (pipes escaped)', () => {
    const inc = section(md, '## Incidents');
    const lines = inc.split('\n').filter((l) => l.startsWith('| INC-'));
    expect(lines).toEqual([
      '| INC-0001 | ADAUSDT | Active | fusion_auc_active | P2 | 2024-08-08 08:12:00 | 2024-08-08 08:18:30 | downweight_slice | a1b2c3d4e5f60718 → a1b2c3d4e5f60718 | fusion_auc_active 0.512 < 0.58 over 10m (n=540) \\| low |',
      `| INC-0002 | SOLUSDT | all | merge_p99 | P1 | 2024-08-08 08:20:00 | open | merge_tol_ms 1500->2000 (actions: 08:20 merge_tol_ms 1500->2000, 08:25 merge_tol_ms 2000->2500) | ${FP_A} → ${FP_B} | merge_p99 2350 > 2000 over 5m (n=300) |`,
    ]);
    const fps = section(md, '### Config fingerprints')
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| symbol'));
    expect(fps).toEqual([
      `| ADAUSDT | \`${FP_A}\` | start of run | config at start |`,
      `| SOLUSDT | \`${FP_A}\` | start of run | config at start |`,
      `| SOLUSDT | \`${FP_B}\` | 2024-08-08 08:20:00 | merge_tol_ms 1500->2000 (INC-0002) |`,
    ]);
    expect(md).toContain('Incidents: 2 (1 open at the end of the run)');
  });

  it('calibration summary per symbol', () => {
    const cal = section(md, '## Calibration (walk-forward Platt)');
    expect(rowOf(cal, 'ADAUSDT')).toBe(
      '| ADAUSDT | 4 | insufficient 1, ok 3 | 5400 | 0.050 (folds=3) | 0.020 (folds=3) | A=-1.500, B=0.030 (fold 3) |',
    );
    expect(rowOf(cal, 'SOLUSDT')).toContain('| SOLUSDT | 4 | insufficient 2, ok 2 | 3600 |');
  });

  it('how-to-read defines each metric', () => {
    const h = section(md, '## How to read this');
    for (const k of [
      '**AUC**',
      'DeLong',
      '**ECE**',
      '10 equal-width bins',
      '**Brier skill**',
      'training window',
      '**merge_time_diff_ms**',
    ])
      expect(h).toContain(k);
  });

  it('every referenced chart exists, is well-formed SVG with a viewBox, no NaN / undefined', () => {
    const links = [...md.matchAll(/!\[[^\]]*\]\((charts\/[^)]+\.svg)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(new Set(links).size).toBe(links.length);
    expect(out.files.slice(1)).toEqual(links);
    for (const f of links) {
      const svg = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(checkSvg(svg), f).toEqual([]);
    }
    expect(links).toEqual(
      expect.arrayContaining([
        'charts/reliability_ADAUSDT.svg',
        'charts/auc_slices_ADAUSDT.svg',
        'charts/rolling_ADAUSDT.svg',
        'charts/merge_ADAUSDT.svg',
        'charts/auc_slices_SOLUSDT.svg',
        'charts/rolling_SOLUSDT.svg',
        'charts/merge_SOLUSDT.svg',
        'charts/reliability_ALL.svg',
        'charts/auc_slices_ALL.svg',
      ]),
    );
    expect(links).not.toContain('charts/reliability_SOLUSDT.svg');
    expect(section(md, '## SOLUSDT')).toContain('No reliability bins for SOLUSDT in reliability.csv.');
  });

  it('charts carry the data: gate lines, incident markers, null gaps', () => {
    const rolling = fs.readFileSync(path.join(dir, 'charts/rolling_ADAUSDT.svg'), 'utf8');
    expect(count(rolling, /<line class="threshold"/)).toBe(2);
    expect(rolling).toContain('data-y="0.58"');
    expect(rolling).toContain('data-y="0.1"');
    // incidents: one strip row per gate and severity under the plot, one band per open period
    expect(count(rolling, /<rect class="strip"/)).toBe(1);
    expect(count(rolling, /<rect class="band"/)).toBe(1);
    expect(rolling).toMatch(/class="strip-label"[^>]*>fusion_auc_active P2</);
    // 4 series (ECE, AUC all/Quiet, then the gate's Active AUC on top): minutes 1-4 are null, one run of 26 points each
    expect(count(rolling, /<path class="series"[^>]*data-points="26"/)).toBe(4);
    const order = [...rolling.matchAll(/<path class="series" data-series="([^"]+)"/g)].map((m) => m[1]);
    expect(order.at(-1)).toBe('AUC Active (the gate acts on it)');
    const solRolling = fs.readFileSync(path.join(dir, 'charts/rolling_SOLUSDT.svg'), 'utf8');
    expect(solRolling).not.toMatch(/strip-label[^>]*>merge_p99/); // a merge incident goes on the merge chart
    // SOL ECE is null at minutes 7, 14, 21, 28: 5 runs
    expect(count(solRolling, /<path class="series" data-series="ECE \(all\)"/)).toBe(5);
    const merge = fs.readFileSync(path.join(dir, 'charts/merge_SOLUSDT.svg'), 'utf8');
    expect(merge).toMatch(/class="strip-label"[^>]*>merge_p99 P1</);
    expect(merge).toContain('data-y="2000"');
    expect(count(merge, /<path class="series" data-series="p99"/)).toBe(2); // gap at minute 15
    const rel = fs.readFileSync(path.join(dir, 'charts/reliability_ADAUSDT.svg'), 'utf8');
    expect(count(rel, /<circle class="point"/)).toBe(8);
    expect(count(rel, /<rect class="count"/)).toBe(10);
    expect(rel).toContain('ECE over these bins 0.010 (n=3600, 10 bins)');
    const bars = fs.readFileSync(path.join(dir, 'charts/auc_slices_SOLUSDT.svg'), 'utf8');
    expect(count(bars, /<rect class="bar"/)).toBe(12);
    expect(count(bars, /<path class="errbar"/)).toBe(12);
    expect(count(bars, /class="na"/)).toBe(1);
  });

  it('deterministic: rendering again (and from a copy elsewhere) gives identical bytes', () => {
    const first = readAll(dir, out.files);
    const again = renderRampReport(dir);
    expect(again.files).toEqual(out.files);
    expect(readAll(dir, again.files)).toEqual(first);
    const dir2 = fresh('b');
    const other = renderRampReport(dir2);
    expect(readAll(dir2, other.files)).toEqual(first);
  });
});

describe('renderRampReport: inputs', () => {
  it('without reliability.csv: says so, no reliability charts', () => {
    const dir = fresh('norel', { reliability: false });
    const { markdown, files } = renderRampReport(dir);
    expect(files.some((f) => f.includes('reliability'))).toBe(false);
    expect(markdown).toContain('No reliability diagram: reliability.csv is absent.');
    expect(markdown).not.toContain('reliability.csv`.');
  });

  it('a missing or malformed file is an error naming the file and the key', () => {
    const dir = fresh('bad');
    fs.rmSync(path.join(dir, 'verdicts.json'));
    expect(() => renderRampReport(dir)).toThrow(/verdicts\.json: cannot be read/);
    const v = structuredClone(VERDICTS) as { symbols: Record<string, { checks: { status: string }[] }> };
    v.symbols.ADAUSDT.checks[1].status = 'maybe';
    fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(v));
    expect(() => renderRampReport(dir)).toThrow(/verdicts\.json: symbols\.ADAUSDT\.checks\.1\.status/);
    fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(VERDICTS));
    fs.writeFileSync(path.join(dir, 'merge_time_diff_ms.csv'), 'ts_ms,symbol\n1,ADAUSDT\n');
    expect(() => renderRampReport(dir)).toThrow(/merge_time_diff_ms\.csv: missing column\(s\) time_utc, window_sec/);
    expect(fs.existsSync(path.join(dir, 'ramp_batch_summary.md'))).toBe(false);
  });

  it('no incidents, no weights', () => {
    const dir = fresh('empty');
    fs.writeFileSync(path.join(dir, 'incidents.json'), JSON.stringify({ incidents: [], fingerprints: [] }));
    const v = structuredClone(VERDICTS) as { symbols: Record<string, { weights?: unknown[] }> };
    delete v.symbols.ADAUSDT.weights;
    fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(v));
    const { markdown } = renderRampReport(dir);
    expect(section(markdown, '## Incidents')).toContain('No incidents.');
    expect(section(markdown, '## ADAUSDT')).toContain('No slice weights in verdicts.json for this symbol.');
  });
});

describe('ramp report: the first screen shows both gate modes and the gates in force', () => {
  it('incidents by gate kind x symbol x severity with a column per gate mode, and the gate table', () => {
    const dir = fresh('modes');
    const v = JSON.parse(fs.readFileSync(path.join(dir, 'verdicts.json'), 'utf8'));
    v.gate_mode = 'evidence';
    v.incident_summary = [
      {
        kind: 'discrimination',
        symbol: 'SOLUSDT',
        severity: 'P1',
        gates: { evidence: ['fusion_auc'], seed: ['fusion_auc_active'] },
        count: { evidence: 1, seed: 40 },
      },
      {
        kind: 'calibration',
        symbol: 'ADAUSDT',
        severity: 'P2',
        gates: { evidence: [], seed: ['ece'] },
        count: { evidence: 0, seed: 52 },
      },
    ];
    v.gate_table = [
      {
        gate: 'fusion_auc',
        kind: 'discrimination',
        slice: 'all',
        metric: 'CUSUM of k - x',
        window: '60m',
        threshold: 'CUSUM > 9',
        evidence: 'non-overlapping labels',
        severity: 'P1',
        action: 'downweight',
        close: 'recovery CUSUM > 10',
      },
    ];
    fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(v));
    const md = renderRampReport(dir).markdown;
    expect(md).toContain('- Gate mode: **evidence**');
    const inc = section(md, '### Incidents by gate × symbol × severity');
    expect(inc).toContain('| gate kind | symbol | severity | evidence (this run) | seed | gates |');
    expect(rowOf(inc, 'discrimination')).toBe(
      '| discrimination | SOLUSDT | P1 | 1 | 40 | evidence: fusion_auc; seed: fusion_auc_active |',
    );
    expect(rowOf(inc, 'calibration')).toBe('| calibration | ADAUSDT | P2 | 0 | 52 | evidence: —; seed: ece |');
    const gates = section(md, '### Gates in force (evidence mode)');
    expect(rowOf(gates, 'fusion_auc')).toContain(
      '| CUSUM > 9 | non-overlapping labels | P1 | downweight | recovery CUSUM > 10 |',
    );
    // the decision comes before any per-symbol detail
    expect(md.indexOf('## Decision')).toBeLessThan(md.indexOf('\n## ADAUSDT\n'));
    expect(md.indexOf('### Incidents by gate')).toBeLessThan(md.indexOf('\n## ADAUSDT\n'));
  });
});
