import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  csvRecords,
  formatCell,
  formatCsv,
  formatNumber,
  parseCsv,
  readCsv,
  requireColumns,
  writeCsv,
} from '../../src/report/csv.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-csv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('formatNumber', () => {
  it('integers exact, others 6 significant digits, no exponent in normal ranges, empty for non-finite', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1723104000000, '1723104000000'],
      [-42, '-42'],
      [0.5, '0.5'],
      [0.1 + 0.2, '0.3'],
      [0.61234567, '0.612346'],
      [1834.5, '1834.5'],
      [123456.789, '123457'],
      [1234567.89, '1234568'],
      [-0.001, '-0.001'],
      [0.000123456789, '0.000123457'],
      [1.5e-7, '1.5e-7'],
      [-1.23456789e-9, '-1.23457e-9'],
      [2 / 3, '0.666667'],
      [NaN, ''],
      [Infinity, ''],
      [-Infinity, ''],
    ];
    for (const [v, s] of cases) expect(formatNumber(v), String(v)).toBe(s);
  });

  it('formatted numbers parse back to the rounded value', () => {
    for (const v of [0.61234567, 1834.5, 1.5e-7, -0.001, 123456.789, 1723104000123]) {
      const s = formatNumber(v);
      expect(Number(s)).toBe(Number(v.toPrecision(Number.isInteger(v) ? 16 : v >= 1e6 ? 7 : 6)));
      expect(s).not.toMatch(/e\+/);
    }
  });
});

describe('CSV round trip', () => {
  const header = ['id', 'name', 'value', 'note', 'flag'];
  const rows = [
    ['a', 'plain', 1, null, true],
    ['b', 'with, comma', 0.123456789, 'say "hi"', false],
    ['c', 'multi\nline', -0.5, '', null],
    ['d', ' padded ', 1e-7, '0012', null],
    ['e', 'NaN', NaN, 'x;y;z', null],
    ['0123456789abcdef', '1234567890123456', 1723104000000, 'é ✅', null],
  ] as const;

  it('writes quoted fields only when needed and reads back the same cells', () => {
    const text = formatCsv(header, rows);
    expect(text.split('\n')[0]).toBe('id,name,value,note,flag');
    expect(text).toContain('a,plain,1,,true\n');
    expect(text).toContain('b,"with, comma",0.123457,"say ""hi""",false\n');
    expect(text).toContain('c,"multi\nline",-0.5,"",\n');
    expect(text).toContain('d," padded ",1e-7,"0012",\n');
    expect(text.endsWith('\n')).toBe(true);
    const t = parseCsv(text);
    expect(t.header).toEqual(header);
    expect(t.rows).toEqual([
      ['a', 'plain', 1, null, 'true'],
      ['b', 'with, comma', 0.123457, 'say "hi"', 'false'],
      ['c', 'multi\nline', -0.5, '', null],
      ['d', ' padded ', 1e-7, '0012', null],
      ['e', 'NaN', null, 'x;y;z', null],
      ['0123456789abcdef', '1234567890123456', 1723104000000, 'é ✅', null],
    ]);
    // and formatting the parsed table again gives the same bytes
    expect(formatCsv(t.header, t.rows)).toBe(text);
  });

  it('writeCsv / readCsv through a file are stable; object rows keyed by the header', () => {
    const f = path.join(tmp, 'sub', 'x.csv');
    writeCsv(
      f,
      header,
      rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]]))),
    );
    const a = fs.readFileSync(f, 'utf8');
    expect(a).toBe(formatCsv(header, rows));
    writeCsv(f, header, rows);
    expect(fs.readFileSync(f, 'utf8')).toBe(a);
    expect(fs.readdirSync(path.dirname(f))).toEqual(['x.csv']); // no temp file left
    const recs = csvRecords(readCsv(f));
    expect(recs[1]).toEqual({ id: 'b', name: 'with, comma', value: 0.123457, note: 'say "hi"', flag: 'false' });
  });

  it('reads CRLF, a BOM, a missing final newline and a trailing empty field; text columns stay strings', () => {
    const t = parseCsv('\ufeffsymbol,fingerprint,x\r\nADAUSDT,0012345,\r\nSOLUSDT,99,3.5', { text: ['fingerprint'] });
    expect(t.header).toEqual(['symbol', 'fingerprint', 'x']);
    expect(t.rows).toEqual([
      ['ADAUSDT', '0012345', null],
      ['SOLUSDT', '99', 3.5],
    ]);
  });

  it('errors name the file and line', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', { label: 'm.csv' })).toThrow(
      /m\.csv: line 3 has 1 fields, the header has 2/,
    );
    expect(() => parseCsv('a,b\n"1,2\n', { label: 'm.csv' })).toThrow(/unterminated quoted field/);
    expect(() => parseCsv('a,b\n1"x,2\n', { label: 'm.csv' })).toThrow(/quote inside an unquoted field/);
    expect(() => parseCsv('', { label: 'm.csv' })).toThrow(/empty file/);
    expect(() => readCsv(path.join(tmp, 'nope.csv'))).toThrow(/nope\.csv: cannot be read/);
    expect(() => formatCsv(['a', 'b'], [{ a: 1 }])).toThrow(/no value for column 'b'/);
    expect(() => formatCsv(['a', 'b'], [[1]])).toThrow(/row 1 has 1 fields/);
    expect(() => requireColumns(parseCsv('a,b\n'), ['a', 'c'], 'f.csv')).toThrow(/f\.csv: missing column\(s\) c/);
  });

  it('formatCell', () => {
    expect(formatCell(null)).toBe('');
    expect(formatCell('')).toBe('""');
    expect(formatCell('3.5')).toBe('"3.5"');
    expect(formatCell('fusion_auc_active;ece')).toBe('fusion_auc_active;ece');
  });
});
