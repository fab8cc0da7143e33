/**
 * Ingest (recorder/README.md "Data path", "Dedup keys"): a frame -> the one
 * Binance mapping's classification (src/binance/mapper.ts) -> dedup by
 * (symbol, kind, id) -> journal -> rows (trades / quotes through the mapper,
 * depth through the depth books). Also the journal replays of recovery
 * (`replay`, `seed`, `rebook`) and of a write-retry writer rebuild (`rebuild`).
 */
import {
  idReason,
  lastMapped,
  mapQuote,
  mapTrade,
  parseStreamName,
  rawIdOf,
  symbolOfMessage,
  type Json,
  type MapCounters,
  type StreamName,
  type StreamType,
} from '../src/binance/mapper.js';
import type { RawSink } from '../src/core/types.js';
import { safeId } from '../src/core/parse.js';
import { parseDepthDiff, peekStream, type ParsedDiff } from '../src/import/fastdepth.js';
import { DedupMemory } from '../src/core/dedup.js';
import type { DepthSync } from './depth-sync.js';
import type { RecorderCounters, SymbolMetrics } from './metrics.js';
import { TradeIds, type TradeGaps } from './trade-ids.js';

const EMPTY: Json = Object.freeze({}) as Json;

/** Per (symbol, stream kind): dedup key space, highest id seen, exact trade ids (trade streams). */
interface KindState {
  /** `<SYM>|<type>`: the checkpoint's `last_ids` key. */
  readonly key: string;
  readonly slot: number;
  lastId: number;
  readonly tr: TradeIds | null;
}

/** What a stream name is (cached per distinct name). */
interface StreamInfo {
  /** null: not a recorded stream. */
  readonly type: StreamType | null;
  /** Upper-case symbol ('' when the name has no `@` or no valid symbol). */
  readonly symbol: string;
  readonly name: StreamName;
  readonly kind: KindState | null;
  readonly subscribed: boolean;
  readonly metrics: SymbolMetrics | null;
  /** `<sym>@depthSnapshot`: a journaled REST snapshot. */
  readonly snapshot: boolean;
}

/** What ingest needs from the recorder. */
export interface IngestHost {
  readonly counters: RecorderCounters;
  /** Where journal replays count mapping rejections (they were counted when first accepted). */
  readonly replayCounters: MapCounters;
  readonly symMetrics: ReadonlyMap<string, SymbolMetrics>;
  /** Some subscribed stream is a diff depth stream (enables the depth-diff fast path). */
  readonly diffStreams: boolean;
  readonly dedupLru: number;
  readonly gaps: TradeGaps;
  readonly depth: DepthSync;
  now(): number;
  /** Append an accepted message to the journal (and schedule its flush). */
  journal(recvMs: number, text: string): void;
  /** The sink of trades and quotes: the writer, plus the live tap when `counted` (a live message). */
  sink(counted: boolean): RawSink;
}

export class Ingest {
  private readonly dedup: DedupMemory;
  private readonly streamInfos = new Map<string, StreamInfo>();
  private readonly kinds = new Map<string, KindState>();
  /** Highest id per `<SYM>|<type>` loaded from the last checkpoint. */
  readonly lastIds = new Map<string, number>();

  constructor(private readonly h: IngestHost) {
    this.dedup = new DedupMemory(h.dedupLru);
  }

  private malformed(reason: string): void {
    const m = this.h.counters.malformed;
    m[reason] = (m[reason] ?? 0) + 1;
  }

  /** Stream name -> what it is, with its per-(symbol, kind) state (one Map lookup per message). */
  private streamInfo(stream: string): StreamInfo {
    let si = this.streamInfos.get(stream);
    if (si) return si;
    const name = parseStreamName(stream);
    const type = name.type;
    const symbol = name.symbol ?? '';
    let ks: KindState | null = null;
    if (type !== null && name.symbol !== null) {
      const key = `${symbol}|${type}`;
      ks = this.kinds.get(key) ?? null;
      if (!ks) {
        let tr: TradeIds | null = null;
        if (type === 'trade' || type === 'aggTrade') {
          const tk = `${symbol}|${type === 'trade' ? 't' : 'a'}`;
          tr = this.h.gaps.ids.get(tk) ?? null;
          if (!tr) this.h.gaps.ids.set(tk, (tr = new TradeIds()));
        }
        ks = { key, slot: this.dedup.newSlot(), lastId: this.lastIds.get(key) ?? -1, tr };
        this.kinds.set(key, ks);
      }
    }
    si = {
      type,
      symbol,
      name,
      kind: ks,
      subscribed: this.h.symMetrics.has(symbol),
      metrics: this.h.symMetrics.get(symbol) ?? null,
      snapshot: type === null && name.symbol !== null && name.suffix === 'depthSnapshot',
    };
    // bounded: a feed inventing stream names must not grow this without limit
    if (this.streamInfos.size < 100_000) this.streamInfos.set(stream, si);
    return si;
  }

  /**
   * One message, classified by the one Binance mapping (src/binance/mapper.ts).
   * Modes: `ws`/`rest` (live: dedup, journal, apply, count), `replay`
   * (journal after the checkpoint: dedup memory + apply), `seed` (journal up
   * to the checkpoint: dedup memory only), `rebook` (advance depth books
   * only), `rebuild` (a write-retry writer rebuild: apply only). Returns true
   * when accepted.
   */
  message(text: string, recvMs: number, mode: 'ws' | 'rest' | 'replay' | 'seed' | 'rebook' | 'rebuild'): boolean {
    const live = mode === 'ws' || mode === 'rest';
    const k = this.h.counters;
    // depth diffs (the biggest frames) are scanned straight into numbers when in the strict Binance form
    let fast: ParsedDiff | null = null;
    if (this.h.diffStreams) {
      const name = peekStream(text);
      if (name !== null && this.streamInfo(name).type === 'depth_diff') fast = parseDepthDiff(text, name);
    }
    let msg: unknown;
    let si: StreamInfo;
    let d: Json;
    let stream: string;
    let id: number;
    if (fast !== null) {
      stream = fast.stream;
      si = this.streamInfo(stream);
      d = EMPTY;
      id = fast.u;
      const sym = symbolOfMessage(si.name, fast.s ?? undefined);
      if (sym !== si.symbol) return this.rejected(live, 'depth_diff', sym);
    } else {
      try {
        msg = JSON.parse(text);
      } catch {
        if (mode === 'ws') this.malformed('json');
        return false;
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        if (live) {
          this.malformed('not_object');
          k.lines_unrecognized++;
        }
        return false;
      }
      const st = (msg as Json).stream;
      const data = (msg as Json).data;
      if (typeof st !== 'string' || data === null || typeof data !== 'object' || Array.isArray(data)) {
        if (live) {
          this.malformed('no_stream');
          k.lines_unrecognized++;
        }
        return false;
      }
      stream = st;
      si = this.streamInfo(stream);
      const t = si.type;
      if (t === null) {
        if (si.snapshot && !live) {
          const sym = si.symbol;
          if (mode === 'replay' || mode === 'rebuild') this.h.depth.applySnapshot(sym, recvMs, data);
          else if (mode === 'rebook') this.h.depth.rebook(() => this.h.depth.applySnapshot(sym, recvMs, data));
          return true;
        }
        if (live) {
          this.malformed('unknown_stream');
          k.unknown_streams[stream] = (k.unknown_streams[stream] ?? 0) + 1;
        }
        return false;
      }
      d = data as Json;
      const sym = symbolOfMessage(si.name, d.s);
      if (sym !== si.symbol) return this.rejected(live, t, sym);
      const raw = rawIdOf(t, d);
      id = safeId(raw);
      if (Number.isNaN(id)) return this.rejected(live, t, idReason([raw]));
    }
    const type = si.type!;
    if (!si.subscribed && live) {
      this.malformed('unsubscribed_symbol');
      return false;
    }
    if (mode === 'rebuild') {
      if (fast !== null) this.h.depth.apply(si.symbol, type, d, fast, stream, recvMs, 'replay');
      else this.apply(si, d, stream, recvMs, 'replay');
      return true;
    }
    const ks = si.kind!;
    const tr = ks.tr;
    // journal lines are unique by construction: replay / seed only rebuild the dedup memory
    if (live && (this.dedup.has(ks.slot, id) || tr?.has(id))) {
      this.h.counters.dedup_hits++;
      return false;
    }
    this.dedup.add(ks.slot, id);
    if (tr?.add(id, this.h.now()) && mode !== 'seed' && mode !== 'rebook') this.h.counters.gaps++;
    if (!(id <= ks.lastId)) ks.lastId = id;
    if (mode === 'rebook' && (type === 'depth_diff' || type === 'depth_partial'))
      this.h.depth.rebook(() => this.h.depth.apply(si.symbol, type, d, fast, stream, recvMs, 'replay'));
    if (mode === 'seed' || mode === 'rebook') return true;
    if (live) {
      // (a fast-parsed frame has no whitespace at all)
      if (fast === null && text.indexOf('\n') >= 0) text = JSON.stringify(msg);
      this.h.journal(recvMs, text);
    }
    if (fast !== null) {
      const m = this.h.counters.messages;
      if (mode !== 'replay') m.depth_diff = (m.depth_diff ?? 0) + 1;
      this.h.depth.apply(si.symbol, type, d, fast, stream, recvMs, mode);
    } else this.apply(si, d, stream, recvMs, mode);
    return true;
  }

  /** A stream message the mapping rejected before dedup (symbol, id): counted as the importer counts it. */
  private rejected(live: boolean, type: StreamType, reason: string): false {
    if (live) {
      const k = this.h.counters;
      k.messages[type] = (k.messages[type] ?? 0) + 1;
      k.bad_rows[reason] = (k.bad_rows[reason] ?? 0) + 1;
    }
    return false;
  }

  private apply(si: StreamInfo, d: Json, stream: string, recvMs: number, mode: 'ws' | 'rest' | 'replay'): void {
    const k = this.h.counters;
    const type = si.type!;
    const sym = si.symbol;
    // messages_total / bad_rows_total count what this process accepted from the exchange; a journal
    // replay (restart recovery, write-retry rebuild) re-applies messages already counted
    const counted = mode !== 'replay';
    if (counted) k.messages[type] = (k.messages[type] ?? 0) + 1;
    const c = counted ? k : this.h.replayCounters;
    const sink = this.h.sink(counted);
    if (type === 'trade' || type === 'aggTrade') {
      // (the hourly coverage sees accepted ticks through the recorder's sink, with their recv_seq)
      if (!mapTrade(sink, c, sym, d, recvMs, type === 'aggTrade')) return;
      const qty = lastMapped.qty;
      if (mode === 'ws') si.metrics?.onTrade(recvMs, lastMapped.event, lastMapped.ts, d.m === true ? -qty : qty);
      return;
    }
    if (type === 'bookTicker') {
      mapQuote(sink, c, sym, d, recvMs);
      return;
    }
    this.h.depth.apply(sym, type, d, null, stream, recvMs, mode);
  }

  /** Highest id seen per `<SYM>|<type>` (kinds seen in this run, plus those loaded from the last checkpoint). */
  lastIdsJson(): Record<string, number> {
    for (const ks of this.kinds.values()) if (ks.lastId >= 0) this.lastIds.set(ks.key, ks.lastId);
    return Object.fromEntries(this.lastIds);
  }
}
