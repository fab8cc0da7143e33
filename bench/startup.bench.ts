/**
 * CLI start-up: CPU-seconds (user + sys, children included) and wall time of
 * `node bin/flowlab.mjs --version` and of a one-symbol 10-minute replay, each
 * run from the compiled `dist/` (built here first, scripts/dist.mjs) and from
 * the TypeScript sources under tsx (FLOWLAB_TSX=1), alternating, median of
 * REPS. On a shared machine compare the CPU figures; wall includes waiting.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_SYNTH, synthesize } from '../src/synth/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPS = 5;

interface Timing {
  readonly cpu: number;
  readonly wall: number;
}

/** CPU (this child and its threads) and wall seconds of one CLI run. */
function run(args: readonly string[], tsx: boolean): Timing {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, path.join(REPO, 'bin/flowlab.mjs'), ...args], {
    cwd: REPO,
    env: { ...process.env, FLOWLAB_TSX: tsx ? '1' : '0' },
    encoding: 'utf8',
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`flowlab ${args.join(' ')} failed: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { cpu: u + s, wall };
}

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  return a[a.length >> 1];
}

export async function benchStartup(): Promise<{ name: string; value: number; unit: string }[]> {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('startup bench needs /usr/bin/time');
  const { build } = (await import(pathToFileURL(path.join(REPO, 'scripts/dist.mjs')).href)) as {
    build(): Promise<unknown>;
  };
  await build();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-startup-'));
  try {
    const data = path.join(tmp, 'ds');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT'], hours: 1 / 6, seed: 3 }, data);
    const cases: Record<string, readonly string[]> = {
      '--version': ['--version'],
      'replay 1 symbol x 10 min': [
        'replay',
        '--data',
        data,
        '--out',
        tmp,
        '--run-tag',
        'r',
        '--overwrite',
        '--no-progress',
      ],
    };
    const out: { name: string; value: number; unit: string }[] = [];
    for (const [name, args] of Object.entries(cases)) {
      const m: Record<'dist' | 'tsx', Timing[]> = { dist: [], tsx: [] };
      for (let i = 0; i < REPS; i++) {
        m.dist.push(run(args, false));
        m.tsx.push(run(args, true));
      }
      for (const k of ['dist', 'tsx'] as const) {
        out.push({ name: `start-up ${name}, ${k}: CPU`, value: median(m[k].map((t) => t.cpu)), unit: 's' });
        out.push({ name: `start-up ${name}, ${k}: wall`, value: median(m[k].map((t) => t.wall)), unit: 's' });
      }
    }
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
