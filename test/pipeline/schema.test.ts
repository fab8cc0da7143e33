/**
 * The derived-table schema (src/pipeline/tables.ts) is the one description of
 * the five tables: the builders it generates, the Parquet columns of every part
 * the pipeline cuts, and the files a replay writes all follow it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrowableF64, GrowableI8 } from '../../src/core/growable.js';
import { cutRows, DERIVED_KINDS, TABLES, tableRows, type ColumnSpec } from '../../src/pipeline/tables.js';
import { REGIME_NAMES } from '../../src/calc/slices.js';
import { runCli } from '../helpers/cli.js';
import { queryRows } from '../../src/io/duck.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-schema-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The four slice codes of one row, as SymbolCalc writes them. */
function pushSlices(
  r: { session: GrowableI8; regime: GrowableI8; vol_bucket: GrowableI8; scenario_2x2: GrowableI8 },
  s: { session: number; regime: number; vol_bucket: number; scenario_2x2: number },
): void {
  r.session.push(s.session);
  r.regime.push(s.regime);
  r.vol_bucket.push(s.vol_bucket);
  r.scenario_2x2.push(s.scenario_2x2);
}

const CTX = { sessionNames: ['Asia', 'Europe'], fee_tier: 'VIP1' };

describe('the derived-table schema', () => {
  it('generates one builder per stored column, typed by the column type', () => {
    for (const kind of DERIVED_KINDS) {
      const rows = tableRows(kind) as unknown as Record<string, unknown>;
      for (const c of TABLES[kind] as readonly ColumnSpec[]) {
        const b = rows[c.name];
        if (c.type === 'const') expect(b).toBeUndefined();
        else if (c.type === 'str') expect(Array.isArray(b)).toBe(true);
        else if (c.type === 'bool' || c.type === 'codes') expect(b).toBeInstanceOf(GrowableI8);
        else expect(b).toBeInstanceOf(GrowableF64);
      }
      // every table starts with ts_ms and ends with the slice columns
      const names = TABLES[kind].map((c) => c.name);
      expect(names[0]).toBe('ts_ms');
      expect(names.slice(-5)).toEqual(['session', 'regime', 'vol_bucket', 'scenario_2x2', 'fee_tier']);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('cuts the first n rows into Parquet columns in schema order, with the null rules, and keeps the rest', () => {
    const r = tableRows('cvd');
    for (let i = 0; i < 5; i++) {
      r.ts_ms.push(1000 + i);
      r.cvd.push(i);
      r.delta.push(i === 1 ? NaN : i);
      r.z_raw.push(NaN);
      r.z_cvd.push(NaN);
      r.scale.push(NaN);
      r.sigma_floor.push(NaN);
      r.floor_used.push(i === 0 ? -1 : i % 2);
      pushSlices(r, { session: i % 2, regime: 1, vol_bucket: -1, scenario_2x2: 2 });
    }
    expect(r.length).toBe(5);
    const { ts, columns } = cutRows(r, 3, CTX);
    expect([...ts]).toEqual([1000, 1001, 1002]);
    expect(columns.map((c) => c.name)).toEqual(TABLES.cvd.map((c) => c.name));
    const by = Object.fromEntries(columns.map((c) => [c.name, c]));
    expect(by.ts_ms).toEqual({ name: 'ts_ms', type: 'i64', data: ts });
    expect(by.cvd).toEqual({ name: 'cvd', type: 'f64', data: Float64Array.from([0, 1, 2]) });
    expect(by.delta).toMatchObject({ type: 'f64', nullNaN: true });
    expect(by.floor_used).toEqual({ name: 'floor_used', type: 'bool', data: Int8Array.from([-1, 1, 0]) });
    expect(by.session).toEqual({
      name: 'session',
      type: 'codes',
      codes: Int8Array.from([0, 1, 0]),
      names: CTX.sessionNames,
    });
    expect(by.regime).toMatchObject({ type: 'codes', names: REGIME_NAMES });
    expect(by.fee_tier).toEqual({ name: 'fee_tier', type: 'const', value: 'VIP1' });
    // the rest stays, in order
    expect(r.length).toBe(2);
    expect([...r.ts_ms.view()]).toEqual([1003, 1004]);
    expect([...r.session.view()]).toEqual([1, 0]);
  });

  it('refuses to cut a table a column of which was not written', () => {
    const r = tableRows('ofi');
    r.ts_ms.push(1);
    r.ofi_value.push(0);
    r.ofi_z.push(0);
    // no scale, no slices
    expect(() => cutRows(r, 1, CTX)).toThrow(/derived table ofi: column scale has 0 rows, expected 1/);
  });

  it('string columns (events) are cut like the others', () => {
    const r = tableRows('events');
    for (const t of ['pivot', 'gap', 'anomaly']) {
      r.ts_ms.push(r.length);
      r.event_type.push(t);
      r.meta_json.push(`{"t":"${t}"}`);
      pushSlices(r, { session: -1, regime: -1, vol_bucket: -1, scenario_2x2: -1 });
    }
    const { columns } = cutRows(r, 2, CTX);
    expect(columns[1]).toEqual({ name: 'event_type', type: 'str', data: ['pivot', 'gap'] });
    expect(r.event_type).toEqual(['anomaly']);
    expect(r.length).toBe(1);
  });

  it('a replay writes exactly the schema columns, in order, with its types', async () => {
    const ds = path.join(tmp, 'ds');
    expect(runCli(['synth', '--out', ds, '--hours', '0.25', '--symbols', 'BTCUSDT', '--seed', '3']).code).toBe(0);
    const out = path.join(tmp, 'runs');
    const r = runCli(['replay', '--data', ds, '--out', out, '--run-tag', 's', '--no-progress', '--io', 'inline']);
    expect(r.code).toBe(0);
    const sqlType: Record<string, string> = {
      i64: 'BIGINT',
      f64: 'DOUBLE',
      bool: 'BOOLEAN',
      str: 'VARCHAR',
      codes: 'VARCHAR',
      const: 'VARCHAR',
    };
    for (const kind of DERIVED_KINDS) {
      const glob = path.join(out, 's', 'data', 'date=*', 'symbol=BTCUSDT', `kind=${kind}`, '*.parquet');
      const cols = await queryRows(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = false)`);
      expect(cols.map((c) => c.column_name)).toEqual(TABLES[kind].map((c) => c.name));
      expect(cols.map((c) => c.column_type)).toEqual(TABLES[kind].map((c) => sqlType[c.type]));
    }
  });
});
