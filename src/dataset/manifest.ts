/**
 * `_manifest.json` of a raw dataset: what is in it (symbols, time range, rows
 * per kind, venue and market) and every part file with its sha256, so a replay
 * can prove which bytes it read. No wall-clock field: the same ticks give the
 * same manifest.
 *
 * The name starts with `_` so hive-dataset discovery (pyarrow, pandas, Spark)
 * skips it; datasets written before that carry `manifest.json`
 * (LEGACY_MANIFEST_FILE), which is still read (and kept, when appended to).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FlowlabError } from '../core/errors.js';
import { KINDS, type Kind } from '../core/types.js';
import { INCOMPLETE_MARKER } from '../core/atomic.js';
import { utcDateOf, zCount, zDate, zEpochMs, zSha256, zSymbol } from '../core/validate.js';
import {
  MARKETS,
  UNKNOWN_MARKET,
  VENUES,
  combineMarkets,
  type Market,
  type MarketInfo,
  type Venue,
} from '../core/market.js';

export const MANIFEST_FILE = '_manifest.json';
/** The manifest's name in datasets written before it was renamed; read, never created anew. */
export const LEGACY_MANIFEST_FILE = 'manifest.json';
export const SCHEMA_VERSION = 1;

/** The manifest file of the dataset at `root` (the current name first, then the legacy one), or null when it has none. */
export function manifestPath(root: string): string | null {
  for (const name of [MANIFEST_FILE, LEGACY_MANIFEST_FILE]) {
    const file = path.join(root, name);
    if (fs.existsSync(file)) return file;
  }
  return null;
}

/** True when `root` holds a flowlab dataset manifest (either name). */
export function isDataset(root: string): boolean {
  return manifestPath(root) !== null;
}

export interface PartFileInfo {
  /** Path relative to the dataset root (forward slashes). */
  readonly path: string;
  readonly symbol: string;
  readonly kind: Kind;
  readonly date: string;
  readonly rows: number;
  readonly first_recv_ts_ms: number;
  readonly last_recv_ts_ms: number;
  readonly min_ts_ms: number;
  readonly max_ts_ms: number;
  readonly first_recv_seq: number;
  readonly last_recv_seq: number;
  readonly bytes: number;
  readonly sha256: string;
  /** Where the part's ticks come from (parts of manifests written before the field: unknown). */
  readonly venue: Venue;
  readonly market: Market;
}

export interface DatasetSummary {
  readonly symbols: string[];
  /** Venue and market kind per symbol (the one known among its parts, else unknown). */
  readonly markets: Record<string, MarketInfo>;
  readonly time_range: { readonly recv_ts_ms: [number, number] | null; readonly ts_ms: [number, number] | null };
  readonly rows: Record<string, Record<Kind, number>>;
}

export interface DatasetManifest extends DatasetSummary {
  readonly schema_version: number;
  readonly depth_levels: number;
  readonly source: Record<string, unknown>;
  readonly stats: Record<string, unknown>;
  readonly files: PartFileInfo[];
}

/** The path a part file must have: the writer's naming, implied by its other fields. */
export function partPath(f: {
  readonly date: string;
  readonly symbol: string;
  readonly kind: string;
  readonly first_recv_ts_ms: number;
  readonly first_recv_seq: number;
}): string {
  return `date=${f.date}/symbol=${f.symbol}/kind=${f.kind}/part-${f.first_recv_ts_ms}-${f.first_recv_seq}.parquet`;
}

/**
 * Every field is checked as strictly as CLI input: symbols by the CLI's
 * pattern, counts as non-negative integers, hashes as sha256 hex, and `path`
 * must be exactly the path its date, symbol, kind, first receive time and
 * first recv_seq imply (so no manifest can point a reader, or a replay's
 * output names, outside the dataset).
 */
const PartSchema = z
  .strictObject({
    path: z.string(),
    symbol: zSymbol,
    kind: z.enum(['trades', 'quotes', 'depth']),
    date: zDate,
    rows: zCount,
    first_recv_ts_ms: zEpochMs,
    last_recv_ts_ms: zEpochMs,
    min_ts_ms: zEpochMs,
    max_ts_ms: zEpochMs,
    first_recv_seq: zCount,
    last_recv_seq: zCount,
    bytes: zCount,
    sha256: zSha256,
    venue: z.enum(VENUES).default(UNKNOWN_MARKET.venue),
    market: z.enum(MARKETS).default(UNKNOWN_MARKET.market),
  })
  .superRefine((f, ctx) => {
    const want = partPath(f);
    if (f.path !== want)
      ctx.addIssue({ code: 'custom', path: ['path'], message: `expected '${want}' (implied by the entry's fields)` });
    if (utcDateOf(f.first_recv_ts_ms) !== f.date)
      ctx.addIssue({
        code: 'custom',
        path: ['date'],
        message: `expected ${utcDateOf(f.first_recv_ts_ms)} (the UTC date of first_recv_ts_ms)`,
      });
    if (f.last_recv_ts_ms < f.first_recv_ts_ms || f.last_recv_seq < f.first_recv_seq || f.max_ts_ms < f.min_ts_ms)
      ctx.addIssue({ code: 'custom', path: ['last_recv_ts_ms'], message: 'expected last >= first and max >= min' });
  });

// known fields strictly; unknown top-level fields are kept (a newer writer's additions survive a rewrite)
const ManifestSchema = z
  .looseObject({
    schema_version: z.literal(SCHEMA_VERSION),
    depth_levels: z.number().int().min(1).max(100),
    source: z.record(z.string(), z.unknown()),
    stats: z.record(z.string(), z.unknown()),
    symbols: z.array(zSymbol),
    markets: z.record(zSymbol, z.strictObject({ venue: z.enum(VENUES), market: z.enum(MARKETS) })).optional(),
    time_range: z.object({
      recv_ts_ms: z.tuple([zEpochMs, zEpochMs]).nullable(),
      ts_ms: z.tuple([zEpochMs, zEpochMs]).nullable(),
    }),
    rows: z.record(zSymbol, z.record(z.enum(['trades', 'quotes', 'depth']), zCount)),
    files: z.array(PartSchema),
  })
  .superRefine((m, ctx) => {
    const listed = new Set(m.symbols);
    m.files.forEach((f, i) => {
      if (!listed.has(f.symbol))
        ctx.addIssue({
          code: 'custom',
          path: ['files', i, 'symbol'],
          message: `'${f.symbol}' is not in the manifest's symbols`,
        });
    });
    const seen = new Set<string>();
    m.files.forEach((f, i) => {
      if (seen.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: 'listed twice' });
      seen.add(f.path);
    });
  });

export function summarize(files: readonly PartFileInfo[]): DatasetSummary {
  const symbols = [...new Set(files.map((f) => f.symbol))].sort();
  const rows: Record<string, Record<Kind, number>> = {};
  for (const s of symbols) rows[s] = { trades: 0, quotes: 0, depth: 0 };
  let r0 = Infinity;
  let r1 = -Infinity;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const f of files) {
    rows[f.symbol][f.kind] += f.rows;
    r0 = Math.min(r0, f.first_recv_ts_ms);
    r1 = Math.max(r1, f.last_recv_ts_ms);
    t0 = Math.min(t0, f.min_ts_ms);
    t1 = Math.max(t1, f.max_ts_ms);
  }
  const markets: Record<string, MarketInfo> = {};
  for (const s of symbols)
    markets[s] = combineMarkets(
      files.filter((f) => f.symbol === s),
      `symbol ${s}`,
    );
  return {
    symbols,
    markets,
    time_range: files.length ? { recv_ts_ms: [r0, r1], ts_ms: [t0, t1] } : { recv_ts_ms: null, ts_ms: null },
    rows,
  };
}

/** Read and validate `<root>/_manifest.json` (or a legacy `manifest.json`); errors name the file and the problem. */
export function readManifest(root: string): DatasetManifest {
  const file = manifestPath(root) ?? path.join(root, MANIFEST_FILE);
  if (fs.existsSync(path.join(root, INCOMPLETE_MARKER)))
    throw new FlowlabError(
      `dataset '${root}' is incomplete (${INCOMPLETE_MARKER}: the command that wrote it did not finish); write it again`,
    );
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (!fs.existsSync(root)) throw new FlowlabError(`dataset '${root}' does not exist`);
    throw new FlowlabError(`dataset '${root}' has no readable ${MANIFEST_FILE} (is it a flowlab dataset?)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FlowlabError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const value = issue.path.reduce<unknown>(
      (o, k) => (o !== null && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined),
      json,
    );
    const shown = value === undefined || typeof value === 'object' ? '' : ` = ${JSON.stringify(value)}`;
    throw new FlowlabError(`${file}: ${issue.path.join('.') || '(root)'}${shown}: ${issue.message}`);
  }
  for (const f of parsed.data.files) {
    if (!KINDS.includes(f.kind)) throw new FlowlabError(`${file}: unknown kind '${f.kind}'`);
  }
  const files = parsed.data.files as PartFileInfo[];
  let markets: Record<string, MarketInfo>;
  try {
    markets = summarize(files).markets;
  } catch (e) {
    throw new FlowlabError(`${file}: ${(e as Error).message}`);
  }
  return { ...parsed.data, markets } as DatasetManifest;
}
