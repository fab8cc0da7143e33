import path from 'node:path';
import { UsageError } from './errors.js';

/** Exchange symbols as Binance spells them: upper-case letters, digits and `_` (e.g. BTCUSD_PERP). */
export const SYMBOL_RE = /^[A-Z0-9][A-Z0-9_]{1,29}$/;
/** Run tags and dataset names: letters, digits, `.`, `_`, `-`; no leading dot, at most 64 chars. */
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

export function validateSymbol(raw: string, where = 'symbol'): string {
  const s = raw.trim().toUpperCase();
  if (!SYMBOL_RE.test(s)) {
    throw new UsageError(`${where}: '${raw}' is not a valid symbol (expected 2-30 of A-Z, 0-9, _ such as BTCUSDT)`);
  }
  return s;
}

export function parseSymbolList(raw: string, where = '--symbols'): string[] {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new UsageError(`${where}: '${raw}' names no symbol (expected e.g. BTCUSDT,ETHUSDT)`);
  const out = parts.map((p) => validateSymbol(p, where));
  return [...new Set(out)];
}

export function validateTag(raw: string, where = '--run-tag'): string {
  if (!TAG_RE.test(raw) || raw.includes('..')) {
    throw new UsageError(
      `${where}: '${raw}' is not a valid tag (expected 1-64 of A-Z a-z 0-9 . _ -, not starting with '.')`,
    );
  }
  return raw;
}

/**
 * Resolve a user path; refuses NUL bytes and quote characters (paths end up
 * inside DuckDB SQL string literals, which we also escape, but a path with a
 * quote is never a legitimate dataset path here).
 */
export function validatePath(raw: string, where = 'path'): string {
  if (raw.length === 0) throw new UsageError(`${where}: empty path`);
  if (/[\0'"\n\r]/.test(raw))
    throw new UsageError(`${where}: '${raw}' contains a forbidden character (quote, newline or NUL)`);
  return path.resolve(raw);
}

/** Join `child` under `root`, refusing anything that escapes it (path traversal). */
export function safeJoin(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...parts);
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new UsageError(`path '${parts.join('/')}' escapes '${base}'`);
  }
  return full;
}

/** Parse a time bound: epoch ms, or an ISO-8601 date / date-time (UTC unless an offset is given). */
export function parseTime(raw: string, where: string): number {
  if (/^\d{10,16}$/.test(raw)) return Number(raw);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(iso);
  const ms = Date.parse(hasZone ? iso : `${iso}Z`);
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `${where}: '${raw}' is not a time (expected epoch ms or ISO date such as 2024-08-09T00:00:00Z)`,
    );
  }
  return ms;
}

export function parsePositiveNumber(
  raw: string,
  where: string,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number {
  const v = Number(raw);
  const min = opts.min ?? 0;
  if (
    raw.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.integer && !Number.isInteger(v)) ||
    v < min ||
    (opts.max !== undefined && v > opts.max)
  ) {
    const range = `${opts.integer ? 'an integer' : 'a number'} >= ${min}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`;
    throw new UsageError(`${where}: '${raw}' is not valid (expected ${range})`);
  }
  return v;
}
