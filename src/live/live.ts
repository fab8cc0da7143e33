/**
 * `flowlab live`: record and run the same pipeline and canary live.
 *
 *   Recorder (journaled, crash-safe) -> raw dataset <out>/<tag>/raw
 *            \-> tap: every accepted trade / quote with its recv_seq
 *                -> LiveBatcher (columnar arrival blocks, ~200 ms): the source
 *                -> the run driver replay uses too (runToFolder -> src/pipeline/run.ts) + CanaryEngine
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
import path from 'node:path';
import { Recorder, type RecorderOptions } from '../../recorder/recorder.js';
import { CanaryEngine } from '../canary/engine.js';
import { stableChain, writeCanaryReport, type CanaryRun } from '../canary/canary.js';
import { runPipeline, runToFolder, DERIVED_BLOCK_ROWS } from '../replay/replay.js';
import type { ArrivalBlock } from '../pipeline/arrival.js';
import { Dataset } from '../dataset/reader.js';
import { LiveBatcher } from '../../recorder/batcher.js';

import type { LoadedConfig } from '../config/load.js';
import { FlowlabError } from '../core/errors.js';
import { safeJoin, validateTag } from '../core/validate.js';
import { LIVE_RAW_DIR } from '../replay/run-folder.js';

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
  const rawDir = path.join(runDir, LIVE_RAW_DIR);
  const cfg = req.config.config;
  const engine = new CanaryEngine(cfg, stableChain(req.config));
  const batcher = new LiveBatcher();
  const run = await runToFolder({
    runDir,
    runTag: req.runTag,
    what: 'live run',
    protect: req.config.files,
    overwrite: req.overwrite,
    discardOnFailure: false, // the folder holds what was recorded: never removed
    keepIncomplete: true, // the canary report is added below
    config: req.config,
    blockRows: DERIVED_BLOCK_ROWS,
    run: (dataDir) =>
      runPipeline({
        config: req.config,
        observer: engine,
        blockRows: DERIVED_BLOCK_ROWS,
        dataDir,
        writer: 'inline',
        source: liveBlocks(req, rawDir, cfg, batcher),
      }),
    inputs: () => {
      const ds = new Dataset(rawDir);
      const symbols = req.symbols.filter((s) => ds.manifest.symbols.includes(s));
      if (symbols.length === 0)
        throw new FlowlabError(`live: nothing was recorded from ${req.endpoint} for ${req.symbols.join(',')}`);
      const inputs = ds.select({ symbols, kinds: ['trades', 'quotes'] });
      return { datasetRoot: ds.root, inputs, selection: { symbols, from_ms: null, to_ms: null } };
    },
  });
  return writeCanaryReport({
    rep: { runDir, manifest: run.manifest, ticks: run.ticks },
    engine,
    config: req.config,
    configPath: req.configPath,
    runTag: req.runTag,
  });
}

/**
 * The live source: records into `rawDir` and yields the tap's arrival block
 * every `flushMs` until the run should end; then stops the recorder (which may
 * still tap ticks) and yields the rest. The recorder is stopped on every path.
 */
async function* liveBlocks(
  req: LiveRequest,
  rawDir: string,
  cfg: LoadedConfig['config'],
  batcher: LiveBatcher,
): AsyncGenerator<ArrivalBlock> {
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
  let running = true;
  try {
    let stopped = false;
    const stop = new Promise<void>((resolve) => {
      if (req.durationMs !== undefined) setTimeout(resolve, req.durationMs);
      req.stop?.then(resolve, resolve);
    }).then(() => {
      stopped = true;
    });
    const flushMs = req.flushMs ?? 200;
    while (!stopped) {
      await Promise.race([stop, new Promise((r) => setTimeout(r, flushMs))]);
      const block = batcher.flush();
      if (block) yield block;
    }
    running = false;
    await rec.stop();
    const last = batcher.flush();
    if (last) yield last;
  } finally {
    if (running) await rec.stop();
  }
}
