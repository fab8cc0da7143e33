// Preloaded (`node --import ./bench/usage-preload.mjs bin/flowlab.mjs ...`) by bench/threads.bench.ts:
// at exit, prints the whole process's CPU time (all threads: getrusage) and peak RSS as one
// `bench-usage {json}` line on stderr, so a CLI run is measured as a user runs it.
process.on('exit', () => {
  const c = process.cpuUsage();
  const r = process.resourceUsage();
  process.stderr.write(
    `bench-usage ${JSON.stringify({ cpu_ms: (c.user + c.system) / 1000, max_rss_kib: r.maxRSS })}\n`,
  );
});
