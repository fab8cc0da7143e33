/**
 * The Polars peer side of `npm run bench -- replay` (issue 13): flowlab's whole
 * `replay` process against `../shared/peers/polars_peer.py` (a researcher's
 * Polars + NumPy + Numba version of the cvd / ofi / fusion tables) on the same
 * dataset, alternating, and the peer's agreement with flowlab's tables.
 *
 * Python: `$FLOWLAB_PEER_PYTHON`, else `python3`, used only if it imports
 * polars, numba, pyarrow and yaml; the peer script: `$FLOWLAB_PEER_SCRIPT`, else
 * `<repo>/../shared/peers/polars_peer.py`. Nothing is installed here: without
 * either, `findPeer` says why and the bench prints that the peer line is skipped.
 * The peer runs through bench/peer_hive.py (hive keys from the folder names;
 * see there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

export type PeerSetup = { readonly python: string; readonly script: string } | { readonly skip: string };

const IMPORTS = 'import polars, numba, pyarrow, yaml';

/** The Python and peer script to use, or why the peer is skipped. */
export function findPeer(repo: string): PeerSetup {
  const script = process.env.FLOWLAB_PEER_SCRIPT ?? path.resolve(repo, '..', 'shared', 'peers', 'polars_peer.py');
  if (!fs.existsSync(script)) return { skip: `peer script not found at ${script} (set FLOWLAB_PEER_SCRIPT)` };
  const python = process.env.FLOWLAB_PEER_PYTHON ?? 'python3';
  const r = spawnSync(python, ['-c', IMPORTS], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) return { skip: `${python} cannot run (${r.error.message}); set FLOWLAB_PEER_PYTHON` };
  if (r.status !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
    return { skip: `${python} cannot '${IMPORTS}' (${last}); set FLOWLAB_PEER_PYTHON (README "Measured here")` };
  }
  return { python, script };
}

interface Done {
  readonly wallS: number;
  readonly stdout: string;
}

/** Run a command to completion; wall seconds from spawn to exit. Rejects on a non-zero exit. */
function run(cmd: string, args: readonly string[], cwd: string): Promise<Done> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      if (code !== 0) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve({ wallS, stdout });
    });
  });
}

/** flowlab's whole replay process (`node bin/flowlab.mjs replay`, start-up included), all five tables. */
export async function flowlabReplayProcess(
  repo: string,
  data: string,
  out: string,
): Promise<{ wallS: number; ticks: number; dataDir: string }> {
  const r = await run(
    process.execPath,
    [
      path.join(repo, 'bin', 'flowlab.mjs'),
      'replay',
      '--data',
      data,
      '--config',
      path.join(repo, 'config/ofi_cvd/prod.yaml'),
      '--out',
      out,
      '--run-tag',
      'p',
      '--overwrite',
      '--no-progress',
    ],
    repo,
  );
  const m = /replayed ([\d,]+) ticks/.exec(r.stdout);
  if (!m) throw new Error(`flowlab replay printed no tick count: ${r.stdout.trim()}`);
  return { wallS: r.wallS, ticks: Number(m[1].replace(/,/g, '')), dataDir: path.join(out, 'p', 'data') };
}

/** The peer's own line: `seconds` = read + compute + write (imports and JIT compilation before its clock). */
export interface PeerTiming {
  readonly ticks: number;
  readonly seconds: number;
  readonly cpu_seconds: number;
  readonly rows_out: number;
  readonly late_ticks: number;
}

export interface ColumnAgreement {
  readonly max_abs_diff: number | null;
  readonly 'diff_gt_1e-9_rel': number;
  readonly 'diff_gt_1e-6_rel': number;
  readonly null_mismatch: number;
  readonly bit_equal: number;
  readonly both_non_null: number;
}

export type TableAgreement = {
  readonly flowlab_rows: number;
  readonly peer_rows: number;
  readonly joined_rows: number;
  readonly only_flowlab: number;
  readonly only_peer: number;
} & Record<string, ColumnAgreement | number>;

export type Agreement = Record<'cvd' | 'ofi' | 'fusion', TableAgreement>;

/** One peer run: its timing line, its process wall time and, with `compare`, its agreement with flowlab's tables. */
export async function peerRun(
  setup: { python: string; script: string },
  repo: string,
  data: string,
  out: string,
  opts: { dedup: boolean; compare?: string },
): Promise<{ wallS: number; timing: PeerTiming; agreement: Agreement | null }> {
  const args = [path.join(repo, 'bench', 'peer_hive.py'), setup.script, data, out];
  if (opts.dedup) args.push('--dedup');
  if (opts.compare) args.push('--compare', opts.compare);
  const r = await run(setup.python, args, repo);
  const lines = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  if (lines.length < (opts.compare ? 2 : 1)) throw new Error(`peer printed no result: ${r.stdout.trim()}`);
  return {
    wallS: r.wallS,
    timing: JSON.parse(lines[0]) as PeerTiming,
    agreement: opts.compare ? (JSON.parse(lines[1]) as Agreement) : null,
  };
}

/** Compared columns of each table (the peer's `compare`). */
export const COMPARED: Readonly<Record<'cvd' | 'ofi' | 'fusion', readonly string[]>> = {
  cvd: ['cvd', 'z_cvd'],
  ofi: ['ofi_value', 'ofi_z'],
  fusion: ['score'],
};

/** Rows present on one side only plus values differing by more than 1e-9 (relative), over every compared column. */
export function disagreements(a: Agreement): number {
  let n = 0;
  for (const [table, cols] of Object.entries(COMPARED) as ['cvd' | 'ofi' | 'fusion', readonly string[]][]) {
    const t = a[table];
    n += t.only_flowlab + t.only_peer;
    for (const c of cols) {
      const col = t[c] as ColumnAgreement;
      n += col['diff_gt_1e-9_rel'] + col.null_mismatch;
    }
  }
  return n;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
