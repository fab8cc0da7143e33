/**
 * The SQL quoting rule, checked over every shipped source file (src/, recorder/,
 * bench/, notebooks/, scripts/): a value spliced into DuckDB SQL as a string
 * literal goes through the one quoting helper, `sqlString` (src/io/duck.ts),
 * never between hand-written quotes (`'${path}'`), which a path or symbol
 * holding a quote breaks out of. The check reads each file's template literals
 * with the TypeScript parser and flags those that look like SQL and put a
 * `${...}` right after a `'`.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

const ROOTS = ['src', 'recorder', 'bench', 'notebooks', 'scripts'];
const SQL = /\b(SELECT|COPY|FROM|WHERE|JOIN|read_parquet|read_csv|parquet_schema|parquet_metadata)\b/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sources(p));
    } else if (/\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `file:line: text` of every SQL-looking template literal that quotes a `${...}` by hand. */
function handQuoted(file: string, text: string): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const hits: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isTemplateExpression(n)) {
      const parts = [n.head.text, ...n.templateSpans.map((s) => s.literal.text)];
      if (SQL.test(parts.join(' ')) && parts.slice(0, -1).some((p) => p.endsWith("'"))) {
        const { line } = src.getLineAndCharacterOfPosition(n.getStart(src));
        hits.push(`${path.relative(REPO, file)}:${line + 1}: ${n.getText(src).split('\n')[0].slice(0, 100)}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return hits;
}

describe('SQL quoting', () => {
  it('the check finds a hand-quoted path and symbol, and passes sqlString', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    const bad = "const q = `SELECT * FROM read_parquet('${file}') WHERE symbol = '${s}'`;";
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    const good = 'const q = `SELECT * FROM read_parquet(${sqlString(file)})`;';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    const message = "throw new Error(`symbol '${s}' is not in dataset`);";
    expect(handQuoted('x.ts', bad)).toHaveLength(1);
    expect(handQuoted('x.ts', good)).toEqual([]);
    // messages quote values by hand and are not SQL
    expect(handQuoted('x.ts', message)).toEqual([]);
  });

  it('no shipped source splices a string into SQL between hand-written quotes', () => {
    const files = ROOTS.flatMap((r) => (fs.existsSync(path.join(REPO, r)) ? sources(path.join(REPO, r)) : []));
    expect(files.length).toBeGreaterThan(100);
    const hits = files.flatMap((f) => handQuoted(f, fs.readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
  });
});
