/**
 * `npm run bench -- canary [--seeds N] [--modes seed,evidence]`: the canary gates against known ground
 * truth (issue 10). Seeds 1..N (default 10) of three synthetic 24 h cases:
 *
 *   healthy  BTCUSDT,SOLUSDT  --effect 0.15
 *   dying    BTCUSDT,SOLUSDT  --effect 0.15 --effect-schedule 'SOLUSDT:0@12h'
 *   null     BTCUSDT,ETHUSDT  --effect 0
 *
 * Each dataset is synthesized once and run through `flowlab canary` under every
 * gate mode the CLI offers (`--gate-mode seed|evidence` when `canary --help`
 * lists the flag; else one run labelled `default`), as child processes, at
 * most 2 at once. The figures come from the run folders (canary-summary.ts):
 * discrimination + calibration incidents per symbol-day on healthy; detection
 * delay of SOLUSDT's first P1 discrimination incident after 12:00 and the false
 * alarms on dying; null verdicts and the bias of the gate's windowed AUC
 * statistic against the pooled AUC. Prints the machine load and wall time.
 * Datasets and runs live in a temp folder, removed per seed once read
 * (FLOWLAB_BENCH_CANARY_KEEP=1 keeps them).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SYNTH } from '../src/synth/index.js';
import { formatSummary, readRun, summarize, type CaseName, type RunFigures, type RunSpec } from './canary-summary.js';
import type { BenchResult } from './run.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin/flowlab.mjs');
const HOURS = 24;
const CHANGE_OFFSET_MS = 12 * 3_600_000;
const MAX_PROCS = 2;

interface CaseDef {
  readonly name: CaseName;
  readonly symbols: readonly string[];
  readonly effect: number;
  readonly schedule?: string;
  readonly change?: string;
}

export const CASES: readonly CaseDef[] = [
  { name: 'healthy', symbols: ['BTCUSDT', 'SOLUSDT'], effect: 0.15 },
  {
    name: 'dying',
    symbols: ['BTCUSDT', 'SOLUSDT'],
    effect: 0.15,
    schedule: 'SOLUSDT:0@12h',
    change: 'SOLUSDT',
  },
  { name: 'null', symbols: ['BTCUSDT', 'ETHUSDT'], effect: 0 },
];

function log(msg: string): void {
  process.stderr.write(`bench canary: ${msg}\n`);
}

/** Run the CLI; resolves with stdout, rejects with the command and its last stderr line. */
function flowlab(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code === 0) resolve(out);
      else {
        const last = err.trim().split('\n').pop() ?? '';
        reject(new Error(`flowlab ${args.join(' ')} exited ${code}: ${last}`));
      }
    });
  });
}

/** At most `limit` processes at once: a semaphore around `flowlab`. */
function limiter(limit: number): (args: readonly string[]) => Promise<string> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (args) => {
    if (running >= limit) await new Promise<void>((r) => queue.push(r));
    running++;
    try {
      return await flowlab(args);
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}

export function parseSeeds(args: readonly string[]): number {
  const i = args.indexOf('--seeds');
  if (i < 0) return 10;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > 1000)
    throw new Error(`--seeds: '${args[i + 1] ?? ''}' is not valid (expected an integer in [1, 1000])`);
  return v;
}

/** `--modes a,b`: a subset of the gate modes the CLI offers (all of them by default). */
export function parseModes(args: readonly string[], available: readonly string[]): string[] {
  const i = args.indexOf('--modes');
  if (i < 0) return [...available];
  const want = (args[i + 1] ?? '').split(',').filter((m) => m !== '');
  const bad = want.filter((m) => !available.includes(m));
  if (want.length === 0 || bad.length > 0)
    throw new Error(`--modes: '${args[i + 1] ?? ''}' is not valid (expected a comma list of ${available.join(', ')})`);
  return available.filter((m) => want.includes(m));
}

export async function benchCanary(args: readonly string[] = []): Promise<BenchResult[]> {
  const nSeeds = parseSeeds(args);
  const help = await flowlab(['canary', '--help']);
  const modes = parseModes(args, help.includes('--gate-mode') ? ['seed', 'evidence'] : ['default']);
  log(
    modes[0] === 'default'
      ? 'this canary has no --gate-mode: one run per dataset, column "default" (current behaviour)'
      : `gate modes: ${modes.join(', ')}`,
  );
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-canary-'));
  const keep = process.env.FLOWLAB_BENCH_CANARY_KEEP === '1';
  const run = limiter(MAX_PROCS);
  const load: number[] = [];
  const sampler = setInterval(() => load.push(os.loadavg()[0]), 5000);
  const load0 = os.loadavg();
  const t0 = performance.now();
  const startMs = DEFAULT_SYNTH.startMs;
  let done = 0;
  const total = CASES.length * nSeeds;

  const one = async (c: CaseDef, seed: number): Promise<RunFigures[]> => {
    const tag = `${c.name}-s${seed}`;
    const ds = path.join(root, `${tag}-data`);
    await run([
      'synth',
      '--out',
      ds,
      '--symbols',
      c.symbols.join(','),
      '--hours',
      String(HOURS),
      '--seed',
      String(seed),
      '--effect',
      String(c.effect),
      ...(c.schedule ? ['--effect-schedule', c.schedule] : []),
    ]);
    const figs: RunFigures[] = [];
    const runs = path.join(root, `${tag}-runs`);
    for (const mode of modes) {
      await run([
        'canary',
        '--data',
        ds,
        '--symbols',
        c.symbols.join(','),
        '--out',
        runs,
        '--run-tag',
        mode,
        '--no-progress',
        ...(mode === 'default' ? [] : ['--gate-mode', mode]),
      ]);
      const spec: RunSpec = {
        case: c.name,
        seed,
        mode,
        reportDir: path.join(runs, mode, 'canary_report'),
        symbols: c.symbols,
        startMs,
        hours: HOURS,
        change: c.change ? { symbol: c.change, atMs: startMs + CHANGE_OFFSET_MS } : undefined,
      };
      figs.push(readRun(spec));
    }
    if (!keep) {
      fs.rmSync(ds, { recursive: true, force: true });
      fs.rmSync(runs, { recursive: true, force: true });
    }
    done++;
    log(`${done}/${total} ${tag} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return figs;
  };

  let figures: RunFigures[];
  try {
    // two dataset chains at a time keep both process slots busy
    const jobs: (() => Promise<RunFigures[]>)[] = [];
    for (const c of CASES) for (let s = 1; s <= nSeeds; s++) jobs.push(() => one(c, s));
    const results: RunFigures[][] = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const k = next++;
        results[k] = await jobs[k]();
      }
    };
    await Promise.all(Array.from({ length: MAX_PROCS }, worker));
    figures = results.flat();
  } finally {
    clearInterval(sampler);
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }
  const wall = (performance.now() - t0) / 1000;
  const load1 = os.loadavg();
  const sums = summarize(figures);
  const meanLoad = load.length ? load.reduce((a, b) => a + b, 0) / load.length : load1[0];
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(
    `canary bench: seeds 1-${nSeeds} per case, ${HOURS} h each; cases: ${CASES.map(
      (c) =>
        `${c.name} = ${c.symbols.join(',')} --effect ${c.effect}${c.schedule ? ` --effect-schedule '${c.schedule}'` : ''}`,
    ).join('; ')}\n`,
  );
  process.stdout.write(formatSummary(sums, modes));
  process.stdout.write(
    `wall ${wall.toFixed(0)} s for ${figures.length} canary runs + ${total} datasets (at most ${MAX_PROCS} processes at once; ${os.cpus().length} cores); ` +
      `load average (1/5/15 min) at start ${la(load0)}, at end ${la(load1)}, 1-min mean over the run ${meanLoad.toFixed(2)}\n`,
  );

  const out: BenchResult[] = [];
  for (const s of sums) {
    const p = `canary ${s.mode}: ${s.case}`;
    if (s.case === 'healthy')
      out.push({ name: `${p} disc+calib incidents / symbol-day`, value: s.falseAlarmsPerSymbolDay, unit: '' });
    if (s.case === 'dying') {
      out.push({ name: `${p} median detection delay`, value: s.medianDelayMin ?? NaN, unit: 'min' });
      out.push({ name: `${p} misses`, value: s.misses, unit: `of ${s.runs}` });
      out.push({ name: `${p} false alarms / symbol-day`, value: s.falseAlarmsPerSymbolDay, unit: '' });
    }
    if (s.case === 'null') {
      out.push({ name: `${p} symbols recommended`, value: s.recommended, unit: `of ${s.symbols}` });
      const b = s.bias.length ? s.bias.reduce((a, x) => a + x, 0) / s.bias.length : NaN;
      out.push({ name: `${p} gate AUC stat bias (${s.biasColumn})`, value: b, unit: '' });
    }
  }
  out.push({ name: 'canary bench wall time', value: wall, unit: 's' });
  return out;
}
