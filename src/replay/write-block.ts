/**
 * Writing one derived block as Parquet part files (split at UTC dates), used by
 * replay's write-behind on either thread (src/replay/replay.ts, write-worker.ts).
 */
import path from 'node:path';
import { writeParquet, type OutColumn } from '../io/duck.js';
import { sha256File } from '../core/hash.js';
import { utcDateOf } from '../core/validate.js';
import type { DerivedBlock } from '../pipeline/pipeline.js';

export interface OutputFile {
  readonly path: string;
  readonly kind: string;
  readonly symbol: string;
  readonly date: string;
  readonly first_row: number;
  readonly rows: number;
  readonly sha256: string;
}

const DAY_MS = 86_400_000;

/** Write one derived block, split at UTC date boundaries; returns the files written. */
export async function writeBlock(dataDir: string, b: DerivedBlock): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  const ts = b.ts;
  let start = 0;
  while (start < b.rows) {
    const day = Math.floor(ts[start] / DAY_MS);
    let end = start + 1;
    while (end < b.rows && Math.floor(ts[end] / DAY_MS) === day) end++;
    const date = utcDateOf(ts[start]);
    const offset = b.offset + start;
    const rel = `date=${date}/symbol=${b.symbol}/kind=${b.kind}/part-${String(offset).padStart(9, '0')}.parquet`;
    const file = path.join(dataDir, rel);
    const cols = start === 0 && end === b.rows ? b.columns : b.columns.map((c) => sliceColumn(c, start, end));
    await writeParquet(file, cols, end - start);
    out.push({
      path: `data/${rel}`,
      kind: b.kind,
      symbol: b.symbol,
      date,
      first_row: offset,
      rows: end - start,
      sha256: await sha256File(file),
    });
    start = end;
  }
  return out;
}

function sliceColumn(c: OutColumn, a: number, b: number): OutColumn {
  switch (c.type) {
    case 'f64':
    case 'i64':
    case 'bool':
    case 'i8':
      return { ...c, data: c.data.subarray(a, b) } as OutColumn;
    case 'str':
      return { ...c, data: c.data.slice(a, b) };
    case 'codes':
      return { ...c, codes: c.codes.subarray(a, b) };
    case 'const':
      return c;
    case 'f64list':
      return { ...c, data: c.data.subarray(a * c.stride, b * c.stride), counts: c.counts.subarray(a, b) };
  }
}
