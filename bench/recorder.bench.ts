/**
 * Recorder ingest: the mock exchange (its own process) replays the USD-M
 * BTCUSDT capture (93,954 lines: trades, bookTickers, depth diffs) at max
 * speed over loopback; the recorder journals and writes everything. Reported:
 * sustained accepted messages/s (first frame -> last accepted), loss (source
 * messages not accepted; must be 0), p50/p99 frame -> journal write() (the
 * SIGKILL-durable point) and p99 frame -> fdatasync (power-loss durable),
 * plus the recorder process's CPU time per accepted message over the same
 * window (less sensitive than msgs/s to other load on the machine, which
 * takes wall time from both processes).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Recorder } from '../recorder/recorder.js';
import { quantileSorted } from '../recorder/metrics.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.resolve(REPO, '../shared/realdata/hftbacktest/usdm/btcusdt_20240808.gz');

export async function benchRecorder(): Promise<{ name: string; value: number; unit: string }[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'recorder/mock-main.ts'), DATA, '', '', '8000'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const info = await new Promise<{ url: string; n: number }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (c) => reject(new Error(`mock exited ${c}`)));
  });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-rec-'));
  let first = 0;
  let last = 0;
  let cpu0 = process.cpuUsage();
  let cpuLast = cpu0;
  const rec = new Recorder({
    symbols: ['BTCUSDT'],
    out,
    endpoint: info.url,
    streams: ['trade', 'bookTicker', 'depth@0ms'],
    // BENCH_HOURLY=1: with the hourly slices coverage (a replay pipeline on every accepted tick), no hourly dq
    hourly: process.env.BENCH_HOURLY === '1',
    hourlyDq: false,
    measureLatency: true,
  });
  const accepted = () => Object.values(rec.counters.messages).reduce((a, b) => a + b, 0);
  try {
    await rec.start();
    const t0 = Date.now();
    let prev = -1;
    while (Date.now() - t0 < 120_000) {
      await new Promise((r) => setTimeout(r, 5));
      const n = accepted();
      if (n > 0 && first === 0) {
        first = performance.now();
        cpu0 = process.cpuUsage();
      }
      if (n !== prev) {
        last = performance.now();
        cpuLast = process.cpuUsage();
      }
      if (process.env.BENCH_TRACE && n !== prev) process.stderr.write(`${Math.round(performance.now())} ${n}\n`);
      if (n >= info.n) break;
      if (n === prev && n > 0 && performance.now() - last > 2000) break; // stalled: report the loss
      prev = n;
    }
  } finally {
    await rec.stop();
    child.kill('SIGTERM');
  }
  const n = accepted();
  const secs = Math.max(1e-3, (last - first) / 1000);
  // recorder-process CPU over the same window: less sensitive than msgs/s to other load on the machine
  const cpuUs = cpuLast.user - cpu0.user + (cpuLast.system - cpu0.system);
  const w = Float64Array.from(rec.writeLatencyMs).sort();
  const f = Float64Array.from(rec.fsyncLatencyMs).sort();
  fs.rmSync(out, { recursive: true, force: true });
  return [
    { name: 'recorder: ingest (mock -> journal -> parquet)', value: n / secs, unit: 'msgs/s' },
    { name: 'recorder: messages lost', value: info.n - n, unit: 'msgs' },
    { name: 'recorder: process CPU per accepted message', value: cpuUs / Math.max(1, n), unit: 'us' },
    { name: 'recorder: frame -> journal write p50', value: quantileSorted(w, 0.5), unit: 'ms' },
    { name: 'recorder: frame -> journal write p99', value: quantileSorted(w, 0.99), unit: 'ms' },
    { name: 'recorder: frame -> fdatasync p99', value: quantileSorted(f, 0.99), unit: 'ms' },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const r of await benchRecorder())
    process.stdout.write(`${r.name.padEnd(50)} ${r.value.toFixed(2).padStart(12)} ${r.unit}\n`);
}
