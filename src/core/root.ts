/**
 * The repository root: the nearest folder above this module that holds
 * package.json. The same from the TypeScript sources (src/core/root.ts) and
 * from the compiled copy bin/flowlab.mjs may run (dist/src/core/root.js; dist/
 * has no package.json), so paths to the repository's files (config/, the
 * sources the code hash covers) do not depend on which one runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let d = from; ; ) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    const up = path.dirname(d);
    if (up === d) throw new Error(`no package.json above ${from}`);
    d = up;
  }
}

export const REPO_ROOT: string = findRoot(path.dirname(fileURLToPath(import.meta.url)));
