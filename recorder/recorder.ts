/**
 * Live recorder (ARCHITECTURE §7): Binance combined streams -> journal -> raw
 * dataset (§2). See recorder/README.md for the design; in short:
 *
 *   frame -> parse/classify -> dedup (bounded memory + exact trade-id sets) -> journal.append
 *         -> apply to DatasetWriter (trades/quotes: messages.ts; depth: a
 *            per-symbol WsCaptureImporter) ; journal flushed once per loop turn
 *   every rotate_sec: flush journal, writer.drain(true) (atomic parts), manifest
 *         (carrying journal_seq), checkpoint.json (with the depth books as of
 *         journal_seq), journal truncated
 *   start: drop part files the manifest does not list, restore the depth
 *         books, replay the journal (all retained lines seed dedup; lines
 *         after the manifest's journal_seq go to the writer through the
 *         restored books), checkpoint, connect.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type http from 'node:http';
import type { Registry } from 'prom-client';
import { DatasetWriter } from '../src/dataset/writer.js';
import type { RawSink } from '../src/core/types.js';
import { MANIFEST_FILE, isDataset, readManifest } from '../src/dataset/manifest.js';
import { binanceMarketFromEndpoint } from '../src/core/market.js';
import { WsCaptureImporter } from '../src/import/wscapture.js';
import { checkBookStateJson, type BookStateJson } from '../src/import/depthbook.js';
import { parseDepthDiff, peekStream, type ParsedDiff } from '../src/import/fastdepth.js';
import { FlowlabError, UsageError, describeError } from '../src/core/errors.js';
import { validateSymbol } from '../src/core/validate.js';
import { Rng } from '../src/synth/rng.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import {
  DEFAULT_BACKOFF,
  StreamConnection,
  defaultWsFactory,
  type BackoffOptions,
  type ConnEvent,
  type WsFactory,
} from './connection.js';
import { Journal, replayJournal } from './journal.js';
import {
  MAX_DROPPED_IDS,
  idReason,
  mapQuote,
  mapTrade,
  lastMapped,
  newMapCounters,
  parseStreamName,
  rawIdOf,
  streamTypeOf,
  symbolOfMessage,
  type Json,
  type StreamName,
  type StreamType,
} from '../src/binance/mapper.js';
import { DedupMemory } from '../src/core/dedup.js';
import { safeId } from '../src/import/counters.js';
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

/** Exact trade-id memory for one (symbol, trade stream): contiguous prefix + ids above it. */
export class TradeIds {
  floor = NaN;
  c = NaN;
  readonly above = new Set<number>();
  gapSince = NaN;
  attempts = 0;
  inFlight = false;

  has(id: number): boolean {
    return (id > this.floor && id <= this.c) || this.above.has(id);
  }

  /** Record an id; returns true when it opened a gap. */
  add(id: number, now: number): boolean {
    if (Number.isNaN(this.c)) {
      this.floor = id - 1;
      this.c = id;
      return false;
    }
    if (id <= this.c) return false;
    if (id === this.c + 1) {
      this.c = id;
      while (this.above.delete(this.c + 1)) this.c++;
      if (this.above.size === 0) {
        this.gapSince = NaN;
        this.attempts = 0;
      }
      return false;
    }
    this.above.add(id);
    if (Number.isNaN(this.gapSince)) {
      this.gapSince = now;
      return true;
    }
    return false;
  }

  maxAbove(): number {
    let m = -Infinity;
    for (const x of this.above) if (x > m) m = x;
    return m;
  }

  minAbove(): number {
    let m = Infinity;
    for (const x of this.above) if (x < m) m = x;
    return m;
  }

  /** Give up on the current gap: ids up to the next seen id are declared lost. Returns how many. */
  skipGap(): number {
    const m = this.minAbove();
    if (!Number.isFinite(m)) return 0;
    const lost = m - this.c - 1;
    this.c = m - 1;
    this.add(m, NaN);
    this.above.delete(m);
    this.gapSince = this.above.size > 0 ? this.gapSince : NaN;
    this.attempts = 0;
    return lost;
  }

  toJSON(): { floor: number; contiguous: number; above: number[] } {
    return { floor: this.floor, contiguous: this.c, above: [...this.above].sort((a, b) => a - b) };
  }

  static from(o: { floor: number; contiguous: number; above: number[] }): TradeIds {
    const t = new TradeIds();
    t.floor = o.floor;
    t.c = o.contiguous;
    for (const x of o.above) t.above.add(x);
    if (t.above.size > 0) t.gapSince = -Infinity;
    return t;
  }
}

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

interface DepthState {
  imp: WsCaptureImporter;
  diffs: boolean;
  needSnap: boolean;
  inFlight: boolean;
  breaks: number;
}

export interface CheckpointFile {
  /** 2: carries `depth_books`; 1 (older recorders): no book state. */
  readonly version: 1 | 2;
  readonly journal_seq: number;
  readonly next_recv_seq: number;
  readonly written_at_ms: number;
  readonly trade_ids: Record<string, { floor: number; contiguous: number; above: number[] }>;
  readonly last_ids: Record<string, number>;
  /**
   * Per recorded symbol with a depth stream: its diff books (importer symbol
   * -> state) after applying every journal line <= journal_seq, and whether
   * it saw diffs. A restart restores them and replays the journal after
   * journal_seq through them, so diff-derived rows are rebuilt exactly.
   */
  readonly depth_books?: Record<string, DepthCheckpoint>;
}

export interface DepthCheckpoint {
  readonly diffs: boolean;
  readonly books: Record<string, BookStateJson>;
}

const EMPTY: Json = Object.freeze({}) as Json;

// The recorder's own state beside the part files starts with '_', so hive-dataset discovery (pyarrow, pandas,
// Spark) skips it; a dataset recorded before that has the LEGACY_STATE names, renamed once at start.
export const CHECKPOINT_FILE = '_checkpoint.json';

/** What a recording lost, cumulated over its runs in the manifest's `stats.recorder` (and read by dq). */
export const LOSS_KEYS = [
  'trade_ids_lost',
  'backfill_errors',
  'depth_resyncs',
  'journal_corrupt_lines',
  'write_errors',
] as const;
export type LossKey = (typeof LOSS_KEYS)[number];
/** Part files this recorder is about to write and has not yet listed in a manifest, one dataset path a line. */
export const PARTS_PENDING_FILE = '_parts-pending.txt';
/** Journal lines that failed to parse on recovery, kept byte for byte (one file per line). */
export const JOURNAL_CORRUPT_DIR = '_journal-corrupt';
export const JOURNAL_DIR = '_journal';
export const HOURLY_DIR = '_hourly';
const LEGACY_STATE: readonly (readonly [string, string])[] = [
  ['checkpoint.json', CHECKPOINT_FILE],
  ['parts-pending.txt', PARTS_PENDING_FILE],
  ['journal-corrupt', JOURNAL_CORRUPT_DIR],
  ['journal', JOURNAL_DIR],
  ['hourly', HOURLY_DIR],
];

/**
 * Rename a legacy recorder state file / folder to its current name (only where the new name is absent), in a
 * folder that is a recording of ours: a legacy checkpoint, or a manifest whose source is the recorder.
 */
export function migrateLegacyState(out: string): void {
  const ours =
    fs.existsSync(path.join(out, LEGACY_STATE[0][0])) ||
    (isDataset(out) && (readManifest(out).source as { type?: unknown }).type === 'recorder');
  if (!ours) return;
  for (const [old, cur] of LEGACY_STATE) {
    const from = path.join(out, old);
    const to = path.join(out, cur);
    if (fs.existsSync(from) && !fs.existsSync(to)) fs.renameSync(from, to);
  }
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
  private readonly dedup: DedupMemory;
  private readonly streamInfos = new Map<string, StreamInfo>();
  private readonly kinds = new Map<string, KindState>();
  /** Where journal replays count mapping rejections (they were counted when first accepted). */
  private readonly replayCounters = newMapCounters();
  /** Some subscribed stream is a diff depth stream (enables the depth-diff fast path). */
  private readonly diffStreams: boolean;
  private readonly trades = new Map<string, TradeIds>();
  private readonly lastIds = new Map<string, number>();
  private depth = new Map<string, DepthState>();
  /** Depth book state at the last checkpoint (checkpointJ): where a writer rebuild restarts the books. */
  private depthCk: Record<string, DepthCheckpoint> = {};
  /** Depth rows reach the writer only while true (off while books catch up on already-written journal lines). */
  private depthEmit = true;
  /** The depth importers' sink: the current writer (rebuilt on write errors), gated by `depthEmit`. */
  private readonly depthSink: RawSink = {
    trade: () => undefined,
    quote: () => undefined,
    depth: (...a: Parameters<RawSink['depth']>) => {
      if (this.depthEmit) this.writer.depth(...a);
    },
  };
  private journal: Journal;
  writer!: DatasetWriter;
  private checkpointJ = -1;
  /** Loss totals as in the last manifest written (JSON). */
  private manifestLosses = '';
  /** Dropped-on-purpose trade ids of earlier runs of this recording (manifest `stats.recorder`). */
  private readonly droppedBase: Record<string, number[]> = {};
  /** Loss counters of earlier runs of this recording (manifest `stats.recorder`). */
  private readonly lossBase: Record<LossKey, number> = {
    trade_ids_lost: 0,
    backfill_errors: 0,
    depth_resyncs: 0,
    journal_corrupt_lines: 0,
    write_errors: 0,
  };
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

  /** The writer plus the live tap (null without a tap). */
  private readonly teeSink: RawSink | null;

  constructor(o: RecorderOptions) {
    this.o = o;
    const tap = o.tap;
    this.teeSink = tap
      ? {
          trade: (...a: Parameters<RawSink['trade']>) => {
            this.writer.trade(...a);
            tap.trade(this.writer.nextSeq - 1, ...a);
          },
          quote: (...a: Parameters<RawSink['quote']>) => {
            this.writer.quote(...a);
            tap.quote(this.writer.nextSeq - 1, ...a);
          },
          depth: (...a: Parameters<RawSink['depth']>) => this.writer.depth(...a),
        }
      : null;
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
    this.dedup = new DedupMemory(this.cfg.dedup_lru);
    this.coverage = new SliceCoverage(this.symbols);
    if (fs.existsSync(this.out)) migrateLegacyState(this.out);
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
    this.checkOut();
    fs.mkdirSync(this.out, { recursive: true });
    this.checkpointJ = this.manifestJseq();
    this.removeOrphans();
    const ck = this.loadCheckpoint();
    this.writer = this.newWriter();
    // Depth books: restored as of the checkpoint's journal_seq (B). The manifest's J is normally B; when a
    // crash fell between the manifest and checkpoint.json, lines (B, J] are already in part files: they
    // only advance the books (rows not emitted). Without usable books (no / old checkpoint) the books
    // rebuild from the retained journal and resync from a snapshot where that is not enough.
    let booksJ = -1;
    if (ck?.books && ck.journalSeq <= this.checkpointJ) {
      this.restoreDepth(ck.books);
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
          this.depthCk = this.depthBooks(); // the books as of checkpointJ: where a writer rebuild restarts them
          ckBooks = true;
        }
        if (this.ingest(json, recv, apply ? 'replay' : jseq > booksJ ? 'rebook' : 'seed')) {
          if (apply) replayed++;
          else seeded++;
        } else this.corruptJournalLine(jseq, line, apply);
      },
      (jseq, line) => this.corruptJournalLine(jseq, line, jseq > this.checkpointJ),
    );
    if (!ckBooks) this.depthCk = this.depthBooks();
    this.journal.open(Math.max(next, this.checkpointJ + 1));
    this.counters.replayed = replayed;
    if (replayed > 0 || seeded > 0)
      this.log(`recovered: ${replayed} journaled messages replayed into the dataset, ${seeded} used as dedup memory`);
    this.afterDepthReplay();
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
    this.connectAll();
    this.armTimers();
  }

  /**
   * A journal line that is not an accepted message (every line the recorder journals is one):
   * counted, logged, its bytes kept in _journal-corrupt/ (the journal itself is truncated later).
   */
  private corruptJournalLine(jseq: number, line: string, afterCheckpoint: boolean): void {
    const dir = path.join(this.out, JOURNAL_CORRUPT_DIR);
    const file = path.join(dir, `jseq-${String(jseq).padStart(16, '0')}.txt`);
    // a retained segment is read again at the next start: a line already kept was counted then
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === line) return;
    this.counters.journal_corrupt_lines++;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, line);
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
    await this.backfillNow();
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

  private connectAll(): void {
    const per = Math.max(1, this.o.symbolsPerConnection ?? 200);
    for (let i = 0; i < this.symbols.length; i += per) {
      const batch = this.symbols.slice(i, i + per);
      const names = batch.flatMap((s) => this.streams.map((st) => `${s.toLowerCase()}@${st}`));
      const conn = new StreamConnection({
        id: this.conns.length,
        url: `${this.endpoint}/stream?streams=${names.join('/')}`,
        clock: this.clock,
        random: this.random,
        wsFactory: this.o.wsFactory ?? defaultWsFactory,
        backoff: this.o.backoff ?? DEFAULT_BACKOFF,
        pingMs: this.cfg.wss_ping_interval_sec * 1000,
        silenceMs: this.cfg.silence_watchdog_sec * 1000,
        proactiveMs: this.cfg.proactive_reconnect_hours * 3_600_000,
        maxPayload: this.o.maxPayload ?? 1024 * 1024,
        onMessage: (text) => this.onFrame(text),
        onPing: (c) => {
          const data = c.pendingPing ?? Buffer.alloc(0);
          if (this.flushJournal()) c.pong(data);
        },
        onEvent: (ev, c) => this.onConnEvent(ev, c),
      });
      this.conns.push(conn);
      conn.start();
    }
  }

  private onConnEvent(ev: ConnEvent, c: StreamConnection): void {
    const k = this.counters;
    switch (ev.type) {
      case 'reconnect':
        k.reconnects++;
        this.log(`conn ${c.o.id}: reconnect #${ev.attempt} in ${ev.delayMs} ms`);
        break;
      case 'watchdog':
        k.watchdog_fires++;
        this.log(`conn ${c.o.id}: silent for ${ev.silentMs} ms, reconnecting`);
        break;
      case 'ping_timeout':
        k.ping_timeouts++;
        break;
      case 'proactive':
        k.proactive_reconnects++;
        this.log(`conn ${c.o.id}: proactive reconnect`);
        break;
      case 'oversize':
        k.oversize++;
        this.log(`conn ${c.o.id}: oversized frame refused (maxPayload)`);
        break;
      case 'error':
        this.log(`conn ${c.o.id}: ${ev.message}`);
        break;
      default:
        break;
    }
    for (const d of this.depth.values()) if (ev.type === 'close' && d.diffs) d.needSnap = true;
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
      this.checkGaps(grace);
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
    if (this.ingest(text, this.clock.now(), 'ws') && this.o.measureLatency) this.pendingT.push(t0);
    // bound the batch: ws may deliver thousands of buffered frames in one turn of the event loop
    if (this.journal.pendingLines >= 256) this.flushJournal();
  }

  private malformed(reason: string): void {
    const m = this.counters.malformed;
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
          tr = this.trades.get(tk) ?? null;
          if (!tr) this.trades.set(tk, (tr = new TradeIds()));
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
      subscribed: this.symMetrics.has(symbol),
      metrics: this.symMetrics.get(symbol) ?? null,
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
  private ingest(
    text: string,
    recvMs: number,
    mode: 'ws' | 'rest' | 'replay' | 'seed' | 'rebook' | 'rebuild',
  ): boolean {
    const live = mode === 'ws' || mode === 'rest';
    const k = this.counters;
    // depth diffs (the biggest frames) are scanned straight into numbers when in the strict Binance form
    let fast: ParsedDiff | null = null;
    if (this.diffStreams) {
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
          if (mode === 'replay' || mode === 'rebuild') this.applySnapshot(sym, recvMs, data);
          else if (mode === 'rebook') this.rebook(() => this.applySnapshot(sym, recvMs, data));
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
      if (fast !== null) this.applyDepth(si.symbol, type, d, fast, stream, recvMs, 'replay');
      else this.apply(si, d, stream, recvMs, 'replay');
      return true;
    }
    const ks = si.kind!;
    const tr = ks.tr;
    // journal lines are unique by construction: replay / seed only rebuild the dedup memory
    if (live && (this.dedup.has(ks.slot, id) || tr?.has(id))) {
      this.counters.dedup_hits++;
      return false;
    }
    this.dedup.add(ks.slot, id);
    if (tr?.add(id, this.clock.now()) && mode !== 'seed' && mode !== 'rebook') this.counters.gaps++;
    if (!(id <= ks.lastId)) ks.lastId = id;
    if (mode === 'rebook' && (type === 'depth_diff' || type === 'depth_partial'))
      this.rebook(() => this.applyDepth(si.symbol, type, d, fast, stream, recvMs, 'replay'));
    if (mode === 'seed' || mode === 'rebook') return true;
    if (live) {
      // (a fast-parsed frame has no whitespace at all)
      if (fast === null && text.indexOf('\n') >= 0) text = JSON.stringify(msg);
      this.journal.append(recvMs, text);
      this.scheduleFlush();
    }
    if (fast !== null) {
      const m = this.counters.messages;
      if (mode !== 'replay') m.depth_diff = (m.depth_diff ?? 0) + 1;
      this.applyDepth(si.symbol, type, d, fast, stream, recvMs, mode);
    } else this.apply(si, d, stream, recvMs, mode);
    return true;
  }

  /** A stream message the mapping rejected before dedup (symbol, id): counted as the importer counts it. */
  private rejected(live: boolean, type: StreamType, reason: string): false {
    if (live) {
      const k = this.counters;
      k.messages[type] = (k.messages[type] ?? 0) + 1;
      k.bad_rows[reason] = (k.bad_rows[reason] ?? 0) + 1;
    }
    return false;
  }

  private apply(si: StreamInfo, d: Json, stream: string, recvMs: number, mode: 'ws' | 'rest' | 'replay'): void {
    const k = this.counters;
    const type = si.type!;
    const sym = si.symbol;
    // messages_total / bad_rows_total count what this process accepted from the exchange; a journal
    // replay (restart recovery, write-retry rebuild) re-applies messages already counted
    const counted = mode !== 'replay';
    if (counted) k.messages[type] = (k.messages[type] ?? 0) + 1;
    const c = counted ? k : this.replayCounters;
    const sink = counted && this.teeSink ? this.teeSink : this.writer;
    if (type === 'trade' || type === 'aggTrade') {
      if (!mapTrade(sink, c, sym, d, recvMs, type === 'aggTrade')) return;
      const ts = lastMapped.ts;
      const qty = lastMapped.qty;
      this.coverage.onTrade(sym, recvMs, ts);
      if (mode === 'ws') si.metrics?.onTrade(recvMs, lastMapped.event, ts, d.m === true ? -qty : qty);
      return;
    }
    if (type === 'bookTicker') {
      if (!mapQuote(sink, c, sym, d, recvMs)) return;
      this.coverage.onMid(sym, lastMapped.ts, (lastMapped.bid + lastMapped.ask) / 2);
      return;
    }
    this.applyDepth(sym, type, d, null, stream, recvMs, mode);
  }

  /** Run `fn` with depth rows discarded: journal lines whose rows are already in part files only advance the books. */
  private rebook(fn: () => void): void {
    this.depthEmit = false;
    try {
      fn();
    } finally {
      this.depthEmit = true;
    }
  }

  /** A depth message into its symbol's importer: `fast` when scanned by the fast path, else the parsed `d`. */
  private applyDepth(
    sym: string,
    type: StreamType,
    d: Json,
    fast: ParsedDiff | null,
    stream: string,
    recvMs: number,
    mode: 'ws' | 'rest' | 'replay',
  ): void {
    const k = this.counters;
    const st = this.depthState(sym);
    if (type === 'depth_diff') st.diffs = true;
    // the depth mapping's rejections count with the recorder's (once: not again on a journal replay)
    st.imp.counters.bad_rows = mode === 'replay' ? this.replayCounters.bad_rows : k.bad_rows;
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

  private depthState(sym: string): DepthState {
    let st = this.depth.get(sym);
    if (!st) {
      st = {
        imp: new WsCaptureImporter(this.depthSink, { depthLevels: this.cfg.depth_levels }),
        diffs: false,
        needSnap: true,
        inFlight: false,
        breaks: 0,
      };
      this.depth.set(sym, st);
    }
    return st;
  }

  private applySnapshot(sym: string, recvMs: number, data: unknown, live = false): void {
    const st = this.depthState(sym);
    st.imp.counters.bad_rows = live ? this.counters.bad_rows : this.replayCounters.bad_rows;
    st.imp.handleMessage(data, recvMs);
    st.needSnap = false;
    st.breaks = st.imp.counters.depth_seq_breaks;
  }

  private requestSnapshot(sym: string, st: DepthState): void {
    if (st.inFlight || this.stopped) return;
    st.inFlight = true;
    this.counters.depth_snapshots++;
    const p = this.fetchJson(`${this.rest}/api/v3/depth?symbol=${sym}&limit=1000`)
      .then((data) => {
        const d = data as { lastUpdateId?: unknown; bids?: unknown; asks?: unknown };
        if (!d || typeof d.lastUpdateId !== 'number' || !Array.isArray(d.bids) || !Array.isArray(d.asks))
          throw new Error('snapshot without lastUpdateId/bids/asks');
        if (this.stopped) return;
        const recv = this.clock.now();
        const text = JSON.stringify({
          stream: `${sym.toLowerCase()}@depthSnapshot`,
          data: { lastUpdateId: d.lastUpdateId, bids: d.bids, asks: d.asks },
        });
        this.journal.append(recv, text);
        this.scheduleFlush();
        this.applySnapshot(sym, recv, { lastUpdateId: d.lastUpdateId, bids: d.bids, asks: d.asks }, true);
      })
      .catch((e) => this.log(`${sym}: depth snapshot failed: ${describeError(e)}`))
      .finally(() => {
        st.inFlight = false;
      });
    this.track(p);
  }

  // ------------------------------------------------------------- gaps

  private checkGaps(graceMs: number): void {
    const now = this.clock.now();
    for (const [key, tr] of this.trades) {
      if (tr.above.size === 0 || tr.inFlight) continue;
      if (!(now - tr.gapSince >= graceMs) && tr.gapSince !== -Infinity) continue;
      if (tr.attempts >= 5) {
        const lost = tr.skipGap();
        this.counters.trade_ids_lost += lost;
        this.log(`${key}: ${lost} trade ids could not be backfilled; declared lost`);
        continue;
      }
      this.backfill(key, tr);
    }
  }

  private backfill(key: string, tr: TradeIds): void {
    const [sym, t] = key.split('|');
    const agg = t === 'a';
    const from = tr.c + 1;
    // one request covers every open gap up to 1000 ids ahead; ids already held are dropped by dedup
    const want = Math.min(1000, tr.maxAbove() - from);
    if (!(want > 0)) return;
    tr.inFlight = true;
    tr.attempts++;
    this.counters.backfill_requests++;
    const url = `${this.rest}/api/v3/${agg ? 'aggTrades' : 'historicalTrades'}?symbol=${sym}&fromId=${from}&limit=${want}`;
    const lower = sym.toLowerCase();
    const p = this.fetchJson(url)
      .then((rows) => {
        if (!Array.isArray(rows)) throw new Error('backfill answer is not an array');
        const before = tr.c;
        for (const r of rows as Record<string, unknown>[]) {
          const data = agg
            ? { e: 'aggTrade', E: r.T, s: sym, a: r.a, p: r.p, q: r.q, f: r.f, l: r.l, T: r.T, m: r.m, M: r.M }
            : {
                e: 'trade',
                E: r.time,
                s: sym,
                t: r.id,
                p: r.price,
                q: r.qty,
                T: r.time,
                m: r.isBuyerMaker,
                M: r.isBestMatch,
              };
          if (
            this.ingest(
              JSON.stringify({ stream: `${lower}@${agg ? 'aggTrade' : 'trade'}`, data }),
              this.clock.now(),
              'rest',
            )
          )
            this.counters.backfilled++;
        }
        if (tr.c > before) tr.attempts = 0;
        this.log(`${sym}: backfill from id ${from}: ${rows.length} trades received, contiguous up to ${tr.c}`);
      })
      .catch((e) => {
        this.counters.backfill_errors++;
        this.log(`${sym}: trade backfill failed: ${describeError(e)}`);
      })
      .finally(() => {
        tr.inFlight = false;
      });
    this.track(p);
  }

  /** Backfill every open gap now (used before a clean stop and by tests). */
  async backfillNow(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      let open = false;
      const before = [...this.trades.values()].map((t) => t.c);
      for (const [key, tr] of this.trades) {
        if (tr.above.size > 0 && !tr.inFlight) {
          open = true;
          this.backfill(key, tr);
        }
      }
      if (!open && this.inflight.size === 0) return;
      await Promise.allSettled([...this.inflight]);
      const after = [...this.trades.values()].map((t) => t.c);
      if (before.every((c, i) => c === after[i])) return; // no progress: the timer path retries / gives up
    }
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

  /** Flush everything accepted so far into part files + manifest + checkpoint.json (serialized). */
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
    if (J <= this.checkpointJ && this.writer.pendingRows === 0 && losses === this.manifestLosses) return;
    // the books now are the books after every line <= J (taken before the first await)
    let books = this.depthBooks();
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
            trades_dropped_ids: this.droppedIds(),
          },
        };
        this.writer.writeManifest();
        this.manifestLosses = losses;
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
        books = this.depthBooks();
      }
    }
    this.flushJournal();
    const ck: CheckpointFile = {
      version: 2,
      journal_seq: J,
      next_recv_seq: this.writer.nextSeq,
      written_at_ms: this.clock.now(),
      trade_ids: Object.fromEntries([...this.trades].map(([k, t]) => [k, t.toJSON()])),
      last_ids: this.lastIdsJson(),
      depth_books: books,
    };
    const file = path.join(this.out, CHECKPOINT_FILE);
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, `${JSON.stringify(ck)}\n`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    this.checkpointJ = J;
    this.depthCk = books;
    this.journal.truncate(J, this.cfg.dedup_lru);
    this.counters.checkpoints++;
    this.lastFlush = (performance.now() - t0) / 1000;
  }

  /** Highest id seen per `<SYM>|<type>` (kinds seen in this run, plus those loaded from the last checkpoint). */
  private lastIdsJson(): Record<string, number> {
    for (const ks of this.kinds.values()) if (ks.lastId >= 0) this.lastIds.set(ks.key, ks.lastId);
    return Object.fromEntries(this.lastIds);
  }

  /** Every depth book, per recorded symbol (only symbols with a diff stream have books). */
  private depthBooks(): Record<string, DepthCheckpoint> {
    const out: Record<string, DepthCheckpoint> = {};
    for (const [sym, st] of this.depth) {
      const books = st.imp.bookStates();
      if (st.diffs || Object.keys(books).length > 0) out[sym] = { diffs: st.diffs, books };
    }
    return out;
  }

  /** Fresh depth state from checkpointed books (replaces `this.depth`). */
  private restoreDepth(ck: Record<string, DepthCheckpoint>): void {
    this.depth = new Map();
    for (const [sym, d] of Object.entries(ck)) {
      const st = this.depthState(sym);
      st.diffs = d.diffs;
      for (const [bsym, b] of Object.entries(d.books)) st.imp.restoreBook(bsym, b);
    }
  }

  /**
   * After a journal replay: a diff book still waiting for a snapshot fetches one at the next live diff; a
   * synced book (or one holding a snapshot, waiting for the straddling diff) just continues, and a live diff
   * that does not follow it is a counted sequence break -> resync.
   */
  private afterDepthReplay(): void {
    for (const [sym, d] of this.depth) {
      d.breaks = d.imp.counters.depth_seq_breaks;
      const state = d.imp.bookSyncState(sym);
      d.needSnap = d.diffs && (state === null || state === 'waiting');
    }
  }

  /** journal_seq recorded in the manifest by the last completed checkpoint (-1 when none); loads the loss totals. */
  private manifestJseq(): number {
    if (!isDataset(this.out)) return -1;
    const m = readManifest(this.out);
    const r = (m.stats as { recorder?: Record<string, unknown> }).recorder;
    for (const key of LOSS_KEYS) {
      const v = r?.[key];
      this.lossBase[key] = typeof v === 'number' && Number.isFinite(v) ? v : 0;
    }
    const ids = r?.trades_dropped_ids;
    if (ids && typeof ids === 'object')
      for (const [sym, list] of Object.entries(ids as Record<string, unknown>))
        if (Array.isArray(list)) this.droppedBase[sym] = list.filter((x): x is number => Number.isSafeInteger(x));
    return typeof r?.journal_seq === 'number' ? r.journal_seq : -1;
  }

  /** Ids of trades dropped on purpose (non-MARKET) over the whole recording, per symbol, ascending, bounded. */
  private droppedIds(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    const syms = new Set([
      ...Object.keys(this.droppedBase),
      ...Object.keys(this.counters.trades_dropped_ids),
      ...Object.keys(this.replayCounters.trades_dropped_ids),
    ]);
    for (const sym of [...syms].sort()) {
      const all = new Set([
        ...(this.droppedBase[sym] ?? []),
        ...(this.counters.trades_dropped_ids[sym] ?? []),
        ...(this.replayCounters.trades_dropped_ids[sym] ?? []),
      ]);
      out[sym] = [...all].sort((a, b) => a - b).slice(0, MAX_DROPPED_IDS);
    }
    return out;
  }

  /** Losses over the whole recording (earlier runs from the manifest + this run), for `stats.recorder`. */
  lossTotals(): Record<LossKey, number> {
    const o = {} as Record<LossKey, number>;
    for (const key of LOSS_KEYS) o[key] = this.lossBase[key] + this.counters[key];
    return o;
  }

  /** Load checkpoint.json (trade ids, last ids); returns its journal_seq and depth books (null books: none usable). */
  private loadCheckpoint(): { journalSeq: number; books: Record<string, DepthCheckpoint> | null } | null {
    const file = path.join(this.out, CHECKPOINT_FILE);
    if (!fs.existsSync(file)) return null;
    let ck: CheckpointFile;
    try {
      ck = JSON.parse(fs.readFileSync(file, 'utf8')) as CheckpointFile;
    } catch (e) {
      throw new FlowlabError(`checkpoint '${file}' is unreadable: ${describeError(e)}`);
    }
    for (const [k, v] of Object.entries(ck.trade_ids ?? {})) this.trades.set(k, TradeIds.from(v));
    for (const [k, v] of Object.entries(ck.last_ids ?? {})) this.lastIds.set(k, v);
    const journalSeq = typeof ck.journal_seq === 'number' ? ck.journal_seq : -1;
    if (ck.depth_books === undefined || ck.depth_books === null || typeof ck.depth_books !== 'object')
      return { journalSeq, books: null };
    for (const [sym, d] of Object.entries(ck.depth_books)) {
      const bad =
        d === null || typeof d !== 'object' || typeof d.books !== 'object' || d.books === null
          ? 'not an object'
          : Object.values(d.books)
              .map(checkBookStateJson)
              .find((r) => r !== null);
      if (bad) {
        this.log(`checkpoint: depth book of ${sym} unusable (${bad}); depth resyncs from a snapshot`);
        return { journalSeq, books: null };
      }
    }
    return { journalSeq, books: ck.depth_books };
  }

  private newWriter(): DatasetWriter {
    return new DatasetWriter(this.out, {
      rotateSec: this.cfg.parquet_rotate_sec,
      depthLevels: this.cfg.depth_levels,
      append: true,
      source: { type: 'recorder', endpoint: this.endpoint, streams: this.streams, symbols: this.symbols },
      market: binanceMarketFromEndpoint(this.endpoint),
      beforePart: (rel) => this.notePart(rel),
    });
  }

  /**
   * `--out` must be new, empty, or a recording of the same source (endpoint,
   * streams, symbols): record never appends to an imported dataset, never
   * writes into a folder holding something else, never mixes two sources.
   */
  private checkOut(): void {
    const out = this.out;
    if (!fs.existsSync(out)) return;
    if (!fs.statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' exists and is not a directory`);
    if (fs.readdirSync(out).length === 0) return;
    if (!isDataset(out)) {
      if (fs.existsSync(path.join(out, JOURNAL_DIR)) || fs.existsSync(path.join(out, CHECKPOINT_FILE))) return;
      throw new UsageError(
        `--out: '${out}' is not empty and holds no recording (no ${MANIFEST_FILE}, ${JOURNAL_DIR}/ or ${CHECKPOINT_FILE}); record writes only into a new folder or resumes its own recording: choose another folder`,
      );
    }
    const src = (readManifest(out).source ?? {}) as {
      type?: unknown;
      endpoint?: unknown;
      streams?: unknown;
      symbols?: unknown;
    };
    if (src.type !== 'recorder')
      throw new UsageError(
        `--out: '${out}' holds a dataset of source.type '${String(src.type)}' (manifest.json); record appends only to a recording of the same source: choose a new folder`,
      );
    const same = (a: unknown, b: readonly string[]) =>
      Array.isArray(a) && a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
    const diff =
      src.endpoint !== this.endpoint
        ? `endpoint '${String(src.endpoint)}' (now '${this.endpoint}')`
        : !same(src.streams, this.streams)
          ? `streams ${JSON.stringify(src.streams)} (now ${JSON.stringify(this.streams)})`
          : !same(src.symbols, this.symbols)
            ? `symbols ${JSON.stringify(src.symbols)} (now ${JSON.stringify(this.symbols)})`
            : null;
    if (diff !== null)
      throw new UsageError(
        `--out: '${out}' is a recording of another source: ${diff}; record resumes only the same endpoint, streams and symbols: choose a new folder`,
      );
  }

  /** Note a part file about to be written (fsynced before the write, so a crash after it leaves it named). */
  private notePart(rel: string): void {
    const fd = fs.openSync(path.join(this.out, PARTS_PENDING_FILE), 'a');
    try {
      fs.writeSync(fd, `${rel}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Part files (and their temp files) this recorder wrote (named in
   * _parts-pending.txt) that the manifest does not list: leftovers of an
   * interrupted flush, deleted. Any other file is left untouched (reported).
   */
  private removeOrphans(): void {
    const listed = new Set<string>();
    if (isDataset(this.out)) for (const f of readManifest(this.out).files) listed.add(f.path);
    const pendingFile = path.join(this.out, PARTS_PENDING_FILE);
    const pending = new Set(
      fs.existsSync(pendingFile)
        ? fs
            .readFileSync(pendingFile, 'utf8')
            .split('\n')
            .filter((l) => l.length > 0)
        : [],
    );
    let removed = 0;
    const foreign: string[] = [];
    for (const d of fs.readdirSync(this.out)) {
      if (!d.startsWith('date=')) continue;
      const entries = fs.readdirSync(path.join(this.out, d), { recursive: true }) as string[];
      for (const rel of entries) {
        const full = path.join(this.out, d, rel);
        const relPath = `${d}/${rel.split(path.sep).join('/')}`;
        if (listed.has(relPath) || !fs.statSync(full).isFile()) continue;
        // the part itself, or the writer's temp file of it (`<part>.tmp-<pid>`)
        const base = relPath.replace(/\.tmp-\d+$/, '');
        if (pending.has(base)) {
          fs.rmSync(full, { force: true });
          removed++;
        } else foreign.push(relPath);
      }
    }
    if (removed > 0) this.log(`removed ${removed} part files of an interrupted flush (named in ${PARTS_PENDING_FILE})`);
    if (foreign.length > 0)
      this.log(
        `${foreign.length} files under date=* are not in manifest.json and were not written by this recorder; left untouched (e.g. ${foreign[0]})`,
      );
    fs.rmSync(pendingFile, { force: true });
  }

  /** After a failed write: a fresh writer from the manifest, fed every journal line after the last checkpoint. */
  private rebuildWriter(): void {
    this.flushJournal();
    this.removeOrphans();
    this.writer = this.newWriter();
    this.restoreDepth(this.depthCk);
    const J = this.checkpointJ;
    replayJournal(this.journal.dir, (jseq, recv, json) => {
      if (jseq > J) this.ingest(json, recv, 'rebuild');
    });
    this.afterDepthReplay();
  }

  // ------------------------------------------------------------- hourly

  private async writeHourly(final: boolean): Promise<void> {
    const dir = path.join(this.out, HOURLY_DIR);
    const nowHour = Math.floor(this.clock.now() / HOUR_MS);
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
