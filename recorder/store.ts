/**
 * The recorder's files around the dataset (recorder/README.md "Source of
 * truth", "What it touches"): _checkpoint.json, the part-file ledger
 * (_parts-pending.txt), orphan removal, the --out check, kept corrupt journal
 * lines, and the losses cumulated in the manifest's `stats.recorder`.
 *
 * Every file and folder the recorder keeps beside the part files starts with
 * '_', so hive-dataset discovery (pyarrow, pandas, Spark) skips it; a
 * recording made before that has the LEGACY_STATE names, renamed once at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MAX_DROPPED_IDS } from '../src/binance/mapper.js';
import { TEMP_SUFFIX_RE, writeFileAtomic } from '../src/core/atomic.js';
import { FlowlabError, UsageError, describeError } from '../src/core/errors.js';
import { MANIFEST_FILE, isDataset, readManifest } from '../src/dataset/manifest.js';
import { checkBookStateJson } from '../src/import/depthbook.js';
import type { DepthCheckpoint } from './depth-sync.js';
import type { RecorderCounters } from './metrics.js';

export const CHECKPOINT_FILE = '_checkpoint.json';

/** What a recording lost, cumulated over its runs in the manifest's `stats.recorder` (and read by dq). */
export const LOSS_KEYS = [
  'trade_ids_lost',
  'backfill_errors',
  'depth_resyncs',
  'journal_corrupt_lines',
  'write_errors',
] as const;
export type LossKey = (typeof LOSS_KEYS)[number];
/** Part files this recorder is about to write and has not yet listed in a manifest, one dataset path a line. */
export const PARTS_PENDING_FILE = '_parts-pending.txt';
/** Journal lines that failed to parse on recovery, kept byte for byte (one file per line). */
export const JOURNAL_CORRUPT_DIR = '_journal-corrupt';
export const JOURNAL_DIR = '_journal';
export const HOURLY_DIR = '_hourly';
/** Names of the state above in recordings made before the '_' prefix: [old, current]. */
const LEGACY_STATE: readonly (readonly [string, string])[] = [
  ['checkpoint.json', CHECKPOINT_FILE],
  ['parts-pending.txt', PARTS_PENDING_FILE],
  ['journal-corrupt', JOURNAL_CORRUPT_DIR],
  ['journal', JOURNAL_DIR],
  ['hourly', HOURLY_DIR],
];

/**
 * Rename a legacy recorder state file / folder to its current name (only where the new name is absent), in a
 * folder that is a recording of ours: a legacy checkpoint, or a manifest whose source is the recorder.
 */
export function migrateLegacyState(out: string): void {
  if (!fs.existsSync(out)) return;
  const ours =
    fs.existsSync(path.join(out, LEGACY_STATE[0][0])) ||
    (isDataset(out) && (readManifest(out).source as { type?: unknown }).type === 'recorder');
  if (!ours) return;
  for (const [old, cur] of LEGACY_STATE) {
    const from = path.join(out, old);
    const to = path.join(out, cur);
    if (fs.existsSync(from) && !fs.existsSync(to)) fs.renameSync(from, to);
  }
}

export interface CheckpointFile {
  /** 2: carries `depth_books`; 1 (older recorders): no book state. */
  readonly version: 1 | 2;
  readonly journal_seq: number;
  readonly next_recv_seq: number;
  readonly written_at_ms: number;
  readonly trade_ids: Record<string, { floor: number | null; contiguous: number | null; above: number[] }>;
  readonly last_ids: Record<string, number>;
  /**
   * Per recorded symbol with a depth stream: its diff books (importer symbol
   * -> state) after applying every journal line <= journal_seq, and whether
   * it saw diffs. A restart restores them and replays the journal after
   * journal_seq through them, so diff-derived rows are rebuilt exactly.
   */
  readonly depth_books?: Record<string, DepthCheckpoint>;
}

const ID_COUNT = z.number().int();
/** The shape of _checkpoint.json (fields absent in older recorders optional; unknown fields kept). */
const CheckpointSchema = z
  .object({
    version: z.union([z.literal(1), z.literal(2)]),
    journal_seq: ID_COUNT.min(-1).optional(),
    next_recv_seq: ID_COUNT.min(0).optional(),
    written_at_ms: z.number().optional(),
    trade_ids: z
      .record(
        z.string(),
        // null: NaN as JSON writes it (an id memory that has seen no id yet)
        z.object({ floor: ID_COUNT.nullable(), contiguous: ID_COUNT.nullable(), above: z.array(ID_COUNT) }),
      )
      .optional(),
    last_ids: z.record(z.string(), ID_COUNT).optional(),
    depth_books: z.unknown().optional(),
  })
  .passthrough();

/**
 * `--out` must be new, empty, or a recording of the same source (endpoint
 * host, streams, symbols): record never appends to an imported dataset, never
 * writes into a folder holding something else, never mixes two sources.
 */
export function checkOut(out: string, endpoint: string, streams: readonly string[], symbols: readonly string[]): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' exists and is not a directory`);
  if (fs.readdirSync(out).length === 0) return;
  if (!isDataset(out)) {
    if (fs.existsSync(path.join(out, JOURNAL_DIR)) || fs.existsSync(path.join(out, CHECKPOINT_FILE))) return;
    throw new UsageError(
      `--out: '${out}' is not empty and holds no recording (no ${MANIFEST_FILE}, ${JOURNAL_DIR}/ or ${CHECKPOINT_FILE}); record writes only into a new folder or resumes its own recording: choose another folder`,
    );
  }
  const src = (readManifest(out).source ?? {}) as {
    type?: unknown;
    endpoint?: unknown;
    streams?: unknown;
    symbols?: unknown;
  };
  if (src.type !== 'recorder')
    throw new UsageError(
      `--out: '${out}' holds a dataset of source.type '${String(src.type)}' (${MANIFEST_FILE}); record appends only to a recording of the same source: choose a new folder`,
    );
  const same = (a: unknown, b: readonly string[]) =>
    Array.isArray(a) && a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
  // the same exchange = the same endpoint host (its port may change: 443 / 9443, a restarted local mock)
  const host = (u: unknown) => {
    try {
      return typeof u === 'string' ? new URL(u).hostname : null;
    } catch {
      return null;
    }
  };
  const diff =
    host(src.endpoint) !== host(endpoint)
      ? `endpoint host of '${String(src.endpoint)}' (now '${endpoint}')`
      : !same(src.streams, streams)
        ? `streams ${JSON.stringify(src.streams)} (now ${JSON.stringify(streams)})`
        : !same(src.symbols, symbols)
          ? `symbols ${JSON.stringify(src.symbols)} (now ${JSON.stringify(symbols)})`
          : null;
  if (diff !== null)
    throw new UsageError(
      `--out: '${out}' is a recording of another source: ${diff}; record resumes only the same endpoint, streams and symbols: choose a new folder`,
    );
}

/** Note a part file about to be written (fsynced before the write, so a crash after it leaves it named). */
export function notePart(out: string, rel: string): void {
  const fd = fs.openSync(path.join(out, PARTS_PENDING_FILE), 'a');
  try {
    fs.writeSync(fd, `${rel}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A temp file's tail (`.tmp-<pid>[-<n>]`), cut to find the part it was writing. */
const TEMP_TAIL = new RegExp(`${TEMP_SUFFIX_RE}$`);

/**
 * Part files (and their temp files) this recorder wrote (named in
 * _parts-pending.txt) that the manifest does not list: leftovers of an
 * interrupted flush, deleted. Any other file is left untouched (reported).
 */
export function removeOrphans(out: string, log: (line: string) => void): void {
  const listed = new Set<string>();
  if (isDataset(out)) for (const f of readManifest(out).files) listed.add(f.path);
  const pendingFile = path.join(out, PARTS_PENDING_FILE);
  const pending = new Set(
    fs.existsSync(pendingFile)
      ? fs
          .readFileSync(pendingFile, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
      : [],
  );
  let removed = 0;
  const foreign: string[] = [];
  for (const d of fs.readdirSync(out)) {
    if (!d.startsWith('date=')) continue;
    const entries = fs.readdirSync(path.join(out, d), { recursive: true }) as string[];
    for (const rel of entries) {
      const full = path.join(out, d, rel);
      const relPath = `${d}/${rel.split(path.sep).join('/')}`;
      if (listed.has(relPath) || !fs.statSync(full).isFile()) continue;
      // the part itself, or the writer's temp file of it (`.<part>.tmp-<pid>[-<n>]`; before: `<part>.tmp-<pid>`)
      const base = relPath.replace(TEMP_TAIL, '').replace(/(^|\/)\.(part-[^/]*)$/, '$1$2');
      if (pending.has(base)) {
        fs.rmSync(full, { force: true });
        removed++;
      } else foreign.push(relPath);
    }
  }
  if (removed > 0) log(`removed ${removed} part files of an interrupted flush (named in ${PARTS_PENDING_FILE})`);
  if (foreign.length > 0)
    log(
      `${foreign.length} files under date=* are not in ${MANIFEST_FILE} and were not written by this recorder; left untouched (e.g. ${foreign[0]})`,
    );
  fs.rmSync(pendingFile, { force: true });
}

/** _checkpoint.json through the one durable write (temp + fsync + rename + folder fsync); a failure throws, the old file kept. */
export function writeCheckpointFile(out: string, ck: CheckpointFile): void {
  writeFileAtomic(path.join(out, CHECKPOINT_FILE), `${JSON.stringify(ck)}\n`);
}

/**
 * _checkpoint.json, or null when there is none; `books` is null when its
 * depth books are missing (version 1) or unusable (logged: depth resyncs).
 */
export function readCheckpointFile(
  out: string,
  log: (line: string) => void,
): { ck: CheckpointFile; journalSeq: number; books: Record<string, DepthCheckpoint> | null } | null {
  const file = path.join(out, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FlowlabError(`checkpoint '${file}' is unreadable: ${describeError(e)}`);
  }
  // the fields a restart trusts (trade-id dedup state, last ids) are checked before use: a wrong type
  // would silently corrupt the dedup (drop or repeat trades); depth books are checked below, softly
  const parsed = CheckpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlowlabError(
      `checkpoint '${file}': key ${issue.path.join('.') || '(root)'}: ${issue.message} (delete the file to resync from the journal and the exchange, or restore it)`,
    );
  }
  const ck = parsed.data as CheckpointFile;
  const journalSeq = typeof ck.journal_seq === 'number' ? ck.journal_seq : -1;
  if (ck.depth_books === undefined || ck.depth_books === null || typeof ck.depth_books !== 'object')
    return { ck, journalSeq, books: null };
  for (const [sym, d] of Object.entries(ck.depth_books)) {
    const bad =
      d === null || typeof d !== 'object' || typeof d.books !== 'object' || d.books === null
        ? 'not an object'
        : Object.values(d.books)
            .map(checkBookStateJson)
            .find((r) => r !== null);
    if (bad) {
      log(`checkpoint: depth book of ${sym} unusable (${bad}); depth resyncs from a snapshot`);
      return { ck, journalSeq, books: null };
    }
  }
  return { ck, journalSeq, books: ck.depth_books };
}

/**
 * Keep a journal line unreadable on recovery in _journal-corrupt/jseq-<n>.txt.
 * Returns the kept file's path, or null when that line was kept (and counted) by an earlier start.
 */
export function keepCorruptLine(out: string, jseq: number, line: string): string | null {
  const dir = path.join(out, JOURNAL_CORRUPT_DIR);
  const file = path.join(dir, `jseq-${String(jseq).padStart(16, '0')}.txt`);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === line) return null;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, line);
  return file;
}

/**
 * Losses and deliberately dropped trade ids over the whole recording: the
 * totals of earlier runs (the manifest's `stats.recorder`) plus this run's.
 */
export class RecordingLedger {
  private readonly lossBase: Record<LossKey, number> = {
    trade_ids_lost: 0,
    backfill_errors: 0,
    depth_resyncs: 0,
    journal_corrupt_lines: 0,
    write_errors: 0,
  };
  private readonly droppedBase: Record<string, number[]> = {};
  /** Loss totals as in the last manifest written (JSON). */
  written = '';

  /** Read the manifest's `stats.recorder`; returns its journal_seq (-1 when there is no manifest or none). */
  load(out: string): number {
    if (!isDataset(out)) return -1;
    const m = readManifest(out);
    const r = (m.stats as { recorder?: Record<string, unknown> }).recorder;
    for (const key of LOSS_KEYS) {
      const v = r?.[key];
      this.lossBase[key] = typeof v === 'number' && Number.isFinite(v) ? v : 0;
    }
    const ids = r?.trades_dropped_ids;
    if (ids && typeof ids === 'object')
      for (const [sym, list] of Object.entries(ids as Record<string, unknown>))
        if (Array.isArray(list)) this.droppedBase[sym] = list.filter((x): x is number => Number.isSafeInteger(x));
    return typeof r?.journal_seq === 'number' ? r.journal_seq : -1;
  }

  losses(c: RecorderCounters): Record<LossKey, number> {
    const o = {} as Record<LossKey, number>;
    for (const key of LOSS_KEYS) o[key] = this.lossBase[key] + c[key];
    return o;
  }

  /** Ids of trades dropped on purpose (non-MARKET), per symbol, ascending, bounded. */
  droppedIds(...runs: readonly Record<string, number[]>[]): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    const syms = new Set([...Object.keys(this.droppedBase), ...runs.flatMap((r) => Object.keys(r))]);
    for (const sym of [...syms].sort()) {
      const all = new Set([...(this.droppedBase[sym] ?? []), ...runs.flatMap((r) => r[sym] ?? [])]);
      out[sym] = [...all].sort((a, b) => a - b).slice(0, MAX_DROPPED_IDS);
    }
    return out;
  }
}
