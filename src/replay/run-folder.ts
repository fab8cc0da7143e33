/**
 * Run folders (`<out>/<run_tag>/` of replay, canary and live): what a finished
 * one contains, the strict reading of its manifest, and the one place that
 * creates or replaces one.
 *
 * A finished run folder holds exactly: `manifest.json`, `run_tag.txt`, the
 * derived part files the manifest lists under `outputs`, the slices coverage
 * files under `slices.files` and the canary files under `canary.files`, and for a live run the recorded dataset `raw/`
 * (the run's input, checked by its hashes in `inputs`). Anything else is
 * foreign: `verify` rejects it and `--overwrite` refuses to delete it.
 *
 * While a run is being written the folder holds `_INCOMPLETE`
 * (src/core/atomic.ts); it is removed after the last metadata file is in place.
 */
import { MARKETS, VENUES } from '../core/market.js';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FlowlabError, UsageError, describeError } from '../core/errors.js';
import { INCOMPLETE_MARKER, TEMP_SUFFIX_RE, isIncomplete, markIncomplete } from '../core/atomic.js';
import { zCount, zDate, zEpochMs, zSha256, zSymbol, zTag } from '../core/validate.js';
import { DERIVED_KINDS, type DerivedKind } from '../pipeline/tables.js';

import { REPLAY_MANIFEST, RUN_TAG_FILE } from '../core/run-files.js';

export { REPLAY_MANIFEST, RUN_TAG_FILE };
/** The recorded dataset inside a live run folder. */
export const LIVE_RAW_DIR = 'raw';

const DATASET_PART =
  /^date=\d{4}-\d{2}-\d{2}\/symbol=[A-Z0-9][A-Z0-9_]{1,29}\/kind=(trades|quotes|depth)\/part-\d+-\d+\.parquet$/;
/** A file the canary wrote: `canary_report/` then plain names (one level of sub-folder, e.g. charts/). */
const CANARY_FILE = /^canary_report\/(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)?[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const zDerivedKind = z.custom<DerivedKind>(
  (k) => typeof k === 'string' && (DERIVED_KINDS as readonly string[]).includes(k),
  `a derived table (${DERIVED_KINDS.join(', ')})`,
);

const OutputSchema = z
  .strictObject({
    path: z.string(),
    kind: zDerivedKind,
    symbol: zSymbol,
    date: zDate,
    first_row: zCount,
    rows: zCount,
    sha256: zSha256,
  })
  .superRefine((o, ctx) => {
    const want = `data/date=${o.date}/symbol=${o.symbol}/kind=${o.kind}/part-${String(o.first_row).padStart(9, '0')}.parquet`;
    if (o.path !== want)
      ctx.addIssue({ code: 'custom', path: ['path'], message: `expected '${want}' (implied by the entry's fields)` });
  });

/** A file the slices coverage wrote (src/dq/harvest-run.ts): `slices/<plain name>`. */
const SLICES_FILE = /^slices\/[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Text that ends up as part of a run_tag.txt line: no line breaks, bounded. */
const ONE_LINE = /^[^\n\r\0]{1,200}$/;

const finite = z.number().refine(Number.isFinite, 'a finite number');

/**
 * Known fields are checked strictly; unknown top-level fields are kept as they are
 * (a newer writer's additions survive) but nothing reads them unchecked.
 */
const zWeights = z.strictObject({ ofi: z.number(), cvd: z.number(), gate: z.number().optional() });

export const RunManifestSchema = z.looseObject({
  flowlab_version: z.string().regex(/^[0-9A-Za-z.+-]{1,64}$/, 'a version such as 0.1.0'),
  code_sha256: zSha256,
  run_tag: zTag,
  run_tag_sha256: zSha256.optional(),
  dataset: z.strictObject({
    path: z
      .string()
      .refine((p) => path.isAbsolute(p) && !/[\0'"\n\r]/.test(p), 'an absolute path without quotes or newlines'),
    files_sha256: zSha256,
    /** Venue and market kind per selected symbol (absent in runs written before it was recorded). */
    markets: z.record(zSymbol, z.strictObject({ venue: z.enum(VENUES), market: z.enum(MARKETS) })).optional(),
  }),
  selection: z.strictObject({
    symbols: z.array(zSymbol).min(1),
    from_ms: zEpochMs.nullable(),
    to_ms: zEpochMs.nullable(),
  }),
  inputs: z.array(
    z.strictObject({ path: z.string().regex(DATASET_PART, 'a dataset part path'), sha256: zSha256, rows: zCount }),
  ),
  config_fingerprint: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
  config_version: z.string(),
  config: z.record(z.string(), z.unknown()),
  block_rows: z
    .number()
    .int()
    .min(1)
    .max(1 << 24),
  tables: z
    .array(zDerivedKind)
    .min(1)
    .refine((t) => new Set(t).size === t.length, 'no table twice')
    .optional(),
  counters: z.record(z.string(), finite.nullable()),
  symbols: z.record(zSymbol, z.record(z.string(), z.union([finite, z.string(), z.null()]))),
  outputs: z.array(OutputSchema),
  slices: z
    .strictObject({
      files: z.array(
        z.strictObject({
          path: z.string().regex(SLICES_FILE, 'a file under slices/'),
          sha256: zSha256,
        }),
      ),
      scene_coverage_miss: z.union([z.literal(0), z.literal(1)]),
      tags: z.array(z.string().regex(ONE_LINE, 'one line of text')),
      failing: z.array(z.string().regex(ONE_LINE, 'one line of text')),
      thresholds_fingerprint: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
    })
    .optional(),
  canary: z
    .strictObject({
      report_dir: z.literal('canary_report'),
      /** The rollback chain the canary engine started with (oldest first), so verify can re-run it. */
      stable_chain: z
        .array(
          z.strictObject({
            fingerprint: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
            defaults: zWeights,
            overrides: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, 'a slice name'), zWeights),
          }),
        )
        .min(1)
        .optional(),
      files: z.array(
        z.strictObject({
          path: z
            .string()
            .regex(CANARY_FILE, 'a file under canary_report/')
            .refine((p) => !p.includes('..'), 'no ..'),
          sha256: zSha256,
        }),
      ),
    })
    .optional(),
});

export type RunManifestChecked = z.infer<typeof RunManifestSchema>;

/** Read and strictly validate `<runDir>/manifest.json`; exit 2 when it is missing or malformed. */
export function readRunManifest(runDir: string): RunManifestChecked {
  const file = path.join(runDir, REPLAY_MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FlowlabError(`'${runDir}' has no readable ${REPLAY_MANIFEST} (is it a replay run folder?)`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FlowlabError(`${file}: not valid JSON (${describeError(e)})`, 2);
  }
  const parsed = RunManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlowlabError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, 2);
  }
  const m = parsed.data;
  if (m.run_tag !== path.basename(path.resolve(runDir)))
    throw new FlowlabError(`${file}: run_tag '${m.run_tag}' is not the folder's name '${path.basename(runDir)}'`, 2);
  return m;
}

/** Every file of a run folder, relative with forward slashes, sorted (symlinks and specials count as files). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** The run's files listed with a sha256 besides the derived outputs: slices coverage, canary report. */
export function hashedFiles(m: RunManifestChecked): { readonly path: string; readonly sha256: string }[] {
  return [...(m.slices?.files ?? []), ...(m.canary?.files ?? [])];
}

/** True when the live run's input dataset is this run folder's raw/ (its files are checked as inputs). */
function rawIsInput(runDir: string, m: RunManifestChecked): boolean {
  return path.resolve(m.dataset.path) === path.join(path.resolve(runDir), LIVE_RAW_DIR);
}

/** Files of a finished run folder that its manifest does not account for. */
export function unlistedFiles(runDir: string, m: RunManifestChecked): string[] {
  const listed = new Set<string>([REPLAY_MANIFEST, RUN_TAG_FILE]);
  for (const o of m.outputs) listed.add(o.path);
  for (const f of hashedFiles(m)) listed.add(f.path);
  const raw = rawIsInput(runDir, m);
  return listFiles(runDir).filter((f) => !listed.has(f) && !(raw && f.startsWith(`${LIVE_RAW_DIR}/`)));
}

/** Where an unfinished run writes: files outside these are not flowlab's. */
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const INCOMPLETE_RUN_FILE = new RegExp(
  `^(?:data/|slices/|canary_report/|${esc(LIVE_RAW_DIR)}/|${[REPLAY_MANIFEST, RUN_TAG_FILE, INCOMPLETE_MARKER].map((f) => `${esc(f)}(?:${TEMP_SUFFIX_RE})?$`).join('|')})`,
);

function sameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer + path.sep);
}

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Create `runDir` for a new run, marked incomplete. An existing folder is
 * replaced only with `overwrite`, and only when it is a flowlab run folder
 * (a finished one whose manifest lists every file in it, or an unfinished one
 * holding only what a run writes) that neither is nor contains any of
 * `inputs` (the dataset, the config files). Every refusal is a usage error.
 */
export function prepareRunFolder(
  runDir: string,
  opts: { readonly overwrite?: boolean; readonly inputs: readonly string[]; readonly what: string },
): void {
  const dir = real(runDir);
  for (const inp of opts.inputs) {
    const i = real(inp);
    if (sameOrInside(i, dir))
      throw new UsageError(
        `run folder '${runDir}' ${i === dir ? 'is' : 'contains'} the input '${inp}'; choose another --out or --run-tag`,
      );
  }
  if (fs.existsSync(runDir)) {
    if (!fs.statSync(runDir).isDirectory())
      throw new UsageError(`run folder '${runDir}' exists and is not a directory`);
    if (!opts.overwrite)
      throw new UsageError(`run folder '${runDir}' already exists (choose another --run-tag or pass --overwrite)`);
    const refuse = (why: string) =>
      new UsageError(`--overwrite: refusing to delete '${runDir}': ${why} (move or delete it yourself)`);
    const files = listFiles(runDir);
    if (files.length > 0) {
      if (isIncomplete(runDir)) {
        const foreign = files.find((f) => !INCOMPLETE_RUN_FILE.test(f));
        if (foreign) throw refuse(`it holds '${foreign}', which no flowlab run writes`);
      } else {
        let m: RunManifestChecked;
        try {
          m = readRunManifest(runDir);
        } catch (e) {
          throw refuse(`it is not a flowlab run folder (${describeError(e)})`);
        }
        const foreign = unlistedFiles(runDir, m);
        if (foreign.length > 0)
          throw refuse(
            `it holds '${foreign[0]}'${foreign.length > 1 ? ` and ${foreign.length - 1} more` : ''}, not listed in its manifest`,
          );
      }
    }
    // mark first, then empty it: a kill half-way leaves an incomplete run that the next --overwrite may replace
    markIncomplete(runDir, opts.what);
    for (const e of fs.readdirSync(runDir))
      if (e !== INCOMPLETE_MARKER) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });
    return;
  }
  fs.mkdirSync(runDir, { recursive: true });
  markIncomplete(runDir, opts.what);
}

/**
 * Remove the folder of a run that failed in this process, after prepareRunFolder
 * created it: only while it still holds the marker (so never a finished run),
 * and best effort (if removal fails too, the marker stays and readers refuse it).
 */
export function discardRunFolder(runDir: string): void {
  if (!isIncomplete(runDir)) return;
  try {
    fs.rmSync(runDir, { recursive: true, force: true });
  } catch {
    /* left marked incomplete */
  }
}

export { INCOMPLETE_MARKER };
