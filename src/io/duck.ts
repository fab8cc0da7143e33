/**
 * The one place flowlab talks to DuckDB (`@duckdb/node-api`).
 *
 * - `writeParquet` writes typed-array columns to a snappy Parquet file,
 *   atomically (temp file + rename), chunk by chunk (2048 rows, through the
 *   `flowlab_block` table function), no row objects.
 * - `streamChunks` runs a query and hands back DuckDB data chunks lazily
 *   (`fetchChunk()` until empty), so a scan never holds more than one chunk.
 * - `sqlString` is the only way user-provided text (paths) enters SQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBVector, DuckDBType } from '@duckdb/node-api';
import { FlowlabError } from '../core/errors.js';
import { createTempFile, fsyncFile } from '../core/atomic.js';

type DuckApi = typeof import('@duckdb/node-api');
/** The C-API binding under @duckdb/node-api (its exact-version dependency): `copy_data_to_vector` for writes. */
type DuckBindings = typeof import('@duckdb/node-bindings');
let bindings: DuckBindings | null = null;
/**
 * The DuckDB binding, loaded by the first `duck()` of this thread (~0.2 CPU-s of
 * start-up), so commands and threads that never query (`--version`, `--help`,
 * the pipeline's thread when reading and writing run on workers) do not load it.
 * Everything below that needs it runs on a connection, i.e. after `duck()`.
 */
let api: DuckApi | null = null;
function duckApi(): DuckApi {
  if (!api) throw new Error('DuckDB used before duck() loaded it');
  return api;
}

let instancePromise: Promise<DuckDBInstance> | null = null;

/**
 * A new connection to the shared in-memory DuckDB instance (one per thread).
 * One DuckDB thread per instance (below), so row order and output bytes never depend on scheduling.
 * The caller owns the connection and must `closeSync()` it (connections left
 * open are never reclaimed: a long replay used to grow the heap by ~90 KB per
 * part file read or written).
 */
export async function duck(): Promise<DuckDBConnection> {
  if (!instancePromise) {
    const { DuckDBInstance } = (api ??= await import('@duckdb/node-api'));
    const b = (await import('@duckdb/node-bindings')) as unknown as { default?: DuckBindings } & DuckBindings;
    bindings ??= b.default ?? b;
    // enable_external_file_cache (DuckDB >= 1.3, on by default) keeps the bytes of every file
    // read in memory: a 96 h replay's RSS grew ~2 MiB per hour of data with it on, flat with it off.
    // One thread: flowlab's queries are many small scans and COPYs, for which a second DuckDB thread
    // cost CPU without saving wall time on 2 cores (the replay runs its own threads beside it):
    // writing a 6 h run's 878k derived rows 0.68-0.77 -> 0.52-0.60 CPU-s, a 24 h replay -1.0..-1.7
    // CPU-s, `flowlab dq` of 24 h -0.5; same bytes (README "Replay against the Polars peer")
    instancePromise = DuckDBInstance.create(':memory:', {
      threads: '1',
      preserve_insertion_order: 'true',
      enable_external_file_cache: 'false',
    });
  }
  const inst = await instancePromise;
  return inst.connect();
}

/** Run `fn` on `conn`, or on a fresh connection that is closed afterwards. */
async function using<T>(conn: DuckDBConnection | undefined, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  if (conn) return fn(conn);
  const c = await duck();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
  }
}

/** A single-quoted SQL string literal. */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw new FlowlabError(`refusing a string with a NUL byte in SQL: ${JSON.stringify(s)}`);
  return `'${s.replace(/'/g, "''")}'`;
}

/** A double-quoted SQL identifier, restricted to plain names. */
export function sqlIdent(s: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new FlowlabError(`not a plain SQL identifier: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

/** A column to write. `f64`/`i64` from Float64Array (i64 values must be integers), `bool` from Int8Array (1/0/-1 = null). */
export type OutColumn =
  | { readonly name: string; readonly type: 'f64'; readonly data: Float64Array; readonly nullNaN?: boolean }
  /** int64 (staged as DOUBLE, exact below 2^53); with nullNaN, NaN is written as NULL (an id a source does not give). */
  | { readonly name: string; readonly type: 'i64'; readonly data: Float64Array; readonly nullNaN?: boolean }
  | { readonly name: string; readonly type: 'bool'; readonly data: Int8Array }
  | { readonly name: string; readonly type: 'i8'; readonly data: Int8Array }
  | { readonly name: string; readonly type: 'str'; readonly data: readonly string[] }
  | { readonly name: string; readonly type: 'const'; readonly value: string }
  /** Strings from a small dictionary: row i is names[codes[i]], or NULL when codes[i] < 0. */
  | { readonly name: string; readonly type: 'codes'; readonly codes: Int8Array; readonly names: readonly string[] }
  /** A list column stored flat: row i owns values[i*stride .. i*stride + counts[i]). */
  | {
      readonly name: string;
      readonly type: 'f64list';
      readonly data: Float64Array;
      readonly stride: number;
      readonly counts: Uint8Array;
    };

const CHUNK = 2048;

/** A native vector of a data chunk (the binding's handle). */
type RawVector = ReturnType<DuckBindings['data_chunk_get_vector']>;

interface FlatCol {
  readonly name: string;
  readonly type: DuckDBType;
  /**
   * Rows [from, from+n) copied straight into the native vector of an all-valid chunk, when the
   * slice needs no NULL; false (nothing written) when it does, and `fill` is used instead.
   */
  fast?(raw: RawVector, from: number, n: number): boolean;
  /** Fill rows [from, from+n) of `vec` (a JS-side copy of the vector, flushed afterwards). */
  fill(vec: DuckDBVector, from: number, n: number): void;
}

/** Copy the bytes of `a[from .. from+n)` into `raw` at row 0. */
function copyInto(raw: RawVector, a: Float64Array | Int8Array | Uint8Array, from: number, n: number): void {
  const w = a.BYTES_PER_ELEMENT;
  (bindings as DuckBindings).copy_data_to_vector(raw, 0, a.buffer as ArrayBuffer, a.byteOffset + from * w, n * w);
}

/** One chunk of a list level, gathered before it is copied (one per thread, reused). */
const levelScratch = new Float64Array(2048);

function itemsOf(vec: DuckDBVector): unknown {
  return (vec as unknown as { items?: unknown }).items;
}

function flatten(cols: readonly OutColumn[]): { flat: FlatCol[]; select: string[] } {
  const { DOUBLE, ENUM, TINYINT, VARCHAR } = duckApi();
  const flat: FlatCol[] = [];
  const select: string[] = [];
  for (const c of cols) {
    if (c.type === 'f64list') {
      const parts: string[] = [];
      for (let j = 0; j < c.stride; j++) {
        const name = `${c.name}__${j}`;
        parts.push(sqlIdent(name));
        const lvl = j;
        flat.push({
          name,
          type: DOUBLE,
          fast(raw, from, n) {
            for (let i = 0; i < n; i++) levelScratch[i] = c.data[(from + i) * c.stride + lvl];
            copyInto(raw, levelScratch, 0, n);
            return true;
          },
          fill(vec, from, n) {
            // levels past a row's count are cut by list_slice below, so they need no NULL
            const items = itemsOf(vec);
            if (items instanceof Float64Array) {
              for (let i = 0; i < n; i++) items[i] = c.data[(from + i) * c.stride + lvl];
              return;
            }
            for (let i = 0; i < n; i++) {
              const r = from + i;
              vec.setItem(i, lvl < c.counts[r] ? c.data[r * c.stride + lvl] : null);
            }
          },
        });
      }
      const cnt = `${c.name}__n`;
      flat.push({
        name: cnt,
        type: TINYINT,
        // counts are at most the stride (<= 127 levels), the same bytes as TINYINT
        fast: c.stride <= 127 ? (raw, from, n) => (copyInto(raw, c.counts, from, n), true) : undefined,
        fill(vec, from, n) {
          for (let i = 0; i < n; i++) vec.setItem(i, c.counts[from + i]);
        },
      });
      select.push(`list_slice([${parts.join(', ')}], 1, ${sqlIdent(cnt)}) AS ${sqlIdent(c.name)}`);
      continue;
    }
    const id = sqlIdent(c.name);
    switch (c.type) {
      case 'const':
        // no staging column: the literal goes into the COPY select, as a one-value ENUM so the
        // Parquet writer dictionary-encodes it without hashing a string per row (written as UTF8)
        select.push(`CAST(${sqlString(c.value)} AS ENUM(${sqlString(c.value)})) AS ${id}`);
        break;
      case 'f64':
      case 'i64':
        // staged as DOUBLE (bulk copy into the vector); i64 is cast on the way out (exact below 2^53)
        select.push(c.type === 'i64' ? `${id}::BIGINT AS ${id}` : id);
        flat.push({
          name: c.name,
          type: DOUBLE,
          fast: (raw, from, n) => {
            if (c.nullNaN) for (let i = from; i < from + n; i++) if (c.data[i] !== c.data[i]) return false;
            copyInto(raw, c.data, from, n);
            return true;
          },
          fill: (vec, from, n) => fillF64(vec, c.data, from, n, c.nullNaN === true),
        });
        break;
      case 'bool':
        // staged as TINYINT 1 / 0 / -1 (null)
        select.push(`(CASE WHEN ${id} < 0 THEN NULL ELSE ${id} = 1 END) AS ${id}`);
        flat.push({
          name: c.name,
          type: TINYINT,
          fast: (raw, from, n) => (copyInto(raw, c.data, from, n), true),
          fill: (vec, from, n) => fillI8(vec, c.data, from, n),
        });
        break;
      case 'i8':
        select.push(id);
        flat.push({
          name: c.name,
          type: TINYINT,
          fast: (raw, from, n) => (copyInto(raw, c.data, from, n), true),
          fill: (vec, from, n) => fillI8(vec, c.data, from, n),
        });
        break;
      case 'codes': {
        if (c.names.length > 0 && c.names.length <= 255 && new Set(c.names).size === c.names.length) {
          // staged as an ENUM of the names, filled with the codes themselves (code < 0 = NULL): no
          // string is built, and the Parquet writer copies the enum dictionary (written as UTF8,
          // read back as VARCHAR); a 65536-row ofi block writes in 746 ns per row, 1147 with VARCHAR staging
          select.push(id);
          flat.push({
            name: c.name,
            type: ENUM(c.names),
            // codes 0..size-1 are the enum's UTINYINT index bytes; a NULL (or a bad code) takes fillEnum
            fast: (raw, from, n) => {
              const size = c.names.length;
              for (let i = from; i < from + n; i++) if (c.codes[i] < 0 || c.codes[i] >= size) return false;
              copyInto(raw, c.codes, from, n);
              return true;
            },
            fill: (vec, from, n) => fillEnum(vec, c.codes, c.names.length, c.name, from, n),
          });
          break;
        }
        // staged as TINYINT codes; names looked up in the select (code < 0 = NULL)
        const names = c.names.length > 0 ? `[${c.names.map(sqlString).join(', ')}]` : '[]::VARCHAR[]';
        select.push(`(CASE WHEN ${id} < 0 THEN NULL ELSE ${names}[${id} + 1] END) AS ${id}`);
        flat.push({ name: c.name, type: TINYINT, fill: (vec, from, n) => fillI8(vec, c.codes, from, n) });
        break;
      }
      case 'str':
        select.push(id);
        flat.push({
          name: c.name,
          type: VARCHAR,
          fill(vec, from, n) {
            for (let i = 0; i < n; i++) vec.setItem(i, c.data[from + i]);
          },
        });
        break;
    }
  }
  return { flat, select };
}

const ALL_VALID = 0xffffffffffffffffn;

/** Mark every row of a reused vector valid again (its nulls were the previous slice's); fills then set this slice's. */
function resetValidity(vec: DuckDBVector): void {
  const v = (vec as unknown as { validity?: { data?: BigUint64Array | null } }).validity;
  v?.data?.fill(ALL_VALID);
}

function fillF64(vec: DuckDBVector, data: Float64Array, from: number, n: number, nullNaN: boolean): void {
  const items = itemsOf(vec);
  if (items instanceof Float64Array) {
    items.set(data.subarray(from, from + n));
    if (nullNaN) for (let i = 0; i < n; i++) if (data[from + i] !== data[from + i]) vec.setItem(i, null);
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = data[from + i];
    vec.setItem(i, nullNaN && v !== v ? null : v);
  }
}

function fillI8(vec: DuckDBVector, data: Int8Array, from: number, n: number): void {
  const items = itemsOf(vec);
  if (items instanceof Int8Array) {
    items.set(data.subarray(from, from + n));
    return;
  }
  for (let i = 0; i < n; i++) vec.setItem(i, data[from + i]);
}

/** Codes 0..size-1 into an ENUM vector's index array; code < 0 is NULL; anything else is refused. */
function fillEnum(vec: DuckDBVector, codes: Int8Array, size: number, name: string, from: number, n: number): void {
  const items = itemsOf(vec);
  if (!(items instanceof Uint8Array)) throw new FlowlabError(`column '${name}': unexpected DuckDB enum vector`);
  for (let i = 0; i < n; i++) {
    const k = codes[from + i];
    if (k >= size) throw new FlowlabError(`column '${name}': code ${k} has no name (expected -1..${size - 1})`);
    items[i] = k < 0 ? 0 : k;
  }
  for (let i = 0; i < n; i++) if (codes[from + i] < 0) vec.setItem(i, null);
}

/** A block being written: its staged columns, read by the `flowlab_block(id)` table function. */
interface Staged {
  readonly flat: readonly FlatCol[];
  readonly rows: number;
  /** The first error a fill threw (rethrown as is by writeParquet). */
  failure: unknown;
  /** Per column: 1 when the last chunk went through `fill` (and may have left NULL bits). */
  readonly nulls: Uint8Array;
}

/** A 2048-row validity mask with every row valid. */
const ALL_VALID_BYTES = new Uint8Array(2048 / 8).fill(0xff).buffer;

const staged = new Map<number, Staged>();
let stageSeq = 0;
/** Whether this thread's instance has `flowlab_block` (it is registered in the instance's catalog). */
let stageRegistered = false;

/**
 * `flowlab_block(id)`: the rows of `staged.get(id)` as a table, 2048 per call,
 * filled from the typed arrays straight into DuckDB's output chunk. It replaced
 * a staging table filled by an appender: the appender's flush into the table
 * (`closeSync`, on this thread) was ~40% of writing a part; the COPY reads the
 * same values in the same order, so the bytes are the same (test/io/duck.test.ts).
 */
function registerStage(conn: DuckDBConnection): void {
  if (stageRegistered) return;
  const { DuckDBTableFunction, INTEGER } = duckApi();
  const fn = DuckDBTableFunction.create({
    name: 'flowlab_block',
    parameterTypes: [INTEGER],
    bindFunction: (info) => {
      const id = Number(info.getParameter(0));
      const st = staged.get(id);
      if (!st) {
        info.setError(`flowlab_block: no block ${id} is being written`);
        return;
      }
      for (const f of st.flat) info.addResultColumn(f.name, f.type);
      info.setBindData({ id });
      info.setCardinality(st.rows, true);
    },
    initFunction: (info) => {
      info.setInitData({ from: 0 });
      info.setMaxThreads(1);
    },
    mainFunction: (info, out) => {
      const st = staged.get((info.bindData as { id: number }).id)!;
      const pos = info.initData as { from: number };
      const n = Math.min(CHUNK, st.rows - pos.from);
      try {
        out.rowCount = n;
        const chunk = (out as unknown as { chunk: Parameters<DuckBindings['data_chunk_get_vector']>[0] }).chunk;
        for (let ci = 0; ci < st.flat.length; ci++) {
          const f = st.flat[ci];
          // a column copied straight in makes no JS-side vector (the binding's wrapper copies the
          // native data out and back: a buffer per column per chunk); a column that had NULLs in
          // an earlier chunk is marked all-valid first (whether or not DuckDB reset the chunk)
          if (f.fast) {
            const raw = (bindings as DuckBindings).data_chunk_get_vector(chunk, ci);
            if (st.nulls[ci] === 1) {
              (bindings as DuckBindings).vector_ensure_validity_writable(raw);
              (bindings as DuckBindings).copy_data_to_vector_validity(
                raw,
                0,
                ALL_VALID_BYTES,
                0,
                ALL_VALID_BYTES.byteLength,
              );
            }
            if (f.fast(raw, pos.from, n)) {
              st.nulls[ci] = 0;
              continue;
            }
          }
          const vec = out.getColumnVector(ci);
          resetValidity(vec);
          f.fill(vec, pos.from, n);
          vec.flush();
          st.nulls[ci] = 1;
        }
      } catch (e) {
        st.failure ??= e;
        info.setError(e instanceof Error ? e.message : String(e));
        return;
      }
      pos.from += n;
    },
  });
  conn.registerTableFunction(fn);
  stageRegistered = true;
}

/**
 * Write `rows` rows of `cols` to `file` as snappy Parquet, atomically.
 * `orderBy` (plain column names) sorts rows on the way out.
 */
export async function writeParquet(
  file: string,
  cols: readonly OutColumn[],
  rows: number,
  opts: { orderBy?: readonly string[]; conn?: DuckDBConnection } = {},
): Promise<void> {
  return using(opts.conn, (conn) => writeWith(conn, file, cols, rows, opts.orderBy));
}

async function writeWith(
  conn: DuckDBConnection,
  file: string,
  cols: readonly OutColumn[],
  rows: number,
  orderBy?: readonly string[],
): Promise<void> {
  const { flat, select } = flatten(cols);
  registerStage(conn);
  const id = stageSeq++;
  const st: Staged = { flat, rows, failure: null, nulls: new Uint8Array(flat.length) };
  staged.set(id, st);
  let tmp: string | null = null;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Reserved exclusively (never somebody else's file); a leading '.': dataset discovery
    // (pyarrow, pandas, Spark) and `*.parquet` globs skip a part being written.
    const t = createTempFile(file, { hidden: true });
    fs.closeSync(t.fd);
    tmp = t.path;
    const order = orderBy && orderBy.length > 0 ? ` ORDER BY ${orderBy.map(sqlIdent).join(', ')}` : '';
    try {
      await conn.run(
        `COPY (SELECT ${select.join(', ')} FROM flowlab_block(${id})${order}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
      );
    } catch (e) {
      throw st.failure ?? e;
    }
    // durable before it takes the final name: a crash never leaves a named part with torn bytes
    fsyncFile(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    if (tmp !== null)
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
    throw e;
  } finally {
    staged.delete(id);
  }
}

/** Stream the chunks of a query, lazily. The caller may `break` early. */
export async function* streamChunks(sql: string, conn?: DuckDBConnection): AsyncGenerator<DuckDBDataChunk> {
  const c = conn ?? (await duck());
  try {
    const result = await c.stream(sql);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      yield chunk;
    }
  } finally {
    if (!conn) c.closeSync();
  }
}

/** duckdb_type ids (the C API's enum, as @duckdb/node-bindings declares it). */
const TYPE_TINYINT = 2;
const TYPE_DOUBLE = 11;

/**
 * Copy column `col` of `chunk` (of `n` rows) into `out` at `offset` when its type is `typeId`,
 * straight from the binding (no vector wrapper: a type object, a class instance and a validity
 * view per column per chunk); NULL rows become `nullValue`. False when the type differs.
 */
function readRaw(
  chunk: DuckDBDataChunk,
  col: number,
  n: number,
  typeId: number,
  out: Float64Array | Int8Array,
  offset: number,
  nullValue: number,
): boolean {
  const b = bindings as DuckBindings;
  const raw = b.data_chunk_get_vector(
    (chunk as unknown as { chunk: Parameters<DuckBindings['data_chunk_get_vector']>[0] }).chunk,
    col,
  );
  if ((b.get_type_id(b.vector_get_column_type(raw)) as number) !== typeId) return false;
  const w = out.BYTES_PER_ELEMENT;
  const bytes = b.vector_get_data(raw, n * w);
  out.set(
    w === 8 ? new Float64Array(bytes.buffer, bytes.byteOffset, n) : new Int8Array(bytes.buffer, bytes.byteOffset, n),
    offset,
  );
  const mask = b.vector_get_validity(raw, Math.ceil(n / 64) * 8) as Uint8Array | null;
  if (mask) for (let i = 0; i < n; i++) if ((mask[i >> 3] & (1 << (i & 7))) === 0) out[offset + i] = nullValue;
  return true;
}

/** Copy a DOUBLE column of a chunk into `out` at `offset`; NULL becomes NaN. */
export function readF64(chunk: DuckDBDataChunk, col: number, out: Float64Array, offset: number): void {
  const n = chunk.rowCount;
  if (readRaw(chunk, col, n, TYPE_DOUBLE, out, offset, NaN)) return;
  const vec = chunk.getColumnVector(col);
  const items = itemsOf(vec);
  if (items instanceof Float64Array) {
    out.set(items.subarray(0, n), offset);
    const validity = (vec as unknown as { validity?: { data?: unknown; itemValid(i: number): boolean } }).validity;
    if (validity?.data) {
      for (let i = 0; i < n; i++) if (!validity.itemValid(i)) out[offset + i] = NaN;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = vec.getItem(i);
    out[offset + i] = v === null ? NaN : Number(v);
  }
}

/** Copy a TINYINT/BOOLEAN column into an Int8Array; NULL becomes `nullValue`. */
export function readI8(chunk: DuckDBDataChunk, col: number, out: Int8Array, offset: number, nullValue = -1): void {
  const n = chunk.rowCount;
  if (readRaw(chunk, col, n, TYPE_TINYINT, out, offset, nullValue)) return;
  const vec = chunk.getColumnVector(col);
  const items = itemsOf(vec);
  if (items instanceof Int8Array) {
    // TINYINT: a bulk copy (a getItem per row was ~1/3 of reading a trades chunk's columns)
    out.set(items.subarray(0, n), offset);
    const validity = (vec as unknown as { validity?: { data?: unknown; itemValid(i: number): boolean } }).validity;
    if (validity?.data) {
      for (let i = 0; i < n; i++) if (!validity.itemValid(i)) out[offset + i] = nullValue;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = vec.getItem(i);
    out[offset + i] = v === null ? nullValue : v === true ? 1 : v === false ? 0 : Number(v);
  }
}

/** Run a query and return all rows as plain objects (small results only: counts, manifests, metadata). */
export async function queryRows(sql: string, conn?: DuckDBConnection): Promise<Record<string, unknown>[]> {
  return using(conn, async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
}
