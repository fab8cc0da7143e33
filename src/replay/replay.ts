/**
 * Replay: a raw dataset through the pipeline into the five derived tables
 * (ARCHITECTURE §3), plus `run_tag.txt` and `manifest.json`:
 *
 *   <out>/<run_tag>/data/date=YYYY-MM-DD/symbol=<SYM>/kind=<prices|ofi|cvd|fusion|events>/part-<row offset>.parquet
 *
 * Part files hold fixed row ranges of each (symbol, table) stream (split at UTC
 * date boundaries) and are named by the stream offset of their first row, so
 * the outputs do not depend on how the input was partitioned or batched.
 * The manifest lists inputs (sha256), the canonical config and fingerprint,
 * the code hash and every output (sha256): enough for `flowlab verify`.
 *
 * The only clock read here is for `--speed <factor>` pacing (and the progress
 * bar on a terminal); neither influences the output bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Dataset, type ReadOptions } from '../dataset/reader.js';
import { arrivalBlocks } from '../pipeline/arrival.js';
import { summarize, type PartFileInfo } from '../dataset/manifest.js';
import type { MarketInfo } from '../core/market.js';
import { Pipeline, type DerivedBlock, type PipelineCounters, type PipelineObserver } from '../pipeline/pipeline.js';
import { drive, type BlockWriter } from '../pipeline/run.js';
/** The writer interface lives with the run driver; re-exported for the writers' users. */
export type { BlockWriter } from '../pipeline/run.js';
import type { ArrivalBlock } from '../pipeline/arrival.js';
import { checkTables, DERIVED_KINDS, type DerivedKind } from '../pipeline/tables.js';
import { calcParamsFromConfig } from '../pipeline/params.js';
import { sha256, canonicalJson } from '../core/hash.js';
import { FlowlabError } from '../core/errors.js';
import { progressBar } from '../core/progress.js';
import { validateTag, safeJoin } from '../core/validate.js';
import { markComplete, writeFileAtomic } from '../core/atomic.js';
import { discardRunFolder, prepareRunFolder, REPLAY_MANIFEST, RUN_TAG_FILE } from './run-folder.js';
import type { LoadedConfig } from '../config/load.js';
import { codeHash, FLOWLAB_VERSION } from './code.js';
import { writeBlock, type OutputFile } from './write-block.js';
import { arrivalBlocksAhead } from '../pipeline/arrival-ahead.js';
import { startWorker, toError, workerDied, type ErrorMessage } from '../io/workers.js';
import type { Worker } from 'node:worker_threads';
import { writeRunSlices } from '../dq/harvest-run.js';
import { INSUFFICIENT_COVERAGE } from '../dq/harvest.js';
import {
  planShards,
  resolveThreads,
  runShards,
  shardObserver,
  type ObservedRecord,
  type ShardObserverSpec,
} from './shards.js';

export { writeBlock, type OutputFile } from './write-block.js';

export { REPLAY_MANIFEST, RUN_TAG_FILE } from './run-folder.js';
/** Rows per output part (per symbol and table; the events table uses `eventBlockRows` of this). */
export const DERIVED_BLOCK_ROWS = 65_536;

export interface ReplayRequest {
  readonly data: string;
  readonly config: LoadedConfig;
  readonly out: string;
  readonly runTag: string;
  readonly symbols?: readonly string[];
  readonly fromMs?: number;
  readonly toMs?: number;
  /** 'max' (default) or a real-time multiple (10 = ten times faster than real time). */
  readonly speed?: number | 'max';
  /** Show a progress bar (default: when stderr is a terminal). */
  readonly progress?: boolean;
  /** Rows per output part; tests use small values to exercise part cutting. */
  readonly blockRows?: number;
  /** Replace an existing run folder (default false: refuse); only a flowlab run folder is ever replaced. */
  readonly overwrite?: boolean;
  /**
   * Leave the folder marked incomplete after the manifest is written: the caller
   * (the canary) adds files and calls markComplete itself.
   */
  readonly keepIncomplete?: boolean;
  /** Online consumer of samples and quotes, on this thread (runs the replay on one thread: `verify`'s canary re-run). */
  readonly observer?: PipelineObserver;
  /**
   * An observer built in every symbol shard from a module, on the shard's
   * thread (the canary's engines, src/canary/shards.ts): each shard's record
   * comes back in `ReplayResult.observed`. Unlike `observer`, it lets the run
   * use several threads.
   */
  readonly shardObserver?: ShardObserverSpec;
  /**
   * Where reading and Parquet writing run: 'workers' (worker threads beside the
   * pipeline, per shard), 'inline' (the pipeline's thread) or 'auto' (default:
   * workers from IO_WORKERS_MIN_ROWS selected rows on, where they pay for
   * their start-up, when the run is one shard; inline in each of several
   * shards). The output bytes are the same either way.
   */
  readonly io?: 'auto' | 'inline' | 'workers';
  /** Derived tables to write (default all five); the ones written are byte-identical to a full run's. */
  readonly tables?: readonly DerivedKind[];
  /**
   * Symbol shards run in parallel, each read -> sequence -> calculators -> write
   * on a thread of its own (src/replay/shards.ts); 'auto' (default) runs
   * AUTO_THREADS shards from AUTO_MIN_ROWS selected input rows on, else one.
   * The outputs, manifest and run_tag.txt are byte-identical for every value.
   * A run with an `observer` or paced `speed` runs on one thread.
   */
  readonly threads?: number | 'auto';
  /** Called with the shard workers once they are started (tests use it to kill one). */
  readonly onShardWorkers?: (workers: readonly Worker[]) => void;
}

/**
 * Rows per input batch (per symbol and kind). Each arrival block spans about
 * the time of the shortest stream's batch, and derived rows pile up between
 * two take() calls: 16384 keeps both the input batches and the derived columns'
 * growth past a part's rows small (65536 made peak RSS ~15% higher).
 */
export const REPLAY_BATCH_ROWS = 16_384;

/** Selected input rows from which `io: 'auto'` reads and writes on worker threads. */
export const IO_WORKERS_MIN_ROWS = 200_000;

export interface ReplayManifest {
  readonly flowlab_version: string;
  readonly code_sha256: string;
  readonly run_tag: string;
  /** The input dataset; `markets`: venue and market kind of each selected symbol, from its parts. */
  readonly dataset: {
    readonly path: string;
    readonly files_sha256: string;
    readonly markets: Record<string, MarketInfo>;
  };
  readonly selection: { readonly symbols: string[]; readonly from_ms: number | null; readonly to_ms: number | null };
  readonly inputs: { readonly path: string; readonly sha256: string; readonly rows: number }[];
  /** sha256 of run_tag.txt as written with this manifest (verify checks it). */
  readonly run_tag_sha256?: string;
  readonly config_fingerprint: string;
  readonly config_version: string;
  readonly config: unknown;
  readonly block_rows: number;
  /** Derived tables written (absent in runs from before `--tables`: all five). */
  readonly tables?: readonly DerivedKind[];
  readonly counters: Record<string, number>;
  readonly symbols: Record<string, Record<string, number | string>>;
  readonly outputs: OutputFile[];
  /**
   * The run's slices manifests (`slices/`, src/dq/harvest-run.ts) with sha256,
   * and the seed's 2x2 coverage gate over the whole run.
   */
  readonly slices?: {
    readonly files: { readonly path: string; readonly sha256: string }[];
    readonly scene_coverage_miss: 0 | 1;
    readonly tags: string[];
    readonly failing: string[];
    readonly thresholds_fingerprint: string;
  };
}

export interface ReplayResult {
  readonly runDir: string;
  readonly manifest: ReplayManifest;
  readonly ticks: number;
  /** With `shardObserver`: each shard's record, in shard order (shard i holds `planShards`' i-th symbols). */
  readonly observed?: readonly unknown[];
}

/**
 * Writes derived blocks in the background while the pipeline keeps computing,
 * at most `maxInFlight` writes at a time (memory stays bounded); the first
 * failure is rethrown by the next `add` or by `done`. Output bytes do not
 * depend on write order (outputs are sorted when the manifest is written).
 * One write at a time by default, as the write worker does: each concurrent
 * DuckDB COPY holds its staging table and row-group buffers, and with symbol
 * shards writing inline the 24 h x 6 symbols replay peaked at 757-830 MiB with
 * two against 731-741 with one, at the same CPU time (README "Memory").
 */
export class WriteBehind implements BlockWriter {
  private readonly inFlight: Promise<void>[] = [];
  private failure: unknown = null;
  constructor(
    private readonly dataDir: string,
    private readonly outputs: OutputFile[],
    private readonly maxInFlight = 1,
  ) {}
  async add(blocks: readonly DerivedBlock[]): Promise<void> {
    for (const b of blocks) {
      if (this.failure) throw this.failure;
      while (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
      const p = writeBlock(this.dataDir, b).then(
        (files) => {
          this.outputs.push(...files);
        },
        (e) => {
          this.failure ??= e;
        },
      );
      this.inFlight.push(p);
    }
  }
  async done(): Promise<void> {
    await this.close();
    if (this.failure) throw this.failure;
  }
  async close(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }
}

/**
 * WriteBehind on a worker thread (src/replay/write-worker.ts): Parquet encoding
 * and hashing leave the pipeline's thread. Column buffers are transferred, not
 * copied (the pipeline hands out fresh arrays per block). At most `maxInFlight`
 * blocks are queued, so memory stays bounded.
 */
export class WorkerWriteBehind implements BlockWriter {
  private readonly worker: Worker;
  private inFlight = 0;
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;
  private waiters: (() => void)[] = [];
  constructor(
    private readonly dataDir: string,
    private readonly outputs: OutputFile[],
    private readonly maxInFlight = 3,
  ) {
    this.worker = startWorker(new URL('./write-worker.ts', import.meta.url), null);
    this.worker.on(
      'message',
      (m: { type: 'done'; id: number; files: OutputFile[] } | (ErrorMessage & { id: number })) => {
        if (m.type === 'done') this.outputs.push(...m.files);
        else this.failure ??= toError(m, 'replay writer');
        this.inFlight--;
        this.wakeAll();
      },
    );
    this.worker.on('error', (e) => {
      this.failure ??= workerDied('replay writer', e);
      this.wakeAll();
    });
    this.worker.on('exit', (code) => {
      if (!this.closed) this.failure ??= workerDied('replay writer', `exited with code ${code}`);
      this.wakeAll();
    });
  }
  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
  async add(blocks: readonly DerivedBlock[]): Promise<void> {
    for (const b of blocks) {
      while (this.inFlight >= this.maxInFlight && this.failure === null) await this.wait();
      if (this.failure) throw this.failure;
      this.inFlight++;
      this.worker.postMessage({ id: this.nextId++, dataDir: this.dataDir, block: b }, transferables(b));
    }
  }
  async done(): Promise<void> {
    while (this.inFlight > 0 && this.failure === null) await this.wait();
    await this.close();
    if (this.failure) throw this.failure;
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}

/** The ArrayBuffers of a block's columns that can be moved (each whole buffer owned by one array). */
function transferables(b: DerivedBlock): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView) => {
    if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer)
      out.add(a.buffer);
  };
  add(b.ts);
  for (const c of b.columns) {
    if (c.type === 'codes') add(c.codes);
    else if (c.type === 'f64list') {
      add(c.data);
      add(c.counts);
    } else if (c.type !== 'const' && c.type !== 'str') add(c.data);
  }
  return [...out];
}

/**
 * Replay `req` into `<out>/<run_tag>`. A run that fails after creating its
 * folder removes it again (everything in it is this run's); one that is killed
 * leaves it marked _INCOMPLETE.
 */
export async function replay(req: ReplayRequest): Promise<ReplayResult> {
  validateTag(req.runTag);
  const runDir = safeJoin(req.out, req.runTag);
  const blockRows = req.blockRows ?? DERIVED_BLOCK_ROWS;
  const tables = checkTables(req.tables ?? DERIVED_KINDS, 'tables');
  const cfg = req.config.config;
  const ds = new Dataset(req.data);
  const symbols = req.symbols && req.symbols.length > 0 ? [...req.symbols] : ds.manifest.symbols;
  const fromMs = req.fromMs;
  let toMs = req.toMs;
  if (cfg.run.hours !== null && toMs === undefined) {
    const start = fromMs ?? ds.manifest.time_range.recv_ts_ms?.[0];
    if (start !== undefined) toMs = start + cfg.run.hours * 3_600_000;
  }
  const readOpts: ReadOptions = {
    symbols,
    kinds: ['trades', 'quotes'],
    fromMs,
    toMs,
    verifyHashes: true,
    batchRows: REPLAY_BATCH_ROWS,
  };
  const inputs = ds.select(readOpts).sort((a, b) => (a.path < b.path ? -1 : 1));
  const speed = req.speed === undefined || req.speed === 'max' ? Infinity : req.speed;
  if (!(speed > 0)) throw new FlowlabError(`speed must be 'max' or a number > 0, got ${req.speed}`, 2);
  const totalRows = inputs.reduce((s, f) => s + f.rows, 0);
  const io = req.io ?? 'auto';
  const threads = resolveThreads(req.threads, {
    observer: req.observer !== undefined,
    paced: Number.isFinite(speed),
    rows: totalRows,
  });
  const plan = planShards(inputs, threads);
  // sharded: IO inline in each shard (the shards keep the cores busy), unless asked for
  const workers = io === 'workers' || (io === 'auto' && plan.length === 1 && totalRows >= IO_WORKERS_MIN_ROWS);
  const bar = progressBar(req.progress);
  bar.start('replay', totalRows, 'ticks');
  try {
    return await runToFolder({
      runDir,
      runTag: req.runTag,
      what: 'replay',
      protect: [ds.root, ...req.config.files],
      overwrite: req.overwrite,
      discardOnFailure: true,
      keepIncomplete: req.keepIncomplete,
      config: req.config,
      blockRows,
      run: (dataDir) => {
        const pass: PassSpec = {
          root: ds.root,
          readOpts,
          config: req.config,
          dataDir,
          blockRows,
          tables,
          workers,
          observer: req.shardObserver,
        };
        const onTicks = (n: number) => bar.update(n);
        return plan.length > 1
          ? runShards(pass, plan, { onTicks, onWorkers: req.onShardWorkers })
          : runPass(pass, { observer: req.observer, speed, onTicks });
      },
      inputs: () => ({
        datasetRoot: ds.root,
        inputs,
        selection: { symbols, from_ms: fromMs ?? null, to_ms: toMs ?? null },
      }),
    });
  } finally {
    bar.stop();
  }
}

/** One pipeline pass: what it reads and where it writes (a whole run, or one symbol shard of it). */
export interface PassSpec {
  /** Dataset root. */
  readonly root: string;
  /** The selection (a shard's: its symbols only). */
  readonly readOpts: ReadOptions;
  readonly config: LoadedConfig;
  /** `<run>/data`: part paths are per symbol, so shards share it. */
  readonly dataDir: string;
  readonly blockRows: number;
  readonly tables: readonly DerivedKind[];
  /** Read and write on worker threads beside the pipeline (`--io workers`), else on this thread. */
  readonly workers: boolean;
  /** The observer this pass builds on its own thread (`ReplayRequest.shardObserver`). */
  readonly observer?: ShardObserverSpec;
}

/** The figures a run manifest takes from its pipeline (a Pipeline, or shards' merged). */
export interface RunFigures {
  readonly tables: readonly DerivedKind[];
  readonly counters: PipelineCounters;
  symbolSummary(): Record<string, Record<string, number | string>>;
}

/** What a pass produced: its output files (unsorted) and figures, as plain data. */
export interface PassResult extends RunFigures {
  readonly outputs: OutputFile[];
  readonly ticks: number;
  /** The shard observers' records (`spec.observer`), one per pass merged, in shard order. */
  readonly observed?: readonly ObservedRecord[];
}

/**
 * Read -> sequence -> calculators -> write of `spec` on this thread (IO on
 * worker threads when `spec.workers`), through `runPipeline`, watched by
 * `spec.observer` built here (or `opts.observer`). `signal` stops it between
 * arrival blocks (after the writes in flight are done).
 */
export async function runPass(
  spec: PassSpec,
  opts: {
    observer?: PipelineObserver;
    speed?: number;
    onTicks?: (ticks: number) => void;
    signal?: AbortSignal;
  } = {},
): Promise<PassResult> {
  const blocks = spec.workers
    ? arrivalBlocksAhead(spec.root, spec.readOpts)
    : arrivalBlocks(new Dataset(spec.root), spec.readOpts);
  const speed = opts.speed ?? Infinity;
  const timed = Number.isFinite(speed) ? paced(blocks, speed) : blocks;
  if (spec.observer && opts.observer) throw new Error('runPass: an observer and a shard observer');
  const built = spec.observer ? await shardObserver(spec.observer) : null;
  const r = await runPipeline({
    config: spec.config,
    observer: built?.observer ?? opts.observer,
    tables: spec.tables,
    blockRows: spec.blockRows,
    dataDir: spec.dataDir,
    writer: spec.workers ? 'workers' : 'inline',
    source: opts.signal ? abortable(timed, opts.signal) : timed,
    onTicks: opts.onTicks,
  });
  return built ? { ...r, observed: [built.finish()] } : r;
}

/**
 * A fresh pipeline over `source` into `dataDir` through the one run driver
 * (src/pipeline/run.ts): replay's passes and live alike.
 */
export async function runPipeline(o: {
  readonly config: LoadedConfig;
  readonly observer?: PipelineObserver;
  readonly tables?: readonly DerivedKind[];
  readonly blockRows: number;
  readonly dataDir: string;
  /** Parquet writing on a worker thread or on this one (same bytes). */
  readonly writer: 'inline' | 'workers';
  readonly source: AsyncIterable<ArrivalBlock>;
  readonly onTicks?: (ticks: number) => void;
}): Promise<PassResult> {
  const cfg = o.config.config;
  const pipeline = new Pipeline(calcParamsFromConfig(cfg), {
    mergeTolMs: cfg.labels.merge_tol_ms,
    observer: o.observer,
    tables: o.tables,
  });
  const outputs: OutputFile[] = [];
  const writer: BlockWriter =
    o.writer === 'workers' ? new WorkerWriteBehind(o.dataDir, outputs) : new WriteBehind(o.dataDir, outputs);
  const ticks = await drive(pipeline, o.source, writer, { blockRows: o.blockRows, onTicks: o.onTicks });
  const symbols = pipeline.symbolSummary();
  return { outputs, ticks, tables: pipeline.tables, counters: pipeline.counters, symbolSummary: () => symbols };
}

/** `blocks`, stopped with `signal`'s reason before the next block once it is aborted. */
async function* abortable(blocks: AsyncIterable<ArrivalBlock>, signal: AbortSignal): AsyncGenerator<ArrivalBlock> {
  for await (const block of blocks) {
    signal.throwIfAborted();
    yield block;
  }
}

/**
 * `blocks` at `speed` times real time (receive time of each block's last tick
 * against the wall clock from the first), or unchanged at Infinity. The only
 * clock read of a replay; it never changes what is pushed.
 */
async function* paced(blocks: AsyncIterable<ArrivalBlock>, speed: number): AsyncGenerator<ArrivalBlock> {
  let firstRecv = NaN;
  let wallStart = 0;
  for await (const block of blocks) {
    if (block.n > 0) {
      const last = block.batches[block.src[block.n - 1]].recv_ts_ms[block.row[block.n - 1]];
      if (Number.isNaN(firstRecv)) {
        firstRecv = block.batches[block.src[0]].recv_ts_ms[block.row[0]];
        wallStart = performance.now();
      }
      const wait = wallStart + (last - firstRecv) / speed - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    yield block;
  }
}

/** One run into a run folder, the same for replay, canary and live (`runToFolder`). */
export interface RunToFolder {
  readonly runDir: string;
  readonly runTag: string;
  /** What the run is, for messages ('replay', 'live run'). */
  readonly what: string;
  /** Paths the folder must not be, nor contain (the inputs). */
  readonly protect: readonly string[];
  readonly overwrite?: boolean;
  /** Remove the folder if the run fails (replay: everything in it is the run's; not live, which records into it). */
  readonly discardOnFailure: boolean;
  /** Leave the folder marked incomplete after the manifest is written (the caller adds files). */
  readonly keepIncomplete?: boolean;
  readonly config: LoadedConfig;
  /** Rows per output part (recorded in the manifest). */
  readonly blockRows: number;
  /** The pass into `<runDir>/data`, started once the folder exists (live records into it). */
  readonly run: (dataDir: string, runDir: string) => Promise<PassResult>;
  /** After the source ended: the raw inputs the manifest lists (what `flowlab verify` replays). */
  readonly inputs: () => {
    readonly datasetRoot: string;
    readonly inputs: readonly PartFileInfo[];
    readonly selection: ReplayManifest['selection'];
  };
}

/**
 * The run folder around the run driver (src/pipeline/run.ts): checks and
 * creates `<runDir>` (marked incomplete), runs the pass (`runPipeline`, or
 * replay's symbol shards) into `<runDir>/data`, then writes manifest.json and
 * run_tag.txt.
 */
export async function runToFolder(r: RunToFolder): Promise<ReplayResult> {
  prepareRunFolder(r.runDir, { overwrite: r.overwrite, inputs: r.protect, what: r.what });
  try {
    const dataDir = path.join(r.runDir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const result = await r.run(dataDir, r.runDir);
    const manifest = await finalizeRun({
      runDir: r.runDir,
      runTag: r.runTag,
      ...r.inputs(),
      config: r.config,
      blockRows: r.blockRows,
      ticks: result.ticks,
      pipeline: result,
      outputs: result.outputs,
    });
    if (!r.keepIncomplete) markComplete(r.runDir);
    return {
      runDir: r.runDir,
      manifest,
      ticks: result.ticks,
      ...(result.observed ? { observed: result.observed.map((o) => o.record) } : {}),
    };
  } catch (e) {
    if (r.discardOnFailure) discardRunFolder(r.runDir);
    throw e;
  }
}

/** Write manifest.json and run_tag.txt of a finished run (replay, canary or live). */
export async function finalizeRun(a: {
  runDir: string;
  runTag: string;
  datasetRoot: string;
  inputs: readonly PartFileInfo[];
  selection: ReplayManifest['selection'];
  config: LoadedConfig;
  blockRows: number;
  ticks: number;
  pipeline: RunFigures;
  outputs: OutputFile[];
}): Promise<ReplayManifest> {
  a.outputs.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const inputs = [...a.inputs].sort((x, y) => (x.path < y.path ? -1 : 1));
  // the coverage is counted from the prices rows: a run without that table (--tables) has no slices
  const sl = a.pipeline.tables.includes('prices')
    ? await writeRunSlices({
        runDir: a.runDir,
        runTag: a.runTag,
        config: a.config,
        symbols: a.selection.symbols,
        outputs: a.outputs,
      })
    : null;
  const manifest: ReplayManifest = {
    flowlab_version: FLOWLAB_VERSION,
    code_sha256: await codeHash(),
    run_tag: a.runTag,
    dataset: {
      path: a.datasetRoot,
      files_sha256: sha256(inputs.map((f) => `${f.path} ${f.sha256}`).join('\n')),
      markets: summarize(inputs).markets,
    },
    selection: a.selection,
    inputs: inputs.map((f) => ({ path: f.path, sha256: f.sha256, rows: f.rows })),
    config_fingerprint: a.config.fingerprint,
    config_version: a.config.config.version,
    config: JSON.parse(canonicalJson(a.config.config)),
    block_rows: a.blockRows,
    tables: a.pipeline.tables,
    counters: { ticks: a.ticks, ...a.pipeline.counters },
    symbols: a.pipeline.symbolSummary(),
    outputs: a.outputs,
    ...(sl
      ? {
          slices: {
            files: sl.files,
            scene_coverage_miss: sl.judgement.scene_coverage_miss,
            tags: sl.judgement.scene_coverage_miss ? [INSUFFICIENT_COVERAGE] : [],
            failing: sl.judgement.failing,
            thresholds_fingerprint: sl.thresholds_fingerprint,
          },
        }
      : {}),
  };
  return writeRunMetadata(a.runDir, manifest, runTagText(manifest, a.config));
}

/**
 * run_tag.txt, then manifest.json (which records run_tag.txt's sha256), each
 * atomically and durably: a failure leaves the folder's _INCOMPLETE marker in place.
 */
export function writeRunMetadata<M extends ReplayManifest>(runDir: string, manifest: M, runTag: string): M {
  const m = { ...manifest, run_tag_sha256: sha256(runTag) };
  writeFileAtomic(path.join(runDir, RUN_TAG_FILE), runTag);
  writeFileAtomic(path.join(runDir, REPLAY_MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
  return m;
}

/** `run_tag.txt`: the facts a reader needs first, one `key=value` per line. */
export function runTagText(m: ReplayManifest, c: LoadedConfig): string {
  const cfg = c.config;
  const dirs = Object.entries(m.symbols)
    .map(([s, v]) => `${s}:${Number(v.cvd_direction) >= 0 ? '+1' : '-1'}`)
    .join(',');
  const lines = [
    `run_tag=${m.run_tag}`,
    `config_fingerprint=${c.fingerprint}`,
    `config_version=${cfg.version}`,
    `cvd_direction=${dirs}`,
    `merge_tol_ms=${cfg.labels.merge_tol_ms}`,
    `fusion(w,g)=(${cfg.fusion.weights.ofi},${cfg.fusion.weights.cvd},${cfg.fusion.gate})`,
    `dataset_sha256=${m.dataset.files_sha256}`,
    `code_sha256=${m.code_sha256}`,
    `flowlab_version=${m.flowlab_version}`,
  ];
  if (m.slices) {
    // the seed's 2x2 coverage gate (slices/slices_summary.json has the counts)
    lines.push(`scene_coverage_miss=${m.slices.scene_coverage_miss}`);
    if (m.slices.tags.length > 0) lines.push(`tags=${m.slices.tags.join(',')}`);
    if (m.slices.failing.length > 0) lines.push(`coverage_failing=${m.slices.failing.join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}
