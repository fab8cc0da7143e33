/**
 * Fast path for the heaviest Binance message: a combined-stream depth diff
 *
 *   {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":..,"T":..,"s":"BTCUSDT","U":..,"u":..,"pu":..,"b":[["p","q"],..],"a":[..]}}
 *
 * scanned straight into the numbers the depth book needs, without
 * `JSON.parse` building an array and two strings per level (a diff carries
 * tens to hundreds of levels; this is most of the recorder's parse time).
 *
 * It accepts only a strict subset of JSON: exactly the keys `stream` then
 * `data` at the top level; no whitespace; strings without escapes; in `data`
 * the values are strings, non-negative integers of at most 15 digits, or (for
 * `b` / `a`) lists of two-string levels whose strings are plain decimals
 * (`ddd.ddd`, at most 15 digits); `U`, `u`, `b`, `a` and `T` or `E` present;
 * no repeated key among those read. Anything else returns null and the caller
 * takes the `JSON.parse` path, so the outcome is always exactly what
 * `JSON.parse` + the importer's field rules give (numbers are parsed the way
 * `decimal()` parses them: `m / 10^k`, the same double as `Number()`).
 */

import { decimalEnd, scanDecimal } from '../core/parse.js';

/** What a fast-parsed diff carries (level arrays parallel; `pu` NaN when absent). */
export interface ParsedDiff {
  stream: string;
  /** `s` when present, else null. */
  s: string | null;
  E: number;
  T: number;
  U: number;
  u: number;
  pu: number;
  bidPx: Float64Array;
  bidQty: Float64Array;
  askPx: Float64Array;
  askQty: Float64Array;
}

const Q = 34; // "
const BS = 92; // backslash
const PREFIX = '{"stream":"';

/** Reused level scratch (grown on demand). */
let scratch = new Float64Array(1024);

/** Stream name of a frame that starts `{"stream":"<name>",` (no escapes), else null. Cheap: no parse. */
export function peekStream(text: string): string | null {
  if (!text.startsWith(PREFIX)) return null;
  const end = text.indexOf('"', PREFIX.length);
  if (end < 0) return null;
  const name = text.slice(PREFIX.length, end);
  return name.indexOf('\\') >= 0 ? null : name;
}

/**
 * Parse a depth-diff frame whose stream name `peekStream` returned; null when
 * the frame is anything but the strict form above.
 */
export function parseDepthDiff(text: string, stream: string): ParsedDiff | null {
  let i = PREFIX.length + stream.length;
  if (!text.startsWith('","data":{', i)) return null;
  i += 10;
  const n = text.length;
  let s: string | null = null;
  let E = NaN;
  let T = NaN;
  let U = NaN;
  let u = NaN;
  let pu = NaN;
  let bids: Float64Array | null = null;
  let asks: Float64Array | null = null;
  let seen = 0;
  if (text.charCodeAt(i) === 125) return null; // empty data: let the slow path report it
  for (;;) {
    // key
    if (text.charCodeAt(i) !== Q) return null;
    const k0 = i + 1;
    const k1 = text.indexOf('"', k0);
    if (k1 < 0 || text.charCodeAt(k1 + 1) !== 58) return null; // ':'
    const klen = k1 - k0;
    let bit = 0;
    let key = 0; // 1 E, 2 T, 3 s, 4 U, 5 u, 6 pu, 7 b, 8 a, 0 other
    if (klen === 1) {
      const c = text.charCodeAt(k0);
      key =
        c === 69 ? 1 : c === 84 ? 2 : c === 115 ? 3 : c === 85 ? 4 : c === 117 ? 5 : c === 98 ? 7 : c === 97 ? 8 : 0;
      if (c === BS) return null;
    } else if (klen === 2 && text.charCodeAt(k0) === 112 && text.charCodeAt(k0 + 1) === 117) key = 6;
    else {
      for (let j = k0; j < k1; j++) if (text.charCodeAt(j) === BS) return null;
    }
    if (key !== 0) {
      bit = 1 << key;
      if (seen & bit) return null;
      seen |= bit;
    }
    i = k1 + 2;
    const c = text.charCodeAt(i);
    if (c === Q) {
      // string value
      const v0 = i + 1;
      let j = v0;
      for (; j < n; j++) {
        const ch = text.charCodeAt(j);
        if (ch === Q) break;
        if (ch === BS || ch < 32) return null;
      }
      if (j >= n) return null;
      if (key === 3) s = text.slice(v0, j);
      else if (key !== 0) return null; // a number field given as a string: slow path
      i = j + 1;
    } else if (c >= 48 && c <= 57) {
      // non-negative integer, <= 15 digits, no leading zero
      let v = 0;
      let j = i;
      for (; j < n; j++) {
        const ch = text.charCodeAt(j);
        if (ch < 48 || ch > 57) break;
        v = v * 10 + (ch - 48);
      }
      const len = j - i;
      if (len > 15 || (len > 1 && c === 48)) return null;
      const ch = text.charCodeAt(j);
      if (ch === 46 || ch === 101 || ch === 69) return null; // fraction / exponent
      switch (key) {
        case 1:
          E = v;
          break;
        case 2:
          T = v;
          break;
        case 4:
          U = v;
          break;
        case 5:
          u = v;
          break;
        case 6:
          pu = v;
          break;
        case 0:
          break;
        default:
          return null;
      }
      i = j;
    } else if (c === 91 && (key === 7 || key === 8)) {
      // [["p","q"],...]
      const r = parseLevels(text, i);
      if (r === null) return null;
      if (key === 7) bids = r.levels;
      else asks = r.levels;
      i = r.end;
    } else return null;
    const d = text.charCodeAt(i);
    if (d === 44) {
      i++;
      continue;
    }
    if (d !== 125) return null;
    i++;
    break;
  }
  // data closed: the frame must close right after
  if (i !== n - 1 || text.charCodeAt(i) !== 125) return null;
  if (Number.isNaN(U) || Number.isNaN(u) || bids === null || asks === null || (Number.isNaN(T) && Number.isNaN(E)))
    return null;
  const nb = bids.length >> 1;
  const na = asks.length >> 1;
  const bidPx = new Float64Array(nb);
  const bidQty = new Float64Array(nb);
  const askPx = new Float64Array(na);
  const askQty = new Float64Array(na);
  for (let j = 0; j < nb; j++) {
    bidPx[j] = bids[2 * j];
    bidQty[j] = bids[2 * j + 1];
  }
  for (let j = 0; j < na; j++) {
    askPx[j] = asks[2 * j];
    askQty[j] = asks[2 * j + 1];
  }
  return { stream, s, E, T, U, u, pu, bidPx, bidQty, askPx, askQty };
}

/** Levels list at `text[i] === '['`: flat [p, q, ...] copy (null = not the strict form) and the index after `]`. */
function parseLevels(text: string, i: number): { levels: Float64Array; end: number } | null {
  let m = 0;
  i++;
  if (text.charCodeAt(i) === 93) return { levels: new Float64Array(0), end: i + 1 };
  for (;;) {
    if (text.charCodeAt(i) !== 91 || text.charCodeAt(i + 1) !== Q) return null;
    const p = scanDecimal(text, i + 2);
    if (p < 0) return null;
    const pEnd = decimalEnd;
    if (text.charCodeAt(pEnd) !== Q || text.charCodeAt(pEnd + 1) !== 44 || text.charCodeAt(pEnd + 2) !== Q) return null;
    const q = scanDecimal(text, pEnd + 3);
    if (q < 0) return null;
    const qEnd = decimalEnd;
    if (text.charCodeAt(qEnd) !== Q || text.charCodeAt(qEnd + 1) !== 93) return null;
    // the importer's level rules (diffs): price > 0, qty >= 0 (both finite by construction)
    if (!(p > 0)) return null;
    if (m + 2 > scratch.length) {
      const bigger = new Float64Array(scratch.length * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    scratch[m++] = p;
    scratch[m++] = q;
    i = qEnd + 2;
    const c = text.charCodeAt(i);
    if (c === 44) {
      i++;
      continue;
    }
    if (c !== 93) return null;
    return { levels: scratch.slice(0, m), end: i + 1 };
  }
}
