import path from 'node:path';
import { z } from 'zod';
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

/**
 * A comma-separated symbol list from the command line. Lower-case symbols are
 * accepted (Binance stream names spell them so) and upper-cased, with a note on
 * stderr naming what was changed, so nothing is normalised silently.
 */
export function parseSymbolList(
  raw: string,
  where = '--symbols',
  note: (msg: string) => void = (m) => process.stderr.write(`flowlab: note: ${m}\n`),
): string[] {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new UsageError(`${where}: '${raw}' names no symbol (expected e.g. BTCUSDT,ETHUSDT)`);
  const out = parts.map((p) => validateSymbol(p, where));
  const changed = parts.filter((p, i) => p !== out[i]);
  if (changed.length > 0)
    note(
      `${where}: ${changed.map((p) => `'${p}'`).join(', ')} taken as ${changed.map((p) => p.toUpperCase()).join(', ')} (symbols are upper case)`,
    );
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

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parse a time bound: epoch ms, or an ISO-8601 date / date-time (UTC unless an
 * offset is given). Calendar fields are checked, not rolled over: 2024-02-30
 * or 24:00 are refused rather than read as the next day.
 */
export function parseTime(raw: string, where: string): number {
  if (/^\d{10,16}$/.test(raw)) return Number(raw);
  const bad = (why: string) =>
    new UsageError(
      `${where}: '${raw}' is not a time (${why}; expected epoch ms or an ISO date such as 2024-08-09 or 2024-08-09T00:00:00Z)`,
    );
  const m = ISO_RE.exec(raw);
  if (!m) throw bad('not ISO-8601');
  const [y, mo, d, h = '00', mi = '00', sec = '00'] = m.slice(1, 7).map((x) => x ?? undefined) as string[];
  const Y = Number(y);
  const M = Number(mo);
  const D = Number(d);
  const days = new Date(Date.UTC(Y, M, 0)).getUTCDate();
  if (M < 1 || M > 12) throw bad(`month ${mo} does not exist`);
  if (D < 1 || D > days) throw bad(`day ${d} does not exist in ${y}-${mo}`);
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) throw bad(`time of day ${h}:${mi}:${sec} does not exist`);
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const zm = /^[+-](\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(zm[1]) > 14 || Number(zm[2]) > 59) throw bad(`offset ${zone} does not exist`);
  }
  const iso = `${y}-${mo}-${d}T${h.padStart(2, '0')}:${mi.padStart(2, '0')}:${sec.padStart(2, '0')}${(m[7] ?? '').slice(0, 4)}${zone && zone !== 'Z' ? zone : 'Z'}`;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw bad('out of range');
  return ms;
}

/** `--from` / `--to` together: each parsed, and from strictly before to (usage error otherwise). */
export function parseTimeRange(
  from: string | undefined,
  to: string | undefined,
): { fromMs: number | undefined; toMs: number | undefined } {
  const fromMs = from !== undefined ? parseTime(from, '--from') : undefined;
  const toMs = to !== undefined ? parseTime(to, '--to') : undefined;
  if (fromMs !== undefined && toMs !== undefined && !(fromMs < toMs))
    throw new UsageError(
      `--from ${from} is not before --to ${to} (the range [from, to) would be empty; expected from < to)`,
    );
  return { fromMs, toMs };
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

// ---- schema parts: every field read back from a file flowlab wrote (dataset and run manifests)
// is checked as strictly as the same value typed on the command line.

/** A Binance symbol, exactly as validateSymbol returns it (upper case). */
export const zSymbol = z.string().regex(SYMBOL_RE, 'a symbol such as BTCUSDT (2-30 of A-Z, 0-9, _)');
/** A run tag as validateTag accepts it. */
export const zTag = z
  .string()
  .regex(TAG_RE, 'a tag of 1-64 of A-Z a-z 0-9 . _ - not starting with .')
  .refine((s) => !s.includes('..'), 'a tag without ..');
export const zSha256 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits (sha256)');
/** A count or offset: a non-negative integer exactly representable as a double. */
export const zCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Epoch milliseconds (ints, within the Date range). */
export const zEpochMs = z.number().int().min(-8.64e15).max(8.64e15);
/** A calendar date YYYY-MM-DD that exists. */
export const zDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((s) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(t) && utcDateOf(t) === s;
  }, 'a calendar date that exists');

/** UTC date (YYYY-MM-DD) of epoch ms. */
export function utcDateOf(ms: number): string {
  return new Date(Math.floor(ms / 86_400_000) * 86_400_000).toISOString().slice(0, 10);
}
