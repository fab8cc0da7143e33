/**
 * Slice-weight overlay: a small YAML config that `extends` a base config and
 * sets `fusion.slice_overrides` from the weights a canary / weight search
 * recommends. `loadConfig(overlay)` deep-merges it over the base, so slices the
 * overlay does not name keep the base's overrides.
 *
 * Example output:
 *   # flowlab slice-weight overlay (written by src/report/overlay.ts)
 *   # source: canary run 2024-08-08_ADAUSDT, verdicts.json weights for ADAUSDT
 *   # base: ../../config/ofi_cvd/prod.yaml
 *   extends: "../../config/ofi_cvd/prod.yaml"
 *   fusion:
 *     slice_overrides:
 *       Active: { ofi: 0.7, cvd: 0.3 }
 *       Quiet: { ofi: 0.5, cvd: 0.5 }
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { writeFileAtomic } from './csv.js';

export interface OverlayWeight {
  readonly slice: string;
  readonly w_ofi: number;
  readonly w_cvd: number;
}

export interface OverlayOptions {
  /** Where the weights came from (run tag, file, symbol); one line in the header. */
  readonly source?: string;
}

const SLICE = /^[A-Za-z_]+$/;

/** The overlay text (pure). `extendsPath` is written as given (relative to the overlay's folder). */
export function weightOverlayYaml(
  extendsPath: string,
  weights: readonly OverlayWeight[],
  opts: OverlayOptions = {},
): string {
  if (weights.length === 0) throw new UsageError('weight overlay: no weights given');
  const seen = new Set<string>();
  for (const w of weights) {
    if (!SLICE.test(w.slice))
      throw new UsageError(
        `weight overlay: slice '${w.slice}' is not allowed: expected a slice value such as Active or NY`,
      );
    if (seen.has(w.slice)) throw new UsageError(`weight overlay: slice '${w.slice}' given twice`);
    seen.add(w.slice);
    for (const [k, v] of [
      ['w_ofi', w.w_ofi],
      ['w_cvd', w.w_cvd],
    ] as const) {
      if (!(Number.isFinite(v) && v >= -10 && v <= 10))
        throw new UsageError(`weight overlay: ${w.slice}.${k} = ${v} is not allowed: expected a number in [-10, 10]`);
    }
  }
  const source = (opts.source ?? 'not stated').replace(/\r?\n|\r/g, ' ');
  const lines = [
    '# flowlab slice-weight overlay (written by src/report/overlay.ts)',
    `# source: ${source}`,
    `# base: ${extendsPath}`,
    '# Loaded with loadConfig: the base is read first, this file is merged over it.',
    `extends: ${JSON.stringify(extendsPath)}`,
    'fusion:',
    '  slice_overrides:',
    ...[...weights]
      .sort((a, b) => (a.slice < b.slice ? -1 : a.slice > b.slice ? 1 : 0))
      .map((w) => `    ${w.slice}: { ofi: ${yamlNum(w.w_ofi)}, cvd: ${yamlNum(w.w_cvd)} }`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Shortest round-trip text of a number (exact), `-0` as `0`. */
function yamlNum(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/**
 * Where the base config is: an absolute path as it is; a relative one against
 * the working directory, or, when no file is there, against the overlay's
 * folder (the path `extends:` would hold). Neither existing is an error.
 */
export function resolveOverlayBase(file: string, baseConfigPath: string): string {
  if (path.isAbsolute(baseConfigPath)) return baseConfigPath;
  const fromCwd = path.resolve(baseConfigPath);
  if (fs.existsSync(fromCwd)) return fromCwd;
  const dir = path.dirname(path.resolve(file));
  const fromOverlay = path.resolve(dir, baseConfigPath);
  if (fs.existsSync(fromOverlay)) return fromOverlay;
  throw new UsageError(
    `weight overlay: base config '${baseConfigPath}' not found (relative to the working directory or to ${dir})`,
  );
}

/**
 * Writes the overlay to `file` with `extends:` the path of the base config
 * (see `resolveOverlayBase`) relative to the overlay's folder, posix
 * separators; returns the text.
 */
export function writeWeightOverlay(
  file: string,
  baseConfigPath: string,
  weights: readonly OverlayWeight[],
  opts: OverlayOptions = {},
): string {
  const base = resolveOverlayBase(file, baseConfigPath);
  if (path.resolve(file) === base) throw new UsageError(`weight overlay: '${file}' would overwrite its base config`);
  let rel = path
    .relative(path.dirname(path.resolve(file)), base)
    .split(path.sep)
    .join('/');
  if (!rel.startsWith('.') && !rel.startsWith('/')) rel = `./${rel}`;
  const text = weightOverlayYaml(rel, weights, opts);
  writeFileAtomic(file, text);
  return text;
}
