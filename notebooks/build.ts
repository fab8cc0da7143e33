/**
 * Builds notebooks/*.ipynb from the reviewable cell sources in notebooks/cells/*.ts.
 *
 * Cell format (jupytext "percent" style): a line `// %%` starts a code cell,
 * `// %% [markdown]` a markdown cell whose lines are written as `// text`.
 * Outputs are empty: notebooks are executed by scripts/run-notebooks.sh.
 *
 *   npx tsx notebooks/build.ts          # write the .ipynb files
 *   npx tsx notebooks/build.ts --check  # exit 1 if a .ipynb is out of date
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CELLS = path.join(HERE, 'cells');

interface Cell {
  cell_type: 'code' | 'markdown';
  id: string;
  metadata: Record<string, unknown>;
  source: string[];
  execution_count?: null;
  outputs?: unknown[];
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l)).filter((l) => l !== '');
}

export function parseCells(text: string, name: string): Cell[] {
  const cells: Cell[] = [];
  let kind: 'code' | 'markdown' | null = null;
  let buf: string[] = [];
  const flush = () => {
    if (kind === null) return;
    while (buf.length > 0 && buf[buf.length - 1].trim() === '') buf.pop();
    while (buf.length > 0 && buf[0].trim() === '') buf.shift();
    const src = kind === 'markdown' ? buf.map((l) => l.replace(/^\/\/ ?/, '')) : buf;
    const id = `${name.replace(/[^a-z0-9]/gi, '-')}-${cells.length}`;
    const c: Cell = { cell_type: kind, id, metadata: {}, source: splitLines(src.join('\n')) };
    if (kind === 'code') {
      c.execution_count = null;
      c.outputs = [];
    }
    if (kind === 'code' && cells.filter((x) => x.cell_type === 'code').length === 0)
      c.metadata = { tags: ['parameters'] };
    cells.push(c);
  };
  for (const line of text.split('\n')) {
    const m = /^\/\/ %%( \[markdown\])?\s*$/.exec(line);
    if (m) {
      flush();
      kind = m[1] ? 'markdown' : 'code';
      buf = [];
    } else if (kind !== null) {
      buf.push(line);
    }
  }
  flush();
  return cells;
}

function notebook(cells: Cell[]): unknown {
  return {
    cells,
    metadata: {
      kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
      language_info: {
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
        file_extension: '.ts',
        mimetype: 'text/typescript',
        name: 'typescript',
        version: '5.0',
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const f of fs
    .readdirSync(CELLS)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    const name = f.replace(/\.ts$/, '');
    const out = path.join(HERE, `${name}.ipynb`);
    const text = `${JSON.stringify(notebook(parseCells(fs.readFileSync(path.join(CELLS, f), 'utf8'), name)), null, 1)}\n`;
    if (check) {
      if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== text) {
        console.error(`stale: ${path.relative(process.cwd(), out)} (run npx tsx notebooks/build.ts)`);
        stale++;
      }
    } else {
      fs.writeFileSync(out, text);
      console.log(`wrote ${path.relative(process.cwd(), out)}`);
    }
  }
  if (stale > 0) process.exit(1);
}

main();
