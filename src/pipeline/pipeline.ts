/**
 * The pipeline (ARCHITECTURE §1): raw ticks in ARRIVAL order in, the five
 * derived tables out. Pure: no IO, no clock, no randomness. Replay and live
 * feed it the same way (arrival blocks through `push`), so they produce the
 * same rows.
 *
 *   arrival (recv_ts_ms, recv_seq)
 *     -> trade dedup: a (symbol, agg_trade_id) seen before is dropped here, first arrival wins
 *        (one `DedupMemory` per symbol, of its last `sequencer.dedup_ids` trade ids), counted `duplicate_trades`
 *     -> Sequencer, one group per symbol (own arrival clock, skew estimate, watermark and late
 *        rule) -> event-time order per symbol
 *     -> stale quotes: a quote whose update_id is not above the last applied one of its symbol
 *        is counted (`stale_quotes`) and not applied (Binance's rule for bookTicker `u`)
 *     -> per symbol: SymbolCalc (OFI, CVD, robust z, fusion, slices, events) + prices rows
 *     -> derived rows in growable columns -> `take(F)` hands out blocks of exactly F rows
 *
 * Symbols are independent: everything a symbol's derived rows depend on (dedup
 * memory, sequencer group, stale-quote state, calculators) is that symbol's
 * own, so a run over a subset of symbols gives byte-identical rows for them
 * (what sharding by symbol relies on, issues 13 and 16).
 *
 * Output parts are cut at fixed row offsets of each (symbol, table) stream
 * (`take` only returns full blocks until `finish()`), so the derived files do
 * not depend on how the input was batched or partitioned.
 *
 * Depth rows are not used by the derived tables (the `ofi` table is L1 OFI per
 * quote update, ARCHITECTURE §3). When a source includes them in its arrival
 * blocks, each depth message advances its symbol's sequencer clock
 * (`Sequencer.advance`): its ticks then go out sooner between the symbol's own
 * ticks, and the symbol stays independent of the others. Replay and live read
 * trades and quotes only today (so they agree); see src/pipeline/README.md.
 */
import {
  Sequencer,
  packHandle,
  handleBatch,
  handleRow,
  CLOCK_EXCHANGE,
  CLOCK_LOCAL,
  FLAG_LATE,
  FLAG_PAST_WATERMARK,
} from './sequencer.js';
import { SymbolCalc } from './symbol-calc.js';
import { RegimeTracker } from '../calc/slices.js';
import type { CalcParams } from '../calc/params.js';
import { emptyFusionSample, type FusionSample } from '../calc/fusion.js';
import { KIND_RANK, type TickBatch } from '../core/types.js';
import type { OutColumn } from '../io/duck.js';
import type { ArrivalBlock } from './arrival.js';
import { FlowlabError } from '../core/errors.js';
import { DedupMemory } from '../core/dedup.js';
import {
  checkTables,
  cutRows,
  DERIVED_KINDS,
  tableRows,
  type AnyTableRows,
  type DerivedKind,
  type TableRows,
} from './tables.js';

/**
 * The sequencer clock of a raw tick: spot bookTicker carries no exchange time
 * (the importer stored the receive time as ts_ms), so a quote with
 * ts_ms == recv_ts_ms is on the local clock; everything else on the exchange clock.
 */
export function tickClock(kind: TickBatch['kind'], tsMs: number, recvTsMs: number): number {
  return kind === 'quotes' && tsMs === recvTsMs ? CLOCK_LOCAL : CLOCK_EXCHANGE;
}

/** A block of derived rows of one (symbol, table): rows [offset, offset + rows) of that stream. */
export interface DerivedBlock {
  readonly kind: DerivedKind;
  readonly symbol: string;
  /** Row offset of the first row in this (symbol, table) stream. */
  readonly offset: number;
  readonly rows: number;
  /** ts_ms of every row (for date partitioning). */
  readonly ts: Float64Array;
  readonly columns: OutColumn[];
}

/**
 * Trailing window for `recv_rate_tps` in the prices table, ms of event time
 * (trades in (t - window, t] over min(window, time since the first trade), at least 1 s).
 */
export const RECV_RATE_WINDOW_MS = 10_000;

/**
 * Rows per events part for a `blockRows` of the row-dense tables: events are
 * ~100x rarer than ticks, so a full-size events block would keep days of event
 * rows (strings) in memory before it is written; 1/16 keeps that bounded.
 */
export function eventBlockRows(blockRows: number): number {
  return Math.max(1, Math.floor(blockRows / 16));
}

/** Batch ids (replay's and live's) stay below this (they are packed into sequencer handles). */
const BATCH_ID_LIMIT = 2 ** 20;

/** A batch with ticks in the sequencer, and how many. */
interface HeldBatch {
  readonly id: number;
  readonly batch: TickBatch;
  readonly state: SymbolState;
  remaining: number;
}

interface SymbolState {
  readonly symbol: string;
  /** Sequencer group of this symbol (first-seen order; only the global release order depends on it). */
  readonly group: number;
  /** This symbol's own memory of recent agg_trade_ids (slot 0), so eviction does not depend on other symbols. */
  readonly dedup: DedupMemory;
  readonly calc: SymbolCalc;
  readonly prices: TableRows<'prices'>;
  /** trades/s over the trailing RECV_RATE_WINDOW_MS, for recv_rate_tps */
  readonly rate: RegimeTracker;
  /** rows already handed out, per table */
  readonly offsets: Record<DerivedKind, number>;
  /** fusion rows (in calc.fusionRows) already shown to the observer */
  samplesSeen: number;
  trades: number;
  /** Quotes applied (= ofi rows). */
  quotes: number;
  late: number;
  /** Ticks that arrived after their watermark had passed (late or still in order within the symbol). */
  pastWatermark: number;
  /** Trades dropped at arrival as repeats of a (symbol, agg_trade_id) already seen. */
  duplicates: number;
  /** Quotes released with update_id <= the last applied one: counted, not applied. */
  stale: number;
  /** update_id of the last applied quote. */
  lastUpdateId: number;
  /** Lowest `recv_ts_ms - event_ts_ms` of this symbol's trades so far (release order): the latency floor. */
  latencyFloor: number;
}

/**
 * Hooks for an online consumer (the canary, the live runner). Called
 * synchronously in event-time order; they may change weights in force through
 * `calc.fusion.setWeights`, which then applies to later samples.
 */
export interface PipelineObserver {
  /** A quote update of `symbol` at event time ts was processed (mid = (bid + ask) / 2). */
  onQuote?(symbol: string, ts: number, mid: number): void;
  /**
   * Fusion sample `s` of `symbol` was emitted: the values of its fusion row
   * (reused for the next sample: copy what you keep). `calc` is the symbol's
   * calculators, for weight changes (`calc.fusion.setWeights`).
   */
  onSample?(symbol: string, s: Readonly<FusionRow>, calc: SymbolCalc): void;
  /** A trade of `symbol` at event time ts was processed; `calc.slices` holds the labels of its prices row. */
  onTrade?(symbol: string, ts: number, calc: SymbolCalc): void;
  /**
   * Called once by the pipeline this observer watches: `order.orderKey()`,
   * called from inside a hook, says where in the run's global release order
   * that call is (the canary's symbol shards merge what they record on it).
   */
  attach?(order: ReleaseOrder): void;
}

/**
 * A position in the global order of a pipeline's observer calls, comparable
 * across pipelines over disjoint symbol sets of one dataset (`compareOrderKeys`):
 * the calls of a run over all symbols come in increasing key order, and a run
 * over a subset of them makes the same calls of its symbols with the same keys.
 * Phases, in order:
 * - `[0, recv_ts_ms, recv_seq, symbol, kind]`: during the push of that arrival
 *   (a push releases only ticks of its own symbol, and arrivals are pushed in
 *   `(recv_ts_ms, recv_seq)` order, streams `symbol, kind` sorted on a tie:
 *   src/pipeline/arrival.ts);
 * - `[1, key ts, kind rank, recv_seq, recv_ts_ms, recv_seq, symbol, kind]`: the end-of-input flush
 *   releasing that tick (the sequencer merges every symbol's rest by
 *   `(key ts, kind rank, recv_seq, push order)`, push order being arrival order);
 * - `[2, symbol]`: the last samples of that symbol, after the flush (symbols sorted).
 * An observer adds its own later phases (the canary engine's end-of-run decisions: 3).
 */
export type OrderKey = readonly (number | string)[];

/** What an attached observer can ask its pipeline (`PipelineObserver.attach`). */
export interface ReleaseOrder {
  orderKey(): OrderKey;
}

/** a before b (< 0), equal (0) or after (> 0) in the order `OrderKey` defines: element by element. */
export function compareOrderKeys(a: OrderKey, b: OrderKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** A fusion row as an observer sees it: the sample and the slice codes it was labelled with (-1 = null). */
export interface FusionRow extends FusionSample {
  session: number;
  regime: number;
  vol_bucket: number;
  scenario_2x2: number;
  /** Not a fusion table column: the vol tertile code (slices.ts VOL_TERTILE_NAMES, -1 = null). */
  vol_tertile: number;
}

export interface PipelineCounters {
  readonly pushed: number;
  readonly released: number;
  readonly late_ticks: number;
  readonly max_late_ms: number;
  /** Ticks that arrived after their watermark had passed (late_ticks are among them). */
  readonly past_watermark: number;
  /** Lower median over symbols of their skew estimates (each symbol's own in `symbolSummary`); NaN if none yet. */
  readonly skew_ms: number;
  /** Exchange-clock ticks used by the skew estimates, summed over symbols (0 when fixed). */
  readonly skew_samples_used: number;
  /** Totals over symbols (per symbol in `symbolSummary`). */
  readonly duplicate_trades: number;
  readonly stale_quotes: number;
}

export class Pipeline implements ReleaseOrder {
  readonly params: CalcParams;
  private readonly seq: Sequencer;
  private readonly states = new Map<string, SymbolState>();
  /** Batches with ticks still in the sequencer, by batch id. */
  private readonly batches = new Map<number, HeldBatch>();
  /** The batch of the last released tick (releases come in runs from one batch). */
  private lastHeld: HeldBatch | null = null;
  private readonly mergeTolMs: number;
  private finished = false;
  /** Where the run is, for `orderKey`: 0 pushing `block` arrival `arrival`, 1 flushing (`released*`), 2 last samples of `lastSymbol`. */
  private phase: 0 | 1 | 2 = 0;
  private block: ArrivalBlock | null = null;
  private arrival = 0;
  private releasedBatch: TickBatch | null = null;
  private releasedRow = 0;
  private releasedTs = 0;
  private lastSymbol = '';

  private readonly observer: PipelineObserver | null;
  /** The row shown to the observer's onSample (one object, refilled per sample). */
  private readonly sample: FusionRow = {
    ...emptyFusionSample(),
    session: -1,
    regime: -1,
    vol_bucket: -1,
    scenario_2x2: -1,
    vol_tertile: -1,
  };
  /** The derived tables `take` hands out (the others are not built, or dropped unwritten). */
  readonly tables: readonly DerivedKind[];
  private readonly wantPrices: boolean;

  /**
   * @param opts.tables derived tables to produce (default all five). A table
   *   left out is not built where nothing else needs it (prices, ofi, cvd rows);
   *   fusion and events rows feed the observer and event detector, so they are
   *   built and dropped unwritten. The tables kept are byte-identical to a full run's.
   */
  constructor(
    params: CalcParams,
    opts: { mergeTolMs: number; observer?: PipelineObserver; tables?: readonly DerivedKind[] },
  ) {
    this.params = params;
    this.mergeTolMs = opts.mergeTolMs;
    this.observer = opts.observer ?? null;
    this.tables = checkTables(opts.tables ?? DERIVED_KINDS, 'tables');
    this.wantPrices = this.tables.includes('prices');
    this.seq = new Sequencer(params.sequencer, (h, ts, _rank, flags) => this.release(h, ts, flags));
    this.observer?.attach?.(this);
  }

  /** Where the observer call in progress is in the global release order (`OrderKey`). */
  orderKey(): OrderKey {
    if (this.phase === 2) return [2, this.lastSymbol];
    if (this.phase === 1) {
      const b = this.releasedBatch!;
      const r = this.releasedRow;
      return [1, this.releasedTs, KIND_RANK[b.kind], b.recv_seq[r], b.recv_ts_ms[r], b.recv_seq[r], b.symbol, b.kind];
    }
    const blk = this.block!;
    const b = blk.batches[blk.src[this.arrival]];
    const r = blk.row[this.arrival];
    return [0, b.recv_ts_ms[r], b.recv_seq[r], b.symbol, b.kind];
  }

  private state(symbol: string): SymbolState {
    let s = this.states.get(symbol);
    if (!s) {
      s = {
        symbol,
        group: this.states.size,
        dedup: new DedupMemory(this.params.sequencer.dedup_ids),
        calc: new SymbolCalc(this.params, symbol, {
          merge_tol_ms: this.mergeTolMs,
          ofi_rows: this.tables.includes('ofi'),
          cvd_rows: this.tables.includes('cvd'),
        }),
        prices: tableRows('prices'),
        rate: new RegimeTracker(RECV_RATE_WINDOW_MS / 1000, 0),
        offsets: { prices: 0, ofi: 0, cvd: 0, fusion: 0, events: 0 },
        samplesSeen: 0,
        trades: 0,
        quotes: 0,
        late: 0,
        pastWatermark: 0,
        duplicates: 0,
        stale: 0,
        lastUpdateId: -Infinity,
        latencyFloor: Infinity,
      };
      this.states.set(symbol, s);
    }
    return s;
  }

  /** Symbols seen so far, sorted. */
  get symbols(): string[] {
    return [...this.states.keys()].sort();
  }

  /**
   * Push one block of arrivals (replay and live). Batches must stay unmodified
   * until released. Repeated trades are dropped here, in arrival order (the
   * first arrival of a (symbol, agg_trade_id) is the one kept).
   */
  push(block: ArrivalBlock): void {
    if (this.finished) throw new FlowlabError('pipeline: push after finish');
    const { batches, batchIds, src, row } = block;
    const held: (HeldBatch | undefined)[] = new Array(batches.length);
    for (let k = 0; k < batches.length; k++) {
      const id = batchIds[k];
      if (id >= BATCH_ID_LIMIT) throw new FlowlabError(`pipeline: batch id ${id} exceeds ${BATCH_ID_LIMIT}`);
      if (id < 0 || batches[k].length === 0) continue;
      let h = this.batches.get(id);
      if (!h) {
        h = { id, batch: batches[k], state: this.state(batches[k].symbol), remaining: batches[k].length };
        this.batches.set(id, h);
      }
      held[k] = h;
    }
    const seq = this.seq;
    this.block = block;
    for (let i = 0; i < block.n; i++) {
      this.arrival = i;
      const k = src[i];
      const b = batches[k];
      const r = row[i];
      if (b.kind === 'depth') {
        // not sequenced: a heartbeat of its symbol's arrival clock (the symbol's own stream)
        seq.advance(b.recv_ts_ms[r], held[k]!.state.group);
        this.release1(held[k]!);
        continue;
      }
      const st = held[k]!.state;
      if (b.kind === 'trades') {
        const id = b.agg_trade_id[r];
        if (Number.isFinite(id) && !st.dedup.add(0, id)) {
          st.duplicates++;
          this.release1(held[k]!);
          continue;
        }
      }
      const ts = b.ts_ms[r];
      const recv = b.recv_ts_ms[r];
      seq.push(
        KIND_RANK[b.kind],
        ts,
        recv,
        b.recv_seq[r],
        packHandle(batchIds[k], r),
        tickClock(b.kind, ts, recv),
        st.group,
      );
    }
    this.block = null;
  }

  /** One tick of `h` is out of the sequencer; forget the batch after its last. */
  private release1(h: HeldBatch): void {
    if (--h.remaining <= 0) {
      this.batches.delete(h.id);
      if (this.lastHeld === h) this.lastHeld = null;
    }
  }

  private release(handle: number, ts: number, flags: number): void {
    const id = handleBatch(handle);
    const r = handleRow(handle);
    let h = this.lastHeld;
    if (h === null || h.id !== id) {
      h = this.batches.get(id) ?? null;
      if (h === null) throw new FlowlabError(`pipeline: released a tick of unknown batch ${id}`);
      this.lastHeld = h;
    }
    const b = h.batch;
    const s = h.state;
    if (flags & FLAG_LATE) s.late++;
    if (flags & FLAG_PAST_WATERMARK) s.pastWatermark++;
    if (b.kind === 'quotes') {
      const u = b.update_id[r];
      if (u <= s.lastUpdateId) {
        // stale: a newer book of this symbol was already applied
        s.stale++;
        this.release1(h);
        return;
      }
      if (Number.isFinite(u)) s.lastUpdateId = u;
      s.quotes++;
      s.calc.onQuote(ts, b.bid_px[r], b.bid_qty[r], b.ask_px[r], b.ask_qty[r]);
    } else if (b.kind === 'trades') {
      s.trades++;
      s.calc.onTrade(ts, b.price[r], b.qty[r], b.is_buyer_maker[r]);
      if (this.wantPrices) this.priceRow(s, b, r, ts);
    }
    if (this.observer) {
      if (this.phase === 1) {
        this.releasedBatch = b;
        this.releasedRow = r;
        this.releasedTs = ts;
      }
      this.notify(s, b, r, ts);
    }
    this.release1(h);
  }

  /** Show the observer the samples this tick emitted (they precede it in event time), then the quote. */
  private notify(s: SymbolState, b: TickBatch, r: number, ts: number): void {
    const o = this.observer!;
    this.notifySamples(s);
    if (b.kind === 'quotes' && o.onQuote) o.onQuote(s.symbol, ts, (b.bid_px[r] + b.ask_px[r]) / 2);
    else if (b.kind === 'trades' && o.onTrade) o.onTrade(s.symbol, ts, s.calc);
  }

  private notifySamples(s: SymbolState): void {
    const o = this.observer;
    if (!o?.onSample) return;
    const f = s.calc.fusionRows;
    const rows = f.length;
    const x = this.sample;
    for (let i = s.samplesSeen; i < rows; i++) {
      x.ts = f.ts_ms.data[i];
      x.score = f.score.data[i];
      x.score_z = f.score_z.data[i];
      x.z_ofi = f.z_ofi.data[i];
      x.z_cvd = f.z_cvd.data[i];
      x.w_ofi = f.w_ofi.data[i];
      x.w_cvd = f.w_cvd.data[i];
      x.cvd_dir = f.cvd_dir.data[i];
      x.gate = f.gate.data[i];
      x.mid = f.mid.data[i];
      x.ofi_flow = f.ofi_flow.data[i];
      x.cvd_flow = f.cvd_flow.data[i];
      x.merge_time_diff_ms = f.merge_time_diff_ms.data[i];
      x.session = f.session.data[i];
      x.regime = f.regime.data[i];
      x.vol_bucket = f.vol_bucket.data[i];
      x.scenario_2x2 = f.scenario_2x2.data[i];
      x.vol_tertile = s.calc.fusionVolTertile.data[i];
      o.onSample(s.symbol, x, s.calc);
    }
    s.samplesSeen = rows;
  }

  private priceRow(s: SymbolState, b: TickBatch & { kind: 'trades' }, r: number, ts: number): void {
    s.rate.onTrade(ts);
    const p = s.prices;
    p.ts_ms.push(ts);
    p.event_ts_ms.push(b.event_ts_ms[r]);
    p.price.push(b.price[r]);
    p.qty.push(b.qty[r]);
    p.agg_trade_id.push(b.agg_trade_id[r]);
    // latency above this symbol's floor: (recv - E) minus its lowest value so far, >= 0 by construction
    const raw = b.recv_ts_ms[r] - b.event_ts_ms[r];
    if (raw < s.latencyFloor) s.latencyFloor = raw;
    p.latency_ms.push(raw - s.latencyFloor);
    p.recv_rate_tps.push(s.rate.rate(ts));
    p.session.push(s.calc.slices.session);
    p.regime.push(s.calc.slices.regime);
    p.vol_bucket.push(s.calc.slices.vol_bucket);
    p.scenario_2x2.push(s.calc.slices.scenario_2x2);
  }

  /** End of input: release everything and emit the last samples. */
  finish(): void {
    if (this.finished) return;
    this.phase = 1;
    this.seq.flush();
    this.phase = 2;
    this.block = null;
    for (const sym of this.symbols) {
      this.lastSymbol = sym;
      const st = this.states.get(sym)!;
      st.calc.flush();
      this.notifySamples(st);
    }
    this.finished = true;
  }

  /**
   * Blocks of exactly `blockRows` rows (`eventBlockRows(blockRows)` for the
   * events table) for every (symbol, table) that has that many; after
   * `finish()`, also the remainders. Deterministic order: symbol, then table.
   * At most `maxBlocks` blocks (the rest stay for the next call): each block is
   * a copy, so a writer that takes one at a time holds few of them at once.
   */
  take(blockRows: number, maxBlocks = Infinity): DerivedBlock[] {
    const out: DerivedBlock[] = [];
    for (const sym of this.symbols) {
      const s = this.states.get(sym)!;
      for (const kind of DERIVED_KINDS) {
        const rows = kind === 'events' ? eventBlockRows(blockRows) : blockRows;
        for (;;) {
          const have = this.length(s, kind);
          const n = have >= rows ? rows : this.finished ? have : 0;
          if (n === 0) break;
          if (!this.tables.includes(kind)) {
            this.cut(s, kind, n); // not asked for: dropped, not handed out
            continue;
          }
          if (out.length >= maxBlocks) return out;
          out.push(this.cut(s, kind, n));
        }
      }
    }
    return out;
  }

  /** The rows of one (symbol, table). */
  private rows(s: SymbolState, kind: DerivedKind): AnyTableRows {
    const c = s.calc;
    switch (kind) {
      case 'prices':
        return s.prices;
      case 'ofi':
        return c.ofiRows;
      case 'cvd':
        return c.cvdRows;
      case 'fusion':
        return c.fusionRows;
      case 'events':
        return c.eventRows;
    }
  }

  private length(s: SymbolState, kind: DerivedKind): number {
    return this.rows(s, kind).length;
  }

  /** The first n rows of (s, kind) as a block (columns from the schema, tables.ts), removed from the builders. */
  private cut(s: SymbolState, kind: DerivedKind, n: number): DerivedBlock {
    const { ts, columns } = cutRows(this.rows(s, kind), n, {
      sessionNames: s.calc.sessionNames,
      fee_tier: s.calc.fee_tier,
    });
    if (kind === 'fusion') {
      s.calc.fusionVolTertile.dropFront(n);
      s.samplesSeen = Math.max(0, s.samplesSeen - n);
    }
    const block: DerivedBlock = { kind, symbol: s.symbol, offset: s.offsets[kind], rows: n, ts, columns };
    s.offsets[kind] += n;
    return block;
  }

  get counters(): PipelineCounters {
    const q = this.seq;
    return {
      pushed: q.pushed,
      released: q.released,
      late_ticks: q.late_ticks,
      max_late_ms: q.max_late_ms,
      past_watermark: q.past_watermark,
      skew_ms: this.medianSkew(),
      skew_samples_used: this.sum((s) => q.skewSamplesUsed(s.group)),
      duplicate_trades: this.sum((s) => s.duplicates),
      stale_quotes: this.sum((s) => s.stale),
    };
  }

  private medianSkew(): number {
    const v = this.symbols.map((sym) => this.seq.skewOf(this.states.get(sym)!.group)).filter((x) => !Number.isNaN(x));
    v.sort((a, b) => a - b);
    return v.length === 0 ? Number.NaN : v[(v.length - 1) >> 1];
  }

  private sum(f: (s: SymbolState) => number): number {
    let n = 0;
    for (const s of this.states.values()) n += f(s);
    return n;
  }

  /** Per-symbol summary (deterministic, JSON-safe numbers). */
  symbolSummary(): Record<string, Record<string, number | string>> {
    const out: Record<string, Record<string, number | string>> = {};
    for (const sym of this.symbols) {
      const s = this.states.get(sym)!;
      const c = s.calc;
      out[sym] = {
        trades: s.trades,
        quotes: s.quotes,
        late_ticks: s.late,
        past_watermark: s.pastWatermark,
        duplicate_trades: s.duplicates,
        stale_quotes: s.stale,
        skew_ms: this.seq.skewOf(s.group),
        skew_samples_used: this.seq.skewSamplesUsed(s.group),
        cvd_final: c.cvd.cvd,
        cvd_direction: c.fusion.dir,
        cvd_flips: c.fusion.flips,
        fusion_samples: c.fusion.samples,
        labels_up: c.labels_up,
        labels_down: c.labels_down,
        labels_equal: c.labels_equal,
        labels_unmatched: c.labels_unmatched,
        ofi_sigma_floor_hit_rate: c.ofiScale.sigma_floor_hit_rate,
        ofi_winsor_hit_rate: c.ofiScale.winsor_hit_rate,
        cvd_sigma_floor_hit_rate: c.cvdScale.sigma_floor_hit_rate,
        cvd_winsor_hit_rate: c.cvdScale.winsor_hit_rate,
        events: c.events.events,
      };
    }
    return out;
  }
}
