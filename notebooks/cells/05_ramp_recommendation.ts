// %% [markdown]
// # 05 · Ramp recommendation
//
// The canary's gates, incidents and per-symbol verdicts for the shared run, then the markdown acceptance report
// (`ramp_batch_summary.md`, written by `renderRampReport` next to the other artifacts) displayed in full.
// Every figure here is read from the run's artifacts, so it equals what the report and `verdicts.json` say.

// %%
import * as nb from './lib.js';
const P = nb.params({ symbols: ['ADAUSDT', 'SOLUSDT'], from: '', hours: 12, runTag: nb.NB_RUN_TAG });
console.log(JSON.stringify(P));

// %%
const C = await nb.cell('canary run', async () => {
  const c = await nb.sharedCanary(P);
  const fs = require('node:fs');
  const verdicts = JSON.parse(fs.readFileSync(`${c.reportDir}/verdicts.json`, 'utf8'));
  const incidents = JSON.parse(fs.readFileSync(`${c.reportDir}/incidents.json`, 'utf8'));
  return { ...c, verdicts, incidents };
});

// %% [markdown]
// ## Gates over the run
// Share of the per-minute decisions at which each gate failed (from `metrics_timeseries.csv`).

// %%
await nb.cell('gates', () => {
  const ts = nb.csv(`${C!.reportDir}/metrics_timeseries.csv`).filter((r) => C!.w.symbols.includes(r.symbol as string));
  const rows: Record<string, unknown>[] = [];
  for (const s of C!.w.symbols) {
    for (const slice of ['all', 'Active', 'Quiet']) {
      const mine = ts.filter((r) => r.symbol === s && r.slice === slice);
      const fails: Record<string, number> = {};
      for (const r of mine)
        for (const g of String(r.gates_failed ?? '')
          .split(';')
          .filter((x) => x !== ''))
          fails[g] = (fails[g] ?? 0) + 1;
      rows.push({
        symbol: s,
        slice,
        decisions: mine.length,
        ...Object.fromEntries(
          Object.entries(fails).map(([g, n]) => [`${g}_failed_share`, n / Math.max(1, mine.length)]),
        ),
      });
    }
  }
  nb.table(rows, 3);
  const act = ts.filter((r) => r.slice === 'Active');
  const t0 = nb.iso(C!.w.fromMs);
  const t1 = nb.iso(C!.w.toMs);
  nb.chart({
    title: 'Rolling 10-minute Active AUC at each gate decision (labels resolved by then) vs the 0.58 gate',
    x: { title: 'decision time (UTC)', type: 'date' },
    y: { title: 'Active AUC (10 min window)' },
    traces: [
      ...C!.w.symbols.map((s: string) => {
        const mine = act.filter((r) => r.symbol === s);
        return {
          x: mine.map((r) => nb.iso(r.ts_ms as number)),
          y: mine.map((r) => r.auc),
          name: `${s} Active AUC`,
          type: 'scatter',
          mode: 'lines',
          line: { width: 1 },
        };
      }),
      {
        x: [t0, t1],
        y: [0.58, 0.58],
        name: 'gate 0.58 (below: P1 incident)',
        type: 'scatter',
        mode: 'lines',
        line: { dash: 'dash', color: '#d62728' },
      },
    ],
  });
});

// %% [markdown]
// ## Incidents

// %%
await nb.cell('incidents', () => {
  const inc = C!.incidents.incidents.filter((i: { symbol: string }) => C!.w.symbols.includes(i.symbol));
  const by: Record<string, number> = {};
  for (const i of inc)
    by[`${i.symbol} ${i.severity} ${i.gate} ${i.slice}`] =
      (by[`${i.symbol} ${i.severity} ${i.gate} ${i.slice}`] ?? 0) + 1;
  nb.table(
    Object.entries(by).map(([k, n]) => {
      const [symbol, severity, gate, slice] = k.split(' ');
      return { symbol, severity, gate, slice, incidents: n };
    }),
  );
  nb.table(
    // biome-ignore lint/suspicious/noExplicitAny: incidents.json read untyped in a cell
    inc.slice(0, 15).map((i: any) => ({
      id: i.id,
      symbol: i.symbol,
      slice: i.slice,
      gate: i.gate,
      severity: i.severity,
      opened: nb.iso(i.opened_at_ms),
      closed: i.closed_at_ms === null ? 'open' : nb.iso(i.closed_at_ms),
      action: i.action,
      why: i.why,
    })),
  );
  console.log(`${inc.length} incidents (first 15 shown; all in incidents.json)`);
});

// %% [markdown]
// ## Verdicts per symbol
// `VERDICT` lines are machine-checked against `verdicts.json` by `test/notebooks/notebooks.test.ts`.

// %%
await nb.cell('verdicts', () => {
  const rows: Record<string, unknown>[] = [];
  for (const s of C!.w.symbols) {
    const v = C!.verdicts.symbols[s];
    if (!v) throw nb.userError(`symbol ${s} is not in ${P.runTag}'s verdicts.json`);
    const a = v.checks.find((c: { name: string }) => c.name === 'active_auc');
    console.log(
      `VERDICT ${s} include_in_pool=${v.include_in_pool} active_auc=${a.value === null ? 'null' : a.value.toFixed(4)}`,
    );
    for (const c of v.checks) {
      rows.push({
        symbol: s,
        check: c.label,
        value: c.value,
        ci: c.ci ? `[${c.ci[0].toFixed(3)}, ${c.ci[1].toFixed(3)}]` : '',
        n: c.n,
        status: c.status,
        detail: c.detail ?? '',
      });
    }
    console.log(`  reason: ${v.reason}`);
  }
  nb.table(rows);
});

// %% [markdown]
// ## Acceptance report

// %%
await nb.cell('report', () => {
  const tslab = require('tslab');
  const fs = require('node:fs');
  const { renderRampReport } = nb.load('report/ramp');
  const r = renderRampReport(C!.reportDir);
  console.log(
    `wrote ${require('node:path').relative(nb.ROOT, C!.reportDir)}/${r.files[0]} (+ ${r.files.length - 1} charts)`,
  );
  // charts are relative image links in the markdown: inline them so the notebook shows them
  const md = r.markdown.replace(/!\[([^\]]*)\]\(([^)]+\.svg)\)/g, (_m: string, alt: string, file: string) => {
    const p = `${C!.reportDir}/${file}`;
    return fs.existsSync(p)
      ? `![${alt}](data:image/svg+xml;base64,${Buffer.from(fs.readFileSync(p)).toString('base64')})`
      : _m;
  });
  tslab.display.markdown(md);
});
