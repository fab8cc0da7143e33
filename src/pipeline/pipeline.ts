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
 * trades and quotes only today (so they agree); see src/calc/README.md.
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
} from '../calc/sequencer.js';
import { SymbolCalc } from '../calc/symbol-calc.js';
import { REGIME_NAMES, RegimeTracker, SCENARIO_NAMES, VOL_BUCKET_NAMES } from '../calc/slices.js';
import type { CalcParams } from '../calc/params.js';
import { GrowableF64, GrowableI8 } from '../core/growable.js';
import { KIND_RANK, type TickBatch } from '../core/types.js';
import type { OutColumn } from '../io/duck.js';
import type { ArrivalBlock } from '../dataset/reader.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import { DedupMemory } from '../core/dedup.js';

export type DerivedKind = 'prices' | 'ofi' | 'cvd' | 'fusion' | 'events';
export const DERIVED_KINDS: readonly DerivedKind[] = ['prices', 'ofi', 'cvd', 'fusion', 'events'];

/**
 * The sequencer clock of a raw tick: spot bookTicker carries no exchange time
 * (the importer stored the receive time as ts_ms), so a quote with
 * ts_ms == recv_ts_ms is on the local clock; everything else on the exchange clock.
 */
export function tickClock(kind: TickBatch['kind'], tsMs: number, recvTsMs: number): number {
  return kind === 'quotes' && tsMs === recvTsMs ? CLOCK_LOCAL : CLOCK_EXCHANGE;
}

/**
 * The derived tables to write, checked and in canonical (DERIVED_KINDS) order,
 * duplicates removed; from a list (`--tables fusion,cvd`) or names. Throws a
 * UsageError naming the bad value and the allowed ones.
 */
export function checkTables(tables: string | readonly string[], where = '--tables'): DerivedKind[] {
  const parts = (typeof tables === 'string' ? tables.split(',') : [...tables]).map((t) => t.trim());
  const names = parts.filter((t) => t.length > 0);
  const allowed = DERIVED_KINDS.join(', ');
  const raw = typeof tables === 'string' ? tables : tables.join(',');
  if (names.length === 0) throw new UsageError(`${where}: '${raw}' names no table (expected some of ${allowed})`);
  for (const t of names) {
    if (!(DERIVED_KINDS as readonly string[]).includes(t))
      throw new UsageError(`${where}: '${t}' is not a derived table (expected some of ${allowed})`);
  }
  return DERIVED_KINDS.filter((k) => names.includes(k));
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

class SliceCodes {
  readonly session = new GrowableI8();
  readonly regime = new GrowableI8();
  readonly vol_bucket = new GrowableI8();
  readonly scenario_2x2 = new GrowableI8();
}

class PriceRows {
  readonly ts = new GrowableF64();
  readonly event_ts = new GrowableF64();
  readonly price = new GrowableF64();
  readonly qty = new GrowableF64();
  readonly agg_trade_id = new GrowableF64();
  readonly latency_ms = new GrowableF64();
  readonly recv_rate_tps = new GrowableF64();
  readonly slices = new SliceCodes();
}

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
  readonly prices: PriceRows;
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
  /** Fusion sample `row` (index into calc.fusionRows) was emitted. */
  onSample?(symbol: string, calc: SymbolCalc, row: number): void;
  /** A trade of `symbol` at event time ts was processed; `calc.slices` holds the labels of its prices row. */
  onTrade?(symbol: string, ts: number, calc: SymbolCalc): void;
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

export class Pipeline {
  readonly params: CalcParams;
  private readonly seq: Sequencer;
  private readonly states = new Map<string, SymbolState>();
  /** Batches with ticks still in the sequencer, by batch id. */
  private readonly batches = new Map<number, HeldBatch>();
  /** The batch of the last released tick (releases come in runs from one batch). */
  private lastHeld: HeldBatch | null = null;
  private readonly mergeTolMs: number;
  private finished = false;

  private readonly observer: PipelineObserver | null;
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
        prices: new PriceRows(),
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
    for (let i = 0; i < block.n; i++) {
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
    if (this.observer) this.notify(s, b, r, ts);
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
    const rows = s.calc.fusionRows.length;
    for (let i = s.samplesSeen; i < rows; i++) o.onSample(s.symbol, s.calc, i);
    s.samplesSeen = rows;
  }

  private priceRow(s: SymbolState, b: TickBatch & { kind: 'trades' }, r: number, ts: number): void {
    s.rate.onTrade(ts);
    const p = s.prices;
    p.ts.push(ts);
    p.event_ts.push(b.event_ts_ms[r]);
    p.price.push(b.price[r]);
    p.qty.push(b.qty[r]);
    p.agg_trade_id.push(b.agg_trade_id[r]);
    // latency above this symbol's floor: (recv - E) minus its lowest value so far, >= 0 by construction
    const raw = b.recv_ts_ms[r] - b.event_ts_ms[r];
    if (raw < s.latencyFloor) s.latencyFloor = raw;
    p.latency_ms.push(raw - s.latencyFloor);
    p.recv_rate_tps.push(s.rate.rate(ts));
    const sl = s.calc.slices;
    p.slices.session.push(sl.session);
    p.slices.regime.push(sl.regime);
    p.slices.vol_bucket.push(sl.vol_bucket);
    p.slices.scenario_2x2.push(sl.scenario_2x2);
  }

  /** End of input: release everything and emit the last samples. */
  finish(): void {
    if (this.finished) return;
    this.seq.flush();
    for (const sym of this.symbols) {
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

  private length(s: SymbolState, kind: DerivedKind): number {
    const c = s.calc;
    switch (kind) {
      case 'prices':
        return s.prices.ts.length;
      case 'ofi':
        return c.ofiRows.length;
      case 'cvd':
        return c.cvdRows.length;
      case 'fusion':
        return c.fusionRows.length;
      case 'events':
        return c.eventRows.length;
    }
  }

  private cut(s: SymbolState, kind: DerivedKind, n: number): DerivedBlock {
    const c = s.calc;
    // each column's first n rows, removed from its builder (no copy when they are all its rows)
    const f64 = (g: GrowableF64) => g.takeFront(n);
    const i8 = (g: GrowableI8) => g.takeFront(n);
    const sessions = c.sessionNames;
    const sliceCols = (sl: {
      session: GrowableI8;
      regime: GrowableI8;
      vol_bucket: GrowableI8;
      scenario_2x2: GrowableI8;
    }): OutColumn[] => [
      { name: 'session', type: 'codes', codes: i8(sl.session), names: sessions },
      { name: 'regime', type: 'codes', codes: i8(sl.regime), names: REGIME_NAMES },
      { name: 'vol_bucket', type: 'codes', codes: i8(sl.vol_bucket), names: VOL_BUCKET_NAMES },
      { name: 'scenario_2x2', type: 'codes', codes: i8(sl.scenario_2x2), names: SCENARIO_NAMES },
      { name: 'fee_tier', type: 'const', value: c.fee_tier },
    ];
    // No in-file `symbol` column: the hive key `symbol=` of the part's path carries it (README "Reading").
    let ts: Float64Array;
    let columns: OutColumn[];
    switch (kind) {
      case 'prices': {
        const p = s.prices;
        ts = f64(p.ts);
        columns = [
          { name: 'ts_ms', type: 'i64', data: ts },
          { name: 'event_ts_ms', type: 'i64', data: f64(p.event_ts) },
          { name: 'price', type: 'f64', data: f64(p.price) },
          { name: 'qty', type: 'f64', data: f64(p.qty) },
          { name: 'agg_trade_id', type: 'i64', data: f64(p.agg_trade_id) },
          { name: 'latency_ms', type: 'f64', data: f64(p.latency_ms), nullNaN: true },
          { name: 'recv_rate_tps', type: 'f64', data: f64(p.recv_rate_tps) },
          ...sliceCols(p.slices),
        ];
        break;
      }
      case 'ofi': {
        const r = c.ofiRows;
        ts = f64(r.ts);
        columns = [
          { name: 'ts_ms', type: 'i64', data: ts },
          { name: 'ofi_value', type: 'f64', data: f64(r.ofi_value), nullNaN: true },
          { name: 'ofi_z', type: 'f64', data: f64(r.ofi_z), nullNaN: true },
          { name: 'scale', type: 'f64', data: f64(r.scale), nullNaN: true },
          ...sliceCols(r.slices),
        ];
        break;
      }
      case 'cvd': {
        const r = c.cvdRows;
        ts = f64(r.ts);
        columns = [
          { name: 'ts_ms', type: 'i64', data: ts },
          { name: 'cvd', type: 'f64', data: f64(r.cvd) },
          { name: 'delta', type: 'f64', data: f64(r.delta), nullNaN: true },
          { name: 'z_raw', type: 'f64', data: f64(r.z_raw), nullNaN: true },
          { name: 'z_cvd', type: 'f64', data: f64(r.z_cvd), nullNaN: true },
          { name: 'scale', type: 'f64', data: f64(r.scale), nullNaN: true },
          { name: 'sigma_floor', type: 'f64', data: f64(r.sigma_floor), nullNaN: true },
          { name: 'floor_used', type: 'bool', data: i8(r.floor_used) },
          ...sliceCols(r.slices),
        ];
        break;
      }
      case 'fusion': {
        const r = c.fusionRows;
        ts = f64(r.ts);
        columns = [
          { name: 'ts_ms', type: 'i64', data: ts },
          { name: 'score', type: 'f64', data: f64(r.score), nullNaN: true },
          { name: 'score_z', type: 'f64', data: f64(r.score_z), nullNaN: true },
          { name: 'z_ofi', type: 'f64', data: f64(r.z_ofi), nullNaN: true },
          { name: 'z_cvd', type: 'f64', data: f64(r.z_cvd), nullNaN: true },
          { name: 'w_ofi', type: 'f64', data: f64(r.w_ofi) },
          { name: 'w_cvd', type: 'f64', data: f64(r.w_cvd) },
          { name: 'cvd_dir', type: 'f64', data: f64(r.dir) },
          { name: 'gate', type: 'f64', data: f64(r.gate) },
          { name: 'mid', type: 'f64', data: f64(r.mid), nullNaN: true },
          { name: 'ofi_flow', type: 'f64', data: f64(r.ofi_flow), nullNaN: true },
          { name: 'cvd_flow', type: 'f64', data: f64(r.cvd_flow), nullNaN: true },
          { name: 'merge_time_diff_ms', type: 'f64', data: f64(r.merge_time_diff_ms), nullNaN: true },
          { name: 'session', type: 'codes', codes: i8(r.session), names: sessions },
          { name: 'regime', type: 'codes', codes: i8(r.regime), names: REGIME_NAMES },
          { name: 'vol_bucket', type: 'codes', codes: i8(r.vol_bucket), names: VOL_BUCKET_NAMES },
          { name: 'scenario_2x2', type: 'codes', codes: i8(r.scenario_2x2), names: SCENARIO_NAMES },
          { name: 'fee_tier', type: 'const', value: c.fee_tier },
        ];
        r.vol_tertile.dropFront(n);
        s.samplesSeen = Math.max(0, s.samplesSeen - n);
        break;
      }
      case 'events': {
        const r = c.eventRows;
        ts = Float64Array.from(r.ts.slice(0, n));
        columns = [
          { name: 'ts_ms', type: 'i64', data: ts },
          { name: 'event_type', type: 'str', data: r.event_type.slice(0, n) },
          { name: 'meta_json', type: 'str', data: r.meta_json.slice(0, n) },
          // copies: r.dropFront below removes these rows with the string columns
          { name: 'session', type: 'codes', codes: r.session.view().slice(0, n), names: sessions },
          { name: 'regime', type: 'codes', codes: r.regime.view().slice(0, n), names: REGIME_NAMES },
          { name: 'vol_bucket', type: 'codes', codes: r.vol_bucket.view().slice(0, n), names: VOL_BUCKET_NAMES },
          { name: 'scenario_2x2', type: 'codes', codes: r.scenario_2x2.view().slice(0, n), names: SCENARIO_NAMES },
          { name: 'fee_tier', type: 'const', value: c.fee_tier },
        ];
        r.dropFront(n);
        break;
      }
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
