/**
 * Live recorder (ARCHITECTURE §7): Binance combined streams -> journal -> raw
 * dataset (§2). See recorder/README.md for the design. This file is the
 * lifecycle; the work is in:
 *
 *   ingest.ts       frame -> classify (src/binance/mapper.ts) -> dedup -> journal.append -> rows
 *   depth-sync.ts   per-symbol depth books (WsCaptureImporter), resyncs, REST snapshots
 *   trade-ids.ts    exact trade-id sets, gap timer, REST backfill, ids declared lost
 *   store.ts        _checkpoint.json, part-file ledger, orphans, --out check, cumulated losses
 *   connections.ts  the sockets and their events
 *
 *   every rotate_sec: flush journal, writer.drain(true) (atomic parts), manifest
 *         (carrying journal_seq), _checkpoint.json (with the depth books as of
 *         journal_seq), journal truncated
 *   start: check --out, drop part files this recorder wrote but never listed,
 *         restore the depth books, replay the journal (all retained lines seed
 *         dedup; lines after the manifest's journal_seq go to the writer
 *         through the restored books), checkpoint, connect.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type http from 'node:http';
import type { Registry } from 'prom-client';
import { DatasetWriter } from '../src/dataset/writer.js';
import type { RawSink } from '../src/core/types.js';
import type { LoadedConfig } from '../src/config/load.js';
import { isDataset, readManifest } from '../src/dataset/manifest.js';
import { binanceMarketFromEndpoint } from '../src/core/market.js';
import { FlowlabError, describeError } from '../src/core/errors.js';
import { validateSymbol } from '../src/core/validate.js';
import { Rng } from '../src/synth/rng.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  DEFAULT_BACKOFF,
  type StreamConnection,
  defaultWsFactory,
  type BackoffOptions,
  type WsFactory,
} from './connection.js';
import { Journal, replayJournal } from './journal.js';
import { newMapCounters, streamTypeOf } from '../src/binance/mapper.js';
import { Ingest } from './ingest.js';
import { openConnections } from './connections.js';
import { TradeGaps, TradeIds } from './trade-ids.js';
import { DepthSync, type DepthCheckpoint } from './depth-sync.js';
import {
  CHECKPOINT_FILE,
  HOURLY_DIR,
  JOURNAL_CORRUPT_DIR,
  JOURNAL_DIR,
  LOSS_KEYS,
  PARTS_PENDING_FILE,
  RecordingLedger,
  checkOut,
  keepCorruptLine,
  migrateLegacyState,
  notePart,
  readCheckpointFile,
  removeOrphans,
  writeCheckpointFile,
  type CheckpointFile,
  type LossKey,
} from './store.js';

export {
  CHECKPOINT_FILE,
  HOURLY_DIR,
  JOURNAL_CORRUPT_DIR,
  JOURNAL_DIR,
  LOSS_KEYS,
  PARTS_PENDING_FILE,
  TradeIds,
  migrateLegacyState,
  type CheckpointFile,
  type DepthCheckpoint,
  type LossKey,
};
import { SymbolMetrics, buildRegistry, newCounters, serveMetrics, type RecorderCounters } from './metrics.js';
import { HOUR_MS, SliceCoverage, writeHourlyDq } from './hourly.js';

/** The `recorder:` config section (src/config/schema.ts), defaults filled. */
export interface RecorderConfig {
  readonly parquet_rotate_sec: number;
  readonly dedup_lru: number;
  readonly wss_ping_interval_sec: number;
  readonly silence_watchdog_sec: number;
  readonly proactive_reconnect_hours: number;
  readonly depth_levels: number;
  readonly write_retries: number;
}

export const DEFAULT_RECORDER_CONFIG: RecorderConfig = Object.freeze({
  parquet_rotate_sec: 60,
  dedup_lru: 200_000,
  wss_ping_interval_sec: 20,
  silence_watchdog_sec: 60,
  proactive_reconnect_hours: 23.5,
  depth_levels: 20,
  write_retries: 3,
});

export const BINANCE_SPOT_WS = 'wss://stream.binance.com:9443';
export const BINANCE_SPOT_REST = 'https://api.binance.com';

export interface RecorderOptions {
  readonly symbols: readonly string[];
  /** Dataset folder (created, or resumed in append mode). */
  readonly out: string;
  /** WebSocket base URL (`/stream?streams=` is appended). */
  readonly endpoint?: string;
  /** REST base URL (depth snapshots, trade backfill). Default: same host as a ws:// endpoint, else api.binance.com. */
  readonly restEndpoint?: string;
  /** Stream suffixes per symbol (default aggTrade, bookTicker, depth<levels>@100ms). */
  readonly streams?: readonly string[];
  /** Symbols per connection (default 200; Binance allows 1024 streams per connection). */
  readonly symbolsPerConnection?: number;
  readonly config?: Partial<RecorderConfig>;
  readonly clock?: Clock;
  /** Uniform [0,1) source for backoff jitter (default: seeded Rng). */
  readonly random?: () => number;
  readonly seed?: number;
  readonly wsFactory?: WsFactory;
  readonly fetchJson?: (url: string) => Promise<unknown>;
  readonly backoff?: BackoffOptions;
  /** Largest accepted frame, bytes (default 1 MiB). */
  readonly maxPayload?: number;
  readonly fsyncIntervalMs?: number;
  /** A trade-id gap still open after this long is backfilled over REST (default 1000 ms). */
  readonly gapGraceMs?: number;
  /** Serve /metrics on 127.0.0.1:port (0 = free port; undefined/null = no server). */
  readonly metricsPort?: number | null;
  /** Pipeline parameters and `harvest:` thresholds of the hourly coverage (default: the config defaults). */
  readonly coverageConfig?: LoadedConfig;
  /** Write hourly slices manifests (default true) and dq reports (default true). */
  readonly hourly?: boolean;
  readonly hourlyDq?: boolean;
  readonly onLog?: (line: string) => void;
  /** Test hook, called before every part-file write attempt; throw to simulate a failure. */
  readonly beforeWrite?: () => void;
  /** Measure frame -> journal write / fsync latency (bench). */
  readonly measureLatency?: boolean;
  /**
   * Sees every trade and quote accepted from the network, right after the
   * dataset writer took it, with the recv_seq the writer assigned (flowlab
   * live runs the pipeline on it). Journal replays at start-up and after a
   * write error are not shown again.
   */
  readonly tap?: LiveTap;
}

/** Receives accepted ticks in writer call order (= arrival order). */
export interface LiveTap {
  trade(recvSeq: number, ...a: Parameters<RawSink['trade']>): void;
  quote(recvSeq: number, ...a: Parameters<RawSink['quote']>): void;
}

async function defaultFetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

function restFromWs(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.hostname === '127.0.0.1' || u.hostname === 'localhost') return `http://${u.host}`;
  return BINANCE_SPOT_REST;
}

export class Recorder {
  readonly out: string;
  readonly cfg: RecorderConfig;
  readonly symbols: readonly string[];
  readonly streams: readonly string[];
  readonly clock: Clock;
  readonly counters: RecorderCounters = newCounters();
  readonly symMetrics = new Map<string, SymbolMetrics>();
  readonly coverage: SliceCoverage;
  readonly conns: StreamConnection[] = [];
  private readonly o: RecorderOptions;
  private readonly endpoint: string;
  private readonly rest: string;
  private readonly random: () => number;
  private readonly fetchJson: (url: string) => Promise<unknown>;
  /** Classification, dedup, journal append and rows of every message. */
  private readonly in: Ingest;
  /** Where journal replays count mapping rejections (they were counted when first accepted). */
  private readonly replayCounters = newMapCounters();
  /** Some subscribed stream is a diff depth stream (enables the depth-diff fast path). */
  private readonly diffStreams: boolean;
  /** Exact trade ids per (symbol, trade stream) and their REST backfill. */
  private readonly gaps: TradeGaps;
  /** Depth books (diff streams) and partial books, per symbol, and their REST snapshots. */
  private readonly depth: DepthSync;
  private journal: Journal;
  writer!: DatasetWriter;
  private checkpointJ = -1;
  /** Losses and dropped trade ids of earlier runs (manifest `stats.recorder`) + this run's. */
  private readonly ledger = new RecordingLedger();
  private ck: Promise<void> | null = null;
  private flushScheduled = false;
  private timers: TimerHandle[] = [];
  private ckTimer: TimerHandle | null = null;
  private gapTimer: TimerHandle | null = null;
  private hourTimer: TimerHandle | null = null;
  private metricsServer: http.Server | null = null;
  registry: Registry | null = null;
  private started = false;
  private stopped = false;
  private lastFlush = NaN;
  private readonly hoursDone = new Set<number>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Latency probes (measureLatency): frame arrival (performance.now()) of each pending journal line. */
  private pendingT: number[] = [];
  readonly writeLatencyMs: number[] = [];
  readonly fsyncLatencyMs: number[] = [];
  private batchesAwaitingSync: { upTo: number; t0: number }[] = [];

  /** The writer plus the hourly coverage and the live tap. */
  private readonly teeSink: RawSink;

  constructor(o: RecorderOptions) {
    this.o = o;
    const tap = o.tap;
    const covering = o.hourly !== false;
    // the hourly coverage sees what a live tap sees: accepted ticks in writer order with their recv_seq
    this.teeSink = {
      trade: (...a: Parameters<RawSink['trade']>) => {
        this.writer.trade(...a);
        if (covering) this.coverage.trade(this.writer.nextSeq - 1, ...a);
        tap?.trade(this.writer.nextSeq - 1, ...a);
      },
      quote: (...a: Parameters<RawSink['quote']>) => {
        this.writer.quote(...a);
        if (covering) this.coverage.quote(this.writer.nextSeq - 1, ...a);
        tap?.quote(this.writer.nextSeq - 1, ...a);
      },
      depth: (...a: Parameters<RawSink['depth']>) => this.writer.depth(...a),
    };
    if (o.symbols.length === 0) throw new FlowlabError('recorder: no symbols', 2);
    this.symbols = [...new Set(o.symbols.map((s) => validateSymbol(s, '--symbols')))];
    this.cfg = { ...DEFAULT_RECORDER_CONFIG, ...(o.config ?? {}) };
    this.out = path.resolve(o.out);
    this.endpoint = (o.endpoint ?? BINANCE_SPOT_WS).replace(/\/+$/, '');
    if (!/^wss?:\/\//.test(this.endpoint))
      throw new FlowlabError(`--endpoint: '${o.endpoint}' is not a ws:// or wss:// URL`, 2);
    this.rest = (o.restEndpoint ?? restFromWs(this.endpoint)).replace(/\/+$/, '');
    this.streams = o.streams ?? ['aggTrade', 'bookTicker', `depth${this.cfg.depth_levels}@100ms`];
    for (const s of this.streams) {
      if (streamTypeOf(s) === null)
        throw new FlowlabError(
          `--streams: '${s}' is not a recordable stream (aggTrade, trade, bookTicker, depth@100ms, depth<N>@100ms)`,
          2,
        );
    }
    this.diffStreams = this.streams.some((s) => streamTypeOf(s) === 'depth_diff');
    this.clock = o.clock ?? systemClock;
    const rng = Rng.derive(o.seed ?? 1, 'recorder-backoff');
    this.random = o.random ?? (() => rng.uniform());
    this.fetchJson = o.fetchJson ?? defaultFetchJson;
    this.depth = new DepthSync({
      counters: this.counters,
      replayBadRows: this.replayCounters.bad_rows,
      depthLevels: this.cfg.depth_levels,
      rest: this.rest,
      writer: () => this.writer,
      stopped: () => this.stopped,
      fetchJson: (url) => this.fetchJson(url),
      now: () => this.clock.now(),
      journal: (recvMs, text) => {
        this.journal.append(recvMs, text);
        this.scheduleFlush();
      },
      log: (line) => this.log(line),
      track: (p) => this.track(p),
    });
    this.gaps = new TradeGaps({
      counters: this.counters,
      rest: this.rest,
      inflight: this.inflight,
      fetchJson: (url) => this.fetchJson(url),
      now: () => this.clock.now(),
      ingest: (text, recvMs) => this.in.message(text, recvMs, 'rest'),
      log: (line) => this.log(line),
      track: (p) => this.track(p),
    });
    this.coverage = new SliceCoverage(this.symbols, o.coverageConfig);
    this.in = new Ingest({
      counters: this.counters,
      replayCounters: this.replayCounters,
      symMetrics: this.symMetrics,
      diffStreams: this.diffStreams,
      dedupLru: this.cfg.dedup_lru,
      gaps: this.gaps,
      depth: this.depth,
      now: () => this.clock.now(),
      journal: (recvMs, text) => {
        this.journal.append(recvMs, text);
        this.scheduleFlush();
      },
      sink: (counted) => (counted ? this.teeSink : this.writer),
    });
    migrateLegacyState(this.out);
    this.journal = new Journal(path.join(this.out, JOURNAL_DIR), { fsyncIntervalMs: o.fsyncIntervalMs });
    for (const s of this.symbols) this.symMetrics.set(s, new SymbolMetrics());
  }

  private log(line: string): void {
    this.o.onLog?.(line);
  }

  // ------------------------------------------------------------- lifecycle

  /** Recover (orphans, journal replay, checkpoint), then connect. */
  async start(): Promise<void> {
    if (this.started) throw new FlowlabError('recorder started twice');
    this.started = true;
    checkOut(this.out, this.endpoint, this.streams, this.symbols);
    fs.mkdirSync(this.out, { recursive: true });
    this.checkpointJ = this.ledger.load(this.out);
    removeOrphans(this.out, (line) => this.log(line));
    const ck = this.loadCheckpoint();
    this.writer = this.newWriter();
    // Depth books: restored as of _checkpoint.json's journal_seq (B). The manifest's J is normally B; when a
    // crash fell between the manifest and _checkpoint.json, lines (B, J] are already in part files: they
    // only advance the books (rows not emitted). Without usable books (no / old checkpoint) the books
    // rebuild from the retained journal and resync from a snapshot where that is not enough.
    let booksJ = -1;
    if (ck?.books && ck.journalSeq <= this.checkpointJ) {
      this.depth.restore(ck.books);
      booksJ = ck.journalSeq;
      this.counters.depth_books_restored = Object.keys(ck.books).length;
      if (booksJ >= 0 && this.counters.depth_books_restored > 0)
        this.log(`depth books of ${Object.keys(ck.books).join(', ')} restored as of journal_seq ${booksJ}`);
    } else if (ck) booksJ = ck.journalSeq;
    let replayed = 0;
    let seeded = 0;
    let ckBooks = false;
    const next = replayJournal(
      this.journal.dir,
      (jseq, recv, json, line) => {
        const apply = jseq > this.checkpointJ;
        if (apply && !ckBooks) {
          this.depth.atCheckpoint = this.depth.books(); // the books as of checkpointJ: where a writer rebuild restarts them
          ckBooks = true;
        }
        if (this.in.message(json, recv, apply ? 'replay' : jseq > booksJ ? 'rebook' : 'seed')) {
          if (apply) replayed++;
          else seeded++;
        } else this.corruptJournalLine(jseq, line, apply);
      },
      (jseq, line) => this.corruptJournalLine(jseq, line, jseq > this.checkpointJ),
    );
    if (!ckBooks) this.depth.atCheckpoint = this.depth.books();
    this.journal.open(Math.max(next, this.checkpointJ + 1));
    this.counters.replayed = replayed;
    if (replayed > 0 || seeded > 0)
      this.log(`recovered: ${replayed} journaled messages replayed into the dataset, ${seeded} used as dedup memory`);
    this.depth.afterReplay();
    if (replayed > 0) await this.checkpoint();
    if (this.o.metricsPort !== undefined && this.o.metricsPort !== null) {
      this.registry = buildRegistry({
        counters: this.counters,
        symbols: this.symMetrics,
        now: () => this.clock.now(),
        journalLag: () => Math.max(0, this.journal.written + this.journal.pendingLines - this.checkpointJ),
        lastFlushSec: () => this.lastFlush,
        sceneCoverageMiss: () => this.coverage.miss(Math.floor(this.clock.now() / HOUR_MS)),
      });
      this.metricsServer = await serveMetrics(this.registry, this.o.metricsPort);
    }
    // Node loads fetch (undici) on its first call: ~150 ms of module compilation that would otherwise stall
    // ingest at the first depth diff (its snapshot request). A data: URL loads it without any I/O.
    if (this.diffStreams && this.o.fetchJson === undefined) await fetch('data:,').catch(() => undefined);
    openConnections(this.conns, {
      symbols: this.symbols,
      streams: this.streams,
      endpoint: this.endpoint,
      perConnection: this.o.symbolsPerConnection ?? 200,
      clock: this.clock,
      random: this.random,
      wsFactory: this.o.wsFactory ?? defaultWsFactory,
      backoff: this.o.backoff ?? DEFAULT_BACKOFF,
      cfg: this.cfg,
      maxPayload: this.o.maxPayload ?? 1024 * 1024,
      counters: this.counters,
      onFrame: (text) => this.onFrame(text),
      flushJournal: () => this.flushJournal(),
      onClose: () => this.depth.onClose(),
      log: (line) => this.log(line),
    });
    this.armTimers();
  }

  /**
   * A journal line that is not an accepted message (every line the recorder journals is one):
   * counted, logged, its bytes kept in _journal-corrupt/ (the journal itself is truncated later).
   */
  private corruptJournalLine(jseq: number, line: string, afterCheckpoint: boolean): void {
    const file = keepCorruptLine(this.out, jseq, line);
    // a retained segment is read again at the next start: a line already kept was counted then
    if (file === null) return;
    this.counters.journal_corrupt_lines++;
    this.log(
      `journal line ${jseq} is unreadable (${line.length} bytes, kept in ${path.relative(this.out, file)})${afterCheckpoint ? '; its message is not in the dataset' : '; it was checkpointed already (only its dedup memory is lost)'}`,
    );
  }

  /** Port of the /metrics server (null when not serving). */
  get metricsAddress(): { address: string; port: number } | null {
    const a = this.metricsServer?.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : null;
  }

  /** Clean stop: disconnect, backfill what is pending (best effort), flush, checkpoint, hourly outputs. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.conns) c.stop();
    for (const t of [this.ckTimer, this.gapTimer, this.hourTimer, ...this.timers]) this.clock.clearTimeout(t);
    await Promise.allSettled([...this.inflight]);
    await this.gaps.now();
    this.flushJournal();
    await this.checkpoint();
    if (this.o.hourly !== false) await this.writeHourly(true);
    this.journal.close();
    if (this.metricsServer) {
      const s = this.metricsServer;
      this.metricsServer = null;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** Wait for the running checkpoint, if any. */
  async idle(): Promise<void> {
    while (this.ck) await this.ck;
  }

  get journalSeq(): number {
    return this.journal.written;
  }

  get checkpointSeq(): number {
    return this.checkpointJ;
  }

  private armTimers(): void {
    const rot = this.cfg.parquet_rotate_sec * 1000;
    const ck = () => {
      if (this.stopped) return;
      void this.checkpoint();
      this.ckTimer = this.clock.setTimeout(ck, rot);
    };
    this.ckTimer = this.clock.setTimeout(ck, rot);
    const grace = this.o.gapGraceMs ?? 1000;
    const gap = () => {
      if (this.stopped) return;
      this.gaps.check(grace);
      this.gapTimer = this.clock.setTimeout(gap, Math.max(50, grace / 2));
    };
    this.gapTimer = this.clock.setTimeout(gap, Math.max(50, grace / 2));
    if (this.o.hourly !== false) {
      const hour = () => {
        if (this.stopped) return;
        this.track(this.writeHourly(false));
        const now = this.clock.now();
        this.hourTimer = this.clock.setTimeout(hour, (Math.floor(now / HOUR_MS) + 1) * HOUR_MS - now + 1);
      };
      const now = this.clock.now();
      this.hourTimer = this.clock.setTimeout(hour, (Math.floor(now / HOUR_MS) + 1) * HOUR_MS - now + 1);
    }
  }

  /** Backfill every open gap now (used before a clean stop and by tests). */
  backfillNow(): Promise<void> {
    return this.gaps.now();
  }

  private track<T>(p: Promise<T>): void {
    const q = p.catch((e) => this.log(`background task failed: ${describeError(e)}`));
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  // ------------------------------------------------------------- ingest

  /** A data frame from a connection. */
  private onFrame(text: string): void {
    this.counters.frames++;
    const t0 = this.o.measureLatency ? performance.now() : 0;
    if (this.in.message(text, this.clock.now(), 'ws') && this.o.measureLatency) this.pendingT.push(t0);
    // bound the batch: ws may deliver thousands of buffered frames in one turn of the event loop
    if (this.journal.pendingLines >= 256) this.flushJournal();
  }

  // ------------------------------------------------------------- journal

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushJournal();
    });
  }

  /** Write pending journal lines; false when the write failed (lines kept, retried). */
  private flushJournal(): boolean {
    const n = this.journal.pendingLines;
    if (n === 0) return true;
    const ok = this.journal.flush();
    if (!ok) {
      this.counters.journal_errors++;
      this.log(`journal write failed: ${this.journal.lastError}`);
      this.scheduleRetryFlush();
      return false;
    }
    if (this.o.measureLatency && this.pendingT.length > 0) {
      const now = performance.now();
      for (const t of this.pendingT) this.writeLatencyMs.push(now - t);
      this.batchesAwaitingSync.push({ upTo: this.journal.written, t0: this.pendingT[0] });
      this.pendingT = [];
      if (!this.journal.onSynced) {
        this.journal.onSynced = (synced) => {
          const t = performance.now();
          while (this.batchesAwaitingSync.length > 0 && this.batchesAwaitingSync[0].upTo <= synced) {
            this.fsyncLatencyMs.push(t - this.batchesAwaitingSync.shift()!.t0);
          }
        };
      }
    }
    return true;
  }

  private scheduleRetryFlush(): void {
    const h = this.clock.setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== h);
      this.flushJournal();
    }, 100);
    this.timers.push(h);
  }

  // ------------------------------------------------------------- checkpoint

  /** Flush everything accepted so far into part files + manifest + _checkpoint.json (serialized). */
  checkpoint(): Promise<void> {
    if (this.ck) return this.ck.then(() => this.checkpoint());
    this.ck = this.doCheckpoint().finally(() => {
      this.ck = null;
    });
    return this.ck;
  }

  private async doCheckpoint(): Promise<void> {
    const t0 = performance.now();
    if (!this.flushJournal()) return;
    let J = this.journal.written;
    // (a loss counted since the last manifest is written even without new rows)
    const losses = JSON.stringify(this.lossTotals());
    if (J <= this.checkpointJ && this.writer.pendingRows === 0 && losses === this.ledger.written) return;
    // the books now are the books after every line <= J (taken before the first await)
    let books = this.depth.books();
    const retries = this.cfg.write_retries;
    for (let attempt = 0; ; attempt++) {
      try {
        this.o.beforeWrite?.();
        await this.writer.drain(true);
        this.writer.stats = {
          recorder: {
            journal_seq: J,
            checkpoints: this.counters.checkpoints + 1,
            ...this.lossTotals(),
            trades_dropped_ids: this.ledger.droppedIds(
              this.counters.trades_dropped_ids,
              this.replayCounters.trades_dropped_ids,
            ),
          },
        };
        this.writer.writeManifest();
        this.ledger.written = losses;
        // the manifest lists every part written so far: none is pending any more
        fs.rmSync(path.join(this.out, PARTS_PENDING_FILE), { force: true });
        break;
      } catch (e) {
        if (attempt >= retries) {
          this.counters.write_errors++;
          this.log(`part-file write failed after ${retries} retries: ${describeError(e)}; data stays in the journal`);
          this.rebuildWriter();
          return;
        }
        this.counters.write_retries++;
        this.log(`part-file write failed (attempt ${attempt + 1}): ${describeError(e)}; retrying`);
        this.rebuildWriter();
        J = this.journal.written;
        books = this.depth.books();
      }
    }
    this.flushJournal();
    const ck: CheckpointFile = {
      version: 2,
      journal_seq: J,
      next_recv_seq: this.writer.nextSeq,
      written_at_ms: this.clock.now(),
      trade_ids: Object.fromEntries([...this.gaps.ids].map(([k, t]) => [k, t.toJSON()])),
      last_ids: this.in.lastIdsJson(),
      depth_books: books,
    };
    // the manifest (just written) says what is in part files: a writer rebuild restarts from J whatever happens below
    this.checkpointJ = J;
    this.depth.atCheckpoint = books;
    try {
      writeCheckpointFile(this.out, ck);
    } catch (e) {
      // the manifest is written (its J is the source of truth); the checkpoint is retried next time
      this.counters.write_errors++;
      this.log(`${CHECKPOINT_FILE} write failed: ${describeError(e)}; kept the previous one`);
      return;
    }
    this.journal.truncate(J, this.cfg.dedup_lru);
    this.counters.checkpoints++;
    this.lastFlush = (performance.now() - t0) / 1000;
  }

  /** Losses over the whole recording (earlier runs from the manifest + this run), for `stats.recorder`. */
  lossTotals(): Record<LossKey, number> {
    return this.ledger.losses(this.counters);
  }

  /** Load _checkpoint.json (trade ids, last ids); returns its journal_seq and depth books (null books: none usable). */
  private loadCheckpoint(): { journalSeq: number; books: Record<string, DepthCheckpoint> | null } | null {
    const r = readCheckpointFile(this.out, (line) => this.log(line));
    if (r === null) return null;
    for (const [k, v] of Object.entries(r.ck.trade_ids ?? {})) this.gaps.ids.set(k, TradeIds.from(v));
    for (const [k, v] of Object.entries(r.ck.last_ids ?? {})) this.in.lastIds.set(k, v);
    return { journalSeq: r.journalSeq, books: r.books };
  }

  private newWriter(): DatasetWriter {
    return new DatasetWriter(this.out, {
      rotateSec: this.cfg.parquet_rotate_sec,
      depthLevels: this.cfg.depth_levels,
      append: true,
      source: { type: 'recorder', endpoint: this.endpoint, streams: this.streams, symbols: this.symbols },
      beforePart: (rel) => notePart(this.out, rel),
      market: binanceMarketFromEndpoint(this.endpoint),
    });
  }

  /** After a failed write: a fresh writer from the manifest, fed every journal line after the last checkpoint. */
  private rebuildWriter(): void {
    this.flushJournal();
    removeOrphans(this.out, (line) => this.log(line));
    this.writer = this.newWriter();
    this.depth.restore(this.depth.atCheckpoint);
    const J = this.checkpointJ;
    replayJournal(this.journal.dir, (jseq, recv, json) => {
      if (jseq > J) this.in.message(json, recv, 'rebuild');
    });
    this.depth.afterReplay();
  }

  // ------------------------------------------------------------- hourly

  private async writeHourly(final: boolean): Promise<void> {
    const dir = path.join(this.out, HOURLY_DIR);
    const nowHour = Math.floor(this.clock.now() / HOUR_MS);
    if (final) this.coverage.finish();
    const hours = this.coverage
      .hours()
      .filter((h) => final || h < nowHour)
      .filter((h) => !this.hoursDone.has(h) || final);
    if (hours.length === 0) return;
    for (const h of hours) this.coverage.write(dir, h, final && h >= nowHour);
    if (this.o.hourlyDq !== false) {
      await this.checkpoint();
      if (isDataset(this.out) && readManifest(this.out).files.length > 0) {
        try {
          await writeHourlyDq(this.out, dir, hours);
        } catch (e) {
          this.log(`hourly dq failed: ${describeError(e)}`);
        }
      }
    }
    for (const h of hours) if (h < nowHour) this.hoursDone.add(h);
  }
}
