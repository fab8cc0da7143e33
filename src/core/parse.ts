/**
 * Field parsing shared by every producer of raw ticks (the Binance mapper, the
 * importers, the recorder, the mock exchange): exchange timestamps to epoch ms,
 * decimal strings to doubles (exactly as `Number()`, on a fast path), and ids
 * that float64 holds exactly. Bad input is NaN (a counted bad row), never a guess.
 */

/**
 * Exchange timestamp to epoch ms. Binance sends ms (13 digits); spot can send
 * µs (16 digits: public-data files from 2025-01-01 on, or streams opened with
 * timeUnit=MICROSECOND). Detected by magnitude: [1e11, 1e14) = ms,
 * [1e14, 1e17) = µs (floored to ms). Anything else (non-integer, <= 0, other
 * magnitudes) is NaN: a bad row, never a guess.
 */
export function exchangeTsToMs(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return NaN;
  if (v >= 1e11 && v < 1e14) return v;
  if (v >= 1e14 && v < 1e17) return Math.floor(v / 1000);
  return NaN;
}

/** Exact powers of ten (10^0 .. 10^22 are exactly representable doubles). */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];

/**
 * A decimal string (or JSON number) as a finite float, else NaN. Empty strings are NaN, not 0.
 *
 * Fast path for plain `ddd.ddd` strings of at most 15 digits (every Binance
 * price and quantity): the digits as an integer m < 10^15 < 2^53 and the
 * fraction length k are both exact, so `m / 10^k` is one correctly rounded
 * division, i.e. exactly the double `Number(v)` returns (Clinger's fast
 * path). Anything else (signs, exponents, spaces, hex, more digits) goes
 * to `Number(v)`.
 */
export function decimal(v: unknown): number {
  if (typeof v === 'string') {
    const n = v.length;
    if (n === 0) return NaN;
    if (n > 16) return Number(v);
    const x = scanDecimal(v, 0);
    return x >= 0 && decimalEnd === n ? x : Number(v);
  }
  if (typeof v === 'number') return v;
  return NaN;
}

/** Index just after the digits read by the last `scanDecimal` that returned a value. */
export let decimalEnd = 0;

/**
 * The plain decimal (`ddd` or `ddd.ddd`, at most 15 digits) starting at
 * `text[i]`, parsed as `decimal()` does (m / 10^k, exact), with `decimalEnd`
 * set just after it; -1 when there is no such number there (no digits, more
 * than 15), so the caller falls back to a general parser.
 */
export function scanDecimal(text: string, i: number): number {
  let m = 0;
  let k = -1;
  let digits = 0;
  let j = i;
  for (; ; j++) {
    const c = text.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (k >= 0) k++;
    } else if (c === 46 && k < 0) k = 0;
    else break;
  }
  if (digits === 0 || digits > 15) return -1;
  decimalEnd = j;
  return k <= 0 ? m : m / POW10[k];
}

/** A non-negative id exactly representable in float64 (< 2^53), else NaN. */
export function safeId(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : NaN;
}
