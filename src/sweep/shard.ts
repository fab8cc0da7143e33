/**
 * One sweep shard: one (config, symbol) canary run.
 *
 * - Its id is a content hash of what determines its bytes: the dataset
 *   manifest's sha256, the config fingerprint, the symbol, the time range and
 *   the code hash. Resubmitting the same shard is a no-op; a retried shard
 *   writes the same bytes.
 * - It runs in a staging folder `<out>/staging-<host>-<pid>/<id>` (same depth as
 *   the final folder, so the relative `extends:` of the run's weight overlay is
 *   the same) and is renamed to `<out>/shards/<id>` only when complete: a shard
 *   folder exists only whole, and a half-written one (a worker killed mid-run)
 *   is never taken as done. The staging folder of a killed worker is left for
 *   `flowlab sweep` to remove (it is the sweep's own folder).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson, sha256, sha256File } from '../core/hash.js';
import { FlowlabError } from '../core/errors.js';
import { REPLAY_MANIFEST } from '../core/run-files.js';
import { validateTag, zEpochMs, zSymbol } from '../core/validate.js';
import { z } from 'zod';
import { loadConfig } from '../config/load.js';
import { runCanary } from '../canary/canary.js';
import { codeHash } from '../replay/code.js';
import { MANIFEST_FILE, manifestPath } from '../dataset/manifest.js';

/** What a worker needs to run a shard: plain JSON, absolute paths. */
export interface ShardJob {
  readonly id: string;
  readonly data: string;
  /** The grid point's overlay config file. */
  readonly configFile: string;
  readonly configFingerprint: string;
  readonly symbol: string;
  readonly fromMs: number | null;
  readonly toMs: number | null;
  /** The sweep's output folder. */
  readonly out: string;
}

/** An absolute path as flowlab writes them into jobs (validatePath's rule: no quote, newline or NUL). */
const zAbsPath = z
  .string()
  .refine((p) => path.isAbsolute(p) && !/[\0'"\n\r]/.test(p), 'an absolute path without quotes or newlines');

/**
 * A job as it arrives from the queue (Redis, another machine) or the pool: every
 * field checked before it names a file, so a malformed or hostile job fails
 * with a line naming the key instead of writing where it says.
 */
const ShardJobSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{32}$/, 'a shard id (32 hex digits)'),
  data: zAbsPath,
  configFile: zAbsPath,
  configFingerprint: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
  symbol: zSymbol,
  fromMs: zEpochMs.nullable(),
  toMs: zEpochMs.nullable(),
  out: zAbsPath,
});

function checkJob(job: unknown): ShardJob {
  const r = ShardJobSchema.safeParse(job);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const id = job !== null && typeof job === 'object' ? (job as { id?: unknown }).id : undefined;
  throw new FlowlabError(
    `shard job ${typeof id === 'string' ? id.slice(0, 40) : '?'}: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
}

export const SHARDS_DIR = 'shards';
const STAGING_PREFIX = 'staging-';

export async function datasetManifestSha(data: string): Promise<string> {
  return sha256File(manifestPath(data) ?? path.join(data, MANIFEST_FILE));
}

export function shardId(a: {
  datasetSha: string;
  configFingerprintFull: string;
  symbol: string;
  fromMs: number | null;
  toMs: number | null;
  code: string;
}): string {
  return sha256(canonicalJson({ v: 1, ...a })).slice(0, 32);
}

export function shardDir(out: string, id: string): string {
  return path.join(out, SHARDS_DIR, validateTag(id, 'shard id'));
}

/** A shard is done when its folder exists (it is renamed into place whole). */
export function shardDone(out: string, id: string): boolean {
  return fs.existsSync(path.join(shardDir(out, id), REPLAY_MANIFEST));
}

function stagingRoot(out: string): string {
  const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(out, `${STAGING_PREFIX}${host}-${process.pid}`);
}

/** Staging folders left by workers that died mid-shard (under `out`). */
export function staleStaging(out: string): string[] {
  if (!fs.existsSync(out)) return [];
  return fs
    .readdirSync(out)
    .filter((f) => f.startsWith(STAGING_PREFIX))
    .map((f) => path.join(out, f));
}

/**
 * Run a shard unless it is done. Returns whether it ran. Checks the job's
 * config and code are what its id says, so a worker with other code or a
 * changed overlay refuses instead of writing other bytes under the same id.
 */
export async function runShard(given: ShardJob): Promise<{ ran: boolean; dir: string }> {
  const job = checkJob(given);
  const dir = shardDir(job.out, job.id);
  if (shardDone(job.out, job.id)) return { ran: false, dir };
  const config = loadConfig(job.configFile, {});
  const code = await codeHash();
  const expect = shardId({
    datasetSha: await datasetManifestSha(job.data),
    configFingerprintFull: config.fingerprintFull,
    symbol: job.symbol,
    fromMs: job.fromMs,
    toMs: job.toMs,
    code,
  });
  if (expect !== job.id)
    throw new FlowlabError(
      `shard ${job.id}: dataset, config or code differ from the sweep's (this worker computes ${expect}); run workers with the same code and dataset`,
    );
  const staging = stagingRoot(job.out);
  fs.mkdirSync(staging, { recursive: true });
  const tmp = path.join(staging, job.id);
  if (fs.existsSync(tmp)) fs.rmSync(tmp, { recursive: true, force: true }); // ours: this process's staging
  await runCanary({
    data: job.data,
    config,
    configPath: job.configFile,
    out: staging,
    runTag: job.id,
    symbols: [job.symbol],
    fromMs: job.fromMs ?? undefined,
    toMs: job.toMs ?? undefined,
    progress: false,
    // one symbol is one canary shard anyway; the sweep's parallelism is its worker processes (src/sweep/README.md)
    threads: 1,
  });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    // Another worker finished the same shard first (a stalled job retried while
    // the first run was still alive): same id, same bytes; keep theirs.
    if (!shardDone(job.out, job.id)) throw e;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return { ran: true, dir };
}
