/**
 * A small, strict CSV reader / writer for the report files (RFC 4180 quoting).
 *
 * Writing is deterministic, so equal inputs give identical bytes:
 * - numbers: integers (|x| < 2^53) exactly (`1723104000000`); other finite
 *   numbers rounded to 6 significant digits without trailing zeros and without
 *   an exponent (`0.612345`, `1834.5`, `-0.001`); non-integers >= 1e6 are
 *   rounded to an integer (never an exponent); |x| < 1e-6 keeps the exponent
 *   (`1.5e-7`); -0 is `0`.
 * - null, undefined-free NaN and ±Infinity: the empty field (= null).
 * - booleans: `true` / `false`.
 * - strings: as they are, quoted (`"..."`, `"` doubled) when they hold `,`,
 *   `"`, CR or LF, have leading / trailing spaces, are empty (`""`, so an empty
 *   string survives a round trip), or would read back as a number or null
 *   (`"0012"`, `"NaN"`).
 * - `\n` line ends, a final `\n`, no BOM.
 *
 * Reading: an unquoted empty field (or `NaN`) is null, an unquoted numeric
 * field is a number (unless its column is listed in `text`), anything quoted
 * stays a string. CRLF / LF and a BOM are accepted. A row with a different
 * number of fields than the header is an error naming the file and line.
 *
 * Example:
 *   formatCsv(['a', 'b'], [[1, 'x,y'], [null, 0.1234567]])  // 'a,b\n1,"x,y"\n,0.123457\n'
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError } from '../core/errors.js';

export type CsvCell = string | number | null;
export type CsvInput = string | number | boolean | null;
export type CsvRowInput = readonly CsvInput[] | Readonly<Record<string, CsvInput | undefined>>;

export interface CsvTable {
  readonly header: readonly string[];
  readonly rows: readonly (readonly CsvCell[])[];
}

export interface CsvReadOptions {
  /** Columns kept as strings even when they look numeric (ids, fingerprints). */
  readonly text?: readonly string[];
  /** Name used in error messages (defaults to the path, or `(csv text)`). */
  readonly label?: string;
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Deterministic text of a number (see the file comment); `''` when not finite. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return '';
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (Number.isInteger(x) && ax < 2 ** 53) return x.toFixed(0);
  if (ax >= 1e6) return Math.round(x).toFixed(0);
  if (ax < 1e-6) {
    const [m, e] = x.toPrecision(6).split('e');
    return `${stripZeros(m)}e${e}`;
  }
  const s = stripZeros(x.toPrecision(6));
  return s === '-0' ? '0' : s;
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/\.?0+$/, '');
}

function needsQuotes(s: string): boolean {
  return s === '' || /[",\r\n]/.test(s) || s !== s.trim() || NUMERIC.test(s) || s === 'NaN';
}

/** One field's text. */
export function formatCell(v: CsvInput): string {
  if (v === null) return '';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return needsQuotes(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV text of a header and rows (arrays in header order, or objects keyed by the header). */
export function formatCsv(header: readonly string[], rows: Iterable<CsvRowInput>): string {
  if (header.length === 0) throw new RangeError('formatCsv: the header has no columns');
  if (new Set(header).size !== header.length)
    throw new RangeError(`formatCsv: duplicate column in header ${header.join(',')}`);
  const lines = [header.map((h) => formatCell(h)).join(',')];
  let i = 0;
  for (const row of rows) {
    i++;
    let cells: readonly CsvInput[];
    if (Array.isArray(row)) {
      cells = row as readonly CsvInput[];
      if (cells.length !== header.length)
        throw new RangeError(`formatCsv: row ${i} has ${cells.length} fields, the header has ${header.length}`);
    } else {
      const obj = row as Readonly<Record<string, CsvInput | undefined>>;
      cells = header.map((h) => {
        const v = obj[h];
        if (v === undefined)
          throw new RangeError(`formatCsv: row ${i} has no value for column '${h}' (use null for an empty cell)`);
        return v;
      });
    }
    lines.push(cells.map(formatCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes CSV atomically (temp file + rename), creating the folder. */
export function writeCsv(file: string, header: readonly string[], rows: Iterable<CsvRowInput>): void {
  writeFileAtomic(file, formatCsv(header, rows));
}

/** Write text to `file` through a temp file in the same folder, fsync and a rename. */
export function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Parses CSV text (first record = header). */
export function parseCsv(text: string, opts: CsvReadOptions = {}): CsvTable {
  const label = opts.label ?? '(csv text)';
  const records = splitRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, label);
  if (records.length === 0) throw new FlowlabError(`${label}: empty file (expected a header line)`);
  const header = records[0].fields.map((f) => f.text);
  if (new Set(header).size !== header.length)
    throw new FlowlabError(`${label}: duplicate column in header '${header.join(',')}'`);
  const textCols = new Set(opts.text ?? []);
  const keepText = header.map((h) => textCols.has(h));
  const rows: CsvCell[][] = [];
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (rec.fields.length !== header.length) {
      throw new FlowlabError(
        `${label}: line ${rec.line} has ${rec.fields.length} fields, the header has ${header.length}`,
      );
    }
    rows.push(rec.fields.map((f, j) => toCell(f, keepText[j])));
  }
  return { header, rows };
}

/** Reads a CSV file (see `parseCsv`). */
export function readCsv(file: string, opts: CsvReadOptions = {}): CsvTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FlowlabError(`${opts.label ?? file}: cannot be read (missing or not a file)`);
  }
  return parseCsv(text, { ...opts, label: opts.label ?? file });
}

/** Rows as objects keyed by the header (small report tables only). */
export function csvRecords(t: CsvTable): Record<string, CsvCell>[] {
  return t.rows.map((row) => {
    const o: Record<string, CsvCell> = {};
    t.header.forEach((h, j) => (o[h] = row[j]));
    return o;
  });
}

/** Throws naming the file and the missing columns when `t` lacks any of `names`. */
export function requireColumns(t: CsvTable, names: readonly string[], label: string): void {
  const have = new Set(t.header);
  const missing = names.filter((n) => !have.has(n));
  if (missing.length > 0)
    throw new FlowlabError(`${label}: missing column(s) ${missing.join(', ')} (header: ${t.header.join(',')})`);
}

interface Field {
  readonly text: string;
  readonly quoted: boolean;
}

function toCell(f: Field, keepText: boolean): CsvCell {
  if (f.quoted) return f.text;
  if (f.text === '' || f.text === 'NaN') return null;
  if (!keepText && NUMERIC.test(f.text)) return Number(f.text);
  return f.text;
}

function splitRecords(text: string, label: string): { fields: Field[]; line: number }[] {
  const out: { fields: Field[]; line: number }[] = [];
  let fields: Field[] = [];
  let line = 1;
  let recLine = 1;
  let i = 0;
  const n = text.length;
  let atRecordStart = true;
  while (i < n) {
    let value: string;
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      let j = i + 1;
      let buf = '';
      for (;;) {
        if (j >= n) throw new FlowlabError(`${label}: line ${recLine}: unterminated quoted field`);
        const c = text[j];
        if (c === '"') {
          if (text[j + 1] === '"') {
            buf += '"';
            j += 2;
            continue;
          }
          j++;
          break;
        }
        if (c === '\n') line++;
        buf += c;
        j++;
      }
      value = buf;
      i = j;
      if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        throw new FlowlabError(`${label}: line ${line}: unexpected character after a closing quote`);
      }
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      value = text.slice(i, j);
      if (value.includes('"')) throw new FlowlabError(`${label}: line ${line}: a quote inside an unquoted field`);
      i = j;
    }
    fields.push({ text: value, quoted });
    atRecordStart = false;
    if (i >= n) break;
    if (text[i] === ',') {
      i++;
      if (i >= n) fields.push({ text: '', quoted: false });
      continue;
    }
    // end of record
    if (text[i] === '\r' && text[i + 1] === '\n') i++;
    i++;
    out.push({ fields, line: recLine });
    fields = [];
    line++;
    recLine = line;
    atRecordStart = true;
    // skip blank lines between records (a final newline, or stray empty lines)
    while (i < n && (text[i] === '\n' || text[i] === '\r')) {
      if (text[i] === '\n') line++;
      i++;
      recLine = line;
    }
  }
  if (!atRecordStart) out.push({ fields, line: recLine });
  return out;
}
