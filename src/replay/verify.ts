/**
 * `flowlab verify --run <out>/<run_tag>`: re-run a replay from its manifest and
 * compare output hashes.
 *
 *   exit 0  identical: every output on disk and every re-computed output has
 *           the sha256 the manifest recorded
 *   exit 1  differs: names the first differing file and row
 *   exit 2  the run cannot be re-run: manifest missing/unreadable, inputs
 *           missing or changed (sha256 differs from the manifest)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowlabError, describeError } from '../core/errors.js';
import { sha256File } from '../core/hash.js';
import { configFromObject } from '../config/load.js';
import { queryRows, sqlString } from '../io/duck.js';
import { REPLAY_MANIFEST, replay, type ReplayManifest } from './replay.js';
import { codeHash } from './code.js';

export interface VerifyResult {
  readonly code: 0 | 1 | 2;
  readonly message: string;
  readonly notes: string[];
}

function readRunManifest(runDir: string): ReplayManifest {
  const file = path.join(runDir, REPLAY_MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FlowlabError(`'${runDir}' has no readable ${REPLAY_MANIFEST} (is it a replay run folder?)`, 2);
  }
  try {
    const m = JSON.parse(text) as ReplayManifest;
    if (!Array.isArray(m.outputs) || !Array.isArray(m.inputs) || !m.dataset)
      throw new Error('missing outputs / inputs / dataset');
    return m;
  } catch (e) {
    throw new FlowlabError(`${file}: not a replay manifest (${describeError(e)})`, 2);
  }
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

export async function verifyRun(runDir: string, opts: { keepTemp?: boolean } = {}): Promise<VerifyResult> {
  const m = readRunManifest(runDir);
  const notes: string[] = [];
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
  let config: ReturnType<typeof configFromObject>;
  try {
    config = configFromObject(m.config, {}, `${path.join(runDir, REPLAY_MANIFEST)} config`);
  } catch (e) {
    return { code: 2, message: describeError(e), notes };
  }
  if (config.fingerprint !== m.config_fingerprint)
    notes.push(`config fingerprint recomputes as ${config.fingerprint}, manifest says ${m.config_fingerprint}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-verify-'));
  try {
    const again = await replay({
      data: m.dataset.path,
      config,
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
