/**
 * Raw and derived datasets are plain hive Parquet that researchers' tools read
 * as written (README "Reading"): DuckDB with hive partitioning as pandas and
 * pyarrow discover it, and pandas / pyarrow themselves where a python3 with
 * both is found (FLOWLAB_PYTHON, /usr/bin/python3, python3; the test says when
 * it skips).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { MANIFEST_FILE, type DatasetManifest } from '../../src/dataset/manifest.js';
import { COLUMNS_BY_KIND, KINDS } from '../../src/core/types.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { replay, type ReplayResult } from '../../src/replay/replay.js';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-readers-'));
const raw = path.join(tmp, 'raw');
let manifest: DatasetManifest;
let run: ReplayResult;
let derived: string;
const DERIVED_KINDS = ['prices', 'ofi', 'cvd', 'fusion', 'events'];
const HIVE_KEYS = ['date', 'symbol', 'kind'];

/** What pyarrow's and pandas' dataset discovery opens: every file whose name and folders do not start with '.' or '_'. */
function discovered(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

function hiveGlob(root: string, kind: string): string {
  return sqlString(path.join(root, '*', '*', `kind=${kind}`, '*.parquet'));
}

beforeAll(async () => {
  manifest = (
    await synthesize(
      {
        ...DEFAULT_SYNTH,
        symbols: ['BTCUSDT', 'ETHUSDT'],
        hours: 0.25,
        seed: 7,
        startMs: Date.UTC(2024, 7, 8, 23, 50),
      },
      raw,
    )
  ).manifest;
  const config = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
  run = await replay({ data: raw, config, out: path.join(tmp, 'runs'), runTag: 'r', progress: false });
  derived = path.join(run.runDir, 'data');
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('datasets as researchers read them', () => {
  it('discovery finds only Parquet part files; metadata is named so readers skip it', () => {
    expect(fs.existsSync(path.join(raw, MANIFEST_FILE))).toBe(true);
    for (const root of [raw, derived]) {
      const files = discovered(root);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        expect(f, root).toMatch(/^date=\d{4}-\d{2}-\d{2}\/symbol=[A-Z0-9_]+\/kind=[a-z]+\/part-[\d-]+\.parquet$/);
        const head = Buffer.alloc(4);
        const fd = fs.openSync(path.join(root, f), 'r');
        fs.readSync(fd, head, 0, 4, 0);
        fs.closeSync(fd);
        expect(head.toString('latin1'), f).toBe('PAR1');
      }
    }
    // the raw dataset spans two UTC dates, so a date= key really varies
    expect(new Set(discovered(raw).map((f) => f.split('/')[0])).size).toBe(2);
  });

  it('no part file holds a column named like a hive key (pandas infers the key as dictionary, pyarrow as string)', async () => {
    const files = [
      ...discovered(raw).map((f) => path.join(raw, f)),
      ...discovered(derived).map((f) => path.join(derived, f)),
    ];
    const rows = await queryRows(
      `SELECT DISTINCT name FROM parquet_schema([${files.map(sqlString).join(', ')}]) WHERE name IN (${HIVE_KEYS.map(sqlString).join(', ')})`,
    );
    expect(rows).toEqual([]);
  });

  it('DuckDB reads every raw kind with hive partitioning: the §2 columns, rows and symbols of the manifest', async () => {
    for (const kind of KINDS) {
      const cols = await queryRows(
        `DESCRIBE SELECT * FROM read_parquet(${hiveGlob(raw, kind)}, hive_partitioning = true, hive_types_autocast = false)`,
      );
      const names = cols.map((r) => String(r.column_name));
      expect(names.sort(), kind).toEqual([...COLUMNS_BY_KIND[kind].map((c) => c.name), 'date', 'kind'].sort());
      expect(cols.find((r) => r.column_name === 'symbol')?.column_type, kind).toBe('VARCHAR');
      const got = await queryRows(
        `SELECT symbol, count(*)::DOUBLE AS n FROM read_parquet(${hiveGlob(raw, kind)}, hive_partitioning = true) GROUP BY symbol ORDER BY symbol`,
      );
      expect(
        got.map((r) => [r.symbol, r.n]),
        kind,
      ).toEqual(manifest.symbols.map((s) => [s, manifest.rows[s][kind]]));
    }
  });

  it('DuckDB reads every derived kind with hive partitioning: rows per symbol as the run manifest says', async () => {
    for (const kind of DERIVED_KINDS) {
      const got = await queryRows(
        `SELECT symbol, count(*)::DOUBLE AS n FROM read_parquet(${hiveGlob(derived, kind)}, hive_partitioning = true) GROUP BY symbol ORDER BY symbol`,
      );
      const want = new Map<string, number>();
      for (const o of run.manifest.outputs.filter((x) => x.kind === kind))
        want.set(o.symbol, (want.get(o.symbol) ?? 0) + o.rows);
      expect(
        got.map((r) => [r.symbol, r.n]),
        kind,
      ).toEqual([...want.entries()].sort());
    }
  });

  const py = findPython();
  if (py.python === null) process.stderr.write(`readers.test.ts: pandas/pyarrow test skipped: ${py.why}\n`);
  it.skipIf(py.python === null)(
    `pandas and pyarrow read them with the README snippets${py.python === null ? ` (skipped: ${py.why})` : ` (${py.python})`}`,
    () => {
      for (const [root, kinds] of [
        [raw, [...KINDS]],
        [derived, DERIVED_KINDS],
      ] as const) {
        const r = spawnSync(py.python!, [path.join(__dirname, 'readers.py'), root, ...kinds], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const seen = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(seen.pandas_dir).toBe('ok');
        const disc = seen.pyarrow_discovery as { files: string[]; schema: string[] };
        expect(disc.files).toEqual(discovered(root));
        for (const k of HIVE_KEYS) expect(disc.schema).toContain(k);
        // DuckDB's view of the same kind is the reference
        for (const reader of ['pandas', 'pyarrow', 'polars']) {
          const byKind = seen[reader] as
            | Record<string, { rows: number; columns: string[]; symbols: string[]; symbol_type: string }>
            | undefined;
          if (reader === 'polars' && byKind === undefined) continue;
          for (const kind of kinds) {
            const v = byKind![kind];
            expect(v.columns, `${reader} ${kind}`).toContain('symbol');
            expect(v.columns, `${reader} ${kind}`).toContain('date');
            expect(v.symbols, `${reader} ${kind}`).toEqual(manifest.symbols);
            if (root === raw) {
              expect(v.columns.sort(), `${reader} ${kind}`).toEqual(
                [...COLUMNS_BY_KIND[kind as (typeof KINDS)[number]].map((c) => c.name), 'date', 'kind'].sort(),
              );
              expect(v.rows, `${reader} ${kind}`).toBe(
                manifest.symbols.reduce((s, x) => s + manifest.rows[x][kind as (typeof KINDS)[number]], 0),
              );
            } else {
              expect(v.rows, `${reader} ${kind}`).toBe(
                run.manifest.outputs.filter((o) => o.kind === kind).reduce((s, o) => s + o.rows, 0),
              );
            }
          }
        }
        expect((seen.pandas as Record<string, { symbol_type: string }>)[kinds[0]].symbol_type).toBe('category');
        expect((seen.pyarrow as Record<string, { symbol_type: string }>)[kinds[0]].symbol_type).toBe('string');
      }
    },
    120_000,
  );
});

/** A python3 that imports pandas and pyarrow, or why there is none. */
function findPython(): { python: string | null; why: string } {
  const tried: string[] = [];
  for (const p of [process.env.FLOWLAB_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!p) continue;
    const r = spawnSync(p, ['-c', 'import pandas, pyarrow'], { encoding: 'utf8' });
    if (r.status === 0) return { python: p, why: '' };
    const msg = r.error ? 'not found' : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${p}: ${msg}`);
  }
  return { python: null, why: `no python3 with pandas and pyarrow (${tried.join('; ')}); set FLOWLAB_PYTHON` };
}
