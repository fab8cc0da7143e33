/**
 * Replay against the Polars peer (issue 13), throughput against a bare DuckDB
 * scan of the same part files, and replay peak memory against dataset length
 * (issue 3). The machine's load average is printed before and after.
 *
 * 0. On `synth --hours 6 --seed 11` (6 symbols, 545,225 ticks): flowlab's whole
 *    `replay` process (node start-up included, all five tables) and the Polars
 *    peer (bench/peer.ts; its own read + compute + write seconds, with
 *    `--dedup` as flowlab de-duplicates trades), alternating, 3 runs each,
 *    medians and their ratio (target <= 1.0); the CLI's start-up alone
 *    (`flowlab --version`); CPU-seconds per stage on that dataset (as 3b);
 *    and the peer's agreement with flowlab's tables, with and without
 *    `--dedup`. Without a Python that imports polars + numba + pyarrow + yaml
 *    the peer lines say they are skipped and why.
 * 1. replay(): the first THROUGHPUT_HOURS (default 24 = all, env
 *    FLOWLAB_BENCH_REPLAY_HOURS) of the default 24 h x 6 symbols dataset
 *    through the whole pipeline into Parquet outputs, in this process (IO on
 *    worker threads, as `flowlab replay` does for a selection this size), wall
 *    time, raw ticks/s (ticks = result.ticks) and CPU time of the process.
 * 2. The same selection of trades + quotes part files read into JS typed
 *    arrays, best of SCAN_REPS, two ways:
 *    - bare: `streamChunks` + `readF64`/`readI8` per file of the columns the
 *      replay reads (no ORDER BY, no sha256, no batching, no merge);
 *    - reader: `Dataset.stream(symbol, kind)` for every symbol and kind, the
 *      reader the replay uses (runs of files in one scan, order checked, batches of 65536 rows).
 * 3. The ratios replay / scan (target >= 0.5 for the bare scan).
 * 3b. CPU-seconds per stage, on the same selection, all on this thread (io
 *    inline) so process CPU time is the stage's: four passes that each add one
 *    stage, read (reader + arrival merge, sha256 check as replay does) ->
 *    + sequence (a bare Sequencer, no-op release) -> + calculators (Pipeline
 *    push + take, blocks discarded: dedup, sequencer, SymbolCalc, derived row
 *    building and copying) -> + write (the whole replay, `io: 'inline'`); each
 *    stage is the difference to the pass before. On a shared machine the
 *    differences carry the noise of two runs each.
 * 4. Peak RSS (`process.resourceUsage().maxRSS`) of a full replay of the
 *    default-recipe dataset (24 h x 6 symbols) and of the same recipe at 96 h,
 *    each in a fresh child process (bench/replay-child.ts), and their ratio;
 *    with the child's sampled peaks of V8 heap used and of external memory,
 *    which tell JS retention from native (DuckDB) memory, and the 96 h run's
 *    sampled RSS peak in its first and last quarter (each ~24 h of data): a
 *    peak is the maximum of a noisy series, so the longer run's overall peak is
 *    a little higher even when nothing accumulates; equal quarter peaks show
 *    that nothing does.
 *
 * `npm run bench -- replay --peer-only` runs section 0 alone (~2-3 min at load 15),
 * `--memory-only` sections 4 and 4b.
 *
 * 4b. Where the 24 h peak goes: the same replay cut short after each stage in a
 *    fresh child (`start`: modules + DuckDB; `read`; `calc`; `inline`: the whole
 *    replay on one thread), each line the peak and what its stage added, and
 *    the replay as flowlab runs it (4) against the one-thread one.
 *
 * Datasets live under os.tmpdir()/flowlab-bench/ and are reused when their
 * manifest source matches the recipe; the 24 h one reuses datasets/default
 * when that is the default recipe. Generating 96 h takes ~80 s once.
 * Replay outputs are written under os.tmpdir()/flowlab-bench/ and removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_DATASET_RECIPE,
  DEFAULT_SYNTH,
  normalizeOptions,
  synthesize,
  synthSource,
  type SynthOptions,
} from '../src/synth/index.js';
import { Dataset, type ReadOptions } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { Pipeline, tickClock } from '../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../src/pipeline/params.js';
import { Sequencer } from '../src/pipeline/sequencer.js';
import { KIND_RANK } from '../src/core/types.js';
import type { LoadedConfig } from '../src/config/load.js';
import { manifestPath } from '../src/dataset/manifest.js';
import { readF64, readI8, sqlString, streamChunks } from '../src/io/duck.js';
import { canonicalJson } from '../src/core/hash.js';
import { loadConfig } from '../src/config/load.js';
import { DERIVED_BLOCK_ROWS, REPLAY_BATCH_ROWS, replay } from '../src/replay/replay.js';
import type { Kind } from '../src/core/types.js';
import {
  COMPARED,
  disagreements,
  findPeer,
  flowlabReplayProcess,
  median,
  peerRun,
  type Agreement,
  type ColumnAgreement,
} from './peer.js';

type Row = { name: string; value: number; unit: string; note?: string };

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(os.tmpdir(), 'flowlab-bench');
const THROUGHPUT_HOURS = Number(process.env.FLOWLAB_BENCH_REPLAY_HOURS ?? 24);
const SCAN_REPS = 2;
const LONG_HOURS = 96;
const KINDS_READ: readonly Kind[] = ['trades', 'quotes'];
/** The peer comparison's dataset (issue 13): 6 h x the 6 default symbols, seed 11. */
const PEER_SYNTH: SynthOptions = { ...DEFAULT_SYNTH, hours: 6, seed: 11 };
const PEER_REPS = 3;

/** The raw columns the replay reads, as the reader casts them (is_buyer_maker as -1/0/1). */
const SCAN_COLS: Readonly<Record<'trades' | 'quotes', string>> = {
  trades:
    'recv_ts_ms::DOUBLE, recv_seq::DOUBLE, ts_ms::DOUBLE, event_ts_ms::DOUBLE, agg_trade_id::DOUBLE, price, qty, ' +
    '(CASE WHEN is_buyer_maker IS NULL THEN -1 WHEN is_buyer_maker THEN 1 ELSE 0 END)::TINYINT',
  quotes: 'recv_ts_ms::DOUBLE, recv_seq::DOUBLE, ts_ms::DOUBLE, update_id::DOUBLE, bid_px, bid_qty, ask_px, ask_qty',
};

function log(msg: string): void {
  process.stderr.write(`bench replay: ${msg}\n`);
}

/** True when `dir` holds a complete dataset generated from `opts`. */
function isRecipe(dir: string, opts: SynthOptions): boolean {
  const file = manifestPath(dir);
  if (file === null) return false;
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { source?: unknown };
    return canonicalJson(m.source) === canonicalJson(synthSource(normalizeOptions(opts)));
  } catch {
    return false;
  }
}

/** A dataset of recipe `opts`: the first candidate that matches, else generated at `dir` (atomically, via a temp dir). */
async function ensureDataset(opts: SynthOptions, dir: string, candidates: readonly string[] = []): Promise<string> {
  for (const c of [...candidates, dir]) if (isRecipe(c, opts)) return c;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  log(`generating ${opts.hours} h x ${opts.symbols.length} symbols at ${dir} ...`);
  const t0 = performance.now();
  await synthesize(opts, tmp);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

/** Bare scan: every selected part file, the replay's columns, chunk by chunk into typed arrays. */
async function scanBare(ds: Dataset, opts: ReadOptions): Promise<number> {
  const files = ds.select({ ...opts, kinds: KINDS_READ });
  const cap = 2048;
  const f64 = Array.from({ length: 8 }, () => new Float64Array(cap));
  const i8 = new Int8Array(cap);
  const where: string[] = [];
  if (opts.fromMs !== undefined) where.push(`recv_ts_ms >= ${Math.trunc(opts.fromMs)}`);
  if (opts.toMs !== undefined) where.push(`recv_ts_ms < ${Math.trunc(opts.toMs)}`);
  let rows = 0;
  for (const f of files) {
    const kind = f.kind as 'trades' | 'quotes';
    const sql =
      `SELECT ${SCAN_COLS[kind]} FROM read_parquet(${sqlString(path.join(ds.root, f.path))})` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '');
    for await (const chunk of streamChunks(sql)) {
      const n = chunk.rowCount;
      if (n > cap) throw new Error(`chunk of ${n} rows > ${cap}`);
      if (kind === 'trades') {
        for (let c = 0; c < 7; c++) readF64(chunk, c, f64[c], 0);
        readI8(chunk, 7, i8, 0);
      } else {
        for (let c = 0; c < 8; c++) readF64(chunk, c, f64[c], 0);
      }
      rows += n;
    }
  }
  return rows;
}

/** Reader scan: Dataset.stream for every symbol and kind the replay reads. */
async function scanReader(ds: Dataset, opts: ReadOptions): Promise<number> {
  let rows = 0;
  for (const symbol of ds.manifest.symbols) {
    for (const kind of KINDS_READ) {
      for await (const b of ds.stream(symbol, kind, opts)) rows += b.length;
    }
  }
  return rows;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

/** CPU ms of this process while `fn` runs. */
async function cpuOf(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** CPU-seconds per stage (see 3b in the header). */
export async function stageCpu(
  ds: Dataset,
  toMs: number | undefined,
  config: LoadedConfig,
): Promise<{ read: number; sequence: number; calculators: number; write: number }> {
  // the read options replay() uses
  const opts: ReadOptions = {
    kinds: ['trades', 'quotes'],
    toMs,
    verifyHashes: true,
    batchRows: REPLAY_BATCH_ROWS,
  };
  const params = calcParamsFromConfig(config.config);
  const read = await cpuOf(async () => {
    for await (const _b of arrivalBlocks(ds, opts));
  });
  const sequenced = await cpuOf(async () => {
    const seq = new Sequencer(params.sequencer, () => {});
    for await (const b of arrivalBlocks(ds, opts)) {
      for (let i = 0; i < b.n; i++) {
        const t = b.batches[b.src[i]];
        const r = b.row[i];
        const ts = t.ts_ms[r];
        const recv = t.recv_ts_ms[r];
        seq.push(KIND_RANK[t.kind], ts, recv, t.recv_seq[r], i, tickClock(t.kind, ts, recv));
      }
    }
    seq.flush();
  });
  const computed = await cpuOf(async () => {
    const p = new Pipeline(params, { mergeTolMs: config.config.labels.merge_tol_ms });
    for await (const b of arrivalBlocks(ds, opts)) {
      p.push(b);
      p.take(DERIVED_BLOCK_ROWS);
    }
    p.finish();
    p.take(DERIVED_BLOCK_ROWS);
  });
  const outDir = path.join(BENCH_DIR, `replay-stages-${process.pid}`);
  let whole: number;
  try {
    whole = await cpuOf(() =>
      replay({ data: ds.root, config, out: outDir, runTag: 'stages', progress: false, toMs, io: 'inline', threads: 1 }),
    );
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  return {
    read: read / 1000,
    sequence: (sequenced - read) / 1000,
    calculators: (computed - sequenced) / 1000,
    write: (whole - computed) / 1000,
  };
}

interface ChildResult {
  readonly ticks: number;
  readonly wall_ms: number;
  readonly cpu_s: number;
  readonly max_rss_kib: number;
  readonly heap_used_peak_mib: number;
  readonly external_peak_mib: number;
  readonly rss_peak_by_quarter_mib: number[];
}

/** Replay `data` (or a `stage` of it, see bench/replay-child.ts) in a fresh `node --import tsx bench/replay-child.ts` process. */
function childReplay(data: string, out: string, stage = 'replay'): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', path.join(REPO, 'bench', 'replay-child.ts'), data, out, stage];
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`replay child exited ${code}: ${stderr.trim()}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ChildResult);
      } catch {
        reject(new Error(`replay child printed no result: ${stdout.trim()} ${stderr.trim()}`));
      }
    });
  });
}

/** The load average as `uptime` prints it, as a row. */
function loadRow(when: string): Row {
  const [a, b, c] = os.loadavg();
  return {
    name: `machine load average ${when} (1 min; ${os.cpus().length} cores)`,
    value: a,
    unit: '',
    note: `1 / 5 / 15 min: ${a.toFixed(2)} / ${b.toFixed(2)} / ${c.toFixed(2)}`,
  };
}

/** Wall seconds of `flowlab --version`: node, tsx and the CLI's imports, no work. */
async function startupSeconds(): Promise<number> {
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [path.join(REPO, 'bin', 'flowlab.mjs'), '--version'], {
        cwd: REPO,
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`flowlab --version exited ${code}`)),
      );
    });
  const xs: number[] = [];
  for (let i = 0; i < 3; i++) xs.push(await once());
  return median(xs);
}

function agreementRows(label: string, a: Agreement): Row[] {
  const rows: Row[] = [];
  for (const [table, cols] of Object.entries(COMPARED) as ['cvd' | 'ofi' | 'fusion', readonly string[]][]) {
    const t = a[table];
    for (const c of cols) {
      const col = t[c] as ColumnAgreement;
      rows.push({
        name: `peer ${label} vs flowlab: ${table}.${c} max |diff|`,
        value: col.max_abs_diff ?? NaN,
        unit: '',
        note:
          `${col['diff_gt_1e-9_rel'].toLocaleString('en-US')} of ${col.both_non_null.toLocaleString('en-US')} differ > 1e-9 rel, ` +
          `${col.null_mismatch} null mismatches; rows flowlab ${t.flowlab_rows.toLocaleString('en-US')} / peer ${t.peer_rows.toLocaleString('en-US')} ` +
          `(only flowlab ${t.only_flowlab}, only peer ${t.only_peer})`,
      });
    }
  }
  return rows;
}

/** Section 0 (see the header): flowlab's replay process against the Polars peer on the 6 h dataset. */
async function benchPeer(config: LoadedConfig): Promise<Row[]> {
  const data = await ensureDataset(PEER_SYNTH, path.join(BENCH_DIR, 'default-6h-seed11'));
  log(`6 h dataset: ${data}`);
  const label = '6 h x 6 sym (seed 11)';
  const rows: Row[] = [];
  const flOut = path.join(BENCH_DIR, `peer-flowlab-${process.pid}`);
  const peerOut = path.join(BENCH_DIR, `peer-out-${process.pid}`);
  try {
    const setup = findPeer(REPO);
    const fl: number[] = [];
    const pe: number[] = [];
    const peCpu: number[] = [];
    const peWall: number[] = [];
    let ticks = 0;
    let peerTicks = NaN;
    let dataDir = '';
    for (let i = 0; i < PEER_REPS; i++) {
      log(`${label}: flowlab replay process, run ${i + 1} of ${PEER_REPS} ...`);
      const f = await flowlabReplayProcess(REPO, data, flOut);
      fl.push(f.wallS);
      ticks = f.ticks;
      dataDir = f.dataDir;
      if ('skip' in setup) continue;
      log(`${label}: Polars peer --dedup, run ${i + 1} of ${PEER_REPS} ...`);
      const p = await peerRun(setup, REPO, data, peerOut, { dedup: true });
      pe.push(p.timing.seconds);
      peCpu.push(p.timing.cpu_seconds);
      peWall.push(p.wallS);
      peerTicks = p.timing.ticks;
    }
    const flMed = median(fl);
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    rows.push({ name: `${label}: flowlab ticks`, value: ticks, unit: 'ticks' });
    rows.push({
      name: `${label}: flowlab replay process (median of ${PEER_REPS})`,
      value: flMed,
      unit: 's',
      note: `whole process, all five tables; runs ${runs(fl)} s`,
    });
    rows.push({
      name: 'flowlab CLI start-up (`flowlab --version`, median of 3)',
      value: await startupSeconds(),
      unit: 's',
    });
    if ('skip' in setup) {
      rows.push({ name: 'Polars peer', value: NaN, unit: '', note: `skipped: ${setup.skip}` });
    } else {
      const peMed = median(pe);
      rows.push({
        name: `${label}: Polars peer --dedup (median of ${PEER_REPS})`,
        value: peMed,
        unit: 's',
        note: `its read + compute + write of ${peerTicks.toLocaleString('en-US')} ticks (JIT warmed); runs ${runs(pe)} s, CPU ${runs(peCpu)} s; whole process incl. imports + JIT ${runs(peWall)} s`,
      });
      rows.push({ name: 'ratio flowlab process / peer (target <= 1.0)', value: flMed / peMed, unit: 'x' });
      log(`${label}: peer agreement with flowlab's tables, with and without --dedup ...`);
      const withDedup = (await peerRun(setup, REPO, data, peerOut, { dedup: true, compare: dataDir })).agreement!;
      const without = (await peerRun(setup, REPO, data, peerOut, { dedup: false, compare: dataDir })).agreement!;
      const dd = disagreements(withDedup);
      const nd = disagreements(without);
      rows.push({
        name: 'peer variant that matches flowlab (fewer disagreements)',
        value: Math.min(dd, nd),
        unit: 'rows + values',
        note: `${dd <= nd ? '--dedup' : 'without --dedup'} (${dd.toLocaleString('en-US')} with --dedup, ${nd.toLocaleString('en-US')} without: rows on one side only + values differing > 1e-9 rel)`,
      });
      rows.push(...agreementRows('--dedup', withDedup), ...agreementRows('without --dedup', without));
    }
  } finally {
    fs.rmSync(flOut, { recursive: true, force: true });
    fs.rmSync(peerOut, { recursive: true, force: true });
  }
  log(`CPU per stage ${label} (four inline passes) ...`);
  const st = await stageCpu(new Dataset(data), undefined, config);
  rows.push(
    { name: `CPU per stage ${label}: read (reader, merge, sha256)`, value: st.read, unit: 's' },
    { name: `CPU per stage ${label}: sequence`, value: st.sequence, unit: 's' },
    { name: `CPU per stage ${label}: calculators + derived rows`, value: st.calculators, unit: 's' },
    { name: `CPU per stage ${label}: write (Parquet, inline)`, value: st.write, unit: 's' },
  );
  return rows;
}

/** Sections 4 and 4b (see the header): peak RSS in fresh processes, 24 h and 96 h, and the 24 h peak by stage. */
async function benchMemory(day: string, long: string): Promise<Row[]> {
  // 4: peak RSS of full replays in fresh processes
  const rss: Record<string, ChildResult> = {};
  for (const [name, data] of [
    ['24 h', day],
    [`${LONG_HOURS} h`, long],
  ] as const) {
    log(`replay ${name} x 6 sym in a child process ...`);
    const out = path.join(BENCH_DIR, `replay-child-out-${process.pid}`);
    try {
      rss[name] = await childReplay(data, out);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
  const r24 = rss['24 h'];
  const rLong = rss[`${LONG_HOURS} h`];
  // 4b: where the 24 h peak goes: one fresh process per stage, each adding one piece
  const budget: Row[] = [];
  let prev = 0;
  for (const [stage, what] of [
    ['start', 'modules + DuckDB, no data'],
    ['read', '+ reader (12 streams, sha256), blocks discarded'],
    ['calc', '+ pipeline, derived blocks discarded'],
    ['inline', '+ Parquet writing (replay --io inline)'],
  ] as const) {
    log(`memory budget 24 h x 6 sym: stage '${stage}' in a child process ...`);
    const out = path.join(BENCH_DIR, `replay-child-out-${process.pid}`);
    let r: ChildResult;
    try {
      r = await childReplay(day, out, stage);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    const mib = r.max_rss_kib / 1024;
    budget.push({
      name: `peak RSS 24 h x 6 sym, one thread: ${stage}`,
      value: mib,
      unit: 'MiB',
      note: `${what}; ${stage === 'start' ? '' : `${mib - prev >= 0 ? '+' : ''}${(mib - prev).toFixed(0)} MiB, `}CPU ${r.cpu_s.toFixed(1)} s, V8 heap peak ${r.heap_used_peak_mib} MiB, external peak ${r.external_peak_mib} MiB`,
    });
    prev = mib;
  }
  budget.push({
    name: 'peak RSS 24 h x 6 sym: replay as flowlab runs it',
    value: r24.max_rss_kib / 1024,
    unit: 'MiB',
    note: `${r24.max_rss_kib / 1024 - prev >= 0 ? '+' : ''}${(r24.max_rss_kib / 1024 - prev).toFixed(0)} MiB against one thread: threads and io 'auto' (symbol shards, or reader and writer threads; each thread its own isolate, module graph and DuckDB instance)`,
  });

  return [
    { name: 'replay 24 h x 6 sym (child): ticks', value: r24.ticks, unit: 'ticks' },
    { name: 'replay 24 h x 6 sym (child): throughput', value: (r24.ticks / r24.wall_ms) * 1000, unit: 'ticks/s' },
    { name: 'replay 24 h x 6 sym (child): CPU time, all threads', value: r24.cpu_s, unit: 's' },
    { name: 'replay 24 h x 6 sym (child): peak RSS (target < 400)', value: r24.max_rss_kib / 1024, unit: 'MiB' },
    { name: 'replay 24 h x 6 sym (child): peak V8 heap used (sampled)', value: r24.heap_used_peak_mib, unit: 'MiB' },
    { name: 'replay 24 h x 6 sym (child): peak external (sampled)', value: r24.external_peak_mib, unit: 'MiB' },
    { name: `replay ${LONG_HOURS} h x 6 sym (child): ticks`, value: rLong.ticks, unit: 'ticks' },
    {
      name: `replay ${LONG_HOURS} h x 6 sym (child): throughput`,
      value: (rLong.ticks / rLong.wall_ms) * 1000,
      unit: 'ticks/s',
    },
    { name: `replay ${LONG_HOURS} h x 6 sym (child): CPU time, all threads`, value: rLong.cpu_s, unit: 's' },
    { name: `replay ${LONG_HOURS} h x 6 sym (child): peak RSS`, value: rLong.max_rss_kib / 1024, unit: 'MiB' },
    {
      name: `replay ${LONG_HOURS} h x 6 sym (child): peak V8 heap used (sampled)`,
      value: rLong.heap_used_peak_mib,
      unit: 'MiB',
    },
    {
      name: `replay ${LONG_HOURS} h x 6 sym (child): peak external (sampled)`,
      value: rLong.external_peak_mib,
      unit: 'MiB',
    },
    {
      name: `peak RSS ratio ${LONG_HOURS} h / 24 h (target <= 1.1)`,
      value: rLong.max_rss_kib / r24.max_rss_kib,
      unit: 'x',
    },
    {
      name: `replay ${LONG_HOURS} h: sampled RSS peak, first quarter`,
      value: rLong.rss_peak_by_quarter_mib[0],
      unit: 'MiB',
    },
    {
      name: `replay ${LONG_HOURS} h: sampled RSS peak, last quarter`,
      value: rLong.rss_peak_by_quarter_mib[3],
      unit: 'MiB',
    },
    {
      name: `RSS peak ratio last / first quarter of ${LONG_HOURS} h`,
      value: rLong.rss_peak_by_quarter_mib[3] / rLong.rss_peak_by_quarter_mib[0],
      unit: 'x',
    },
    ...budget,
  ];
}

export async function benchReplay(args: readonly string[] = []): Promise<Row[]> {
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const loadBefore = loadRow('before');
  const config = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
  const memoryOnly = args.includes('--memory-only');
  const peerRows = memoryOnly ? [] : await benchPeer(config);
  if (args.includes('--peer-only')) return [loadBefore, ...peerRows, loadRow('after')];
  const day = await ensureDataset(DEFAULT_SYNTH, path.join(BENCH_DIR, 'default-24h'), [
    path.join(REPO, DEFAULT_DATASET_RECIPE.dir),
  ]);
  const long = await ensureDataset(
    { ...DEFAULT_SYNTH, hours: LONG_HOURS },
    path.join(BENCH_DIR, `default-${LONG_HOURS}h`),
  );
  log(`24 h dataset: ${day}`);
  log(`${LONG_HOURS} h dataset: ${long}`);
  if (memoryOnly) return [loadBefore, ...(await benchMemory(day, long)), loadRow('after')];

  // 1-3: throughput, in this process, on the first THROUGHPUT_HOURS of the 24 h dataset
  const ds = new Dataset(day);
  const start = ds.manifest.time_range.recv_ts_ms![0];
  const toMs = THROUGHPUT_HOURS >= DEFAULT_SYNTH.hours ? undefined : start + THROUGHPUT_HOURS * 3_600_000;
  const sel: ReadOptions = { toMs };
  const label = `${THROUGHPUT_HOURS} h x ${ds.manifest.symbols.length} sym`;

  log('warm-up scan ...');
  await scanBare(ds, sel); // page cache + DuckDB warm-up, not timed
  let bare = { rows: 0, ms: Infinity };
  let reader = { rows: 0, ms: Infinity };
  const scans = async () => {
    const b = await timed(() => scanBare(ds, sel));
    if (b.ms < bare.ms) bare = { rows: b.value, ms: b.ms };
    const r = await timed(() => scanReader(ds, sel));
    if (r.ms < reader.ms) reader = { rows: r.value, ms: r.ms };
  };
  await scans();

  log(`replay ${label} in process ...`);
  const outDir = path.join(BENCH_DIR, `replay-out-${process.pid}`);
  let rep: { ticks: number; ms: number; cpuMs: number };
  try {
    const cpu0 = process.cpuUsage();
    const r = await timed(() =>
      replay({ data: day, config, out: outDir, runTag: 'bench', progress: false, overwrite: true, toMs }),
    );
    const cpu = process.cpuUsage(cpu0);
    rep = { ticks: r.value.ticks, ms: r.ms, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  for (let i = 1; i < SCAN_REPS; i++) await scans();
  if (bare.rows !== rep.ticks || reader.rows !== rep.ticks) {
    log(`WARNING: row counts differ: replay ${rep.ticks}, bare scan ${bare.rows}, reader scan ${reader.rows}`);
  }
  log(`CPU per stage ${label} (four inline passes) ...`);
  const stages = await stageCpu(ds, toMs, config);
  const repRate = (rep.ticks / rep.ms) * 1000;
  const bareRate = (bare.rows / bare.ms) * 1000;
  const readerRate = (reader.rows / reader.ms) * 1000;

  const memRows = await benchMemory(day, long);

  return [
    loadBefore,
    ...peerRows,
    { name: `replay ${label}: ticks`, value: rep.ticks, unit: 'ticks' },
    { name: `replay ${label}: wall time`, value: rep.ms / 1000, unit: 's' },
    { name: `replay ${label}: throughput`, value: repRate, unit: 'ticks/s' },
    { name: `replay ${label}: CPU time, all threads`, value: rep.cpuMs / 1000, unit: 's' },
    { name: `bare DuckDB scan (streamChunks+readF64) ${label}`, value: bareRate, unit: 'ticks/s' },
    { name: `reader scan (Dataset.stream) ${label}`, value: readerRate, unit: 'ticks/s' },
    { name: 'ratio replay / bare DuckDB scan (target >= 0.5)', value: repRate / bareRate, unit: 'x' },
    { name: 'ratio replay / reader scan', value: repRate / readerRate, unit: 'x' },
    { name: `CPU per stage ${label}: read (reader, merge, sha256)`, value: stages.read, unit: 's' },
    { name: `CPU per stage ${label}: sequence`, value: stages.sequence, unit: 's' },
    { name: `CPU per stage ${label}: calculators + derived rows`, value: stages.calculators, unit: 's' },
    { name: `CPU per stage ${label}: write (Parquet, inline)`, value: stages.write, unit: 's' },
    ...memRows,
    loadRow('after'),
  ];
}
