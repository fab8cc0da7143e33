/**
 * One replay in a fresh process, for peak-RSS measurement (bench/replay.bench.ts).
 *
 * Usage: node --import tsx bench/replay-child.ts <dataset> <outdir> [stage]
 *
 * Replays <dataset> (all symbols, trades + quotes, config/ofi_cvd/prod.yaml with
 * no environment overrides) into <outdir>/bench-child, or with `stage` only part
 * of it, to attribute the peak RSS (each stage adds one piece, all on this thread):
 *   start   the modules imported and one DuckDB query run, no data;
 *   read    + the replay's reader (arrivalBlocks: 12 streams, ORDER BY, sha256), blocks discarded;
 *   calc    + the pipeline (dedup, sequencer, calculators, derived rows cut into blocks), blocks discarded;
 *   inline  + writing: the whole replay with `io: 'inline'`;
 *   replay  the whole replay as `flowlab replay` runs it (default; threads and io 'auto': symbol shards on
 *           worker threads, or reader and writer threads for one shard).
 * It prints one JSON line
 * at the end: { ticks, wall_ms, cpu_s, max_rss_kib, heap_used_peak_mib, external_peak_mib,
 * rss_peak_by_quarter_mib } where max_rss_kib is the peak resident set of this
 * process (KiB, all threads): VmHWM of /proc/self/status on Linux, which covers
 * this program's own memory only (`process.resourceUsage().maxRSS` elsewhere:
 * on Linux that one also keeps the RSS of the spawning process at fork time,
 * so a small child of a large bench process reported the parent's peak), cpu_s its user + system
 * CPU seconds (start-up included), the heap / external
 * peaks are sampled every 100 ms, and rss_peak_by_quarter_mib holds the peak of
 * the sampled RSS in each quarter of the wall time: a replay whose memory does
 * not grow with length has about the same peak in every quarter.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { DERIVED_BLOCK_ROWS, REPLAY_BATCH_ROWS, replay } from '../src/replay/replay.js';
import { Dataset, type ReadOptions } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../src/pipeline/params.js';
import { duck } from '../src/io/duck.js';

const STAGES = ['start', 'read', 'calc', 'inline', 'replay'] as const;
type Stage = (typeof STAGES)[number];

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const [data, out, stageArg] = process.argv.slice(2);
  const stage = (stageArg ?? 'replay') as Stage;
  if (!data || !out || !STAGES.includes(stage)) {
    process.stderr.write(`usage: replay-child.ts <dataset> <outdir> [${STAGES.join('|')}]\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
  // sampled peaks of the V8 heap and of off-heap (ArrayBuffer / native-addon "external") memory,
  // to tell JS retention from native (DuckDB) memory when the peak RSS grows
  let heapPeak = 0;
  let externalPeak = 0;
  const rss: [number, number][] = [];
  const sample = () => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    externalPeak = Math.max(externalPeak, m.external);
    rss.push([performance.now(), m.rss]);
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  const t0 = performance.now();
  const ticks = await runStage(stage, data, out, config);
  const wallMs = performance.now() - t0;
  clearInterval(timer);
  sample();
  const ru = process.resourceUsage();
  const maxRss = peakRssKib() ?? ru.maxRSS;
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const quarters = [0, 0, 0, 0];
  for (const [t, r] of rss) {
    const q = Math.max(0, Math.min(3, Math.floor(((t - t0) / wallMs) * 4)));
    quarters[q] = Math.max(quarters[q], r);
  }
  process.stdout.write(
    `${JSON.stringify({
      stage,
      ticks,
      wall_ms: wallMs,
      cpu_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
      max_rss_kib: maxRss,
      heap_used_peak_mib: mib(heapPeak),
      external_peak_mib: mib(externalPeak),
      rss_peak_by_quarter_mib: quarters.map(mib),
    })}\n`,
  );
}

/** VmHWM (peak RSS of this program, KiB) from /proc/self/status; null where there is none. */
function peakRssKib(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs `stage` (see the header); the ticks it read. */
async function runStage(
  stage: Stage,
  data: string,
  out: string,
  config: ReturnType<typeof loadConfig>,
): Promise<number> {
  if (stage === 'inline' || stage === 'replay') {
    // inline: one thread does everything; replay: as `flowlab replay` runs (threads and io 'auto')
    const one = stage === 'inline' ? ({ io: 'inline', threads: 1 } as const) : {};
    return (await replay({ data, config, out, runTag: 'bench-child', progress: false, overwrite: true, ...one })).ticks;
  }
  const c = await duck();
  await c.run('SELECT 1');
  c.closeSync();
  if (stage === 'start') return 0;
  // the read options replay() uses
  const opts: ReadOptions = { kinds: ['trades', 'quotes'], verifyHashes: true, batchRows: REPLAY_BATCH_ROWS };
  const p =
    stage === 'calc'
      ? new Pipeline(calcParamsFromConfig(config.config), { mergeTolMs: config.config.labels.merge_tol_ms })
      : null;
  let ticks = 0;
  for await (const b of arrivalBlocks(new Dataset(data), opts)) {
    ticks += b.n;
    if (!p) continue;
    p.push(b);
    while (p.take(DERIVED_BLOCK_ROWS, 1).length > 0);
  }
  if (p) {
    p.finish();
    while (p.take(DERIVED_BLOCK_ROWS, 1).length > 0);
  }
  return ticks;
}

main().catch((e) => {
  process.stderr.write(`replay-child failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
