/**
 * The measurement behind the report-chart library decision (README "Report
 * charts: hand-written SVG or vega-lite"): renders the two report charts that
 * matter most (AUC by slice with CI and the gate; the rolling gate chart with
 * its incident strip) of one canary report twice, with src/report/svg.ts (the
 * report's own renderer, via renderRampMarkdown) and with vega-lite -> vega ->
 * SVG in Node (no browser, no canvas), then both to PNG with rsvg-convert, and
 * prints render time, byte-determinism (in-process repeats, a second process,
 * another TZ), output size and vega's dependency weight.
 *
 * vega is NOT a project dependency. To rerun, install it beside the repo:
 *   mkdir -p tmp/vega-probe && (cd tmp/vega-probe && npm init -y >/dev/null && npm install vega vega-lite)
 *   npx tsx scripts/chart-lib-probe.ts --report artifacts/runtime/nb-default/canary_report --symbol SOLUSDT \
 *     --vega tmp/vega-probe --out tmp/chart-probe
 * (the canary run comes from notebook 02/04's shared run, or any `flowlab canary` report folder).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type CanaryReportData,
  DIM_ORDER,
  loadCanaryReport,
  renderRampMarkdown,
  VALUE_ORDER,
} from '../src/report/ramp.js';
import { PALETTE } from '../src/report/svg.js';

const arg = (k: string, d?: string): string => {
  const i = process.argv.indexOf(`--${k}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (d === undefined) {
    console.error(`chart-lib-probe: --${k} is required`);
    process.exit(2);
  }
  return d;
};
const REPORT = path.resolve(arg('report'));
const SYMBOL = arg('symbol');
const VEGA_DIR = path.resolve(arg('vega', 'tmp/vega-probe'));
const OUT = path.resolve(arg('out', 'tmp/chart-probe'));
const REPS = Number(arg('reps', '20'));

const vreq = createRequire(path.join(VEGA_DIR, 'package.json'));
// vega 6 is ESM only: import the files the probe folder resolves
const tImport = performance.now();
// biome-ignore lint/suspicious/noExplicitAny: vega is not a project dependency (no types here)
const vega: any = await import(pathToFileURL(vreq.resolve('vega')).href);
// biome-ignore lint/suspicious/noExplicitAny: as above
const vl: any = await import(pathToFileURL(vreq.resolve('vega-lite')).href);
const importMs = performance.now() - tImport;

type Row = Record<string, string | number | boolean | null>;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const sha = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

function gates(d: CanaryReportData): { auc: number; ece: number } {
  const checks = d.verdicts.symbols[SYMBOL]?.checks ?? [];
  const th = (n: string, dflt: number) => checks.find((c) => c.name === n)?.threshold ?? dflt;
  return { auc: th('active_auc', 0.58), ece: th('ece', 0.1) };
}

/** Position in a fixed order, unknown values last (as ramp.ts orders them). */
const at = (list: readonly string[], v: string) => (list.includes(v) ? list.indexOf(v) : list.length);

/** The AUC-by-slice chart as vega-lite, from the same rows and gate as the report's barChart. */
function sliceSpec(d: CanaryReportData): object {
  const g = gates(d);
  const rows = (d.slices as Row[])
    .filter((r) => r.symbol === SYMBOL)
    .map((r) => ({
      key: `${r.dimension}/${r.value}`, // a value such as '(unknown)' occurs in several dimensions
      dimension: String(r.dimension),
      value: String(r.value),
      auc: num(r.auc),
      lo: num(r.auc_ci_low),
      hi: num(r.auc_ci_high),
      n: (num(r.n_pos) ?? 0) + (num(r.n_neg) ?? 0),
    }))
    .sort(
      (a, b) =>
        at(DIM_ORDER, a.dimension) - at(DIM_ORDER, b.dimension) || at(VALUE_ORDER, a.value) - at(VALUE_ORDER, b.value),
    );
  const vals = rows.flatMap((r) => [r.lo, r.hi, r.auc]).filter((v): v is number => v !== null);
  const lo = Math.floor(Math.min(0.5, g.auc, ...vals) * 20) / 20;
  const hi = Math.ceil(Math.max(0.5, g.auc, ...vals) * 20) / 20;
  const x = {
    field: 'key',
    type: 'ordinal',
    sort: rows.map((r) => r.key),
    title: 'slice',
    axis: { labelAngle: 0, labelExpr: "split(datum.label, '/')[1]" },
  };
  const y = { type: 'quantitative', scale: { domain: [lo, hi] }, title: 'AUC (bars from chance 0.5)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${SYMBOL}: AUC by slice (95% DeLong CI, overlap-corrected)`,
    width: 620,
    height: 240,
    config: { font: 'sans-serif', view: { stroke: null } },
    layer: [
      {
        data: { values: rows },
        layer: [
          {
            mark: { type: 'bar', opacity: 0.75 },
            encoding: {
              x,
              y: { ...y, field: 'auc' },
              y2: { datum: 0.5 },
              color: {
                field: 'dimension',
                type: 'nominal',
                sort: DIM_ORDER,
                scale: { range: [...PALETTE] },
                legend: { orient: 'top', title: null },
              },
            },
          },
          {
            mark: { type: 'errorbar', ticks: true, color: '#222222' },
            encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
          },
          {
            transform: [{ filter: 'datum.auc === null' }],
            mark: { type: 'text', color: '#7f7f7f', dy: -8 },
            encoding: { x, y: { ...y, datum: 0.5 }, text: { value: 'n/a' } },
          },
        ],
      },
      {
        data: {
          values: [
            { y: 0.5, label: 'chance 0.5', color: '#999999' },
            { y: g.auc, label: `AUC gate ${g.auc}`, color: '#d62728' },
          ],
        },
        layer: [
          {
            mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 1.4 },
            encoding: { y: { ...y, field: 'y' }, color: { field: 'color', type: 'nominal', scale: null } },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
            encoding: {
              y: { ...y, field: 'y' },
              x: { value: 620 },
              text: { field: 'label' },
              color: { field: 'color', type: 'nominal', scale: null },
            },
          },
        ],
      },
    ],
  };
}

/** The rolling chart (gate AUC on top, context faded, thresholds, incident strip) as vega-lite. */
function rollingSpec(d: CanaryReportData): object {
  const g = gates(d);
  const rows = (d.metrics as Row[]).filter((r) => r.symbol === SYMBOL);
  const wins = [...new Set(rows.map((r) => String(r.window_sec)))].sort((a, b) => Number(a) - Number(b));
  const mine = rows.filter((r) => String(r.window_sec) === wins[0]).sort((a, b) => Number(a.ts_ms) - Number(b.ts_ms));
  const long: { t: number; series: string; y: number | null }[] = [];
  const gateSlice = ['all', 'Active'].find((s) => mine.some((r) => r.slice === s && num(r.gate_auc) !== null));
  for (const r of mine) {
    const t = Number(r.ts_ms);
    if (r.slice === 'all') long.push({ t, series: 'ECE (all)', y: num(r.ece) });
    if (r.slice === 'all') long.push({ t, series: 'AUC all', y: num(r.auc) });
    if (r.slice === 'Quiet') long.push({ t, series: 'AUC Quiet', y: num(r.auc) });
    if (gateSlice !== undefined && r.slice === gateSlice)
      long.push({ t, series: 'gate AUC (what the gate acts on)', y: num(r.gate_auc) });
  }
  const t0 = Number(mine[0].ts_ms);
  const t1 = Number(mine[mine.length - 1].ts_ms);
  const bands: { t0: number; t1: number; row: string; color: string }[] = [];
  const incs = d.incidents.incidents.filter((i) => i.symbol === SYMBOL && !i.gate.startsWith('merge'));
  for (const row of [...new Set(incs.map((i) => `${i.gate} ${i.severity}`))].sort()) {
    const iv = incs
      .filter((i) => `${i.gate} ${i.severity}` === row)
      .map((i) => [i.opened_at_ms, i.closed_at_ms ?? Math.max(t1, i.opened_at_ms)])
      .sort((a, b) => a[0] - b[0]);
    const start = bands.length;
    for (const [a, b] of iv) {
      const last = bands.length > start ? bands[bands.length - 1] : undefined;
      if (last && a <= last.t1) last.t1 = Math.max(last.t1, b);
      else bands.push({ t0: a, t1: b, row, color: row.endsWith(' P1') ? '#d62728' : '#ff9f40' });
    }
  }
  const order = ['ECE (all)', 'AUC all', 'AUC Quiet', 'gate AUC (what the gate acts on)'];
  const x = {
    field: 't',
    type: 'temporal',
    scale: { type: 'utc', domain: [t0, t1] },
    axis: { format: '%H:%M', title: 'time (UTC)' }, // a utc scale formats in UTC
  };
  const main = {
    width: 620,
    height: 260,
    layer: [
      // one layer per series, in order: the gate's own statistic is drawn last (on top), context thin and faded
      ...order.map((name, k) => ({
        data: { values: long },
        transform: [{ filter: { field: 'series', equal: name } }],
        mark: {
          type: 'line',
          invalid: 'break-paths-show-domains',
          strokeWidth: [1, 1, 1, 2.2][k],
          strokeDash: k === 0 ? [4, 2] : undefined,
          opacity: [0.8, 0.7, 0.7, 1][k],
        },
        encoding: {
          x,
          y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, title: 'AUC / ECE' },
          color: {
            field: 'series',
            type: 'nominal',
            scale: { domain: order, range: [PALETTE[3], '#9e9e9e', PALETTE[2], PALETTE[0]] },
            legend: { orient: 'top', title: null, symbolType: 'stroke', labelLimit: 300, columns: 4 },
          },
        },
      })),
      {
        data: {
          values: [
            { y: g.auc, label: `AUC gate ${g.auc}`, color: '#d62728' },
            { y: g.ece, label: `ECE gate ${g.ece}`, color: '#ff7f0e' },
          ],
        },
        layer: [
          {
            mark: { type: 'rule', strokeDash: [6, 3], strokeWidth: 1.4 },
            encoding: {
              y: { field: 'y', type: 'quantitative' },
              color: { field: 'color', type: 'nominal', scale: null },
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
            encoding: {
              y: { field: 'y', type: 'quantitative' },
              x: { value: 620 },
              text: { field: 'label' },
              color: { field: 'color', type: 'nominal', scale: null },
            },
          },
        ],
      },
    ],
  };
  const strip = {
    width: 620,
    height: { step: 14 },
    data: { values: bands.length ? bands : [{ t0, t1: t0, row: 'no incidents', color: '#ffffff' }] },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 't0', type: 'temporal', scale: { type: 'utc' }, axis: null },
      x2: { field: 't1' },
      y: { field: 'row', type: 'nominal', title: null },
      color: { field: 'color', type: 'nominal', scale: null },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${SYMBOL}: rolling AUC by slice and ECE, ${Number(wins[0]) / 60}-min window`,
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: [main, strip],
    spacing: 6,
    resolve: { scale: { x: 'shared' } },
  };
}

async function vegaSvg(spec: object): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  return svg;
}

function png(svgFile: string): { file: string; bytes: number; ok: boolean; err: string } {
  const file = svgFile.replace(/\.svg$/, '.png');
  const r = spawnSync('rsvg-convert', ['-o', file, svgFile], { encoding: 'utf8' });
  return { file, bytes: r.status === 0 ? fs.statSync(file).size : 0, ok: r.status === 0, err: r.stderr };
}

/** Installed packages (npm's own list, node_modules/.package-lock.json) and their bytes on disk. */
function dirStats(dir: string): { packages: number; mb: number } {
  const nm = path.join(dir, 'node_modules');
  const lock = JSON.parse(fs.readFileSync(path.join(nm, '.package-lock.json'), 'utf8')) as { packages: object };
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) bytes += fs.statSync(p).size;
    }
  };
  walk(nm);
  return { packages: Object.keys(lock.packages).length, mb: bytes / 1e6 };
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const d = loadCanaryReport(REPORT);
  const specs = { auc_slices: sliceSpec(d), rolling: rollingSpec(d) };
  // hand-written: the report's own charts for this symbol
  const own = new Map(renderRampMarkdown(d).charts.map((c) => [c.file, c.svg]));
  const handFile = {
    auc_slices: `charts/auc_slices_${SYMBOL}.svg`,
    rolling: [...own.keys()].find((f) => f.startsWith(`charts/rolling_${SYMBOL}`)) ?? '',
  };
  let t = performance.now();
  for (let i = 0; i < REPS; i++) renderRampMarkdown(d);
  const handMs = (performance.now() - t) / REPS;
  const lines: string[] = [];
  lines.push(`report ${REPORT}, symbol ${SYMBOL}, vega ${vega.version}, vega-lite ${vl.version}, ${REPS} reps`);
  lines.push(`vega + vega-lite module load (cold, this process): ${importMs.toFixed(0)} ms`);
  lines.push(`hand-written: whole report (markdown + all ${own.size} charts) ${handMs.toFixed(1)} ms per render`);
  for (const [k, spec] of Object.entries(specs) as [keyof typeof specs, object][]) {
    const first = await vegaSvg(spec); // warm-up (module JIT) and the reference bytes
    t = performance.now();
    let same = true;
    for (let i = 0; i < REPS; i++) same = (await vegaSvg(spec)) === first && same;
    const ms = (performance.now() - t) / REPS;
    const vFile = path.join(OUT, `${k}_${SYMBOL}.vega.svg`);
    const hFile = path.join(OUT, `${k}_${SYMBOL}.hand.svg`);
    fs.writeFileSync(vFile, first);
    fs.writeFileSync(hFile, own.get(handFile[k]) ?? '');
    fs.writeFileSync(path.join(OUT, `${k}_${SYMBOL}.vl.json`), `${JSON.stringify(spec, null, 1)}\n`);
    const pv = png(vFile);
    const ph = png(hFile);
    lines.push(
      `${k}: vega ${ms.toFixed(1)} ms per chart, identical over ${REPS} in-process renders: ${same}; svg ${first.length} B (sha ${sha(first)}), png ${pv.bytes} B${pv.ok ? '' : ` (rsvg failed: ${pv.err.trim()})`}; hand svg ${(own.get(handFile[k]) ?? '').length} B (sha ${sha(own.get(handFile[k]) ?? '')}), png ${ph.bytes} B`,
    );
  }
  const w = dirStats(VEGA_DIR);
  lines.push(`vega + vega-lite install: ${w.packages} packages, ${w.mb.toFixed(1)} MB on disk (apparent)`);
  const text = `${lines.join('\n')}\n`;
  fs.writeFileSync(path.join(OUT, 'probe.txt'), text);
  process.stdout.write(text);
}

await main();
