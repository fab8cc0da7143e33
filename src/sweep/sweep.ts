/**
 * `flowlab sweep`: a grid of overlay configs x symbols, one canary shard per
 * (config, symbol), on a local process pool or a BullMQ queue, then one results
 * table and a summary that chooses on a training period and reports on a later
 * held-out one.
 *
 * The output folder is the sweep's own: `sweep.json` (what was asked, written
 * first, temp + rename), `configs/` (overlays), `shards/<id>/` (canary run
 * folders), `sweep_results.parquet`, `sweep_summary.md`. Running the same sweep
 * again into the same folder runs only the shards not yet done (none, when it
 * finished); a folder that is not a flowlab sweep, or a sweep of something
 * else, is refused and left untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../core/hash.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import { Dataset } from '../dataset/reader.js';
import { loadConfig } from '../config/load.js';
import { codeHash } from '../replay/code.js';
import { writeFileAtomic } from '../report/csv.js';
import { expandGrid, parseGridArg, writeOverlays } from './grid.js';
import { datasetManifestSha, shardId, staleStaging, type ShardJob } from './shard.js';
import { readShard, summaryMarkdown, writeResults, chooseConfig, type ShardPlan } from './results.js';
import { runLocal } from './pool.js';
import { checkQueueReachable, runQueued } from './queue.js';

export const SWEEP_FILE = 'sweep.json';
export const RESULTS_FILE = 'sweep_results.parquet';
export const SUMMARY_FILE = 'sweep_summary.md';

export interface SweepRequest {
  readonly data: string;
  readonly configPath: string;
  readonly grid: readonly string[];
  readonly symbols?: readonly string[];
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly out: string;
  readonly workers: number;
  readonly queue?: string;
  /** Fraction of the time range held out at its end (0 = none). */
  readonly holdout: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SweepOutcome {
  readonly shards: number;
  /** Shards run by this call (0 when the sweep was done already). */
  readonly ran: number;
  readonly configs: number;
  readonly chosenIndex: number | null;
  readonly resultsFile: string;
  readonly summaryFile: string;
}

function checkOutFolder(out: string, spec: unknown): void {
  if (!fs.existsSync(out)) return;
  const st = fs.statSync(out);
  if (!st.isDirectory()) throw new UsageError(`--out '${out}' exists and is not a folder`);
  const marker = path.join(out, SWEEP_FILE);
  if (!fs.existsSync(marker)) {
    if (fs.readdirSync(out).length === 0) return;
    throw new UsageError(
      `--out '${out}' exists and is not a flowlab sweep folder (no ${SWEEP_FILE}); choose a new folder`,
    );
  }
  let prev: { spec?: unknown };
  try {
    prev = JSON.parse(fs.readFileSync(marker, 'utf8'));
  } catch {
    throw new UsageError(`${marker}: not readable JSON; choose a new --out`);
  }
  if (canonicalJson(prev.spec) !== canonicalJson(spec))
    throw new UsageError(
      `--out '${out}' holds a different sweep (grid, config, dataset, symbols, range, holdout or code differ); choose a new folder`,
    );
}

export async function runSweep(req: SweepRequest): Promise<SweepOutcome> {
  if (!(req.holdout >= 0 && req.holdout < 1)) throw new UsageError(`--holdout ${req.holdout}: expected 0% to 90%`);
  const axes = req.grid.map(parseGridArg);
  const points = expandGrid(axes);
  const base = loadConfig(req.configPath, {});
  const ds = new Dataset(req.data);
  if (ds.manifest.files.length === 0)
    throw new FlowlabError(
      `--data '${ds.root}' holds no ticks (its manifest lists no part files): nothing to sweep (expected a recorded, imported or synthesized dataset)`,
    );
  const symbols = req.symbols && req.symbols.length > 0 ? [...req.symbols] : [...ds.manifest.symbols];
  for (const s of symbols)
    if (!ds.manifest.symbols.includes(s))
      throw new UsageError(
        `--symbols: '${s}' is not in dataset '${ds.root}' (it has: ${ds.manifest.symbols.join(', ')})`,
      );
  const datasetSha = await datasetManifestSha(ds.root);
  const tr = ds.manifest.time_range.recv_ts_ms;
  const fromMs = req.fromMs ?? null;
  const toMs = req.toMs ?? null;
  const lo = fromMs ?? tr?.[0] ?? null;
  const hi = toMs ?? (tr ? tr[1] + 1 : null);
  const splitMs = req.holdout > 0 && lo !== null && hi !== null ? Math.floor(lo + (1 - req.holdout) * (hi - lo)) : null;
  const code = await codeHash();
  const spec = {
    grid: axes,
    code_sha256: code,
    base_config_fingerprint: base.fingerprintFull,
    dataset_manifest_sha256: datasetSha,
    symbols,
    from_ms: fromMs,
    to_ms: toMs,
    holdout: req.holdout,
  };
  const out = path.resolve(req.out);
  checkOutFolder(out, spec);
  if (req.queue !== undefined) await checkQueueReachable(req.queue); // before anything is written
  // a new (absent or empty) folder is all ours: when a grid point is refused (an unknown key, a value the
  // config refuses) what this call wrote is removed, so the corrected sweep can use the same --out
  const fresh = !fs.existsSync(out) || fs.readdirSync(out).length === 0;
  let created: string | undefined; // the first folder mkdir created (out or an ancestor), if any
  let configs: ReturnType<typeof writeOverlays>;
  try {
    created = fs.mkdirSync(out, { recursive: true });
    writeFileAtomic(path.join(out, SWEEP_FILE), `${JSON.stringify({ flowlab_sweep: 1, spec }, null, 2)}\n`);
    configs = writeOverlays(req.configPath, points, path.join(out, 'configs'));
  } catch (e) {
    if (fresh) {
      // only what this call wrote (the folder was absent or empty), then the folders mkdir created, each
      // only while it is empty (rmdir refuses otherwise: anything else found there is kept)
      fs.rmSync(path.join(out, 'configs'), { recursive: true, force: true });
      fs.rmSync(path.join(out, SWEEP_FILE), { force: true });
      if (created !== undefined)
        for (let d = out; ; d = path.dirname(d)) {
          try {
            fs.rmdirSync(d);
          } catch {
            break;
          }
          if (d === path.resolve(created)) break;
        }
    }
    throw e;
  }
  for (const d of staleStaging(out)) fs.rmSync(d, { recursive: true, force: true }); // half-written shards of killed workers
  const plans: ShardPlan[] = [];
  for (const c of configs)
    for (const symbol of symbols) {
      const id = shardId({ datasetSha, configFingerprintFull: c.config.fingerprintFull, symbol, fromMs, toMs, code });
      const job: ShardJob = {
        id,
        data: ds.root,
        configFile: c.file,
        configFingerprint: c.config.fingerprint,
        symbol,
        fromMs,
        toMs,
        out,
      };
      plans.push({ job, point: c });
    }
  const jobs = plans.map((p) => p.job);
  const ran =
    req.queue !== undefined
      ? await runQueued(jobs, req.queue, req.onProgress)
      : await runLocal(jobs, req.workers, (done, total) => req.onProgress?.(done, total));

  const results = [];
  for (const p of plans) results.push(await readShard(p, splitMs));
  const resultsFile = path.join(out, RESULTS_FILE);
  await writeResults(resultsFile, results);
  const summaryFile = path.join(out, SUMMARY_FILE);
  writeFileAtomic(
    summaryFile,
    summaryMarkdown({ results, holdoutFraction: req.holdout, splitMs, baseConfig: req.configPath, datasetSha }),
  );
  const ranked = chooseConfig(results);
  return {
    shards: plans.length,
    ran,
    configs: configs.length,
    chosenIndex: ranked[0]?.index ?? null,
    resultsFile,
    summaryFile,
  };
}
