/**
 * The notebooks run top to bottom, headless, on the default dataset, and what
 * they show equals the canary artifacts of the same run. Needs Jupyter and the
 * tslab kernel (bash scripts/setup-jupyter.sh): in CI a missing Jupyter fails.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { axisTitles, type Figure } from '../../notebooks/chart.js';

const NOTEBOOKS = [
  '01_quickstart',
  '02_slice_robustness',
  '03_calibration',
  '04_weight_tuning',
  '05_ramp_recommendation',
];

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'tmp', 'test-notebooks');
const REPORT = path.join(ROOT, 'artifacts', 'runtime', 'nb-default', 'canary_report');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` };

const hasJupyter = spawnSync('jupyter', ['nbconvert', '--version'], { env }).status === 0;
const hasKernel =
  hasJupyter && /\btslab\b/.test(spawnSync('jupyter', ['kernelspec', 'list'], { env, encoding: 'utf8' }).stdout ?? '');
const ready = hasJupyter && hasKernel;
if (process.env.CI === 'true' && !ready) {
  throw new Error(
    `notebooks: Jupyter ${hasJupyter ? 'found but the tslab kernel is not registered' : 'is not installed'} (run: bash scripts/setup-jupyter.sh); CI must run the notebooks`,
  );
}

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  traceback?: string[];
}
interface Notebook {
  cells: { cell_type: string; outputs?: Output[] }[];
}

function outputs(file: string): Output[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
  return nb.cells.flatMap((c) => c.outputs ?? []);
}
const join = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));
/** All text a reader sees: streams, errors, text/plain and markdown. */
function textOf(file: string): string {
  return outputs(file)
    .map(
      (o) =>
        join(o.text) +
        join(o.data?.['text/plain']) +
        join(o.data?.['text/markdown']) +
        (o.traceback ?? []).join('\n') +
        (o.ename ?? ''),
    )
    .join('\n');
}

/** The Plotly figures a notebook's charts embed (notebooks/lib.ts `chart`). */
function figures(file: string): Figure[] {
  const html = outputs(file)
    .map((o) => join(o.data?.['text/html']))
    .join('');
  return [...html.matchAll(/var flowlabFigure=(\{.*?\});var go=/gs)].map((m) => JSON.parse(m[1]) as Figure);
}
const titleOf = (f: Figure) => (f.layout.title as { text?: string } | undefined)?.text ?? '';

describe.skipIf(!ready)(
  `notebooks${ready ? '' : ' (skipped: jupyter / tslab kernel not installed; run bash scripts/setup-jupyter.sh)'}`,
  () => {
    it('all five execute headless with no cell error (scripts/run-notebooks.sh)', { timeout: 330_000 }, () => {
      fs.rmSync(OUT, { recursive: true, force: true });
      const r = spawnSync('bash', ['scripts/run-notebooks.sh'], {
        cwd: ROOT,
        env: { ...env, NOTEBOOK_OUT: OUT },
        encoding: 'utf8',
        timeout: 320_000,
      });
      expect(r.stderr, r.stdout).not.toMatch(/FAIL/);
      expect(r.status).toBe(0);
      for (const n of NOTEBOOKS) {
        expect(fs.existsSync(path.join(OUT, `${n}.ipynb`)), n).toBe(true);
        expect(fs.existsSync(path.join(OUT, `${n}.html`)), n).toBe(true);
        for (const o of outputs(path.join(OUT, `${n}.ipynb`))) expect(o.output_type, n).not.toBe('error');
      }
    });

    it('every chart has a title and titled axes (plotly { text } form), a legend when it has 2+ traces', () => {
      let charts = 0;
      for (const n of NOTEBOOKS) {
        const specs = figures(path.join(OUT, `${n}.ipynb`));
        expect(specs.length, n).toBeGreaterThan(0);
        for (const f of specs) {
          const title = (f.layout.title as { text?: string } | undefined)?.text;
          expect(typeof title === 'string' && title.length > 0, `${n}: ${JSON.stringify(f.layout.title)}`).toBe(true);
          const axes = axisTitles(f);
          expect(Object.keys(axes), `${n} ${title}`).toEqual(expect.arrayContaining(['xaxis', 'yaxis']));
          for (const [k, t] of Object.entries(axes)) expect(t, `${n} ${title} ${k}`).toBeTruthy();
          if (f.data.length > 1) {
            expect(f.layout.showlegend, `${n} ${title}`).toBe(true);
            for (const d of f.data) expect(d.name, `${n} ${title}`).toBeTruthy();
          }
          charts++;
        }
      }
      expect(charts).toBeGreaterThanOrEqual(12);
    });

    it('04 runs a small sweep and plots its sweep_results.parquet: held-out AUC with CI, training vs held-out', async () => {
      const t4 = textOf(path.join(OUT, '04_weight_tuning.ipynb'));
      expect(t4).toMatch(
        /^SWEEP artifacts\/sweeps\/nb-default-sweep: 2 configs x 2 symbols = 4 shards, [04] run now /m,
      );
      expect(t4).toMatch(/^2 configs tried on 2 symbols\. Chosen on the training period/m);
      const file = path.join(ROOT, 'artifacts', 'sweeps', 'nb-default-sweep', 'sweep_results.parquet');
      const rows = (await queryRows(
        `SELECT symbol, CAST(config_index AS DOUBLE) AS k, auc_train, auc_holdout, auc_holdout_ci_lo AS lo, auc_holdout_ci_hi AS hi
         FROM read_parquet(${sqlString(file)}) ORDER BY config_index, symbol`,
      )) as { symbol: string; k: number; auc_train: number; auc_holdout: number; lo: number; hi: number }[];
      expect(rows.map((r) => `${r.k} ${r.symbol}`)).toEqual(['0 ADAUSDT', '0 SOLUSDT', '1 ADAUSDT', '1 SOLUSDT']);
      const figs = figures(path.join(OUT, '04_weight_tuning.ipynb'));
      const ci = figs.find((f) => titleOf(f).startsWith('Sweep: fusion AUC per config × symbol'));
      const tvh = figs.find((f) => titleOf(f).startsWith('Sweep: training vs held-out AUC'));
      expect(ci, figs.map(titleOf).join(' | ')).toBeDefined();
      expect(tvh).toBeDefined();
      expect(axisTitles(ci!)).toEqual({ xaxis: 'config (grid values)', yaxis: 'fusion AUC' });
      expect(ci!.layout.xaxis).toMatchObject({
        tickvals: [0, 1],
        ticktext: ['0: fusion.weights.ofi=0.3', '1: fusion.weights.ofi=0.7'],
      });
      const trace = (f: Figure, name: string) => f.data.find((d) => d.name === name) as Record<string, unknown>;
      for (const s of ['ADAUSDT', 'SOLUSDT']) {
        const mine = rows.filter((r) => r.symbol === s);
        const ho = trace(ci!, `${s} held-out (95% CI)`);
        expect(ho.y).toEqual(mine.map((r) => r.auc_holdout));
        expect(ho.error_y).toMatchObject({
          array: mine.map((r) => r.hi - r.auc_holdout),
          arrayminus: mine.map((r) => r.auc_holdout - r.lo),
        });
        expect(trace(ci!, `${s} training (chosen on it)`).y).toEqual(mine.map((r) => r.auc_train));
        const pt = trace(tvh!, s);
        expect(pt.x).toEqual(mine.map((r) => r.auc_train));
        expect(pt.y).toEqual(mine.map((r) => r.auc_holdout));
      }
      expect(Object.values(axisTitles(tvh!))).toEqual([
        'fusion AUC, training period (first 70%)',
        'fusion AUC, held-out period (last 30%)',
      ]);
    });

    it('02 and 04 print overlap-corrected CIs; 04 evaluate() at the run config equals slices_overview.csv', () => {
      const t2 = textOf(path.join(OUT, '02_slice_robustness.ipynb'));
      expect(t2).toMatch(/^DeLong variance inflation \(overlapping labels\): 60$/m);
      const t4 = textOf(path.join(OUT, '04_weight_tuning.ipynb'));
      expect(t4).toMatch(/^EVALUATE own config ALL Active auc=\S+ slices_overview=\S+ equal$/m);
      expect(t4).toMatch(/^grid: 50 evaluate\(\) calls in .*; project modules: (dist|tsx)\)$/m);
    });

    it('05 shows the verdicts of verdicts.json and writes the acceptance report', () => {
      const text = textOf(path.join(OUT, '05_ramp_recommendation.ipynb'));
      const verdicts = JSON.parse(fs.readFileSync(path.join(REPORT, 'verdicts.json'), 'utf8'));
      const lines = [...text.matchAll(/^VERDICT (\S+) include_in_pool=(true|false) active_auc=(\S+)$/gm)];
      expect(lines.map((m) => m[1]).sort()).toEqual(['ADAUSDT', 'SOLUSDT']);
      for (const [, sym, pool, auc] of lines) {
        const v = verdicts.symbols[sym];
        expect(String(v.include_in_pool)).toBe(pool);
        const a = v.checks.find((c: { name: string }) => c.name === 'active_auc').value;
        expect(auc).toBe(a === null ? 'null' : a.toFixed(4));
      }
      const md = fs.readFileSync(path.join(REPORT, 'ramp_batch_summary.md'), 'utf8');
      expect(md.length).toBeGreaterThan(200);
      expect(text).toContain(md.split('\n')[0]); // the notebook displays the report it wrote
    });

    it('03 ECE equals verdicts.json; 02 regime AUCs equal slices_overview.csv', () => {
      const t3 = textOf(path.join(OUT, '03_calibration.ipynb'));
      expect(t3.match(/^ECE \S+ .* equal$/gm)?.length).toBe(2);
      expect(t3).not.toMatch(/DIFFERENT/);
      const html2 = outputs(path.join(OUT, '02_slice_robustness.ipynb'))
        .map((o) => join(o.data?.['text/html']))
        .join('');
      const cross = html2.slice(html2.indexOf('auc_slices_overview'));
      expect(cross).toContain('true');
      expect(cross.slice(0, cross.indexOf('</table>'))).not.toContain('false');
    });

    it('04 wrote a slice-weight overlay that extends the base config and loads', () => {
      const file = path.join(ROOT, 'artifacts', 'notebooks', 'nb-default_slice_weights.yaml');
      const yaml = fs.readFileSync(file, 'utf8');
      expect(yaml).toMatch(/^extends: ".*config\/ofi_cvd\/prod\.yaml"$/m);
      const lc = loadConfig(file, {});
      expect(lc.files.map((f) => path.relative(ROOT, f))).toEqual([
        'config/ofi_cvd/prod.yaml',
        path.relative(ROOT, file),
      ]);
      expect(Object.keys(lc.config.fusion.slice_overrides)).toEqual(expect.arrayContaining(['Active', 'Quiet']));
      expect(
        fs.existsSync(path.join(ROOT, 'artifacts', 'runtime', 'nb-default-overlay', 'canary_report', 'verdicts.json')),
      ).toBe(true);
    });

    it('a bad parameter (unknown symbol) shows one error line, no stack trace', { timeout: 120_000 }, () => {
      fs.mkdirSync(OUT, { recursive: true });
      const r = spawnSync(
        'jupyter',
        [
          'nbconvert',
          '--to',
          'notebook',
          '--execute',
          '--ExecutePreprocessor.kernel_name=tslab',
          '--output-dir',
          OUT,
          '--output',
          'bad_symbol',
          'notebooks/01_quickstart.ipynb',
        ],
        { cwd: ROOT, env: { ...env, FLOWLAB_NB_SYMBOLS: 'DOGEUSDT' }, encoding: 'utf8', timeout: 110_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const text = textOf(path.join(OUT, 'bad_symbol.ipynb'));
      const errors = text.split('\n').filter((l) => l.startsWith('error: '));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/DOGEUSDT/);
      expect(text).not.toMatch(/^\s{4}at /m);
      expect(text).toMatch(/^skipped: replay/m);
      expect(outputs(path.join(OUT, 'bad_symbol.ipynb')).some((o) => o.output_type === 'error')).toBe(false);
    });
  },
);
