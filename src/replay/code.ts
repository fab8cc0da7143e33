/**
 * Code identity for run manifests: the package version and a sha256 over the
 * TypeScript sources under src/ and recorder/ (sorted by repo-relative path;
 * recorder/ because a live run's rows are mapped and written there), so a run
 * can tell whether it is being re-run with the same code. No git needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../core/hash.js';
import { REPO_ROOT } from '../core/root.js';

const ROOT = REPO_ROOT;
const PKG = path.join(ROOT, 'package.json');
/** The source trees `code_sha256` covers, relative to the repository root. */
export const CODE_DIRS = ['src', 'recorder'] as const;

export const FLOWLAB_VERSION: string = (JSON.parse(fs.readFileSync(PKG, 'utf8')) as { version: string }).version;

let cached: string | null = null;

function listTs(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
}

/** Repo-relative paths of every file `code_sha256` covers, sorted. */
export function codeFiles(root = ROOT): string[] {
  const files: string[] = [];
  for (const d of CODE_DIRS) if (fs.existsSync(path.join(root, d))) listTs(path.join(root, d), files);
  return files.map((f) => path.relative(root, f).split(path.sep).join('/')).sort();
}

/** sha256 over `<path> <sha256 of file>` lines of `codeFiles(root)`. */
export function codeHashOf(root: string): string {
  return sha256(
    codeFiles(root)
      .map((rel) => `${rel} ${sha256(fs.readFileSync(path.join(root, rel)))}`)
      .join('\n'),
  );
}

export async function codeHash(): Promise<string> {
  if (cached) return cached;
  cached = codeHashOf(ROOT);
  return cached;
}
