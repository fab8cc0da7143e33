/**
 * Symbol-parallel replay (`replay --threads <n|auto>`, issue 13 item 2).
 *
 * Symbols are independent in the pipeline (src/pipeline/pipeline.ts: each
 * symbol has its own dedup memory, sequencer group, stale-quote state and
 * calculators), so a run over a subset of symbols gives byte-identical derived
 * files for them. A threaded replay therefore:
 *
 * 1. `planShards`: splits the selected symbols into n shards, balanced by
 *    input rows (largest first onto the lightest shard; ties by name, then
 *    shard index), each shard's symbols sorted: deterministic, a function of
 *    the dataset manifest only;
 * 2. `runShards`: runs each shard's read -> sequence -> calculators -> write
 *    (`runPass` of src/replay/replay.ts, the one per-run loop) on a thread of
 *    its own, the first on the calling thread and each other on a worker
 *    thread (src/replay/shard-worker.ts, own DuckDB instance), all into the
 *    same `<run>/data` (part paths are per symbol, so shards never write the
 *    same file); IO is inline in each shard unless `--io workers` is asked for
 *    (with 2 cores, two shards already keep both busy: README "Replay threads");
 * 3. `mergePasses`: merges the shards' results into what one thread reports:
 *    outputs (sorted by path when the manifest is written), counters (sums;
 *    `max_late_ms` the maximum; `skew_ms` the lower median over all symbols'
 *    own estimates, as `Pipeline.counters` defines it) and the per-symbol
 *    summary in symbol order. The manifest, run_tag.txt and slices are then
 *    written by `finalizeRun` exactly as for one thread.
 *
 * Failure: the first shard error (a FlowlabError keeps its one-line message
 * and exit code) stops the other shards between arrival blocks (their writes
 * in flight finish first), and only when every shard has stopped does the
 * error reach `replay`, which discards the run folder. A worker that dies
 * without reporting (killed, out of memory) is reported naming its shard.
 *
 * An observer that watches the pipeline (the canary's engines) runs in every
 * shard when it is given as a module (`ShardObserverSpec`): each shard builds
 * its own on its thread, and its record comes back with the shard's result,
 * for the caller to merge (src/canary/shards.ts; the records carry
 * `OrderKey`s of the global release order, src/pipeline/pipeline.ts). An
 * observer object on the calling thread (`verify`'s canary re-run) keeps the
 * run on one thread. Live stays one stream.
 */
import type { Worker } from 'node:worker_threads';
import type { PartFileInfo } from '../dataset/manifest.js';
import type { PipelineCounters, PipelineObserver } from '../pipeline/pipeline.js';
import { UsageError } from '../core/errors.js';
import { startWorker, toError, workerDied, type ErrorMessage } from '../io/workers.js';
import { runPass, type OutputFile, type PassResult, type PassSpec } from './replay.js';

/** One shard: its symbols (sorted) and their input rows. */
export interface Shard {
  readonly symbols: string[];
  readonly rows: number;
}

/** Messages of src/replay/shard-worker.ts. */
export type ShardMessage =
  | { readonly type: 'ticks'; readonly ticks: number }
  | {
      readonly type: 'result';
      readonly outputs: OutputFile[];
      readonly ticks: number;
      readonly counters: PipelineCounters;
      readonly symbols: Record<string, Record<string, number | string>>;
      readonly observed?: readonly ObservedRecord[];
    }
  | { readonly type: 'stopped' }
  | ErrorMessage;

/**
 * An observer built on each shard's own thread (the canary's engines): `module`
 * is the absolute path of a module exporting `createShardObserver(data)` (a
 * `ShardObserverFactory`), as a worker thread runs it (`runnableFile`: the
 * compiled `.js` under dist/, else the `.ts` source); `data` is
 * structured-cloneable. `create` is that factory, for the calling thread's
 * shard (a CommonJS caller such as the notebooks' tsx hook cannot `import()` a
 * `.ts` module); it stays on the calling thread.
 */
export interface ShardObserverSpec {
  readonly module: string;
  readonly data: unknown;
  readonly create?: ShardObserverFactory;
}

/** What a shard observer module builds: the observer of one pass, then its record. */
export interface ShardObserver {
  readonly observer: PipelineObserver;
  /** After the pass: the record (structured-cloneable) and the buffers in it to move, not copy, across threads. */
  finish(): ObservedRecord;
}

export interface ObservedRecord {
  readonly record: unknown;
  readonly transfer: readonly ArrayBuffer[];
}

export type ShardObserverFactory = (data: unknown) => ShardObserver;

/** Build the observer of `spec` on this thread. */
export async function shardObserver(spec: ShardObserverSpec): Promise<ShardObserver> {
  if (spec.create) return spec.create(spec.data);
  const mod = (await import(spec.module)) as { createShardObserver?: ShardObserverFactory };
  if (typeof mod.createShardObserver !== 'function')
    throw new Error(`shard observer module ${spec.module} exports no createShardObserver`);
  return mod.createShardObserver(spec.data);
}

/** What `--threads auto` runs on a selection of AUTO_MIN_ROWS input rows or more: 2 shards (measured, README). */
export const AUTO_THREADS = 2;
/** Below this many selected input rows `--threads auto` runs one thread (a worker's start-up costs ~0.5-0.8 CPU-s). */
export const AUTO_MIN_ROWS = 200_000;

/**
 * Shards a run uses for `threads` (a count or 'auto': AUTO_THREADS from
 * AUTO_MIN_ROWS selected input rows on, else one). One thread when an
 * observer object on this thread watches the pipeline (it sees every symbol's
 * samples; a shard observer, built in each shard, does not count) or the
 * replay is paced (`--speed`: one clock); asking for more then is a usage error.
 */
export function resolveThreads(
  threads: number | 'auto' | undefined,
  run: { readonly observer: boolean; readonly paced: boolean; readonly rows: number },
): number {
  if (threads === undefined || threads === 'auto')
    return run.observer || run.paced || run.rows < AUTO_MIN_ROWS ? 1 : AUTO_THREADS;
  if (!Number.isInteger(threads) || threads < 1)
    throw new UsageError(`--threads: '${threads}' is not a positive integer or 'auto'`);
  if (threads > 1 && run.paced)
    throw new UsageError(`--threads ${threads}: a paced replay (--speed) runs on one thread; use --threads 1`);
  if (threads > 1 && run.observer)
    throw new UsageError(
      `threads ${threads}: a replay with an observer on this thread (verify's canary re-run) runs on one thread`,
    );
  return threads;
}

/** Parse `--threads`: a positive integer or 'auto'. */
export function parseThreads(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  if (!/^[1-9][0-9]{0,2}$/.test(v)) throw new UsageError(`--threads: '${v}' is not a positive integer or 'auto'`);
  return Number(v);
}

/**
 * Split the symbols of `inputs` into at most `n` non-empty shards balanced by
 * input rows: symbols by rows descending (then name), each onto the shard with
 * the fewest rows so far (then the lowest index); a shard's symbols sorted.
 */
export function planShards(inputs: readonly PartFileInfo[], n: number): Shard[] {
  const rows = new Map<string, number>();
  for (const f of inputs) rows.set(f.symbol, (rows.get(f.symbol) ?? 0) + f.rows);
  const order = [...rows.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const k = Math.max(1, Math.min(n, order.length));
  const shards = Array.from({ length: k }, () => ({ symbols: [] as string[], rows: 0 }));
  for (const [sym, r] of order) {
    let best = 0;
    for (let i = 1; i < k; i++) if (shards[i].rows < shards[best].rows) best = i;
    shards[best].symbols.push(sym);
    shards[best].rows += r;
  }
  for (const s of shards) s.symbols.sort();
  return shards.filter((s) => s.symbols.length > 0);
}

/** The merged figures of shards over disjoint symbols: what one thread over all of them reports. */
export function mergePasses(parts: readonly PassResult[]): PassResult {
  const symbols: Record<string, Record<string, number | string>> = {};
  const all = parts.flatMap((p) => Object.entries(p.symbolSummary()));
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [s, v] of all) symbols[s] = v;
  const sum = (f: (c: PipelineCounters) => number) => parts.reduce((t, p) => t + f(p.counters), 0);
  // Pipeline.counters.skew_ms: the lower median of the symbols' own estimates, NaN ones left out
  const skews = all.map(([, v]) => v.skew_ms as number).filter((x) => !Number.isNaN(x));
  skews.sort((a, b) => a - b);
  const counters: PipelineCounters = {
    pushed: sum((c) => c.pushed),
    released: sum((c) => c.released),
    late_ticks: sum((c) => c.late_ticks),
    max_late_ms: parts.reduce((m, p) => Math.max(m, p.counters.max_late_ms), 0),
    past_watermark: sum((c) => c.past_watermark),
    skew_ms: skews.length === 0 ? Number.NaN : skews[(skews.length - 1) >> 1],
    skew_samples_used: sum((c) => c.skew_samples_used),
    duplicate_trades: sum((c) => c.duplicate_trades),
    stale_quotes: sum((c) => c.stale_quotes),
  };
  const observed = parts.every((p) => p.observed) ? parts.flatMap((p) => p.observed!) : undefined;
  return {
    outputs: parts.flatMap((p) => p.outputs),
    ticks: parts.reduce((t, p) => t + p.ticks, 0),
    tables: parts[0].tables,
    counters,
    symbolSummary: () => symbols,
    ...(observed ? { observed } : {}),
  };
}

/** `spec` as a worker thread takes it: its observer's factory (a function) stays here; the worker imports its module. */
function workerSpec(spec: PassSpec): PassSpec {
  if (!spec.observer?.create) return spec;
  const { create: _here, ...observer } = spec.observer;
  return { ...spec, observer };
}

/**
 * Run `spec` as `shards` in parallel: the first on this thread (`runPass`, no
 * worker start-up), each other on a worker thread of its own; then merge.
 * Every shard has finished, stopped or died before this returns or throws.
 */
export async function runShards(
  spec: PassSpec,
  shards: readonly Shard[],
  opts: { onTicks?: (ticks: number) => void; onWorkers?: (workers: readonly Worker[]) => void } = {},
): Promise<PassResult> {
  const ticks = shards.map(() => 0);
  const progress = (i: number, t: number) => {
    ticks[i] = t;
    opts.onTicks?.(ticks.reduce((a, b) => a + b, 0));
  };
  const results: (PassResult | null)[] = shards.map(() => null);
  let failure: Error | null = null;
  const workers: Worker[] = [];
  const here = new AbortController();
  const fail = (e: Error) => {
    if (failure) return;
    failure = e;
    here.abort();
    for (const o of workers) o.postMessage({ type: 'stop' });
  };
  const shardSpec = (s: Shard): PassSpec => ({ ...spec, readOpts: { ...spec.readOpts, symbols: s.symbols } });
  const finished = shards.slice(1).map(
    (shard, j) =>
      new Promise<void>((resolve) => {
        const i = j + 1;
        const what = `replay shard ${i + 1}/${shards.length} (${shard.symbols.join(',')})`;
        const w = startWorker(new URL('./shard-worker.ts', import.meta.url), workerSpec(shardSpec(shard)));
        workers.push(w);
        let done = false;
        const end = (e: Error | null) => {
          if (done) return;
          done = true;
          if (e) fail(e);
          resolve();
        };
        w.on('message', (m: ShardMessage) => {
          if (m.type === 'ticks') progress(i, m.ticks);
          else if (m.type === 'result') {
            const symbols = m.symbols;
            results[i] = { ...m, tables: spec.tables, symbolSummary: () => symbols };
            end(null);
          } else if (m.type === 'stopped') end(null);
          else end(toError(m, what));
        });
        w.on('error', (e) => end(workerDied(what, e)));
        w.on('exit', (code) => end(workerDied(what, `exited with code ${code} before reporting`)));
      }),
  );
  opts.onWorkers?.(workers);
  try {
    results[0] = await runPass(shardSpec(shards[0]), { signal: here.signal, onTicks: (t) => progress(0, t) });
  } catch (e) {
    // stopped for another shard's failure: that one is reported
    if (!here.signal.aborted) fail(e instanceof Error ? e : new Error(String(e)));
  }
  try {
    await Promise.all(finished);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  return mergePasses(results as PassResult[]);
}
