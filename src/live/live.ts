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
import { Recorder, type RecorderOptions } from '../../recorder/recorder.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { calcParamsFromConfig } from '../pipeline/params.js';
import { CanaryEngine } from '../canary/engine.js';
import { stableChain, writeCanaryReport, type CanaryRun } from '../canary/canary.js';
import { finalizeRun, WriteBehind, DERIVED_BLOCK_ROWS, type OutputFile } from '../replay/replay.js';
import { Dataset } from '../dataset/reader.js';
import { LiveBatcher } from './batcher.js';

export { LiveBatcher } from './batcher.js';
import type { LoadedConfig } from '../config/load.js';
import { FlowlabError } from '../core/errors.js';
import { safeJoin, validateTag } from '../core/validate.js';

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
  if (fs.existsSync(runDir)) {
    if (!req.overwrite)
      throw new FlowlabError(`run folder '${runDir}' already exists (choose another --run-tag or pass --overwrite)`);
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  const rawDir = path.join(runDir, 'raw');
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
    coverageConfig: req.config,
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
