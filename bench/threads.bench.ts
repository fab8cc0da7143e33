/**
 * `npm run bench -- threads [--dataset <dir>] [--reps N] [--canary]`: symbol-parallel
 * replay (`--threads`, src/replay/shards.ts) as a user runs it: the whole
 * `flowlab replay` process (start-up included) for threads 1 and 2 x `--io
 * inline` and `--io workers`, the four configurations alternating, N rounds
 * (default 3); per configuration the median wall time, median CPU-seconds of
 * the process (all threads) and median peak RSS, with the 1-minute load
 * average before each run (the machine is shared: wall time moves with it).
 * With `--canary`: the whole `flowlab canary` process (replay, engines,
 * evaluation and report) for `--threads` 1 and 2 instead (src/canary/shards.ts;
 * its IO is `--io auto`).
 *
 * Dataset: `--dataset <dir>`, else `synth --hours 24 --seed 5` (six symbols)
 * generated once under os.tmpdir()/flowlab-bench/synth-24h-seed5.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SYNTH, synthesize } from '../src/synth/index.js';
import { manifestPath } from '../src/dataset/manifest.js';

type Row = { name: string; value: number; unit: string };

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = path.join(os.tmpdir(), 'flowlab-bench');
const REPLAY_CONFIGS = [
  { threads: 1, io: 'inline' },
  { threads: 1, io: 'workers' },
  { threads: 2, io: 'inline' },
  { threads: 2, io: 'workers' },
] as const;
const CANARY_CONFIGS = [
  { threads: 1, io: 'auto' },
  { threads: 2, io: 'auto' },
] as const;

function log(msg: string): void {
  process.stderr.write(`bench threads: ${msg}\n`);
}

interface Run {
  readonly wall_ms: number;
  readonly cpu_ms: number;
  readonly max_rss_kib: number;
  readonly load: number;
  /** CPU ms of the busiest thread (sampled). */
  readonly busiest_ms: number;
}

/** CPU ms (utime + stime) of every thread of `pid` now, by thread id; threads gone are left out. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after "pid (comm) ": state is f[0], utime f[11], stime f[12], in clock ticks (USER_HZ 100)
      out.set(tid, ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

function cliRun(command: 'replay' | 'canary', data: string, out: string, threads: number, io: string): Promise<Run> {
  const load = os.loadavg()[0];
  const args = [
    '--import',
    path.join(REPO, 'bench', 'usage-preload.mjs'),
    path.join(REPO, 'bin', 'flowlab.mjs'),
    command,
    '--data',
    data,
    '--out',
    out,
    '--run-tag',
    'bench',
    '--overwrite',
    '--no-progress',
    '--threads',
    String(threads),
    ...(command === 'replay' ? ['--io', io] : []),
  ];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    const perThread = new Map<string, number>();
    const poll = setInterval(() => {
      if (child.pid !== undefined) for (const [tid, ms] of threadCpu(child.pid)) perThread.set(tid, ms);
    }, 100);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      const wall = performance.now() - t0;
      const line = stderr.split('\n').find((l) => l.startsWith('bench-usage '));
      if (code !== 0 || !line) return reject(new Error(`${command} exited ${code}: ${stderr.trim()}`));
      const u = JSON.parse(line.slice('bench-usage '.length)) as { cpu_ms: number; max_rss_kib: number };
      resolve({ wall_ms: wall, ...u, load, busiest_ms: Math.max(0, ...perThread.values()) });
    });
  });
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function benchThreads(argv: readonly string[]): Promise<Row[]> {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const reps = Number(opt('--reps') ?? 3);
  const command = argv.includes('--canary') ? 'canary' : 'replay';
  const CONFIGS = command === 'canary' ? CANARY_CONFIGS : REPLAY_CONFIGS;
  let data = opt('--dataset');
  if (!data) {
    data = path.join(BENCH_DIR, 'synth-24h-seed5');
    if (manifestPath(data) === null) {
      log(`generating synth --hours 24 --seed 5 at ${data} ...`);
      fs.rmSync(data, { recursive: true, force: true });
      await synthesize({ ...DEFAULT_SYNTH, hours: 24, seed: 5 }, data);
    }
  }
  const out = fs.mkdtempSync(path.join(BENCH_DIR, 'threads-out-'));
  const runs = new Map<string, Run[]>(CONFIGS.map((c) => [`${c.threads}/${c.io}`, []]));
  try {
    for (let r = 0; r < reps; r++) {
      for (const c of CONFIGS) {
        const res = await cliRun(command, data, out, c.threads, c.io);
        runs.get(`${c.threads}/${c.io}`)!.push(res);
        log(
          `round ${r + 1} threads ${c.threads} io ${c.io}: wall ${(res.wall_ms / 1000).toFixed(1)} s, ` +
            `cpu ${(res.cpu_ms / 1000).toFixed(1)} s, busiest thread ${(res.busiest_ms / 1000).toFixed(1)} s, rss ${Math.round(res.max_rss_kib / 1024)} MiB, load ${res.load.toFixed(1)}`,
        );
      }
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const rows: Row[] = [];
  for (const c of CONFIGS) {
    const v = runs.get(`${c.threads}/${c.io}`)!;
    const k = `${command} threads ${c.threads} io ${c.io}`;
    rows.push({ name: `${k}: wall (median of ${reps})`, value: median(v.map((x) => x.wall_ms / 1000)), unit: 's' });
    rows.push({ name: `${k}: CPU (median)`, value: median(v.map((x) => x.cpu_ms / 1000)), unit: 's' });
    rows.push({
      name: `${k}: busiest thread CPU (median)`,
      value: median(v.map((x) => x.busiest_ms / 1000)),
      unit: 's',
    });
    rows.push({ name: `${k}: peak RSS (median)`, value: median(v.map((x) => x.max_rss_kib / 1024)), unit: 'MiB' });
    rows.push({ name: `${k}: load average before (median)`, value: median(v.map((x) => x.load)), unit: '' });
  }
  return rows;
}
