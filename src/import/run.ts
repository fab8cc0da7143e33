/**
 * `flowlab import` as a library call: check the inputs, hash them, run the
 * format's importer into a DatasetWriter and close it with the provenance
 * (`source`) and counters (`stats.import`) in the dataset manifest.
 *
 * Every input is checked (exists, readable) and hashed before anything is
 * written, and binance-vision and Tardis files are planned (symbol, kind, header, exchange), so a
 * bad argument fails without leaving a half-written dataset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, UsageError } from '../core/errors.js';
import { INCOMPLETE_MARKER, TEMP_SUFFIX_RE, markComplete, markIncomplete } from '../core/atomic.js';
import { validatePath } from '../core/validate.js';
import { progressBar } from '../core/progress.js';
import { sha256File } from '../core/hash.js';
import { DatasetWriter } from '../dataset/writer.js';
import { MANIFEST_FILE, type DatasetManifest } from '../dataset/manifest.js';
import { newCounters, nonZero, type ImportCounters } from './counters.js';
import { checkReadable } from './lines.js';
import { WsCaptureImporter } from './wscapture.js';
import { importVisionPlanned, planVisionFile, type VisionPlan } from './vision.js';
import { importTardisPlanned, planTardis, type TardisPlan } from './tardis.js';

export const IMPORT_FORMATS = ['ws-capture', 'binance-vision', 'tardis'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** What an import expected to find, for the no-usable-rows error. */
const EXPECTED: Record<ImportFormat, string> = {
  'ws-capture': "'<recv_ns> <json>' lines of Binance stream messages, plain or gzip",
  'binance-vision': 'binance public-data CSV rows, plain or zip',
  tardis: 'Tardis.dev CSV rows (trades, quotes, incremental_book_L2 or book_snapshot_N), plain or gzip',
};

export interface ImportRequest {
  readonly format: ImportFormat;
  /** Input files, imported in this order. */
  readonly inputs: readonly string[];
  /** Dataset directory to create (must not exist, or be empty). */
  readonly out: string;
  /** Depth levels per side (default 20). */
  readonly depthLevels?: number;
  /** Part-file rotation in seconds of receive time (default 3600). */
  readonly rotateSec?: number;
  /** binance-vision only: symbol for files whose name does not carry one. */
  readonly symbol?: string;
  readonly onWarning?: (msg: string) => void;
  /** Progress bar of imported files (default: when stderr is a terminal). */
  readonly progress?: boolean;
}

export interface InputInfo {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ImportResult {
  readonly out: string;
  readonly manifest: DatasetManifest;
  readonly counters: ImportCounters;
  readonly inputs: readonly InputInfo[];
  /** Wall-clock seconds spent (reporting only; not written to the manifest). */
  readonly seconds: number;
}

export async function runImport(req: ImportRequest): Promise<ImportResult> {
  if (!(IMPORT_FORMATS as readonly string[]).includes(req.format)) {
    throw new UsageError(`--format: '${req.format}' is not a known format (expected ${IMPORT_FORMATS.join(', ')})`);
  }
  if (req.inputs.length === 0) throw new UsageError('--in: no input file given');
  if (req.symbol !== undefined && req.format !== 'binance-vision')
    throw new UsageError(
      '--symbol applies to --format binance-vision only (ws-capture messages and Tardis rows carry their symbol)',
    );
  const out = validatePath(req.out, '--out');
  const files = req.inputs.map((f) => validatePath(f, '--in'));
  for (const f of files) {
    const rf = realOr(f);
    const ro = realOr(out);
    if (rf === ro || rf.startsWith(ro + path.sep))
      throw new UsageError(
        `--out: '${out}' holds the input '${f}' (import writes a new dataset; choose a new directory)`,
      );
  }
  const leftover = prepareImportOut(out);
  for (const f of files) checkReadable(f);
  const inputs: InputInfo[] = [];
  for (const f of files)
    inputs.push({ file: path.basename(f), sha256: await sha256File(f), bytes: fs.statSync(f).size });
  const plans: VisionPlan[] = [];
  if (req.format === 'binance-vision') {
    for (const f of files) plans.push(await planVisionFile(f, req.symbol));
  }
  const tardis: TardisPlan[] = req.format === 'tardis' ? await planTardis(files) : [];

  const t0 = performance.now();
  const created = !fs.existsSync(out);
  if (leftover) clearInterruptedImport(out);
  fs.mkdirSync(out, { recursive: true });
  markIncomplete(out, 'import');
  try {
    const writer = new DatasetWriter(out, {
      rotateSec: req.rotateSec ?? 3600,
      depthLevels: req.depthLevels ?? 20,
      source: { type: req.format, inputs },
      append: false,
    });
    const counters = newCounters();
    const bar = progressBar(req.progress);
    bar.start('import', files.length, 'files');
    try {
      if (req.format === 'ws-capture') {
        const imp = new WsCaptureImporter(writer, { depthLevels: writer.levels, onWarning: req.onWarning }, counters);
        for (let i = 0; i < files.length; i++) {
          await imp.importFile(files[i]);
          bar.update(i + 1);
        }
        imp.finish();
      } else if (req.format === 'tardis') {
        await importTardisPlanned(tardis, writer, { depthLevels: writer.levels, onWarning: req.onWarning }, counters);
        bar.update(files.length);
      } else {
        await importVisionPlanned(plans, writer, { symbol: req.symbol, onWarning: req.onWarning }, counters, (i) =>
          bar.update(i + 1),
        );
      }
    } finally {
      bar.stop();
    }
    const rows = counters.rows.trades + counters.rows.quotes + counters.rows.depth;
    if (rows === 0 && writer.pendingRows === 0) {
      const found = nonZero(counters);
      throw new FlowlabError(
        `${files.map((f) => path.basename(f)).join(', ')}: no usable rows (read ${counters.lines} line(s)${found.length ? `: ${found.join(' ')}` : ''}; expected ${EXPECTED[req.format]})`,
      );
    }
    writer.stats = { import: counters };
    const manifest = await writer.close();
    markComplete(out);
    return { out, manifest, counters, inputs, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    // everything under `out` was written by this import (it was new, empty, or an interrupted import)
    try {
      if (created) fs.rmSync(out, { recursive: true, force: true });
      else clearInterruptedImport(out, true);
    } catch {
      /* the _INCOMPLETE marker stays: readers refuse the folder, a rerun replaces it */
    }
    throw e;
  }
}

function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** What an import writes into its --out: the marker, the manifest (and its temp), the date= partitions. */
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const IMPORT_ENTRY = new RegExp(
  `^(?:${esc(INCOMPLETE_MARKER)}|${esc(MANIFEST_FILE)}(?:${TEMP_SUFFIX_RE})?|date=\\d{4}-\\d{2}-\\d{2})$`,
);

/**
 * `--out` must be new, empty, or an interrupted import (its _INCOMPLETE marker
 * and nothing an import does not write); returns true for the last, which the
 * import then replaces.
 */
function prepareImportOut(out: string): boolean {
  if (!fs.existsSync(out)) return false;
  if (!fs.statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' exists and is not a directory`);
  const entries = fs.readdirSync(out);
  if (entries.length === 0) return false;
  if (entries.includes(INCOMPLETE_MARKER) && entries.every((e) => IMPORT_ENTRY.test(e))) return true;
  throw new UsageError(`--out: '${out}' is not empty (import writes a new dataset; choose a new directory)`);
}

/** Remove what an import writes (the marker too with `marker`: then nothing of it is left). */
function clearInterruptedImport(out: string, marker = false): void {
  for (const e of fs.readdirSync(out))
    if (IMPORT_ENTRY.test(e) && (marker || e !== INCOMPLETE_MARKER))
      fs.rmSync(path.join(out, e), { recursive: true, force: true });
}
