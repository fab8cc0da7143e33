/**
 * Shared pieces of the data-safety tests: running the CLI in-process with its
 * output captured, a sha256 snapshot of every file under a folder, and the
 * runner of a safety table's rows (battery.test.ts, audit.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { sha256 } from '../../src/core/hash.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { flowlab } from '../helpers/flowlab.js';

export { flowlab };
export type Ran = CliResult;

/** One row of a safety table: a command on prepared input, its exit code and message, and what it may touch. */
export interface SafetyRow {
  readonly defect: string;
  readonly input: string;
  /** Prepare files (inside the sandbox) and return the CLI arguments. */
  readonly args: () => string[];
  readonly code: 0 | 1 | 2;
  /** Must appear in the error line (exit != 0) or on stderr (exit 0). */
  readonly stderr?: RegExp;
  readonly stdout?: RegExp;
  /** Run the real binary in a child process with this working directory (relative to the sandbox). */
  readonly cwd?: string;
  /** Files under this sandbox prefix may be replaced (the row replaces a flowlab output on purpose). */
  readonly replaces?: string;
  /** A failing row may leave files under this sandbox prefix (what it wrote before failing, marked incomplete). */
  readonly mayAdd?: string;
  readonly also?: (r: Ran) => void;
}

/**
 * Runs a row against the sandbox `root`: the exit code; on failure exactly one error line, not an
 * internal error, matching `stderr`; every file that existed before byte-identical afterwards (but
 * under `replaces`); and a failing command leaves nothing new (but under `mayAdd`).
 */
export async function runSafetyRow(root: string, row: SafetyRow): Promise<void> {
  const args = row.args();
  const before = snapshot(root);
  const r = row.cwd !== undefined ? runCli(args, { cwd: path.join(root, row.cwd) }) : await flowlab(args);
  const errs = errorLines(r.stderr);
  const why = `stdout: ${r.stdout.slice(-400)}\nstderr: ${r.stderr.slice(-600)}`;
  expect(r.code, why).toBe(row.code);
  if (row.code !== 0) {
    expect(errs.length, why).toBe(1);
    expect(errs[0]).not.toMatch(/internal error/);
    if (row.stderr) expect(errs[0]).toMatch(row.stderr);
  } else if (row.stderr) expect(r.stderr).toMatch(row.stderr);
  if (row.stdout) expect(r.stdout).toMatch(row.stdout);
  const d = diffSnapshots(before, snapshot(root));
  const allowed = (p: string) => row.replaces !== undefined && p.startsWith(row.replaces);
  expect(d.changed.filter((p) => !allowed(p))).toEqual([]);
  expect(d.removed.filter((p) => !allowed(p))).toEqual([]);
  if (row.code !== 0) expect(d.added.filter((p) => row.mayAdd === undefined || !p.startsWith(row.mayAdd))).toEqual([]);
  row.also?.(r);
}

/** Every file under `root` (relative path -> sha256 of its bytes); symlinks by their target text. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(root, r);
      if (e.isDirectory()) walk(r);
      else if (e.isSymbolicLink()) out.set(r, `link:${fs.readlinkSync(full)}`);
      else out.set(r, sha256(fs.readFileSync(full)));
    }
  };
  if (fs.existsSync(root)) walk('');
  return out;
}

/** Pre-existing files whose bytes changed or that disappeared, and files that appeared. */
export function diffSnapshots(
  before: Map<string, string>,
  after: Map<string, string>,
): { changed: string[]; removed: string[]; added: string[] } {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [p, h] of before) {
    const a = after.get(p);
    if (a === undefined) removed.push(p);
    else if (a !== h) changed.push(p);
  }
  const added = [...after.keys()].filter((p) => !before.has(p));
  return { changed, removed, added };
}

/** stderr lines that are errors (notes and warnings are informational). */
export function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('flowlab: note:') && !l.startsWith('flowlab: warning:'));
}
