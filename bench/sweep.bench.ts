/**
 * Sweep throughput: shards per minute with 1 and 2 local worker processes, and
 * with 2 `flowlab worker` processes on a BullMQ queue (a redis-server started
 * here on a free 127.0.0.1 port; that line is skipped with a reason when the
 * binary is missing). A 4-config x 2-symbol grid (8 shards) over a 6 h
 * synthetic dataset; the three modes alternate, REPS rounds, medians reported,
 * with the machine's load average before and after. Each run is a whole
 * `flowlab sweep` process into a new folder (start-up, shards, results).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../src/synth/index.js';

const REPS = 3;
const REPO = path.resolve(import.meta.dirname, '..');
const BIN = path.join(REPO, 'bin/flowlab.mjs');

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function timedSweep(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'sweep', ...args, '--no-progress'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sweep failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

export async function benchSweep(): Promise<{ name: string; value: number; unit: string }[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-sweep-'));
  const load0 = os.loadavg()[0];
  try {
    const data = path.join(tmp, 'ds');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'SOLUSDT'], hours: 6, seed: 11 }, data);
    const base = ['--data', data, '--grid', 'fusion.weights.ofi=0.2,0.4,0.6,0.8', '--symbols', 'BTCUSDT,SOLUSDT'];
    const shards = 8;
    const redisBin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
    let url = '';
    const procs: ReturnType<typeof spawn>[] = [];
    if (redisBin) {
      const port = await freePort();
      procs.push(
        spawn(redisBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
          stdio: 'ignore',
        }),
      );
      url = `redis://127.0.0.1:${port}`;
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 2; i++) {
        const w = spawn(process.execPath, [BIN, 'worker', '--queue', url], {
          cwd: REPO,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        procs.push(w);
        await new Promise<void>((r) => w.stdout!.on('data', (d) => String(d).includes('ready') && r()));
      }
    } else
      process.stderr.write('bench sweep: redis-server not found, queue mode skipped (scripts/setup-services.sh)\n');
    const t: Record<string, number[]> = { w1: [], w2: [], queue: [] };
    try {
      for (let rep = 0; rep < REPS; rep++) {
        t.w1.push(timedSweep([...base, '--workers', '1', '--out', path.join(tmp, `w1-${rep}`)]));
        t.w2.push(timedSweep([...base, '--workers', '2', '--out', path.join(tmp, `w2-${rep}`)]));
        if (url) t.queue.push(timedSweep([...base, '--queue', url, '--out', path.join(tmp, `q-${rep}`)]));
      }
    } finally {
      // workers first (they exit on SIGTERM after closing their connection), Redis last
      for (const p of procs.slice(1).concat(procs.slice(0, 1))) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
        if (p.exitCode === null) p.kill('SIGKILL');
      }
    }
    const m1 = median(t.w1);
    const m2 = median(t.w2);
    const rows = [
      { name: 'sweep: local, 1 worker (8 shards of 6 h x 1 symbol)', value: (shards / m1) * 60, unit: 'shards/min' },
      { name: 'sweep: local, 2 workers', value: (shards / m2) * 60, unit: 'shards/min' },
      { name: 'sweep: speed-up 2 workers / 1', value: m1 / m2, unit: 'x' },
    ];
    if (t.queue.length) {
      const mq = median(t.queue);
      rows.push({ name: 'sweep: queue, 2 flowlab workers', value: (shards / mq) * 60, unit: 'shards/min' });
      rows.push({ name: 'sweep: queue overhead vs local 2 workers', value: (mq - m2) / shards, unit: 's/shard' });
    }
    rows.push({
      name: `sweep: load average before / after (${REPS} alternating rounds, medians)`,
      value: load0,
      unit: `/ ${os.loadavg()[0].toFixed(2)}`,
    });
    return rows;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * What the sweep's results step costs per shard against the shard itself, in
 * this process: `runShard` (a canary run of 6 h x 1 symbol, as in the sweep
 * bench) and `readShard` (verdicts, incidents, and the re-score: the shard's
 * eval samples loaded again, then the training and held-out AUCs under the
 * grid point's config), each on fresh shards of two grid points x two symbols
 * after one warm-up of each, medians, with the load average.
 */
export async function benchSweepResults(): Promise<{ name: string; value: number; unit: string }[]> {
  const { DEFAULT_CONFIG_PATH } = await import('../src/config/load.js');
  const { Dataset } = await import('../src/dataset/reader.js');
  const { codeHash } = await import('../src/replay/code.js');
  const { expandGrid, parseGridArg, writeOverlays } = await import('../src/sweep/grid.js');
  const { datasetManifestSha, runShard, shardId } = await import('../src/sweep/shard.js');
  const { readShard } = await import('../src/sweep/results.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-sweep-results-'));
  const load0 = os.loadavg()[0];
  try {
    const data = path.join(tmp, 'ds');
    const symbols = ['BTCUSDT', 'SOLUSDT'];
    await synthesize({ ...DEFAULT_SYNTH, symbols, hours: 6, seed: 11 }, data);
    const tr = new Dataset(data).manifest.time_range.recv_ts_ms;
    if (!tr) throw new Error('bench sweep-results: the dataset has no time range');
    const splitMs = Math.floor(tr[0] + 0.7 * (tr[1] + 1 - tr[0])); // the default --holdout 30%
    const datasetSha = await datasetManifestSha(data);
    const code = await codeHash();
    const run: number[] = [];
    const read: number[] = [];
    // round 0 is the warm-up (module loading, DuckDB start, JIT); rounds 1..REPS are timed
    for (let round = 0; round <= REPS; round++) {
      const out = path.join(tmp, `out-${round}`);
      const points = expandGrid([parseGridArg('fusion.weights.ofi=0.3,0.7')]);
      for (const point of writeOverlays(DEFAULT_CONFIG_PATH, points, path.join(out, 'configs')))
        for (const symbol of symbols) {
          const id = shardId({
            datasetSha,
            configFingerprintFull: point.config.fingerprintFull,
            symbol,
            fromMs: null,
            toMs: null,
            code,
          });
          const job = {
            id,
            data,
            configFile: point.file,
            configFingerprint: point.config.fingerprint,
            symbol,
            fromMs: null,
            toMs: null,
            out,
          };
          const t0 = performance.now();
          await runShard(job);
          const t1 = performance.now();
          await readShard({ job, point }, splitMs);
          const t2 = performance.now();
          if (round > 0) {
            run.push((t1 - t0) / 1000);
            read.push((t2 - t1) / 1000);
          }
        }
    }
    const mRun = median(run);
    const mRead = median(read);
    return [
      { name: `sweep results: runShard, 6 h x 1 symbol (median of ${run.length})`, value: mRun, unit: 's/shard' },
      { name: 'sweep results: readShard (load + 2 re-scores)', value: mRead, unit: 's/shard' },
      { name: 'sweep results: readShard / (runShard + readShard)', value: (100 * mRead) / (mRun + mRead), unit: '%' },
      { name: 'sweep results: load average before / after', value: load0, unit: `/ ${os.loadavg()[0].toFixed(2)}` },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
