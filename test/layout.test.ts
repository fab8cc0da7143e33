/**
 * The module layout, checked: which folder may import which (ALLOWED, the one
 * table), every src folder has a README.md whose "May import:" line states its
 * row of that table, and no file imports outside its row.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './helpers/cli.js';

/**
 * Folder -> the folders its files may import (relative imports; packages and
 * node: builtins are not restricted here). `recorder` is the top-level
 * recorder/ folder. The table has no cycle (a test below checks): a folder
 * that needs a piece of a higher one gets it moved down instead.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  io: ['core'],
  config: ['core'],
  calc: ['core'],
  eval: ['core'],
  dataset: ['core', 'io'],
  binance: ['core'],
  import: ['binance', 'core', 'dataset'],
  synth: ['core', 'dataset'],
  pipeline: ['calc', 'config', 'core', 'dataset', 'io'],
  report: ['config', 'core', 'eval'],
  dq: ['calc', 'config', 'core', 'dataset', 'io', 'pipeline', 'report'],
  replay: ['config', 'core', 'dataset', 'dq', 'io', 'pipeline'],
  canary: ['calc', 'config', 'core', 'eval', 'io', 'pipeline', 'replay', 'report'],
  sweep: ['canary', 'config', 'core', 'dataset', 'eval', 'io', 'replay', 'report'],
  live: ['canary', 'config', 'core', 'dataset', 'pipeline', 'recorder', 'replay'],
  recorder: ['binance', 'calc', 'config', 'core', 'dataset', 'dq', 'import', 'pipeline', 'report', 'synth'],
  cli: [
    'canary',
    'config',
    'core',
    'dataset',
    'dq',
    'import',
    'live',
    'pipeline',
    'recorder',
    'replay',
    'report',
    'sweep',
    'synth',
  ],
};

const SRC = path.join(REPO, 'src');

function filesOf(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesOf(p));
    else if (/\.(ts|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** The folder (a key of ALLOWED) a repo path belongs to, or null outside src/ and recorder/. */
function folderOf(file: string): string | null {
  const rel = path.relative(REPO, file).split(path.sep);
  if (rel[0] === 'src' && rel.length > 2) return rel[1];
  if (rel[0] === 'recorder') return 'recorder';
  return null;
}

/** Relative module specifiers of a file: static imports/exports, dynamic import(), worker URLs. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)['"](\.\.?\/[^'"]+)['"]/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1]);
  return out;
}

const folders = fs
  .readdirSync(SRC, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('module layout', () => {
  it('the table names every src folder, and nothing else but recorder', () => {
    expect(Object.keys(ALLOWED).sort()).toEqual([...folders, 'recorder'].sort());
  });

  it('the table has no cycle: every folder can be ranked below the folders that import it', () => {
    // repeatedly take out a folder whose row names only folders already taken out (Kahn's algorithm)
    const left = new Set(Object.keys(ALLOWED));
    let progress = true;
    while (left.size > 0 && progress) {
      progress = false;
      for (const f of [...left])
        if (ALLOWED[f].every((to) => !left.has(to))) {
          left.delete(f);
          progress = true;
        }
    }
    expect([...left].sort(), 'folders on an import cycle of the table, or importing one').toEqual([]);
    for (const [f, row] of Object.entries(ALLOWED)) {
      expect(row.includes(f), `${f} lists itself`).toBe(false);
      for (const to of row) expect(ALLOWED[to], `${f} -> ${to}: not a folder of the table`).toBeDefined();
    }
  });

  it('every src folder has a README.md whose "May import:" line is its row of the table', () => {
    for (const f of folders) {
      const readme = path.join(SRC, f, 'README.md');
      expect(fs.existsSync(readme), `${readme} is missing`).toBe(true);
      const line = fs
        .readFileSync(readme, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('May import:'));
      expect(line, `${readme} has no "May import:" line`).toBeDefined();
      const listed = line!
        .slice('May import:'.length)
        .replace(/[`.]/g, '')
        .split(',')
        .map((s) => s.trim().replace(/\/$/, ''))
        .filter((s) => s.length > 0 && s !== 'nothing');
      expect([...listed].sort(), readme).toEqual([...ALLOWED[f]].sort());
    }
  });

  it('no file imports a folder outside its row', () => {
    const bad: string[] = [];
    const files = [...filesOf(SRC), ...filesOf(path.join(REPO, 'recorder'))];
    expect(files.length).toBeGreaterThan(100);
    for (const file of files) {
      const from = folderOf(file);
      if (from === null) continue;
      for (const spec of relativeImports(fs.readFileSync(file, 'utf8'))) {
        const target = path.resolve(path.dirname(file), spec);
        const to = folderOf(target);
        if (to === from) continue;
        if (to === null) {
          // only the repo's config/ defaults and package.json may be reached outside the code folders
          if (!/\/(config\/ofi_cvd\/[^/]+\.yaml|package\.json)$/.test(target))
            bad.push(`${path.relative(REPO, file)} -> ${spec}`);
          continue;
        }
        if (!ALLOWED[from].includes(to)) bad.push(`${path.relative(REPO, file)} (${from}) -> ${spec} (${to})`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the check sees real imports (a file known to import calc/ is found to)', () => {
    const text = fs.readFileSync(path.join(SRC, 'pipeline', 'symbol-calc.ts'), 'utf8');
    expect(relativeImports(text)).toContain('../calc/fusion.js');
  });
});
