/**
 * src/io/duck.ts column readers: the bulk-copy paths (typed items + validity)
 * give what a per-row getItem gives, NULLs included.
 */
import { describe, expect, it } from 'vitest';
import { readF64, readI8, streamChunks } from '../../src/io/duck.js';

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
