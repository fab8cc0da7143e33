// %% [markdown]
// # 02 · Slice robustness
//
// AUC of the fusion score with DeLong 95% CIs per slice **session × regime × vol bucket**, per symbol and pooled, from the
// canary run's `eval_samples.parquet` (every fusion sample with its 60 s label and slices). The CIs are overlap-corrected
// like the canary's: 1 s samples with 60 s labels are not independent, so the DeLong variance is multiplied by
// horizon / sample interval (60; `nb.varianceInflation`); without it the CIs are ~8x too narrow. A slice *clears* when the lower
// end of its CI is at least 0.58 (the canary's Active-AUC gate); a point estimate above 0.58 with a CI reaching below is
// reported as *point only*. Slices with fewer than 30 labels per class say so.
//
// The canary run is shared by notebooks 02–05 (`artifacts/runtime/nb-default`: ADAUSDT, SOLUSDT, first 12 h); it is
// created by the first of them that needs it and reused when its selection and config fingerprint match.

// %%
import * as nb from './lib.js';
const P = nb.params({ symbols: ['ADAUSDT', 'SOLUSDT'], from: '', hours: 12, runTag: nb.NB_RUN_TAG });
const AUC_MIN = 0.58;
console.log(JSON.stringify(P));

// %%
const C = await nb.cell('canary run', () => nb.sharedCanary(P));

// %%
const S = await nb.cell('slice AUCs', async () => {
  const { aucDeLong } = nb.load('eval/auc');
  const VIF = nb.varianceInflation(C!.runDir);
  console.log(`DeLong variance inflation (overlapping labels): ${VIF}`);
  const { sqlString } = nb.load('io/duck'); // every string spliced into SQL is quoted by it
  const file = `${C!.reportDir}/eval_samples.parquet`;
  const rows = await nb.sql(
    `SELECT symbol, session, regime, vol_bucket, score, y FROM read_parquet(${sqlString(file)})
     WHERE y IN (0, 1) AND score IS NOT NULL AND isfinite(score) AND session IS NOT NULL AND regime IS NOT NULL AND vol_bucket IS NOT NULL`,
  );
  const out: Record<string, unknown>[] = [];
  const groups = [...C!.w.symbols.map((s: string) => [s]), C!.w.symbols];
  for (const g of groups) {
    const name = g.length === 1 ? g[0] : 'ALL';
    const mine = rows.filter((r) => g.includes(r.symbol as string));
    for (const session of ['Tokyo', 'London', 'NY']) {
      for (const regime of ['Active', 'Quiet']) {
        for (const vol of ['High', 'Low']) {
          const sel = mine.filter((r) => r.session === session && r.regime === regime && r.vol_bucket === vol);
          const a = aucDeLong(
            sel.map((r) => r.score as number),
            sel.map((r) => r.y as number),
            { variance_inflation: VIF },
          );
          const verdict =
            a.auc === null
              ? 'insufficient'
              : a.ci_low >= AUC_MIN
                ? 'clears'
                : a.auc >= AUC_MIN
                  ? 'point only'
                  : 'below';
          out.push({
            symbol: name,
            session,
            regime,
            vol_bucket: vol,
            n: a.n,
            auc: a.auc,
            ci_low: a.ci_low,
            ci_high: a.ci_high,
            verdict,
          });
        }
      }
    }
  }
  nb.table(out);
  return { rows, out };
});

// %% [markdown]
// ## Heatmaps
// Cell colour = AUC (white at 0.5, diverging), text = AUC [CI]; rows regime × vol bucket, columns session.

// %%
await nb.cell('heatmaps', () => {
  const ys = ['Active·High', 'Active·Low', 'Quiet·High', 'Quiet·Low'];
  const xs = ['Tokyo', 'London', 'NY'];
  for (const name of [...C!.w.symbols, 'ALL']) {
    const z: (number | null)[][] = [];
    const text: string[][] = [];
    for (const yv of ys) {
      const [regime, vol] = yv.split('·');
      const zr: (number | null)[] = [];
      const tr: string[] = [];
      for (const x of xs) {
        const r = S!.out.find(
          (o) => o.symbol === name && o.session === x && o.regime === regime && o.vol_bucket === vol,
        )!;
        zr.push(r.auc as number | null);
        tr.push(
          r.auc === null
            ? `n=${r.n}<br>insufficient`
            : `${(r.auc as number).toFixed(3)}<br>[${(r.ci_low as number).toFixed(3)}, ${(r.ci_high as number).toFixed(3)}]<br>n=${r.n}`,
        );
      }
      z.push(zr);
      text.push(tr);
    }
    nb.chart({
      title: `${name}: fusion AUC by slice with overlap-corrected 95% CI (gate ${AUC_MIN})`,
      x: { title: 'session', type: 'category' },
      y: { title: 'regime · vol bucket', type: 'category' },
      traces: [
        {
          name: 'AUC',
          type: 'heatmap',
          x: xs,
          y: ys,
          z,
          text,
          texttemplate: '%{text}',
          hoverinfo: 'text',
          zmin: 0.4,
          zmax: 0.7,
          zmid: 0.5,
          colorscale: 'RdBu',
          reversescale: true,
          colorbar: { title: { text: 'AUC' } },
        },
      ],
      height: 400,
    });
  }
});

// %% [markdown]
// ## Cross-check with the canary's slices_overview.csv
// The regime AUCs and their overlap-corrected CIs recomputed here from eval_samples.parquet must equal the ones the canary
// wrote (to the CSV's 6 significant digits).

// %%
await nb.cell('cross-check', () => {
  const { aucDeLong } = nb.load('eval/auc');
  const VIF = nb.varianceInflation(C!.runDir);
  const ov = nb.csv(`${C!.reportDir}/slices_overview.csv`);
  const rows: Record<string, unknown>[] = [];
  for (const name of [...C!.w.symbols, 'ALL']) {
    for (const regime of ['Active', 'Quiet']) {
      const sel = S!.rows.filter((r) => (name === 'ALL' || r.symbol === name) && r.regime === regime);
      const a = aucDeLong(
        sel.map((r) => r.score as number),
        sel.map((r) => r.y as number),
        { variance_inflation: VIF },
      );
      const mine = a.auc as number | null;
      const theirs = ov.find((o) => o.symbol === name && o.dimension === 'regime' && o.value === regime);
      const t = theirs ? (theirs.auc as number | null) : null;
      // the CSV keeps 6 significant digits
      const same = (x: number | null, y: unknown) => x !== null && y !== null && Number(x.toPrecision(6)) === y;
      rows.push({
        symbol: name,
        regime,
        auc_notebook: mine,
        auc_slices_overview: t,
        ci_notebook: a.auc === null ? null : `[${a.ci_low.toFixed(4)}, ${a.ci_high.toFixed(4)}]`,
        ci_slices_overview: theirs
          ? `[${(theirs.auc_ci_low as number).toFixed(4)}, ${(theirs.auc_ci_high as number).toFixed(4)}]`
          : null,
        equal: same(mine, t) && same(a.ci_low, theirs?.auc_ci_low) && same(a.ci_high, theirs?.auc_ci_high),
      });
    }
  }
  nb.table(rows, 6);
});

// %% [markdown]
// ## Verdict

// %%
await nb.cell('verdict', () => {
  const tslab = require('tslab');
  const lines: string[] = [];
  for (const name of [...C!.w.symbols, 'ALL']) {
    const mine = S!.out.filter((o) => o.symbol === name);
    const clear = mine.filter((o) => o.verdict === 'clears');
    const point = mine.filter((o) => o.verdict === 'point only');
    const ins = mine.filter((o) => o.verdict === 'insufficient');
    const lab = (o: Record<string, unknown>) =>
      `${o.session}/${o.regime}/${o.vol_bucket} ${(o.auc as number).toFixed(3)} [${(o.ci_low as number).toFixed(3)}, ${(o.ci_high as number).toFixed(3)}]`;
    const robust = clear.length > 0 && mine.every((o) => o.verdict === 'insufficient' || (o.ci_high as number) >= 0.5);
    lines.push(
      `**${name}**: ${clear.length} of ${mine.length - ins.length} slices with enough labels clear AUC ${AUC_MIN} with their CI` +
        (clear.length ? ` (${clear.map(lab).join('; ')})` : '') +
        (point.length ? `; point estimate only: ${point.map(lab).join('; ')}` : '') +
        (ins.length ? `; ${ins.length} slice(s) insufficient` : '') +
        ` → ${robust ? 'robust in the slices that clear, no slice significantly below 0.5' : 'not slice-robust'}.`,
    );
    console.log(`SLICES ${name} clears=${clear.length} point_only=${point.length} insufficient=${ins.length}`);
  }
  tslab.display.markdown(lines.map((l) => `- ${l}`).join('\n'));
});
