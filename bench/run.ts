/**
 * `npm run bench`: every benchmark module in one run, side by side, printed as
 * a table. Benchmarks report rates and ratios measured in the same process on
 * the same machine; none of them is a pass/fail timing test.
 *
 * Usage: npm run bench [-- <name-filter> [suite options]]
 * (suite options go to the suites that take them, e.g. `npm run bench -- canary --seeds 3`).
 * `canary` is opt-in: it runs only when the filter names it.
 */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Printed after the unit; alone (no value) when the value is NaN, e.g. why a line is skipped. */
  readonly note?: string;
}

type Bench = (args: readonly string[]) => Promise<BenchResult[]>;

const SUITES: Record<string, () => Promise<Bench>> = {
  import: async () => (await import('./import.bench.js')).benchImport,
  synth: async () => (await import('./synth.bench.js')).benchSynth,
  eval: async () => (await import('./eval.bench.js')).benchEval,
  recorder: async () => (await import('./recorder.bench.js')).benchRecorder,
  replay: async () => (await import('./replay.bench.js')).benchReplay,
  threads: async () => (await import('./threads.bench.js')).benchThreads,
  seqdelay: async () => (await import('./seqdelay.bench.js')).benchSeqDelay,
  canary: async () => (await import('./canary.bench.js')).benchCanary,
  evaluate: async () => (await import('./evaluate.bench.js')).benchEvaluate,
  sweep: async () => (await import('./sweep.bench.js')).benchSweep,
  'sweep-results': async () => (await import('./sweep.bench.js')).benchSweepResults,
  startup: async () => (await import('./startup.bench.js')).benchStartup,
};

/** Suites that run only when named: the canary bench runs ~60 synth + canary processes (tens of minutes); threads 12 replays. */
const OPT_IN = new Set(['canary', 'sweep', 'sweep-results', 'threads']);

async function main(): Promise<void> {
  const filter = process.argv[2];
  const rows: BenchResult[] = [];
  for (const [name, load] of Object.entries(SUITES)) {
    if (filter ? !name.includes(filter) : OPT_IN.has(name)) continue;
    process.stderr.write(`bench: ${name} ...\n`);
    const fn = await load();
    const res = await fn(process.argv.slice(3));
    for (const r of res) {
      rows.push(r);
      process.stdout.write(`${line(r)}\n`);
    }
  }
  if (rows.length === 0)
    process.stdout.write(`no benchmark matches '${filter}' (have: ${Object.keys(SUITES).join(', ')})\n`);
}

function line(r: BenchResult): string {
  if (Number.isNaN(r.value) && r.note) return `${r.name.padEnd(56)} ${r.note}`;
  const s = `${r.name.padEnd(56)} ${fmt(r.value).padStart(14)} ${r.unit}`;
  return r.note ? `${s}  (${r.note})` : s;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(4);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
