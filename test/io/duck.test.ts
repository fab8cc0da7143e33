/**
 * src/io/duck.ts: the column readers' bulk-copy paths (typed items + validity)
 * give what a per-row getItem gives, NULLs included; `writeParquet` (staged
 * through the `flowlab_block` table function) writes the bytes of a slow
 * obvious reference: the same values INSERTed as SQL literals into a table,
 * then the same COPY.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  duck,
  queryRows,
  readF64,
  readI8,
  sqlString,
  streamChunks,
  writeParquet,
  type OutColumn,
} from '../../src/io/duck.js';
import { sha256File } from '../../src/core/hash.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-duck-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('readI8 / readF64', () => {
  it('copy TINYINT and DOUBLE columns with NULLs, and BOOLEAN through getItem, at an offset', async () => {
    const sql =
      'SELECT (CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 7) - 3 END)::TINYINT AS t, ' +
      '(CASE WHEN i % 4 = 1 THEN NULL ELSE i * 0.5 END)::DOUBLE AS d, ' +
      '(CASE WHEN i % 6 = 2 THEN NULL ELSE i % 2 = 0 END) AS b FROM range(5000) r(i)';
    const t = new Int8Array(5003);
    const d = new Float64Array(5003);
    const b = new Int8Array(5003);
    let off = 3;
    for await (const chunk of streamChunks(sql)) {
      readI8(chunk, 0, t, off, -9);
      readF64(chunk, 1, d, off);
      readI8(chunk, 2, b, off);
      off += chunk.rowCount;
    }
    expect(off).toBe(5003);
    for (let i = 0; i < 5000; i++) {
      expect(t[3 + i]).toBe(i % 5 === 0 ? -9 : (i % 7) - 3);
      expect(d[3 + i]).toBe(i % 4 === 1 ? NaN : i * 0.5);
      expect(b[3 + i]).toBe(i % 6 === 2 ? -1 : i % 2 === 0 ? 1 : 0);
    }
  });
});

describe('writeParquet', () => {
  /** Every column type, NULLs where a type has them, over `n` rows. */
  function columns(n: number): OutColumn[] {
    const f64 = Float64Array.from({ length: n }, (_, i) => (i % 9 === 4 ? NaN : i * 0.25 - 7));
    const i64 = Float64Array.from({ length: n }, (_, i) => (i % 13 === 0 ? NaN : 1_700_000_000_000 + i * 17));
    const bool = Int8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? -1 : i % 2));
    const i8 = Int8Array.from({ length: n }, (_, i) => (i % 11) - 5);
    const codes = Int8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -1 : i % 3));
    const stride = 3;
    const list = Float64Array.from({ length: n * stride }, (_, k) => k * 0.5);
    const counts = Uint8Array.from({ length: n }, (_, i) => i % (stride + 1));
    return [
      { name: 'f', type: 'f64', data: f64, nullNaN: true },
      { name: 'g', type: 'f64', data: f64 },
      { name: 'id', type: 'i64', data: i64, nullNaN: true },
      { name: 'b', type: 'bool', data: bool },
      { name: 'k', type: 'i8', data: i8 },
      { name: 's', type: 'str', data: Array.from({ length: n }, (_, i) => `row "${i}" é`) },
      { name: 'c', type: 'const', value: 'BTCUSDT' },
      { name: 'e', type: 'codes', codes, names: ['low', 'mid', 'high'] },
      { name: 'l', type: 'f64list', data: list, stride, counts },
      // NULLs in the first chunk only: later chunks of the same column must come out all valid
      {
        name: 'h',
        type: 'f64',
        data: Float64Array.from({ length: n }, (_, i) => (i < 100 && i % 3 === 0 ? NaN : i)),
        nullNaN: true,
      },
      {
        name: 'q',
        type: 'codes',
        codes: Int8Array.from({ length: n }, (_, i) => (i < 100 && i % 4 === 0 ? -1 : 1)),
        names: ['x', 'y'],
      },
    ];
  }

  /** The reference: a table of the staged types filled by INSERT ... VALUES literals, then the same COPY select. */
  async function reference(file: string, n: number): Promise<void> {
    const conn = await duck();
    const lit = (v: number) => (Number.isNaN(v) ? 'NULL' : String(v));
    try {
      await conn.run(
        "CREATE TABLE ref (f DOUBLE, g DOUBLE, id DOUBLE, b TINYINT, k TINYINT, s VARCHAR, e ENUM('low', 'mid', 'high'), l__0 DOUBLE, l__1 DOUBLE, l__2 DOUBLE, l__n TINYINT, h DOUBLE, q ENUM('x', 'y'))",
      );
      const c = columns(n);
      const d = (i: number) => c[i] as { data: Float64Array | Int8Array };
      const codes = (c[7] as { codes: Int8Array }).codes;
      const l = c[8] as { data: Float64Array; counts: Uint8Array };
      const h = (c[9] as { data: Float64Array }).data;
      const q = (c[10] as { codes: Int8Array }).codes;
      const rows: string[] = [];
      for (let i = 0; i < n; i++) {
        const e = codes[i] < 0 ? 'NULL' : sqlString(['low', 'mid', 'high'][codes[i]]);
        const g = d(1).data[i];
        rows.push(
          `(${lit(d(0).data[i])}, ${Number.isNaN(g) ? "'NaN'::DOUBLE" : g}, ${lit(d(2).data[i])}, ${d(3).data[i]}, ${d(4).data[i]}, ` +
            `${sqlString(`row "${i}" é`)}, ${e}, ${l.data[i * 3]}, ${l.data[i * 3 + 1]}, ${l.data[i * 3 + 2]}, ${l.counts[i]}, ${lit(h[i])}, ${q[i] < 0 ? 'NULL' : sqlString(['x', 'y'][q[i]])})`,
        );
      }
      for (let i = 0; i < rows.length; i += 1000)
        await conn.run(`INSERT INTO ref VALUES ${rows.slice(i, i + 1000).join(', ')}`);
      await conn.run(
        `COPY (SELECT f, g, id::BIGINT AS id, (CASE WHEN b < 0 THEN NULL ELSE b = 1 END) AS b, k, s, ` +
          `CAST('BTCUSDT' AS ENUM('BTCUSDT')) AS c, e, list_slice([l__0, l__1, l__2], 1, l__n) AS l, h, q FROM ref) ` +
          `TO ${sqlString(file)} (FORMAT parquet, COMPRESSION snappy)`,
      );
    } finally {
      await conn.run('DROP TABLE IF EXISTS ref');
      conn.closeSync();
    }
  }

  it('writes the bytes of the INSERT reference for every column type, across chunk sizes', async () => {
    for (const n of [0, 1, 2047, 2048, 5000]) {
      const got = path.join(tmp, `got-${n}`, 'part.parquet');
      const want = path.join(tmp, `want-${n}.parquet`);
      await writeParquet(got, columns(n), n);
      await reference(want, n);
      expect(await sha256File(got), `${n} rows`).toBe(await sha256File(want));
      expect(fs.readdirSync(path.dirname(got))).toEqual(['part.parquet']); // no temp file left
    }
    // and reads back as written
    const back = await queryRows(
      `SELECT f, id, b, e, c, l FROM read_parquet(${sqlString(path.join(tmp, 'got-5000', 'part.parquet'))}) LIMIT 5`,
    );
    expect(back.map((r) => [r.f, r.id === null ? null : Number(r.id), r.b, r.e, r.c])).toEqual([
      [-7, null, null, null, 'BTCUSDT'],
      [-6.75, 1_700_000_000_017, true, 'mid', 'BTCUSDT'],
      [-6.5, 1_700_000_000_034, false, 'high', 'BTCUSDT'],
      [-6.25, 1_700_000_000_051, true, 'low', 'BTCUSDT'],
      [null, 1_700_000_000_068, false, 'mid', 'BTCUSDT'],
    ]);
    expect([back[0].l, back[1].l, back[3].l]).toEqual([[], [1.5], [4.5, 5, 5.5]]);
  });

  it('rethrows a fill error as is and leaves no file', async () => {
    const file = path.join(tmp, 'bad', 'part.parquet');
    const cols: OutColumn[] = [{ name: 'e', type: 'codes', codes: Int8Array.from([0, 1, 5]), names: ['a', 'b'] }];
    await expect(writeParquet(file, cols, 3)).rejects.toThrow(/^column 'e': code 5 has no name \(expected -1\.\.1\)$/);
    expect(fs.existsSync(path.dirname(file)) ? fs.readdirSync(path.dirname(file)) : []).toEqual([]);
    // the next write on this thread still works
    await writeParquet(file, [{ name: 'x', type: 'f64', data: Float64Array.from([1, 2]) }], 2);
    expect((await queryRows(`SELECT sum(x) AS s FROM read_parquet(${sqlString(file)})`))[0].s).toBe(3);
  });
});
