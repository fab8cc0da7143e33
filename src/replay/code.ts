/**
 * Code identity for run manifests: the package version and a sha256 over the
 * TypeScript sources under src/ (sorted by path), so a run can
 * tell whether it is being re-run with the same code. No git needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../core/hash.js';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PKG = path.resolve(SRC, '..', 'package.json');

export const FLOWLAB_VERSION: string = (JSON.parse(fs.readFileSync(PKG, 'utf8')) as { version: string }).version;

let cached: string | null = null;

function listTs(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
}

export async function codeHash(): Promise<string> {
  if (cached) return cached;
  const files: string[] = [];
  listTs(SRC, files);
  files.sort();
  const parts = files.map((f) => `${path.relative(SRC, f).split(path.sep).join('/')} ${sha256(fs.readFileSync(f))}`);
  cached = sha256(parts.join('\n'));
  return cached;
}
