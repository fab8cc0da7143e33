/**
 * `flowlab verify --run <out>/<run_tag>`: check a whole run folder, then re-run
 * the replay from its manifest and compare output hashes.
 *
 * It lives in canary/ (above replay/) because a canary or live run is re-run
 * with its canary engine as the observer; replay/ does not know the engine.
 *
 * The folder is checked first: the manifest strictly validated
 * (src/replay/run-folder.ts), every file in the folder listed in it (a stray or
 * extra part file is an error), run_tag.txt as the manifest wrote it (its
 * sha256, and its lines recomputed from the manifest), the stated
 * config_fingerprint recomputed from the embedded config, canary files hashed.
 *
 *   exit 0  identical: every output on disk and every re-computed output has
 *           the sha256 the manifest recorded
 *   exit 1  differs: names the first differing or unlisted file (and row)
 *   exit 2  the run cannot be re-run: folder incomplete (_INCOMPLETE), manifest
 *           missing/malformed, inputs missing or changed
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeError } from '../core/errors.js';
import { sha256, sha256File } from '../core/hash.js';
import { INCOMPLETE_MARKER, isIncomplete } from '../core/atomic.js';
import { configFromObject } from '../config/load.js';
import { queryRows, sqlString } from '../io/duck.js';
import { REPLAY_MANIFEST, RUN_TAG_FILE, replay, runTagText, type ReplayManifest } from '../replay/replay.js';
import { hashedFiles, readRunManifest, unlistedFiles } from '../replay/run-folder.js';
import { codeHash } from '../replay/code.js';
import { CanaryEngine } from './engine.js';

export interface VerifyResult {
  readonly code: 0 | 1 | 2;
  readonly message: string;
  readonly notes: string[];
}

/** 1-based index of the first row where two Parquet files differ, or a reason when that cannot be told. */
async function firstDifferingRow(a: string, b: string): Promise<string> {
  try {
    const rows = await queryRows(
      `WITH x AS (SELECT row_number() OVER () AS rn, * FROM read_parquet(${sqlString(a)})),
            y AS (SELECT row_number() OVER () AS rn, * FROM read_parquet(${sqlString(b)})),
            d AS (SELECT * FROM x EXCEPT ALL SELECT * FROM y UNION ALL (SELECT * FROM y EXCEPT ALL SELECT * FROM x))
       SELECT min(rn)::DOUBLE AS rn, (SELECT count(*) FROM x)::DOUBLE AS nx, (SELECT count(*) FROM y)::DOUBLE AS ny FROM d`,
    );
    const r = rows[0];
    if (r.rn === null)
      return r.nx !== r.ny ? `row counts differ (${r.nx} vs ${r.ny})` : 'same rows, different bytes (file metadata)';
    return `row ${r.rn}`;
  } catch (e) {
    return `unreadable (${describeError(e)})`;
  }
}

/** The rollback-chain entry of a config alone (a run whose config extends nothing). */
function stableOf(c: ReturnType<typeof configFromObject>) {
  return {
    fingerprint: c.fingerprint,
    defaults: { ...c.config.fusion.weights, gate: c.config.fusion.gate },
    overrides: c.config.fusion.slice_overrides,
  };
}

export async function verifyRun(runDir: string, opts: { keepTemp?: boolean } = {}): Promise<VerifyResult> {
  const notes: string[] = [];
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory())
    return { code: 2, message: `run folder '${runDir}' does not exist or is not a directory`, notes };
  if (isIncomplete(runDir))
    return {
      code: 2,
      message: `run folder '${runDir}' is incomplete (${INCOMPLETE_MARKER}: the run that wrote it did not finish); rerun it with --overwrite`,
      notes,
    };
  const m = readRunManifest(runDir);
  // 0. the whole folder: every file listed, run_tag.txt as written, the fingerprint recomputed
  const stray = unlistedFiles(runDir, m);
  if (stray.length > 0)
    return {
      code: 1,
      message: `file not listed in the manifest: ${stray[0]}${stray.length > 1 ? ` (and ${stray.length - 1} more)` : ''}`,
      notes,
    };
  let config: ReturnType<typeof configFromObject>;
  try {
    config = configFromObject(m.config, {}, `${path.join(runDir, REPLAY_MANIFEST)} config`);
  } catch (e) {
    return { code: 2, message: describeError(e), notes };
  }
  if (config.fingerprint !== m.config_fingerprint)
    return {
      code: 1,
      message: `config_fingerprint ${m.config_fingerprint} in the manifest is not that of its embedded config (${config.fingerprint})`,
      notes,
    };
  const tagFile = path.join(runDir, RUN_TAG_FILE);
  let tagText: string;
  try {
    tagText = fs.readFileSync(tagFile, 'utf8');
  } catch {
    return { code: 1, message: `${RUN_TAG_FILE} is missing or unreadable`, notes };
  }
  const expected = runTagText(m as unknown as ReplayManifest, config);
  if (m.run_tag_sha256 !== undefined && sha256(tagText) !== m.run_tag_sha256)
    return {
      code: 1,
      message: `${RUN_TAG_FILE} changed on disk (sha256 differs from the manifest's run_tag_sha256)`,
      notes,
    };
  if (m.canary ? !tagText.startsWith(expected) : tagText !== expected) {
    const have = tagText.split('\n');
    const line = expected.split('\n').findIndex((l, i) => l !== have[i]);
    return {
      code: 1,
      message: `${RUN_TAG_FILE} does not match the manifest: line ${line + 1} is '${have[line] ?? ''}', expected '${expected.split('\n')[line]}'`,
      notes,
    };
  }
  // 1. inputs present and unchanged
  for (const inp of m.inputs) {
    const file = path.join(m.dataset.path, inp.path);
    if (!fs.existsSync(file)) return { code: 2, message: `input missing: ${file}`, notes };
    const h = await sha256File(file);
    if (h !== inp.sha256)
      return {
        code: 2,
        message: `input changed: ${file} (sha256 ${h.slice(0, 12)}.. != manifest ${inp.sha256.slice(0, 12)}..)`,
        notes,
      };
  }
  const code = await codeHash();
  if (code !== m.code_sha256)
    notes.push(`code differs from the run's (code_sha256 ${code.slice(0, 12)}.. vs ${m.code_sha256.slice(0, 12)}..)`);
  for (const f of hashedFiles(m)) {
    const what = f.path.startsWith('canary_report/') ? 'canary file' : 'slices file';
    const file = path.join(runDir, f.path);
    if (!fs.existsSync(file)) return { code: 1, message: `${what} missing on disk: ${f.path}`, notes };
    if ((await sha256File(file)) !== f.sha256) return { code: 1, message: `${what} changed on disk: ${f.path}`, notes };
  }
  // 2. outputs on disk match the manifest
  let firstBad: { path: string; why: string } | null = null;
  for (const o of m.outputs) {
    const file = path.join(runDir, o.path);
    if (!fs.existsSync(file)) {
      firstBad ??= { path: o.path, why: 'missing on disk' };
      continue;
    }
    if ((await sha256File(file)) !== o.sha256) firstBad ??= { path: o.path, why: 'changed on disk' };
  }
  // 3. re-run and compare
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-verify-'));
  try {
    // A canary (or live) run is re-run with its canary engine as the observer: the gates' actions and
    // rollbacks change the fusion weights in force, so a bare replay would differ. The rollback chain
    // is the one the run recorded (canary.stable_chain); a run without it had no rollback target.
    const chain = m.canary ? (m.canary.stable_chain ?? [stableOf(config)]) : null;
    const again = await replay({
      data: m.dataset.path,
      config,
      observer: chain
        ? new CanaryEngine(
            config.config,
            chain.map((c) => ({ ...c })),
          )
        : undefined,
      out: tmp,
      runTag: m.run_tag,
      symbols: m.selection.symbols,
      fromMs: m.selection.from_ms ?? undefined,
      toMs: m.selection.to_ms ?? undefined,
      blockRows: m.block_rows,
      tables: m.tables,
      progress: false,
    });
    const want = new Map(m.outputs.map((o) => [o.path, o.sha256]));
    const got = new Map(again.manifest.outputs.map((o) => [o.path, o.sha256]));
    const paths = [...new Set([...want.keys(), ...got.keys()])].sort();
    for (const p of paths) {
      if (want.get(p) === got.get(p)) continue;
      if (!want.has(p)) return finish(1, `re-run produced an output the run does not list: ${p}`);
      if (!got.has(p)) return finish(1, `re-run did not produce ${p}`);
      const row = await firstDifferingRow(path.join(runDir, p), path.join(again.runDir, p));
      return finish(1, `output differs from a re-run: ${p}, first difference: ${row}`);
    }
    if (firstBad) {
      const row = await firstDifferingRow(path.join(runDir, firstBad.path), path.join(again.runDir, firstBad.path));
      return finish(1, `output ${firstBad.why}: ${firstBad.path}, first difference from a re-run: ${row}`);
    }
    return finish(0, `identical: ${m.outputs.length} output files re-computed with the recorded sha256`);
  } finally {
    if (!opts.keepTemp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  function finish(c: 0 | 1, message: string): VerifyResult {
    return { code: c, message, notes };
  }
}
