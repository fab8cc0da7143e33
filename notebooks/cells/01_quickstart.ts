// %% [markdown]
// # 01 · Quickstart: replay a window of the default dataset
//
// Ensures the embedded default dataset exists (`datasets/default`: 24 h, six symbols, seed 42; synthesized in ~20 s when absent),
// replays a window through the same pipeline the live system runs (`replay` from `src/replay/replay.ts`), and plots
// price, OFI, CVD and the fusion score with the trading sessions shaded.
//
// **Parameters** (next cell; headless runs may override them with `FLOWLAB_NB_SYMBOLS`, `FLOWLAB_NB_FROM`, `FLOWLAB_NB_HOURS`,
// `FLOWLAB_NB_RUN_TAG`). A bad value (unknown symbol, empty range) prints one `error:` line and the cells below are skipped.

// %%
import * as nb from './lib.js';
const P = nb.params({
  symbols: ['ADAUSDT', 'SOLUSDT'], // symbols to replay
  from: '', // window start, ISO UTC ('' = dataset start)
  hours: 2, // window length
  runTag: 'nb-quickstart', // artifacts/runtime/<runTag>
});
console.log(JSON.stringify(P));

// %%
const W = await nb.cell('dataset and window', async () => {
  const data = await nb.ensureDefaultDataset();
  const w = nb.window(P, data);
  const { Dataset } = nb.load('dataset/reader');
  const m = new Dataset(data).manifest;
  console.log(
    `dataset ${data}: symbols ${m.symbols.join(',')}, ${nb.iso(m.time_range.recv_ts_ms[0])} .. ${nb.iso(m.time_range.recv_ts_ms[1])}`,
  );
  console.log(`window ${nb.iso(w.fromMs)} .. ${nb.iso(w.toMs)} for ${w.symbols.join(',')}`);
  return { data, ...w };
});

// %% [markdown]
// ## Replay
// Five derived tables per symbol (prices, ofi, cvd, fusion, events) are written to `artifacts/runtime/<runTag>/data/`.

// %%
const R = await nb.cell('replay', async () => {
  const { replay } = nb.load('replay/replay');
  const { loadConfig } = nb.load('config/load');
  const config = loadConfig(nb.rootPath(nb.DEFAULT_CONFIG), {});
  const t0 = Date.now();
  const r = await replay({
    data: W!.data,
    config,
    out: nb.rootPath('artifacts', 'runtime'),
    runTag: P.runTag,
    symbols: W!.symbols,
    fromMs: W!.fromMs,
    toMs: W!.toMs,
    overwrite: P.runTag.startsWith('nb-'),
    progress: false,
  });
  console.log(`replayed ${r.ticks} ticks in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${r.runDir}`);
  const rows: Record<string, unknown>[] = [];
  for (const s of W!.symbols) {
    const o: Record<string, unknown> = { symbol: s };
    for (const k of ['prices', 'ofi', 'cvd', 'fusion', 'events']) {
      o[k] = r.manifest.outputs
        .filter((f: { symbol: string; kind: string }) => f.symbol === s && f.kind === k)
        .reduce((a: number, f: { rows: number }) => a + f.rows, 0);
    }
    rows.push(o);
  }
  nb.table(rows);
  return r;
});

// %% [markdown]
// ## Price, OFI, CVD and fusion
// Five-second buckets (DuckDB over the derived Parquet): last trade price, cumulative OFI, last CVD, last fusion score.
// Shading: Tokyo (blue), London (green), NY (red) as the pipeline labelled each fusion sample.

// %%
await nb.cell('charts', async () => {
  for (const s of W!.symbols) {
    const bucket = (kind: string, expr: string) =>
      `SELECT (ts_ms // 5000) * 5000 AS t, ${expr} FROM ${nb.derivedGlob(R!.runDir, kind, s)} GROUP BY 1`;
    const rows = await nb.sql(
      `WITH p AS (${bucket('prices', 'arg_max(price, ts_ms) AS price')}),
            o AS (${bucket('ofi', 'sum(ofi_value) AS ofi')}),
            c AS (${bucket('cvd', 'arg_max(cvd, ts_ms) AS cvd')}),
            f AS (${bucket('fusion', 'arg_max(score, ts_ms) AS score, arg_max(session, ts_ms) AS session')})
       SELECT CAST(f.t AS DOUBLE) AS t, p.price, o.ofi, c.cvd, f.score, f.session
       FROM f LEFT JOIN p USING (t) LEFT JOIN o USING (t) LEFT JOIN c USING (t) ORDER BY t`,
    );
    const t = rows.map((r) => nb.iso(r.t as number));
    let acc = 0;
    const cumOfi = rows.map((r) => (acc += (r.ofi as number | null) ?? 0));
    const line = (y: unknown[], name: string, panel: number) => ({
      x: t,
      y,
      name,
      panel,
      type: 'scatter',
      mode: 'lines',
      line: { width: 1 },
    });
    nb.chart({
      title: `${s}: price, order flow and the fusion score, ${nb.iso(W!.fromMs)} .. ${nb.iso(W!.toMs)} (5 s buckets)`,
      x: { title: 'time (UTC)', type: 'date' },
      y: [
        { title: 'last trade price' },
        { title: 'cumulative OFI (L1)' },
        { title: 'CVD (base units)' },
        { title: 'fusion score (z units)' },
      ],
      traces: [
        line(
          rows.map((r) => r.price),
          'price',
          0,
        ),
        line(cumOfi, 'cumulative OFI', 1),
        line(
          rows.map((r) => r.cvd),
          'CVD',
          2,
        ),
        line(
          rows.map((r) => r.score),
          'fusion score',
          3,
        ),
        ...nb.sessionLegend(),
      ],
      shapes: nb.sessionShapes(
        rows.map((r) => r.t as number),
        rows.map((r) => (r.session as string | null) ?? null),
      ),
      height: 820,
    });
  }
});

// %% [markdown]
// ## Run facts
// `run_tag.txt` is what a reader needs first: config fingerprint, CVD direction per symbol, merge tolerance, fusion weights and gate,
// dataset and code hashes.

// %%
await nb.cell('run facts', () => {
  const fs = require('node:fs');
  console.log(fs.readFileSync(`${R!.runDir}/run_tag.txt`, 'utf8'));
  const counters = R!.manifest.counters as Record<string, number>;
  nb.table(Object.entries(counters).map(([k, v]) => ({ counter: k, value: v })));
});
