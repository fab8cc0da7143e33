/**
 * Shared pieces of the data-safety tests: running the CLI in-process with its
 * output captured, and a sha256 snapshot of every file under a folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../../src/core/hash.js';

export { flowlab } from '../helpers/flowlab.js';
export type { CliResult as Ran } from '../helpers/cli.js';

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
