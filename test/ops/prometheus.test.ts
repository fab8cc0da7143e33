/**
 * The recorder's Prometheus side: latency_ms_histogram against a slow obvious
 * reference, the exposition accepted by `promtool check metrics`, the rules in
 * ops/prometheus checked and unit-tested by promtool, and every metric a rule or
 * a Grafana panel queries exported by recorder/metrics.ts (read from the
 * registry it builds, not from a list here).
 *
 * promtool comes from the Debian package `prometheus` (scripts/setup-services.sh,
 * which .ci/run calls); without it these tests fail under CI and skip elsewhere,
 * saying so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  LATENCY_BUCKETS_MS,
  SymbolMetrics,
  buildRegistry,
  newCounters,
  quantileSorted,
  type MetricsSource,
} from '../../recorder/metrics.js';
import { REPO } from '../helpers/cli.js';

const RULES = path.join(REPO, 'ops/prometheus/flowlab-rules.yml');
const RULES_TEST = path.join(REPO, 'ops/prometheus/flowlab-rules.test.yml');
const DASHBOARD = path.join(REPO, 'ops/grafana/flowlab-recorder.json');

function source(symbols: Map<string, SymbolMetrics>): MetricsSource {
  return {
    counters: newCounters(),
    symbols,
    now: () => 1_723_161_600_000,
    journalLag: () => 0,
    lastFlushSec: () => 0.25,
    sceneCoverageMiss: () => 1,
  };
}

/** Names a scrape exposes: every family, with _bucket/_sum/_count for histograms. */
function exportedNames(): Set<string> {
  const reg = buildRegistry(source(new Map([['BTCUSDT', new SymbolMetrics()]])));
  const out = new Set<string>();
  for (const m of reg.getMetricsAsArray() as unknown as { name: string; type: string }[]) {
    out.add(m.name);
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(`${m.name}${s}`);
  }
  return out;
}

const PROMQL_WORDS = new Set(
  [
    'sum',
    'by',
    'without',
    'rate',
    'irate',
    'increase',
    'histogram_quantile',
    'max',
    'min',
    'avg',
    'count',
    'topk',
    'bottomk',
    'offset',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'round',
    'clamp_min',
    'clamp_max',
    'abs',
    'delta',
    'deriv',
    'label_replace',
    'vector',
    'le',
    'inf',
    'nan',
  ].map((w) => w.toLowerCase()),
);

/** Metric names in a PromQL expression: identifiers outside label matchers, range selectors and strings, not functions or keywords. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\{?[A-Za-z_]+\}?/g, '');
  const names: string[] = [];
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  for (let m = re.exec(stripped); m; m = re.exec(stripped)) {
    const w = m[0];
    const after = stripped.slice(m.index + w.length).trimStart();
    if (PROMQL_WORDS.has(w.toLowerCase()) || after.startsWith('(')) continue;
    // label names inside by (...) / without (...) were kept: skip identifiers directly in such a list
    const before = stripped.slice(0, m.index);
    if (/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(before)) continue;
    names.push(w);
  }
  return names;
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
}

function promtool(): { bin: string | null; why: string } {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return { bin: 'promtool', why: '' };
  return { bin: null, why: 'promtool not found (Debian package prometheus; bash scripts/setup-services.sh)' };
}
const tool = promtool();
if (tool.bin === null) {
  if (process.env.CI) throw new Error(`${tool.why}: .ci/run must install it`);
  process.stderr.write(`prometheus.test.ts: promtool tests skipped: ${tool.why}\n`);
}

describe('recorder metrics for Prometheus', () => {
  it('latency_ms_histogram counts every sample net of the skew estimate, as a slow reference does', async () => {
    // raw recv - E: a known skew of -1273 ms plus latencies with 10% at 0, so the 1% quantile (the skew) is exact
    const raw: number[] = [];
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      raw.push(-1273 + (i % 10 === 0 ? 0 : 1 + (x % 400)));
    }
    const m = new SymbolMetrics();
    raw.forEach((r, i) => m.onTrade(1_723_161_600_000 + i, 1_723_161_600_000 + i - r, 1_723_161_600_000 + i, 0.01));
    // reference: every sample after the first 255 is observed at raw - (1% quantile of the last <= 8192 samples)
    const want = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
    let skew = NaN;
    let since = 0;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < raw.length; i++) {
      since++;
      if (since >= 16384 || (Number.isNaN(skew) && i + 1 >= 256)) {
        since = 0;
        skew = quantileSorted(Float64Array.from(raw.slice(Math.max(0, i + 1 - 8192), i + 1)).sort(), 0.01);
      }
      if (Number.isNaN(skew)) continue;
      const v = raw[i] - skew;
      const b = LATENCY_BUCKETS_MS.findIndex((le) => v <= le);
      want[b < 0 ? LATENCY_BUCKETS_MS.length : b]++;
      sum += v;
      n++;
    }
    expect(skew).toBe(-1273);
    expect(n).toBe(raw.length - 255);
    expect(Array.from(m.latencyBuckets)).toEqual(Array.from(want));
    expect(m.latencyCount).toBe(n);
    expect(m.latencySum).toBeCloseTo(sum, 6);
    // the scrape: cumulative buckets, +Inf = count, and the seed's quantile gauge beside it
    const text = await buildRegistry(source(new Map([['BTCUSDT', m]]))).metrics();
    let cum = 0;
    LATENCY_BUCKETS_MS.forEach((le, i) => {
      cum += want[i];
      expect(text).toContain(`latency_ms_histogram_bucket{le="${le}",symbol="BTCUSDT"} ${cum}`);
    });
    expect(text).toContain(`latency_ms_histogram_bucket{le="+Inf",symbol="BTCUSDT"} ${n}`);
    expect(text).toContain(`latency_ms_histogram_count{symbol="BTCUSDT"} ${n}`);
    expect(text).toMatch(/^# TYPE latency_ms_histogram histogram$/m);
    expect(text).toMatch(/^latency_ms\{symbol="BTCUSDT",quantile="p99"\} \d/m);
  });

  it.skipIf(tool.bin === null)('promtool accepts the exposition (check metrics)', async () => {
    const m = new SymbolMetrics();
    for (let i = 0; i < 600; i++) m.onTrade(1_723_161_600_000 + i, 1_723_161_600_000 + i - 40 - (i % 50), 0, 0.5);
    const text = await buildRegistry(source(new Map([['BTCUSDT', m]]))).metrics();
    const r = spawnSync(tool.bin!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // exit 1 is a parse error; 3 is lint advice only (the seed's `_ms` / `_sec` names and quantile-labelled gauge)
    expect([0, 3], `${r.stdout}${r.stderr}`).toContain(r.status);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/error while linting|text format parsing error/i);
    expect(text).toMatch(/^latency_ms_histogram_bucket\{le="\+Inf",symbol="BTCUSDT"\} 345$/m);
  });

  it.skipIf(tool.bin === null)('promtool check rules and promtool test rules pass on ops/prometheus', () => {
    const check = spawnSync(tool.bin!, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    const t = spawnSync(tool.bin!, ['test', 'rules', path.basename(RULES_TEST)], {
      cwd: path.dirname(RULES_TEST),
      encoding: 'utf8',
    });
    expect(t.status, `${t.stdout}${t.stderr}`).toBe(0);
    expect(t.stdout).toMatch(/SUCCESS/);
  });

  it("the rules hold the seed's alerts and the lost-trade-id alert, on exported metrics only", () => {
    const rules = YAML.parse(fs.readFileSync(RULES, 'utf8')) as RuleFile;
    const all = rules.groups.flatMap((g) => g.rules);
    const recorded = new Set(all.filter((r) => r.record).map((r) => r.record!));
    const alerts = Object.fromEntries(all.filter((r) => r.alert).map((r) => [r.alert!, r]));
    expect(alerts.FlowlabLatencyP99High.expr).toMatch(/symbol:latency_ms:p99 > 120/);
    expect(alerts.FlowlabWsReconnectsHigh.expr).toMatch(/increase\(ws_reconnects_total\[1h\]\) > 10/);
    expect(alerts.FlowlabCvdFloorHitRateHigh.expr).toMatch(/cvd_floor_hit_rate > 0\.6/);
    expect(alerts.FlowlabSceneCoverageMiss.expr).toMatch(/scene_coverage_miss > 0/);
    expect(alerts.FlowlabTradeIdsLost.expr).toMatch(/trade_ids_lost_total/);
    const exported = exportedNames();
    for (const r of all) {
      for (const name of metricNames(r.expr)) {
        expect(exported.has(name) || recorded.has(name), `${r.record ?? r.alert}: ${name} is not exported`).toBe(true);
      }
    }
  });

  it('every Grafana panel queries metrics the recorder exports (or the rules record)', () => {
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      title: string;
      panels: { id: number; title: string; type: string; panels?: unknown[]; targets?: { expr: string }[] }[];
    };
    expect(dash.uid).toBe('flowlab-recorder');
    const rules = YAML.parse(fs.readFileSync(RULES, 'utf8')) as RuleFile;
    const recorded = new Set(rules.groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => r.record!)));
    const exported = exportedNames();
    const panels = dash.panels.flatMap((p) => [p, ...((p.panels ?? []) as typeof dash.panels)]);
    const graphs = panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(8);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const used = new Set<string>();
    for (const p of graphs) {
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) {
        const names = metricNames(t.expr);
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names) {
          expect(exported.has(n) || recorded.has(n), `${p.title}: ${n} is not exported`).toBe(true);
          used.add(n);
        }
      }
    }
    // the seed's metrics all have a panel
    for (const seed of [
      'recv_rate_tps',
      'ws_reconnects_total',
      'dedup_hits_total',
      'cvd_scale_median',
      'cvd_floor_hit_rate',
      'write_errors_total',
      'parquet_flush_sec',
      'scene_coverage_miss',
    ])
      expect(used, seed).toContain(seed);
    expect([...used].some((n) => n.startsWith('symbol:latency_ms:'))).toBe(true);
  });

  it('the metric-name extraction the checks rely on', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (symbol, le) (rate(latency_ms_histogram_bucket{symbol=~"$symbol"}[5m])))',
      ),
    ).toEqual(['latency_ms_histogram_bucket']);
    expect(metricNames('increase(ws_reconnects_total[1h]) > 10 and on(instance) up == 1')).toEqual([
      'ws_reconnects_total',
      'up',
    ]);
    expect(metricNames('symbol:latency_ms:p99 > 120')).toEqual(['symbol:latency_ms:p99']);
  });
});
