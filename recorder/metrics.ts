/**
 * Recorder metrics: cheap plain counters updated on the hot path, exposed by
 * prom-client gauges / counters whose `collect()` reads them at scrape time
 * (so ingest never pays for label lookups).
 *
 * latency_ms (method): per symbol, the last 8192 values of `recv_ts_ms - E`
 * (trades, and bookTickers that carry E). The clock skew estimate is the 1st
 * percentile of that window (the fastest deliveries: skew + minimal network
 * time); latency_ms{quantile} = quantile of (raw - skew). So it is latency
 * *above the best observed path*, immune to the local clock being ahead of or
 * behind the exchange (the realdata captures run 1.27 s behind).
 *
 * latency_ms_histogram (symbol, le): the same latency as a cumulative
 * histogram Prometheus can aggregate across recorders (histogram_quantile over
 * sum by (le)); ops/prometheus/flowlab-rules.yml records its p50/p90/p99 as
 * `symbol:latency_ms:p50` etc. Each sample is observed at ingest net of the skew
 * estimate in force then (recomputed every SKEW_EVERY samples; samples before the
 * first SKEW_MIN are not observed, they only seed the estimate).
 *
 * cvd_scale_median / cvd_floor_hit_rate: a RobustScale (seed parameters,
 * src/calc/robust.ts) per symbol over trade deltas (m ? -qty : +qty) in trade
 * time; the median of its last 1024 scales and its sigma-floor hit rate.
 */
import http from 'node:http';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import { RobustScale } from '../src/calc/robust.js';
import { DEFAULT_CALC_PARAMS } from '../src/calc/params.js';
import { newMapCounters, type MapCounters } from '../src/binance/mapper.js';

const RING = 8192;
/** Upper bounds (ms) of latency_ms_histogram's buckets (+Inf implied); 120 is the seed's p99 alert threshold. */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 20, 50, 100, 120, 200, 500, 1000, 2000, 5000, 10000];
/** Latency samples between two skew re-estimates for the histogram (one sort of the ring each). */
const SKEW_EVERY = 16384;
/** Samples before the histogram's first skew estimate. */
const SKEW_MIN = 256;

export function quantileSorted(a: Float64Array, q: number): number {
  const n = a.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return a[lo] + (a[hi] - a[lo]) * (h - lo);
}

class Ring {
  readonly buf: Float64Array;
  n = 0;
  i = 0;
  constructor(size: number) {
    this.buf = new Float64Array(size);
  }
  push(x: number): void {
    this.buf[this.i] = x;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

export class SymbolMetrics {
  readonly latency = new Ring(RING);
  /** latency_ms_histogram: per-bucket (not cumulative) counts, last = above the last bound; sum and count. */
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  latencySum = 0;
  latencyCount = 0;
  /** Skew subtracted from histogram observations (NaN until SKEW_MIN samples). */
  histSkew = NaN;
  private sinceSkew = 0;
  readonly scale: RobustScale;
  readonly scales = new Ring(1024);
  lastTs = -Infinity;
  trades = 0;
  /** Trades per receive second, last 16 seconds. */
  readonly perSec = new Float64Array(16);
  readonly secOf = new Float64Array(16).fill(-1);
  constructor() {
    this.scale = new RobustScale({ ...DEFAULT_CALC_PARAMS.robust });
  }
  onTrade(recvMs: number, eventMs: number, tsMs: number, delta: number): void {
    this.trades++;
    const sec = Math.floor(recvMs / 1000);
    const k = sec & 15;
    if (this.secOf[k] !== sec) {
      this.secOf[k] = sec;
      this.perSec[k] = 0;
    }
    this.perSec[k]++;
    if (Number.isFinite(eventMs)) this.observeLatency(recvMs - eventMs);
    const t = tsMs > this.lastTs ? tsMs : this.lastTs;
    this.lastTs = t;
    this.scale.update(t, delta);
    if (Number.isFinite(this.scale.scale)) this.scales.push(this.scale.scale);
  }
  private observeLatency(raw: number): void {
    this.latency.push(raw);
    if (++this.sinceSkew >= SKEW_EVERY || (Number.isNaN(this.histSkew) && this.latency.n >= SKEW_MIN)) {
      this.sinceSkew = 0;
      this.histSkew = quantileSorted(this.latency.sorted(), 0.01);
    }
    if (Number.isNaN(this.histSkew)) return;
    const v = raw - this.histSkew;
    const b = LATENCY_BUCKETS_MS;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.latencyBuckets[i]++;
    this.latencySum += v;
    this.latencyCount++;
  }
  /** Trades/s over the 10 full seconds before `nowMs`. */
  rate(nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    let n = 0;
    for (let k = 0; k < 16; k++) if (this.secOf[k] >= now - 10 && this.secOf[k] < now) n += this.perSec[k];
    return n / 10;
  }
  latencyQuantiles(): { skew: number; p50: number; p90: number; p99: number; n: number } {
    const s = this.latency.sorted();
    const skew = quantileSorted(s, 0.01);
    const q = (p: number) => quantileSorted(s, p) - skew;
    return { skew, p50: q(0.5), p90: q(0.9), p99: q(0.99), n: s.length };
  }
}

/**
 * Plain counters the recorder bumps. The mapping counters (`MapCounters`:
 * messages, bad_rows, unknown_streams, lines_unrecognized, rows,
 * trades_dropped_non_market, trades_side_unknown, crossed_quotes) have the
 * names and meaning of the importer's (src/binance/mapper.ts), counted over
 * what this process accepted from the exchange.
 */
export interface RecorderCounters extends MapCounters {
  frames: number;
  malformed: Record<string, number>;
  dedup_hits: number;
  reconnects: number;
  watchdog_fires: number;
  ping_timeouts: number;
  proactive_reconnects: number;
  oversize: number;
  write_errors: number;
  write_retries: number;
  journal_errors: number;
  gaps: number;
  backfill_requests: number;
  backfilled: number;
  backfill_errors: number;
  trade_ids_lost: number;
  depth_snapshots: number;
  depth_resyncs: number;
  /** Journal lines unreadable on recovery (bytes kept in _journal-corrupt/). */
  journal_corrupt_lines: number;
  /** Symbols whose depth books were restored from _checkpoint.json at start. */
  depth_books_restored: number;
  checkpoints: number;
  replayed: number;
}

export function newCounters(): RecorderCounters {
  return {
    ...newMapCounters(),
    frames: 0,
    malformed: {},
    dedup_hits: 0,
    reconnects: 0,
    watchdog_fires: 0,
    ping_timeouts: 0,
    proactive_reconnects: 0,
    oversize: 0,
    write_errors: 0,
    write_retries: 0,
    journal_errors: 0,
    gaps: 0,
    backfill_requests: 0,
    backfilled: 0,
    backfill_errors: 0,
    trade_ids_lost: 0,
    depth_snapshots: 0,
    depth_resyncs: 0,
    journal_corrupt_lines: 0,
    depth_books_restored: 0,
    checkpoints: 0,
    replayed: 0,
  };
}

export interface MetricsSource {
  readonly counters: RecorderCounters;
  readonly symbols: ReadonlyMap<string, SymbolMetrics>;
  now(): number;
  journalLag(): number;
  lastFlushSec(): number;
  sceneCoverageMiss(): number;
}

const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

/** A registry with every recorder metric; values are read from `src` at scrape time. */
export function buildRegistry(src: MetricsSource): Registry {
  const r = new Registry();
  const c = src.counters;
  const counter = (name: string, help: string, get: () => number) =>
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        this.reset();
        this.inc(get());
      },
    });
  const gauge = (name: string, help: string, get: () => number) =>
    new Gauge({
      name,
      help,
      registers: [r],
      collect() {
        this.set(get());
      },
    });
  new Gauge({
    name: 'recv_rate_tps',
    help: 'trades received per second over the last 10 s, per symbol',
    labelNames: ['symbol'],
    registers: [r],
    collect() {
      this.reset();
      const now = src.now();
      for (const [s, m] of src.symbols) this.set({ symbol: s }, m.rate(now));
    },
  });
  counter('ws_reconnects_total', 'WebSocket reconnects (any cause)', () => c.reconnects);
  counter('dedup_hits_total', 'messages dropped as duplicates (dedup memory / trade-id set)', () => c.dedup_hits);
  counter(
    'trade_ids_lost_total',
    'trade ids declared lost: a gap REST backfill could not close after 5 attempts',
    () => c.trade_ids_lost,
  );
  counter('backfill_errors_total', 'REST trade backfill requests that failed', () => c.backfill_errors);
  counter(
    'depth_resyncs_total',
    'depth diff sequence breaks (book cleared, resynced from a snapshot)',
    () => c.depth_resyncs,
  );
  counter(
    'journal_corrupt_lines_total',
    'journal lines unreadable on recovery (kept in _journal-corrupt/, their message lost)',
    () => c.journal_corrupt_lines,
  );
  new Gauge({
    name: 'latency_ms',
    help: 'recv - E net of the estimated clock skew (1st percentile of recv - E over the last 8192 samples), per symbol and quantile',
    labelNames: ['symbol', 'quantile'],
    registers: [r],
    collect() {
      this.reset();
      for (const [s, m] of src.symbols) {
        const q = m.latencyQuantiles();
        if (q.n === 0) continue;
        this.set({ symbol: s, quantile: 'p50' }, q.p50);
        this.set({ symbol: s, quantile: 'p90' }, q.p90);
        this.set({ symbol: s, quantile: 'p99' }, q.p99);
      }
    },
  });
  r.registerMetric(latencyHistogram(src) as unknown as Metric);
  new Gauge({
    name: 'clock_skew_ms',
    help: 'estimated recv - E skew (1st percentile), per symbol',
    labelNames: ['symbol'],
    registers: [r],
    collect() {
      this.reset();
      for (const [s, m] of src.symbols) {
        const q = m.latencyQuantiles();
        if (q.n > 0) this.set({ symbol: s }, q.skew);
      }
    },
  });
  new Gauge({
    name: 'cvd_scale_median',
    help: 'median of the robust CVD-delta scale over its last 1024 values, per symbol',
    labelNames: ['symbol'],
    registers: [r],
    collect() {
      this.reset();
      for (const [s, m] of src.symbols) {
        const v = quantileSorted(m.scales.sorted(), 0.5);
        if (Number.isFinite(v)) this.set({ symbol: s }, v);
      }
    },
  });
  new Gauge({
    name: 'cvd_floor_hit_rate',
    help: 'fraction of emitted CVD z where the MAD floor was binding, per symbol',
    labelNames: ['symbol'],
    registers: [r],
    collect() {
      this.reset();
      for (const [s, m] of src.symbols) {
        const v = m.scale.sigma_floor_hit_rate;
        if (Number.isFinite(v)) this.set({ symbol: s }, v);
      }
    },
  });
  counter('write_errors_total', 'part-file writes that failed after every retry', () => c.write_errors);
  gauge('parquet_flush_sec', 'duration of the last checkpoint flush (seal, write parts, manifest, checkpoint), s', () =>
    src.lastFlushSec(),
  );
  gauge('scene_coverage_miss', 'symbol x scenario_2x2 cells with no trade in the current hour', () =>
    src.sceneCoverageMiss(),
  );
  gauge('journal_lag', 'messages journaled but not yet in a checkpointed part file', () => src.journalLag());
  new Counter({
    name: 'messages_total',
    help: 'messages accepted, by stream type',
    labelNames: ['type'],
    registers: [r],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(c.messages)) this.inc({ type: k }, v);
    },
  });
  new Counter({
    name: 'malformed_total',
    help: 'frames that are not recordable messages, by reason',
    labelNames: ['reason'],
    registers: [r],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(c.malformed)) this.inc({ reason: k }, v);
      if (Object.keys(c.malformed).length === 0) this.inc({ reason: 'none' }, 0);
    },
  });
  counter('frames_total', 'WebSocket data frames received', () => c.frames);
  counter(
    'oversize_frames_total',
    'frames refused by maxPayload (the socket is dropped and reconnected)',
    () => c.oversize,
  );
  counter('watchdog_fires_total', 'silence watchdog reconnects', () => c.watchdog_fires);
  counter('proactive_reconnects_total', 'proactive (pre-cut) reconnects', () => c.proactive_reconnects);
  counter('trade_gaps_total', 'trade-id gaps detected', () => c.gaps);
  counter('backfilled_total', 'trades recovered over REST', () => c.backfilled);
  counter('bad_rows_total', 'accepted messages rejected by the row mapping', () => sum(c.bad_rows));
  return r;
}

/**
 * latency_ms_histogram as a prom-client metric whose values are read from the
 * per-symbol bucket counts at scrape time (prom-client's Histogram would cost a
 * label lookup per observation on the ingest path).
 */
function latencyHistogram(src: MetricsSource) {
  const name = 'latency_ms_histogram';
  const help =
    'recv - E net of the clock skew estimate, per symbol (cumulative buckets in ms; histogram_quantile gives p50/p90/p99)';
  type Value = { value: number; labels: Record<string, string | number>; metricName: string };
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset(): void {},
    async get() {
      const values: Value[] = [];
      for (const [symbol, m] of src.symbols) {
        if (m.latencyCount === 0) continue;
        let cum = 0;
        LATENCY_BUCKETS_MS.forEach((le, i) => {
          cum += m.latencyBuckets[i];
          values.push({ value: cum, labels: { le, symbol }, metricName: `${name}_bucket` });
        });
        values.push({ value: m.latencyCount, labels: { le: '+Inf', symbol }, metricName: `${name}_bucket` });
        values.push({ value: m.latencySum, labels: { symbol }, metricName: `${name}_sum` });
        values.push({ value: m.latencyCount, labels: { symbol }, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}

/** Serve `/metrics` on 127.0.0.1:port (0 = any free port). */
export async function serveMetrics(reg: Registry, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
      reg
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': reg.contentType });
          res.end(text);
        })
        .catch((e) => {
          res.writeHead(500);
          res.end(String(e));
        });
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
