/**
 * Load, overlay, override and validate a config; compute its fingerprint.
 *
 * - A file may start with `extends: <path>` (relative to the file): the base is
 *   loaded first and this file is deep-merged over it (objects merge, arrays and
 *   scalars replace). Overlays written by the weight search use this.
 * - Seed environment variables (ENV_OVERRIDES) override keys after merging.
 * - Errors name the file (or env variable), the key, the value and what is
 *   allowed, and carry exit code 2.
 * - The fingerprint is sha256 of the canonical JSON (sorted keys, defaults
 *   filled) of the validated config; `fingerprint` is its first 16 hex digits.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigSchema, ENV_OVERRIDES, type FlowlabConfig } from './schema.js';
import { UsageError } from '../core/errors.js';
import { canonicalJson, sha256 } from '../core/hash.js';
import { REPO_ROOT } from '../core/root.js';

/**
 * The bundled default config, resolved from this package (not the current
 * directory), so commands run from anywhere find it.
 */
export const DEFAULT_CONFIG_PATH = path.join(REPO_ROOT, 'config', 'ofi_cvd', 'prod.yaml');

export interface LoadedConfig {
  readonly config: FlowlabConfig;
  /** 16 hex digits of sha256(canonical config). */
  readonly fingerprint: string;
  readonly fingerprintFull: string;
  /** Files read, base first. */
  readonly files: readonly string[];
  /** Environment variables that overrode keys, name -> raw value. */
  readonly envApplied: Readonly<Record<string, string>>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

function readYaml(file: string, chain: readonly string[]): { raw: Obj; files: string[] } {
  const abs = path.resolve(file);
  if (chain.includes(abs)) throw new UsageError(`${file}: 'extends' cycle (${[...chain, abs].join(' -> ')})`);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch {
    throw new UsageError(`config file '${file}' cannot be read (missing or not a file)`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new UsageError(`${file}: not valid YAML: ${msg}`);
  }
  if (doc === null || doc === undefined)
    throw new UsageError(
      `${file}: empty config file (expected a mapping of keys; copy config/ofi_cvd/prod.yaml, or write 'extends: <base.yaml>' and the keys to change)`,
    );
  if (!isObj(doc))
    throw new UsageError(
      `${file}: expected a mapping of keys at the top level, got ${Array.isArray(doc) ? 'a list' : typeof doc}`,
    );
  const { extends: ext, ...rest } = doc;
  if (ext === undefined) return { raw: rest, files: [abs] };
  if (typeof ext !== 'string' || ext.length === 0)
    throw new UsageError(`${file}: extends: expected a relative path to a base config, got ${JSON.stringify(ext)}`);
  const base = readYaml(path.resolve(path.dirname(abs), ext), [...chain, abs]);
  return { raw: deepMerge(base.raw, rest) as Obj, files: [...base.files, abs] };
}

function setPath(obj: Obj, keys: readonly string[], value: unknown): void {
  let o = obj;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    if (!isObj(o[k])) o[k] = {};
    o = o[k] as Obj;
  }
  o[keys[keys.length - 1]] = value;
}

function getPath(obj: unknown, keys: readonly PropertyKey[]): unknown {
  let o = obj;
  for (const k of keys) {
    if (o === null || typeof o !== 'object') return undefined;
    o = (o as Record<PropertyKey, unknown>)[k];
  }
  return o;
}

function parseEnvValue(name: string, raw: string, keys: readonly string[]): unknown {
  const key = keys.join('.');
  if (key === 'symbols')
    return raw
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter((s) => s.length > 0);
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v))
    throw new UsageError(`environment ${name}='${raw}' (overrides ${key}): expected a number`);
  return v;
}

/** Load + validate. `env` defaults to process.env; pass {} to ignore the environment. */
export function loadConfig(
  file: string = DEFAULT_CONFIG_PATH,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedConfig {
  const { raw, files } = readYaml(file, []);
  return finish(raw, files, file, env);
}

/** Validate an in-memory config object (tests, notebooks). */
export function configFromObject(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>> = {},
  label = '(config object)',
): LoadedConfig {
  if (!isObj(raw)) throw new UsageError(`${label}: expected a mapping of keys`);
  return finish(structuredClone(raw), [], label, env);
}

/**
 * The loaded config with `patch` merged over it (e.g. a CLI flag that sets a
 * key), validated again; the fingerprint covers the patched config.
 */
export function overrideConfig(c: LoadedConfig, patch: Record<string, unknown>, label: string): LoadedConfig {
  const raw = deepMerge(structuredClone(c.config), patch) as Obj;
  const r = finish(raw, [...c.files], label, {});
  return { ...r, envApplied: c.envApplied };
}

function finish(
  raw: Obj,
  files: string[],
  label: string,
  env: Readonly<Record<string, string | undefined>>,
): LoadedConfig {
  const envApplied: Record<string, string> = {};
  const fromEnv = new Map<string, string>();
  for (const [name, keys] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(raw, keys, parseEnvValue(name, v, keys));
    envApplied[name] = v;
    fromEnv.set(keys.join('.'), name);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.map(String).join('.') || '(top level)';
    let where = label;
    for (const [k, name] of fromEnv) if (key === k || key.startsWith(`${k}.`)) where = `environment ${name}`;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys?: string[] }).keys ?? [];
      const parent = issue.path.map(String).join('.');
      const allowed = allowedKeys(issue.path);
      throw new UsageError(
        `${where}: unknown key '${[parent, keys[0]].filter(Boolean).join('.')}'${allowed ? ` (allowed: ${allowed})` : ''}`,
      );
    }
    const value = getPath(raw, issue.path);
    const shown = value === undefined ? '(not set: default used)' : `= ${showValue(value)}`;
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new UsageError(
        `${where}: ${key} ${shown} is not allowed: expected a finite number (a literal such as 1e400 overflows a double)`,
      );
    throw new UsageError(
      `${where}: ${key} ${shown} is not allowed: ${describeIssue(issue as unknown as { code: string; message: string } & Record<string, unknown>)}`,
    );
  }
  const config = parsed.data;
  if (config.canary.merge_tol_bounds_ms[0] > config.canary.merge_tol_bounds_ms[1]) {
    throw new UsageError(
      `${label}: canary.merge_tol_bounds_ms = ${JSON.stringify(config.canary.merge_tol_bounds_ms)} is not allowed: expected [low, high] with low <= high`,
    );
  }
  const full = sha256(canonicalJson(config));
  return { config, fingerprint: full.slice(0, 16), fingerprintFull: full, files, envApplied };
}

/** A value for an error message: JSON, except numbers JSON cannot show (Infinity, NaN). */
function showValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}

function allowedKeys(p: readonly PropertyKey[]): string | null {
  // walk the schema's shape along the path
  let s: unknown = ConfigSchema;
  for (const k of p) {
    s = unwrap(s);
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    if (!shape) return null;
    s = shape[String(k)];
  }
  s = unwrap(s);
  const shape = (s as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape).join(', ') : null;
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { innerType?: unknown; in?: unknown; schema?: unknown }; shape?: unknown } | undefined;
  for (let i = 0; i < 10 && cur && !cur.shape; i++) {
    const d = cur.def;
    const next = d?.innerType ?? d?.in ?? d?.schema;
    if (!next) break;
    cur = next as typeof cur;
  }
  return cur;
}

function describeIssue(issue: { code: string; message: string } & Record<string, unknown>): string {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'array' ? `expected at least ${issue.minimum} entries` : `expected >= ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' ? `expected at most ${issue.maximum} entries` : `expected <= ${issue.maximum}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.message.replace(/^Invalid string: /, '')}`;
    case 'custom':
      return issue.message;
    default:
      return issue.message.startsWith('Invalid') ? issue.message : `expected ${issue.message}`;
  }
}

/** The config as YAML (for run folders and overlays). */
export function configToYaml(config: FlowlabConfig): string {
  return YAML.stringify(config, { sortMapEntries: true });
}
