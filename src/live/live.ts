/**
 * `flowlab live`: record and run the same pipeline and canary live.
 *
 *   Recorder (journaled, crash-safe) -> raw dataset <out>/<tag>/raw
 *            \-> tap: every accepted trade / quote with its recv_seq
 *                -> LiveBatcher (columnar arrival blocks, ~200 ms)
 *                -> Pipeline.push (the same call replay makes) + CanaryEngine
 *                -> derived tables <out>/<tag>/data, canary_report/ at the end
 *
 * Parity with replay: the tap sees ticks in writer call order with the
 * writer's recv_seq, i.e. in the arrival order `(recv_ts_ms, recv_seq)` a
 * replay of the recorded dataset reads, so the sequencer, calculators, output
 * cut points and gate decisions are the same. The run's manifest lists the
 * recorded part files as inputs, so `flowlab verify` re-checks a live run
 * against a replay of what it recorded. The pipeline state is not journaled:
 * a live run starts fresh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Recorder, type LiveTap, type RecorderOptions } from '../../recorder/recorder.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { calcParamsFromConfig } from '../pipeline/params.js';
import { CanaryEngine } from '../canary/engine.js';
import { stableChain, writeCanaryReport, type CanaryRun } from '../canary/canary.js';
import { finalizeRun, WriteBehind, DERIVED_BLOCK_ROWS, type OutputFile } from '../replay/replay.js';
import { Dataset, type ArrivalBlock } from '../dataset/reader.js';
import { GrowableF64, GrowableI32, GrowableI8, GrowableU8 } from '../core/growable.js';
import type { QuoteBatch, TickBatch, TradeBatch } from '../core/types.js';
import type { LoadedConfig } from '../config/load.js';
import { FlowlabError } from '../core/errors.js';
import { safeJoin, validateTag } from '../core/validate.js';
import { LIVE_RAW_DIR, prepareRunFolder } from '../replay/run-folder.js';

/** Replay batch ids must stay below 2^20 (src/pipeline); live ids wrap, long after their ticks were released. */
const ID_SPACE = 2 ** 20;

interface Stream {
  readonly index: number;
  readonly symbol: string;
  readonly kind: 'trades' | 'quotes';
  readonly cols: GrowableF64[];
  readonly side: GrowableI8 | null;
  rows: number;
}

const TRADE_COLS = [
  'recv_ts_ms',
  'recv_seq',
  'ts_ms',
  'event_ts_ms',
  'agg_trade_id',
  'price',
  'qty',
  'first_trade_id',
  'last_trade_id',
] as const;
const QUOTE_COLS = ['recv_ts_ms', 'recv_seq', 'ts_ms', 'update_id', 'bid_px', 'bid_qty', 'ask_px', 'ask_qty'] as const;

/** Collects tapped ticks into columnar arrival blocks (no per-tick objects). */
export class LiveBatcher implements LiveTap {
  private readonly streams: Stream[] = [];
  private readonly index = new Map<string, number>();
  private readonly src = new GrowableU8(4096);
  private readonly row = new GrowableI32(4096);
  private nextId = 0;
  ticks = 0;

  private stream(symbol: string, kind: 'trades' | 'quotes'): Stream {
    const key = `${symbol}\u0000${kind}`;
    let k = this.index.get(key);
    if (k === undefined) {
      if (this.streams.length >= 255) throw new FlowlabError('live: more than 255 streams');
      k = this.streams.length;
      const names = kind === 'trades' ? TRADE_COLS : QUOTE_COLS;
      this.streams.push({
        index: k,
        symbol,
        kind,
        cols: names.map(() => new GrowableF64(1024)),
        side: kind === 'trades' ? new GrowableI8(1024) : null,
        rows: 0,
      });
      this.index.set(key, k);
    }
    return this.streams[k];
  }

  private arrive(st: Stream): void {
    this.src.push(st.index);
    this.row.push(st.rows++);
    this.ticks++;
  }

  trade(
    recvSeq: number,
    symbol: string,
    recv: number,
    ts: number,
    ev: number,
    id: number,
    price: number,
    qty: number,
    side: number,
    first: number,
    last: number,
  ): void {
    const st = this.stream(symbol, 'trades');
    const c = st.cols;
    c[0].push(recv);
    c[1].push(recvSeq);
    c[2].push(ts);
    c[3].push(ev);
    c[4].push(id);
    c[5].push(price);
    c[6].push(qty);
    c[7].push(first);
    c[8].push(last);
    st.side!.push(side);
    this.arrive(st);
  }

  quote(
    recvSeq: number,
    symbol: string,
    recv: number,
    ts: number,
    updateId: number,
    bp: number,
    bq: number,
    ap: number,
    aq: number,
  ): void {
    const st = this.stream(symbol, 'quotes');
    const c = st.cols;
    c[0].push(recv);
    c[1].push(recvSeq);
    c[2].push(ts);
    c[3].push(updateId);
    c[4].push(bp);
    c[5].push(bq);
    c[6].push(ap);
    c[7].push(aq);
    this.arrive(st);
  }

  /** The arrivals since the last flush as one block (null when there were none). */
  flush(): ArrivalBlock | null {
    const n = this.src.length;
    if (n === 0) return null;
    const batches: TickBatch[] = [];
    const batchIds: number[] = [];
    for (const st of this.streams) {
      const v = st.cols.map((g) => g.view().slice());
      if (st.kind === 'trades') {
        const b: TradeBatch = {
          kind: 'trades',
          symbol: st.symbol,
          length: st.rows,
          recv_ts_ms: v[0],
          recv_seq: v[1],
          ts_ms: v[2],
          event_ts_ms: v[3],
          agg_trade_id: v[4],
          price: v[5],
          qty: v[6],
          is_buyer_maker: st.side!.view().slice(),
          first_trade_id: v[7],
          last_trade_id: v[8],
        };
        batches.push(b);
      } else {
        const b: QuoteBatch = {
          kind: 'quotes',
          symbol: st.symbol,
          length: st.rows,
          recv_ts_ms: v[0],
          recv_seq: v[1],
          ts_ms: v[2],
          update_id: v[3],
          bid_px: v[4],
          bid_qty: v[5],
          ask_px: v[6],
          ask_qty: v[7],
        };
        batches.push(b);
      }
      if (st.rows > 0) {
        batchIds.push(this.nextId);
        this.nextId = (this.nextId + 1) % ID_SPACE;
      } else batchIds.push(-1);
      for (const g of st.cols) g.clear();
      st.side?.clear();
      st.rows = 0;
    }
    const block: ArrivalBlock = { n, batches, batchIds, src: this.src.view().slice(), row: this.row.view().slice() };
    this.src.clear();
    this.row.clear();
    return block;
  }
}

export interface LiveRequest {
  readonly symbols: readonly string[];
  readonly config: LoadedConfig;
  readonly configPath: string;
  readonly endpoint: string;
  readonly restEndpoint?: string;
  readonly out: string;
  readonly runTag: string;
  /** Stop after this long (ms of wall time); otherwise when `stop` resolves. */
  readonly durationMs?: number;
  /** Resolves when the run should end (SIGINT, or a test's condition). */
  readonly stop?: Promise<void>;
  /** Pipeline feed cadence, ms (default 200). */
  readonly flushMs?: number;
  readonly overwrite?: boolean;
  /** Extra recorder options (streams, seed, metrics port, ...). */
  readonly recorder?: Partial<RecorderOptions>;
  readonly onLog?: (line: string) => void;
}

export async function runLive(req: LiveRequest): Promise<CanaryRun> {
  validateTag(req.runTag);
  const runDir = safeJoin(req.out, req.runTag);
  prepareRunFolder(runDir, { overwrite: req.overwrite, inputs: req.config.files, what: 'live run' });
  const rawDir = path.join(runDir, LIVE_RAW_DIR);
  const dataDir = path.join(runDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const cfg = req.config.config;
  const engine = new CanaryEngine(cfg, stableChain(req.config));
  const pipeline = new Pipeline(calcParamsFromConfig(cfg), { mergeTolMs: cfg.labels.merge_tol_ms, observer: engine });
  const batcher = new LiveBatcher();
  const outputs: OutputFile[] = [];
  const writer = new WriteBehind(dataDir, outputs);
  // feeds are serialised: each waits for the previous one's writes to be queued
  let feeding: Promise<void> = Promise.resolve();
  const feed = (final: boolean): Promise<void> => {
    feeding = feeding.then(() => {
      const block = batcher.flush();
      if (block) pipeline.push(block);
      if (final) pipeline.finish();
      return writer.add(pipeline.take(DERIVED_BLOCK_ROWS));
    });
    return feeding;
  };

  const rec = new Recorder({
    symbols: req.symbols,
    out: rawDir,
    endpoint: req.endpoint,
    restEndpoint: req.restEndpoint,
    config: cfg.recorder,
    metricsPort: null,
    hourlyDq: false,
    onLog: req.onLog,
    ...req.recorder,
    tap: batcher,
  });
  await rec.start();
  let feedError: unknown = null;
  const timer = setInterval(() => feed(false).catch((e) => (feedError ??= e)), req.flushMs ?? 200);
  try {
    await new Promise<void>((resolve) => {
      if (req.durationMs !== undefined) setTimeout(resolve, req.durationMs);
      req.stop?.then(resolve, resolve);
    });
  } finally {
    clearInterval(timer);
    await rec.stop();
  }
  if (feedError) throw feedError;
  await feed(true);
  await writer.done();
  const ds = new Dataset(rawDir);
  const symbols = req.symbols.filter((s) => ds.manifest.symbols.includes(s));
  if (symbols.length === 0)
    throw new FlowlabError(`live: nothing was recorded from ${req.endpoint} for ${req.symbols.join(',')}`);
  const inputs = ds.select({ symbols, kinds: ['trades', 'quotes'] });
  const manifest = await finalizeRun({
    runDir,
    runTag: req.runTag,
    datasetRoot: ds.root,
    inputs,
    selection: { symbols, from_ms: null, to_ms: null },
    config: req.config,
    blockRows: DERIVED_BLOCK_ROWS,
    ticks: batcher.ticks,
    pipeline,
    outputs,
  });
  return writeCanaryReport({
    rep: { runDir, manifest, ticks: batcher.ticks },
    engine,
    config: req.config,
    configPath: req.configPath,
    runTag: req.runTag,
  });
}
