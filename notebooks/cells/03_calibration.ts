// %% [markdown]
// # 03 · Calibration
//
// Reliability before and after Platt scaling, ECE / Brier per walk-forward fold, and the drift of Platt's A and B.
//
// - *Before*: the raw fusion score mapped by rank to [0, 1] (`rank / (n − 1)` over the labelled samples of the symbol) — what a
//   naive reader of the score as a probability would see.
// - *After*: the walk-forward Platt probability the canary published (`prob` in `eval_samples.parquet`: fitted on the previous
//   `train_sec` of resolved labels, applied to the next `test_sec`).
// - Per fold: `calibration_summary.csv` (ECE with 10 equal-width bins, Brier, Brier skill vs the training base rate, A, B).

// %%
import * as nb from './lib.js';
const P = nb.params({ symbols: ['ADAUSDT', 'SOLUSDT'], from: '', hours: 12, runTag: nb.NB_RUN_TAG });
const ECE_MAX = 0.1;
console.log(JSON.stringify(P));

// %%
const C = await nb.cell('canary run', () => nb.sharedCanary(P));

// %% [markdown]
// ## Reliability diagrams

// %%
const REL = await nb.cell('reliability', async () => {
  const { ece } = nb.load('eval/calibration');
  const { sqlString } = nb.load('io/duck'); // every string spliced into SQL is quoted by it
  const out: Record<string, unknown>[] = [];
  for (const s of C!.w.symbols) {
    const rows = await nb.sql(
      `SELECT score, prob, y FROM read_parquet(${sqlString(`${C!.reportDir}/eval_samples.parquet`)})
       WHERE symbol = ${sqlString(s)} AND y IN (0, 1) AND score IS NOT NULL AND isfinite(score) ORDER BY score`,
    );
    const n = rows.length;
    const y = rows.map((r) => r.y as number);
    const rank = rows.map((_, i) => (n > 1 ? i / (n - 1) : 0.5));
    const withProb = rows.filter((r) => r.prob !== null && Number.isFinite(r.prob as number));
    const before = ece(rank, y, 10);
    const after = ece(
      withProb.map((r) => r.prob as number),
      withProb.map((r) => r.y as number),
      10,
    );
    const trace = (
      e: { bins: { mean_p: number | null; mean_y: number | null; count: number }[] },
      name: string,
      color: string,
    ) => {
      const b = e.bins.filter((x) => x.count > 0);
      return {
        x: b.map((x) => x.mean_p),
        y: b.map((x) => x.mean_y),
        text: b.map((x) => `n=${x.count}`),
        name,
        type: 'scatter',
        mode: 'lines+markers',
        line: { color },
      };
    };
    nb.chart({
      title: `${s}: reliability before vs after walk-forward Platt (10 equal-width bins, n=${n.toLocaleString('en-US')})`,
      x: { title: 'mean predicted P(up) in the bin', range: [0, 1] },
      y: { title: 'observed frequency of up', range: [0, 1] },
      traces: [
        {
          x: [0, 1],
          y: [0, 1],
          name: 'perfectly calibrated',
          type: 'scatter',
          mode: 'lines',
          line: { dash: 'dot', color: '#888' },
        },
        trace(before, `before: rank-mapped score (ECE ${before.value?.toFixed(3)})`, '#d62728'),
        trace(after, `after: walk-forward Platt (ECE ${after.value?.toFixed(3)})`, '#1f77b4'),
      ],
    });
    out.push({
      symbol: s,
      labelled: n,
      ece_before_rank: before.value,
      calibrated: withProb.length,
      ece_after_platt: after.value,
    });
  }
  nb.table(out);
  return out;
});

// %% [markdown]
// The end-of-run ECE in `verdicts.json` is computed over the same calibrated samples; the two must agree.

// %%
await nb.cell('ece cross-check', () => {
  const fs = require('node:fs');
  const v = JSON.parse(fs.readFileSync(`${C!.reportDir}/verdicts.json`, 'utf8'));
  for (const r of REL!) {
    const chk = v.symbols[r.symbol as string].checks.find((c: { name: string }) => c.name === 'ece');
    const same = chk.value !== null && Math.abs(chk.value - (r.ece_after_platt as number)) < 1e-9;
    console.log(
      `ECE ${r.symbol} notebook=${(r.ece_after_platt as number).toFixed(4)} verdicts=${chk.value === null ? 'null' : chk.value.toFixed(4)} ${same ? 'equal' : 'DIFFERENT'}`,
    );
  }
});

// %% [markdown]
// ## ECE and Brier over time (walk-forward folds)

// %%
const CAL = await nb.cell('folds', () => {
  const rows = nb
    .csv(`${C!.reportDir}/calibration_summary.csv`)
    .filter((r) => C!.w.symbols.includes(r.symbol as string));
  const tr = (metric: string, panel: number) =>
    C!.w.symbols.map((s: string) => {
      const mine = rows.filter((r) => r.symbol === s);
      return {
        x: mine.map((r) => nb.iso(r.fold_start_ms as number)),
        y: mine.map((r) => r[metric]),
        name: `${s} ${metric}`,
        panel,
        type: 'scatter',
        mode: 'lines+markers',
      };
    });
  const t0 = nb.iso(C!.w.fromMs);
  const t1 = nb.iso(C!.w.toMs);
  nb.chart({
    title: `Per-fold test ECE (top, gate ${ECE_MAX} dashed) and Brier score (bottom)`,
    x: { title: 'fold start (UTC)', type: 'date' },
    y: [{ title: 'ECE (10 bins)' }, { title: 'Brier score' }],
    traces: [
      ...tr('ece', 0),
      ...tr('brier', 1),
      {
        x: [t0, t1],
        y: [ECE_MAX, ECE_MAX],
        name: `ECE gate ${ECE_MAX}`,
        type: 'scatter',
        mode: 'lines',
        line: { dash: 'dash', color: '#d62728' },
      },
    ],
  });
  return rows;
});

// %% [markdown]
// ## Drift of Platt A and B across folds
// `P(up) = 1 / (1 + exp(A·score + B))`: A < 0 means a higher score is more likely up; |A| is the score's slope, B the bias.
// Folds with too few resolved training labels are `insufficient` (no fit, calibration paused).

// %%
await nb.cell('platt drift', () => {
  const tr = (k: string, panel: number) =>
    C!.w.symbols.map((s: string) => {
      const mine = CAL!.filter((r) => r.symbol === s && r.status === 'ok');
      return {
        x: mine.map((r) => nb.iso(r.fold_start_ms as number)),
        y: mine.map((r) => r[k]),
        name: `${s} ${k}`,
        panel,
        type: 'scatter',
        mode: 'lines+markers',
      };
    });
  nb.chart({
    title: 'Platt fit per walk-forward fold: slope A (top) and bias B (bottom)',
    x: { title: 'fold start (UTC)', type: 'date' },
    y: [{ title: 'A (per score unit)' }, { title: 'B' }],
    traces: [...tr('A', 0), ...tr('B', 1)],
  });
  const summary = C!.w.symbols.map((s: string) => {
    const ok = CAL!.filter((r) => r.symbol === s && r.status === 'ok');
    const a = ok.map((r) => r.A as number);
    const b = ok.map((r) => r.B as number);
    const sd = (x: number[]) => {
      const m = x.reduce((p, q) => p + q, 0) / x.length;
      return Math.sqrt(x.reduce((p, q) => p + (q - m) ** 2, 0) / Math.max(1, x.length - 1));
    };
    return {
      symbol: s,
      folds: CAL!.filter((r) => r.symbol === s).length,
      fitted: ok.length,
      A_first: a[0] ?? null,
      A_last: a[a.length - 1] ?? null,
      A_sd: a.length ? sd(a) : null,
      B_first: b[0] ?? null,
      B_last: b[b.length - 1] ?? null,
      B_sd: b.length ? sd(b) : null,
    };
  });
  nb.table(summary);
  nb.table(
    CAL!.map((r) => ({
      symbol: r.symbol,
      fold: r.fold,
      start: nb.iso(r.fold_start_ms as number),
      status: r.status,
      train: r.platt_train_samples,
      test: r.platt_test_samples,
      A: r.A,
      B: r.B,
      ece: r.ece,
      brier: r.brier,
      brier_skill: r.brier_skill,
    })),
  );
});
