/**
 * One replay in a fresh process, for peak-RSS measurement (bench/replay.bench.ts).
 *
 * Usage: node --import tsx bench/replay-child.ts <dataset> <outdir> [toMs]
 *
 * Replays <dataset> (all symbols, trades + quotes, config/ofi_cvd/prod.yaml with
 * no environment overrides) into <outdir>/bench-child and prints one JSON line
 * at the end: { ticks, wall_ms, cpu_s, max_rss_kib, heap_used_peak_mib, external_peak_mib,
 * rss_peak_by_quarter_mib } where max_rss_kib is `process.resourceUsage().maxRSS`
 * (KiB, peak resident set of this process, all threads), cpu_s its user + system
 * CPU seconds (start-up included), the heap / external
 * peaks are sampled every 100 ms, and rss_peak_by_quarter_mib holds the peak of
 * the sampled RSS in each quarter of the wall time: a replay whose memory does
 * not grow with length has about the same peak in every quarter.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { replay } from '../src/replay/replay.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const [data, out, to] = process.argv.slice(2);
  if (!data || !out) {
    process.stderr.write('usage: replay-child.ts <dataset> <outdir> [toMs]\n');
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
  const res = await replay({
    data,
    config,
    out,
    runTag: 'bench-child',
    progress: false,
    overwrite: true,
    toMs: to ? Number(to) : undefined,
  });
  const wallMs = performance.now() - t0;
  clearInterval(timer);
  sample();
  const ru = process.resourceUsage();
  const maxRss = ru.maxRSS;
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const quarters = [0, 0, 0, 0];
  for (const [t, r] of rss) {
    const q = Math.max(0, Math.min(3, Math.floor(((t - t0) / wallMs) * 4)));
    quarters[q] = Math.max(quarters[q], r);
  }
  process.stdout.write(
    `${JSON.stringify({
      ticks: res.ticks,
      wall_ms: wallMs,
      cpu_s: (ru.userCPUTime + ru.systemCPUTime) / 1e6,
      max_rss_kib: maxRss,
      heap_used_peak_mib: mib(heapPeak),
      external_peak_mib: mib(externalPeak),
      rss_peak_by_quarter_mib: quarters.map(mib),
    })}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`replay-child failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
