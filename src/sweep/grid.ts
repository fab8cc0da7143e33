/**
 * Sweep grids: `--grid KEY=a,b,c` or `--grid KEY=lo:hi:step`, expanded into
 * overlay configs (one per grid point, each with its own fingerprint).
 *
 * - KEY is a dotted config path (`fusion.weights.ofi`); values are numbers,
 *   `true` / `false`, or plain words ([A-Za-z0-9_.-]). A range is inclusive of
 *   `hi` when it falls on the step (values rounded to 12 significant digits, so
 *   0.1:0.3:0.1 is 0.1, 0.2, 0.3, not 0.30000000000000004).
 * - The product is taken in `--grid` order, the last axis fastest.
 * - An overlay is a YAML file `extends:`-ing the base config, so the base stays
 *   the rollback target of every shard, as for any other overlay.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UsageError } from '../core/errors.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { writeFileAtomic } from '../report/csv.js';

export type GridValue = number | boolean | string;

export interface GridAxis {
  readonly key: string;
  readonly values: readonly GridValue[];
}

export interface GridPoint {
  /** 0-based position in the expanded product. */
  readonly index: number;
  readonly assignments: readonly (readonly [string, GridValue])[];
}

/** At most this many points in one sweep (a typo like 0:1:0.00001 is refused, not run). */
export const MAX_GRID_POINTS = 10_000;

const KEY_RE = /^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)+$|^[a-z_][a-z0-9_]*$/;
const WORD_RE = /^[A-Za-z0-9_.-]+$/;

function parseValue(raw: string, where: string): GridValue {
  const t = raw.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) {
    const v = Number(t);
    if (!Number.isFinite(v)) throw new UsageError(`${where}: value '${t}' is not a finite number`);
    return v;
  }
  if (!WORD_RE.test(t))
    throw new UsageError(`${where}: value '${t}' is not a number, true/false or a plain word ([A-Za-z0-9_.-])`);
  return t;
}

function round12(x: number): number {
  return Number(x.toPrecision(12));
}

/** Parse one `--grid` argument. */
export function parseGridArg(raw: string): GridAxis {
  const where = `--grid '${raw}'`;
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`${where}: expected KEY=a,b,c or KEY=lo:hi:step`);
  const key = raw.slice(0, eq).trim();
  const spec = raw.slice(eq + 1).trim();
  if (!KEY_RE.test(key))
    throw new UsageError(`${where}: key '${key}' is not a dotted config path (e.g. fusion.weights.ofi)`);
  if (key === 'extends' || key.startsWith('extends.'))
    throw new UsageError(`${where}: 'extends' cannot be swept (the base config is --config)`);
  if (spec.length === 0) throw new UsageError(`${where}: no values`);
  const parts = spec.split(':');
  if (parts.length === 3 && !spec.includes(',')) {
    const [lo, hi, step] = parts.map((p) => parseValue(p, where));
    if (typeof lo !== 'number' || typeof hi !== 'number' || typeof step !== 'number')
      throw new UsageError(`${where}: a range lo:hi:step takes three numbers`);
    if (!(step > 0)) throw new UsageError(`${where}: step ${step} must be > 0`);
    if (hi < lo) throw new UsageError(`${where}: hi ${hi} is below lo ${lo}`);
    const count = Math.floor(round12((hi - lo) / step)) + 1;
    if (count > MAX_GRID_POINTS) throw new UsageError(`${where}: ${count} values (at most ${MAX_GRID_POINTS})`);
    const values: number[] = [];
    for (let i = 0; i < count; i++) values.push(round12(lo + i * step));
    return { key, values };
  }
  if (spec.includes(':')) throw new UsageError(`${where}: expected KEY=a,b,c or KEY=lo:hi:step`);
  const values = spec.split(',').map((p) => parseValue(p, where));
  const seen = new Set(values.map((v) => JSON.stringify(v)));
  if (seen.size !== values.length) throw new UsageError(`${where}: a value is listed twice`);
  return { key, values };
}

/** The cartesian product of the axes, the last axis fastest. */
export function expandGrid(axes: readonly GridAxis[]): GridPoint[] {
  if (axes.length === 0) throw new UsageError('--grid: at least one grid axis is needed');
  const keys = new Set<string>();
  for (const a of axes) {
    if (keys.has(a.key)) throw new UsageError(`--grid: key '${a.key}' is given twice`);
    for (const k of keys)
      if (k.startsWith(`${a.key}.`) || a.key.startsWith(`${k}.`))
        throw new UsageError(`--grid: keys '${k}' and '${a.key}' overlap`);
    keys.add(a.key);
  }
  let total = 1;
  for (const a of axes) total *= a.values.length;
  if (total > MAX_GRID_POINTS) throw new UsageError(`--grid: ${total} grid points (at most ${MAX_GRID_POINTS})`);
  const points: GridPoint[] = [];
  for (let index = 0; index < total; index++) {
    let rest = index;
    const assignments: [string, GridValue][] = new Array(axes.length);
    for (let j = axes.length - 1; j >= 0; j--) {
      const n = axes[j].values.length;
      assignments[j] = [axes[j].key, axes[j].values[rest % n]];
      rest = Math.floor(rest / n);
    }
    points.push({ index, assignments });
  }
  return points;
}

/** The overlay object of a grid point (nested keys). */
export function overlayObject(p: GridPoint): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of p.assignments) {
    const ks = key.split('.');
    let o = root;
    for (let i = 0; i < ks.length - 1; i++) {
      o[ks[i]] ??= {};
      o = o[ks[i]] as Record<string, unknown>;
    }
    o[ks[ks.length - 1]] = value;
  }
  return root;
}

export interface SweepConfig {
  readonly point: GridPoint;
  /** The overlay file written under `<out>/configs/`. */
  readonly file: string;
  readonly config: LoadedConfig;
}

/**
 * Write one overlay per grid point into `dir` (`extends:` the base) and load
 * it. A key the config does not have, or a value it refuses, is a usage error
 * naming the key; two points with the same fingerprint (a key that changes
 * nothing) too.
 */
export function writeOverlays(basePath: string, points: readonly GridPoint[], dir: string): SweepConfig[] {
  const base = loadConfig(basePath, {});
  fs.mkdirSync(dir, { recursive: true });
  const rel = path.relative(dir, path.resolve(basePath)).split(path.sep).join('/');
  const out: SweepConfig[] = [];
  const byFp = new Map<string, number>();
  for (const p of points) {
    for (const [key] of p.assignments) {
      let o: unknown = base.config;
      // own keys only: `__proto__`, `constructor`, `toString` are not config keys (they reached the overlay)
      for (const k of key.split('.'))
        o = o !== null && typeof o === 'object' && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
      if (o === undefined) throw new UsageError(`--grid: '${key}' is not a key of the config ${basePath}`);
    }
    const text = `# flowlab sweep overlay, grid point ${p.index}\n${YAML.stringify({ extends: rel, ...overlayObject(p) })}`;
    const file = path.join(dir, `point-${String(p.index).padStart(4, '0')}.yaml`);
    writeFileAtomic(file, text);
    let config: LoadedConfig;
    try {
      config = loadConfig(file, {});
    } catch (e) {
      throw new UsageError(`--grid point ${p.index} (${describe(p)}): ${(e as Error).message}`);
    }
    const prev = byFp.get(config.fingerprintFull);
    if (prev !== undefined)
      throw new UsageError(
        `--grid: points ${prev} and ${p.index} give the same config (${describe(p)} changes nothing)`,
      );
    byFp.set(config.fingerprintFull, p.index);
    out.push({ point: p, file, config });
  }
  return out;
}

export function describe(p: GridPoint): string {
  return p.assignments.map(([k, v]) => `${k}=${v}`).join(' ');
}
