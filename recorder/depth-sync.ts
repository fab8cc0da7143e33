/**
 * Depth books of the recorder (recorder/README.md "Depth", "Depth book
 * checkpoint"): one WsCaptureImporter per recorded symbol (diff books and
 * partial books through the one Binance mapping), sequence breaks counted as
 * resyncs, REST snapshots fetched and journaled, book state for checkpoints.
 */
import type { RawSink } from '../src/core/types.js';
import { describeError } from '../src/core/errors.js';
import type { Json, StreamType } from '../src/binance/mapper.js';
import type { DatasetWriter } from '../src/dataset/writer.js';
import type { BookStateJson } from '../src/import/depthbook.js';
import type { ParsedDiff } from '../src/import/fastdepth.js';
import { WsCaptureImporter } from '../src/import/wscapture.js';
import type { RecorderCounters } from './metrics.js';

interface DepthState {
  imp: WsCaptureImporter;
  diffs: boolean;
  needSnap: boolean;
  inFlight: boolean;
  breaks: number;
}

export interface DepthCheckpoint {
  readonly diffs: boolean;
  readonly books: Record<string, BookStateJson>;
}

/** What the depth books need from the recorder. */
export interface DepthHost {
  readonly counters: RecorderCounters;
  /** Where bad rows of journal replays go (they were counted when first accepted). */
  readonly replayBadRows: Record<string, number>;
  readonly depthLevels: number;
  readonly rest: string;
  writer(): DatasetWriter;
  stopped(): boolean;
  fetchJson(url: string): Promise<unknown>;
  now(): number;
  /** Journal a REST snapshot (as `<sym>@depthSnapshot`) and schedule the flush. */
  journal(recvMs: number, text: string): void;
  log(line: string): void;
  track(p: Promise<unknown>): void;
}

export class DepthSync {
  private bySymbol = new Map<string, DepthState>();
  /** Book state at the last checkpoint: where a writer rebuild restarts the books. */
  atCheckpoint: Record<string, DepthCheckpoint> = {};
  /** Depth rows reach the writer only while true (off while books catch up on already-written journal lines). */
  private emit = true;
  /** The importers' sink: the current writer (rebuilt on write errors), gated by `emit`. */
  private readonly sink: RawSink = {
    trade: () => undefined,
    quote: () => undefined,
    depth: (...a: Parameters<RawSink['depth']>) => {
      if (this.emit) this.h.writer().depth(...a);
    },
  };

  constructor(private readonly h: DepthHost) {}

  /** A connection closed: every diff book asks for a snapshot at its next live diff. */
  onClose(): void {
    for (const d of this.bySymbol.values()) if (d.diffs) d.needSnap = true;
  }

  /** Run `fn` with depth rows discarded: journal lines whose rows are already in part files only advance the books. */
  rebook(fn: () => void): void {
    this.emit = false;
    try {
      fn();
    } finally {
      this.emit = true;
    }
  }

  /** A depth message into its symbol's importer: `fast` when scanned by the fast path, else the parsed `d`. */
  apply(
    sym: string,
    type: StreamType,
    d: Json,
    fast: ParsedDiff | null,
    stream: string,
    recvMs: number,
    mode: 'ws' | 'rest' | 'replay',
  ): void {
    const k = this.h.counters;
    const st = this.state(sym);
    if (type === 'depth_diff') st.diffs = true;
    // the depth mapping's rejections count with the recorder's (once: not again on a journal replay)
    st.imp.counters.bad_rows = mode === 'replay' ? this.h.replayBadRows : k.bad_rows;
    if (fast !== null) st.imp.handleDiff(fast, recvMs);
    else st.imp.handleMessage({ stream, data: d }, recvMs);
    const breaks = st.imp.counters.depth_seq_breaks;
    if (breaks > st.breaks) {
      st.breaks = breaks;
      st.needSnap = true;
      k.depth_resyncs++;
    }
    if (type === 'depth_diff' && mode === 'ws' && st.needSnap) this.requestSnapshot(sym, st);
  }

  private state(sym: string): DepthState {
    let st = this.bySymbol.get(sym);
    if (!st) {
      st = {
        imp: new WsCaptureImporter(this.sink, { depthLevels: this.h.depthLevels }),
        diffs: false,
        needSnap: true,
        inFlight: false,
        breaks: 0,
      };
      this.bySymbol.set(sym, st);
    }
    return st;
  }

  applySnapshot(sym: string, recvMs: number, data: unknown, live = false): void {
    const st = this.state(sym);
    st.imp.counters.bad_rows = live ? this.h.counters.bad_rows : this.h.replayBadRows;
    st.imp.handleMessage(data, recvMs);
    st.needSnap = false;
    st.breaks = st.imp.counters.depth_seq_breaks;
  }

  private requestSnapshot(sym: string, st: DepthState): void {
    if (st.inFlight || this.h.stopped()) return;
    st.inFlight = true;
    this.h.counters.depth_snapshots++;
    const p = this.h
      .fetchJson(`${this.h.rest}/api/v3/depth?symbol=${sym}&limit=1000`)
      .then((data) => {
        const d = data as { lastUpdateId?: unknown; bids?: unknown; asks?: unknown };
        if (!d || typeof d.lastUpdateId !== 'number' || !Array.isArray(d.bids) || !Array.isArray(d.asks))
          throw new Error('snapshot without lastUpdateId/bids/asks');
        if (this.h.stopped()) return;
        const recv = this.h.now();
        const text = JSON.stringify({
          stream: `${sym.toLowerCase()}@depthSnapshot`,
          data: { lastUpdateId: d.lastUpdateId, bids: d.bids, asks: d.asks },
        });
        this.h.journal(recv, text);
        this.applySnapshot(sym, recv, { lastUpdateId: d.lastUpdateId, bids: d.bids, asks: d.asks }, true);
      })
      .catch((e) => this.h.log(`${sym}: depth snapshot failed: ${describeError(e)}`))
      .finally(() => {
        st.inFlight = false;
      });
    this.h.track(p);
  }

  /** Every depth book, per recorded symbol (only symbols with a diff stream have books). */
  books(): Record<string, DepthCheckpoint> {
    const out: Record<string, DepthCheckpoint> = {};
    for (const [sym, st] of this.bySymbol) {
      const books = st.imp.bookStates();
      if (st.diffs || Object.keys(books).length > 0) out[sym] = { diffs: st.diffs, books };
    }
    return out;
  }

  /** Fresh depth state from checkpointed books (replaces every book). */
  restore(ck: Record<string, DepthCheckpoint>): void {
    this.bySymbol = new Map();
    for (const [sym, d] of Object.entries(ck)) {
      const st = this.state(sym);
      st.diffs = d.diffs;
      for (const [bsym, b] of Object.entries(d.books)) st.imp.restoreBook(bsym, b);
    }
  }

  /**
   * After a journal replay: a diff book still waiting for a snapshot fetches one at the next live diff; a
   * synced book (or one holding a snapshot, waiting for the straddling diff) just continues, and a live diff
   * that does not follow it is a counted sequence break -> resync.
   */
  afterReplay(): void {
    for (const [sym, d] of this.bySymbol) {
      d.breaks = d.imp.counters.depth_seq_breaks;
      const state = d.imp.bookSyncState(sym);
      d.needSnap = d.diffs && (state === null || state === 'waiting');
    }
  }
}
