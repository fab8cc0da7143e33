/**
 * Every metric of many overlapping slices of one sample set, in a few passes
 * over the samples instead of one copy and one sort per slice.
 *
 * A `SliceMembership` says which slices each row is in: each row has a slice
 * combination (`combo[i]`), and each combination `width` slice ids
 * (`table[c * width + j]`, -1 = none), e.g. a symbol's 'all', regime, session,
 * vol tertile and scenario slices and the same five of the pooled group: ten
 * slices per row, 154 combinations on the demo run, 24 h x 6 symbols (a table that stays in
 * cache). It depends on the slice codes only, so callers that evaluate the
 * same rows under many scores build it once (`membershipOf`).
 *
 * Per call (`sliceMetrics`), with S = rows x width memberships:
 *  1. one pass in row order: per slice combination, the valid rows (finite
 *     score, y in {0, 1}) of each class, and when probabilities are given the
 *     ECE bin counts and Σy, Σp, and the Brier and Brier-skill sums (one update
 *     per row), then spread to each combination's slices: counts exact; the
 *     floating-point sums equal the per-slice functions' (`ece`, `brier`,
 *     `brierSkillVsRef`, which add a slice's rows in row order) to rounding,
 *     not to the bit (another summation order; on 461k samples the
 *     per-combination sums are the closer to the exact sum);
 *  2. one radix sort of the valid rows by score (the IEEE-754 bits mapped
 *     to an unsigned order, -0 as +0; `radixSort`), carrying each
 *     row's combination and label, so the passes below read memory in order:
 *     exact ties stay ties;
 *  3. one pass over the sorted order, tie group by tie group, dispatching each
 *     row to its slices: per slice the merge of `aucFromSplit` (Mann–Whitney
 *     with ties ½, DeLong components), the same tie groups in the same order,
 *     hence the same sums, finished by the same `aucFromSums`;
 *  4. one walk by descending |score| (the sorted order read from both ends),
 *     per slice counting to its k = ceil(5% of its valid rows) and taking every
 *     row tied with the k-th: `topkHitRate`'s bucket, hits, ties and zeros,
 *     stopping once every slice has passed its cut.
 * Cost O(S + n) per call plus the radix passes; no per-slice copies or sorts,
 * and no n-sized allocation once warm (module scratch, grown on demand).
 * Tested as an oracle against the per-slice functions (test/eval/multislice.test.ts):
 * AUC, CI, top-k and counts bit-exact, ECE / Brier / Brier skill within 1e-12.
 */
import { aucFromSums, aucInsufficient, type AucResult, Z95 } from './auc.js';
import { brierFromSums, checkP, eceFromBins, type EceResult, skillFromSums } from './calibration.js';
import { checkInt, DEFAULT_MIN_SAMPLES, type Metric } from './metric.js';
import { topkK, topkResult, type TopkOptions, type TopkResult } from './topk.js';

export interface SliceMembership {
  readonly rows: number;
  readonly width: number;
  /** Per row: its slice combination, an index into the table's rows. */
  readonly combo: Int32Array;
  /** combos x width slice ids in [0, slices), -1 = none. */
  readonly table: Int32Array;
  readonly slices: number;
}

export interface SliceMetricsInput {
  readonly score: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  /** Calibrated probabilities: ECE and Brier per slice (absent: not computed). */
  readonly prob?: ArrayLike<number>;
  /** Per-row reference forecast for Brier skill (with prob; NaN = none). */
  readonly ref?: ArrayLike<number>;
}

export interface SliceMetricsOptions {
  /** AUC: minimum per class (default 30), CI quantile, DeLong variance inflation (default 1). */
  readonly min_per_class?: number;
  readonly z?: number;
  readonly variance_inflation?: number;
  /** Top-k options; false: not computed. */
  readonly topk?: TopkOptions | false;
  readonly ece_bins?: number;
  /** Minimum rows of ECE / Brier / Brier skill (default 30). */
  readonly min_samples?: number;
}

export interface SliceMetrics {
  readonly auc: AucResult[];
  /** null when not computed. */
  readonly topk: TopkResult[] | null;
  /** null when no prob. */
  readonly ece: EceResult[] | null;
  readonly brier: Metric[] | null;
  /** null when no prob or no ref. */
  readonly brier_skill: Metric[] | null;
}

/**
 * The membership of rows given `width` slice ids per row (`ids[i * width + j]`,
 * -1 = none): rows with the same ids share a combination (numbered in order
 * of first appearance: deterministic). `keys` (optional): a number per row
 * equal exactly when the rows' ids are equal (faster than comparing the ids).
 */
export function membershipOf(
  rows: number,
  width: number,
  ids: Int32Array,
  slices: number,
  keys?: ArrayLike<number>,
): SliceMembership {
  if (ids.length !== rows * width)
    throw new RangeError(`slice membership: ${ids.length} ids for ${rows} rows x width ${width}`);
  const combo = new Int32Array(rows);
  const seen = new Map<string | number, number>();
  const table: number[] = [];
  for (let i = 0; i < rows; i++) {
    let key: string | number;
    if (keys) key = keys[i];
    else {
      key = '';
      for (let j = 0; j < width; j++) key += `${ids[i * width + j]},`;
    }
    let c = seen.get(key);
    if (c === undefined) {
      c = seen.size;
      seen.set(key, c);
      for (let j = 0; j < width; j++) {
        const s = ids[i * width + j];
        if (!(Number.isInteger(s) && s >= -1 && s < slices))
          throw new RangeError(`slice membership: id ${s} at row ${i} is not -1 or an integer < ${slices}`);
        table.push(s);
      }
    }
    combo[i] = c;
  }
  return { rows, width, combo, table: Int32Array.from(table), slices };
}

/** Rows per slice (0 for a slice no row is in). */
export function sliceRowCounts(m: SliceMembership): Int32Array {
  const nc = m.table.length / m.width;
  const per = new Int32Array(nc);
  for (let i = 0; i < m.rows; i++) per[m.combo[i]]++;
  const c = new Int32Array(m.slices);
  for (let k = 0; k < nc; k++)
    for (let j = 0; j < m.width; j++) {
      const s = m.table[k * m.width + j];
      if (s >= 0) c[s] += per[k];
    }
  return c;
}

// reusable scratch (grown on demand; nothing in it survives a call in a way that affects a result): the
// radix sort's keys, payloads and sorted values, and sliceMetrics' valid rows (a call allocates none of
// these n-sized arrays once warm)
let keyHi = new Uint32Array(0);
let keyLo = new Uint32Array(0);
let tmpHi = new Uint32Array(0);
let tmpLo = new Uint32Array(0);
let payA = new Int32Array(0);
let payB = new Int32Array(0);
let sortedV = new Float64Array(0);
let rowVals = new Float64Array(0);
let rowPays = new Int32Array(0);
const LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

const grown = (have: number, n: number) => Math.max(n, have * 2);

function ensure(n: number): void {
  if (payA.length >= n) return;
  const m = grown(payA.length, n);
  keyHi = new Uint32Array(m);
  keyLo = new Uint32Array(m);
  tmpHi = new Uint32Array(m);
  tmpLo = new Uint32Array(m);
  payA = new Int32Array(m);
  payB = new Int32Array(m);
  sortedV = new Float64Array(m);
}

function ensureRows(n: number): void {
  if (rowVals.length >= n) return;
  const m = grown(rowVals.length, n);
  rowVals = new Float64Array(m);
  rowPays = new Int32Array(m);
}

// sliceMetrics' AUC merge state per slice (see pass 3): stride and field offsets
const ST = 8;
const ST_NEG = 0;
const ST_POS = 1;
const ST_S10 = 2;
const ST_Q10 = 3;
const ST_S01 = 4;
const ST_Q01 = 5;
const ST_NNEG = 6;
const ST_NPOS = 7;

const SHIFTS = [0, 11, 22] as const;
const MASKS = [0x7ff, 0x7ff, 0x3ff] as const;
const HIST = new Int32Array(3 * 2048);

/** Sorted values and payloads (views of scratch buffers, valid until the next call). */
export interface RadixSorted {
  readonly value: Float64Array;
  readonly payload: Int32Array;
}

/**
 * Sorts values[0..n) ascending, exactly (IEEE order, -0 as +0, no NaN),
 * carrying payload[k] along, stably (equal values keep their payload order):
 * an LSD radix sort of the high 32 bits of the order-mapped IEEE-754 bits (3
 * passes of 11 / 11 / 10 bits, a pass whose digit is the same for every value
 * skipped), then each run of equal high words ordered by the low word
 * (insertion sort; a long unordered run by a stable comparator sort). Values
 * that share their high word differ by < 2^-20 relative, so runs are short.
 * The IEEE words are read and written through 32-bit views of the value
 * arrays (no per-value round trip through a conversion buffer).
 */
export function radixSort(values: Float64Array, payload: Int32Array, n: number): RadixSorted {
  ensure(n);
  let pay = payA;
  let pt = payB;
  let hi = keyHi;
  let lo = keyLo;
  let th = tmpHi;
  let tl = tmpLo;
  const vw = new Int32Array(values.buffer, values.byteOffset, 2 * n);
  HIST.fill(0);
  for (let k = 0; k < n; k++) {
    let h = vw[2 * k + HI];
    const l = vw[2 * k + LO];
    if (h === -0x80000000 && l === 0) h = 0; // -0 -> +0
    // order map: a negative value (sign bit set) has every bit flipped, a positive one its sign bit set
    const neg = h >> 31;
    const key = (h ^ (neg | -0x80000000)) >>> 0;
    hi[k] = key;
    lo[k] = l ^ neg;
    pay[k] = payload[k];
    HIST[key & 0x7ff]++;
    HIST[2048 + ((key >>> 11) & 0x7ff)]++;
    HIST[4096 + (key >>> 22)]++;
  }
  for (let p = 0; p < 3; p++) {
    const off = p * 2048;
    const sh = SHIFTS[p];
    const mask = MASKS[p];
    let trivial = false;
    for (let d = 0; d <= mask; d++) {
      const c = HIST[off + d];
      if (c === n) trivial = true;
      if (c !== 0) break;
    }
    if (trivial || n === 0) continue;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = HIST[off + d];
      HIST[off + d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const h = hi[k];
      const at = HIST[off + ((h >>> sh) & mask)]++;
      pt[at] = pay[k];
      th[at] = h;
      tl[at] = lo[k];
    }
    const a = pay;
    pay = pt;
    pt = a;
    const b = hi;
    hi = th;
    th = b;
    const c = lo;
    lo = tl;
    tl = c;
  }
  // runs of equal high words: order by the low word, then write the run back as doubles (in order,
  // sequential, into the reused output buffer: one pass for both)
  const value = sortedV.subarray(0, n);
  const ow = new Int32Array(sortedV.buffer, 0, 2 * n);
  const hiNeg = -0x80000000;
  let a = 0;
  while (a < n) {
    const h = hi[a];
    let b = a + 1;
    while (b < n && hi[b] === h) b++;
    if (b - a > 1) {
      let ordered = true;
      for (let k = a + 1; k < b; k++)
        if (lo[k] < lo[k - 1]) {
          ordered = false;
          break;
        }
      if (!ordered) {
        if (b - a <= 64) {
          for (let k = a + 1; k < b; k++) {
            const l = lo[k];
            const pl = pay[k];
            let m = k - 1;
            while (m >= a && lo[m] > l) {
              lo[m + 1] = lo[m];
              pay[m + 1] = pay[m];
              m--;
            }
            lo[m + 1] = l;
            pay[m + 1] = pl;
          }
        } else {
          const idx = Array.from({ length: b - a }, (_, k) => a + k).sort((x, y) => lo[x] - lo[y] || x - y);
          const l2 = idx.map((k) => lo[k]);
          const p2 = idx.map((k) => pay[k]);
          for (let k = 0; k < idx.length; k++) {
            lo[a + k] = l2[k];
            pay[a + k] = p2[k];
          }
        }
      }
    }
    // the inverse order map: a key whose top bit is clear is a negative value (every bit flipped back)
    const key = h | 0;
    const neg = ~key >> 31;
    const hw = key ^ (neg | hiNeg);
    for (let k = a; k < b; k++) {
      ow[2 * k + HI] = hw;
      ow[2 * k + LO] = lo[k] ^ neg;
    }
    a = b;
  }
  return { value, payload: pay.subarray(0, n) };
}

/** Rows per slice of each membership seen (a memo: they depend on the membership only). */
const rowCounts = new WeakMap<SliceMembership, Int32Array>();

/** Rows per slice of `m` (memoized per membership). */
function rowsOfSlices(m: SliceMembership): Int32Array {
  let rowsOf = rowCounts.get(m);
  if (!rowsOf) {
    rowsOf = sliceRowCounts(m);
    rowCounts.set(m, rowsOf);
  }
  return rowsOf;
}

/** The membership's row count, once every given column has that many rows. */
function checkRows(m: SliceMembership, ...cols: (ArrayLike<number> | undefined)[]): number {
  for (const c of cols)
    if (c && c.length !== m.rows)
      throw new RangeError(`sliceMetrics: column lengths differ from the membership's ${m.rows} rows`);
  return m.rows;
}

/**
 * Every metric of every slice of `m` (see the file comment):
 * `scoreSliceMetrics` (AUC, top-k: the score and labels only) and, with
 * `prob`, `probSliceMetrics` (ECE, Brier, Brier skill). Callers that get the
 * probabilities later (re-scoring fits them while the score metrics run) call
 * the two parts themselves: the same numbers.
 */
export function sliceMetrics(
  m: SliceMembership,
  input: SliceMetricsInput,
  opts: SliceMetricsOptions = {},
): SliceMetrics {
  const { score, y, prob, ref } = input;
  const sm = scoreSliceMetrics(m, { score, y }, opts);
  const pm = prob ? probSliceMetrics(m, { prob, y, ref }, opts) : { ece: null, brier: null, brier_skill: null };
  return { ...sm, ...pm };
}

/** ECE, Brier and (with `ref`) Brier skill of every slice of `m` (pass 1's probability sums). */
export function probSliceMetrics(
  m: SliceMembership,
  input: { readonly prob: ArrayLike<number>; readonly y: ArrayLike<number>; readonly ref?: ArrayLike<number> },
  opts: SliceMetricsOptions = {},
): Pick<SliceMetrics, 'ece' | 'brier' | 'brier_skill'> {
  const { prob, y, ref } = input;
  const n = checkRows(m, prob, y, ref);
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  const bins = checkInt('ece_bins', opts.ece_bins ?? 10, 1);
  const S = m.slices;
  const W = m.width;
  const tab = m.table;
  const combo = m.combo;
  const rowsOf = rowsOfSlices(m);
  // ---- pass 1 (probabilities), row order: ECE / Brier / skill sums kept per slice combination (one
  // update per row) and spread to the slices after the pass. Counts (and Σy) are exact in any order;
  // the floating-point sums (Σp per ECE bin, Σ(p - y)², Σ(ref - y)²) are summed per combination in row
  // order, then over the slice's combinations: another summation order than the per-slice functions', so
  // they agree to rounding (~1e-16 relative), not to the bit (the oracle test's tolerance says so).
  const nc = tab.length / W;
  const cBin = new Int32Array(nc * bins);
  const cBinY = new Int32Array(nc * bins);
  const cBinP = new Float64Array(nc * bins);
  const cB = new Float64Array(nc);
  const cRef = new Int32Array(nc);
  const cKS = new Float64Array(nc);
  const cKR = new Float64Array(nc);
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) continue;
    const p = prob[i];
    if (p !== p) continue;
    checkP(p, i);
    const c = combo[i];
    let b = Math.floor(p * bins);
    if (b >= bins) b = bins - 1;
    const cb = c * bins + b;
    cBin[cb]++;
    cBinY[cb] += yi;
    cBinP[cb] += p;
    const e2 = (p - yi) * (p - yi);
    cB[c] += e2;
    const r = ref ? ref[i] : NaN;
    if (r === r) {
      cRef[c]++;
      cKS[c] += e2;
      cKR[c] += (r - yi) * (r - yi);
    }
  }
  const eCnt = new Float64Array(S * bins);
  const eSp = new Float64Array(S * bins);
  const eSy = new Float64Array(S * bins);
  const eN = new Int32Array(S);
  const bS = new Float64Array(S);
  const kN = new Int32Array(S);
  const kS = new Float64Array(S);
  const kR = new Float64Array(S);
  for (let c = 0; c < nc; c++)
    for (let j = 0; j < W; j++) {
      const sl = tab[c * W + j];
      if (sl < 0) continue;
      bS[sl] += cB[c];
      kN[sl] += cRef[c];
      kS[sl] += cKS[c];
      kR[sl] += cKR[c];
      for (let b = 0; b < bins; b++) {
        const k = cBin[c * bins + b];
        eCnt[sl * bins + b] += k;
        eSy[sl * bins + b] += cBinY[c * bins + b];
        eSp[sl * bins + b] += cBinP[c * bins + b];
        eN[sl] += k;
      }
    }
  const ece: EceResult[] = [];
  const brier: Metric[] = [];
  for (let sl = 0; sl < S; sl++) {
    ece.push(eceFromBins(eCnt, eSp, eSy, sl * bins, bins, eN[sl], rowsOf[sl] - eN[sl], minN));
    brier.push(brierFromSums(eN[sl], bS[sl], minN));
  }
  let brier_skill: Metric[] | null = null;
  if (ref) {
    brier_skill = [];
    for (let sl = 0; sl < S; sl++) brier_skill.push(skillFromSums(kN[sl], kS[sl], kR[sl], minN));
  }
  return { ece, brier, brier_skill };
}

/** AUC with the DeLong CI and the top-k hit rate of every slice of `m` (passes 1-4 on the scores). */
export function scoreSliceMetrics(
  m: SliceMembership,
  input: { readonly score: ArrayLike<number>; readonly y: ArrayLike<number> },
  opts: SliceMetricsOptions = {},
): Pick<SliceMetrics, 'auc' | 'topk'> {
  const { score, y } = input;
  const n = checkRows(m, score, y);
  const minPer = checkInt('min_per_class', opts.min_per_class ?? DEFAULT_MIN_SAMPLES, 1);
  const vif = opts.variance_inflation ?? 1;
  if (!(vif >= 1)) throw new RangeError(`variance_inflation must be >= 1, got ${vif}`);
  const z = opts.z ?? Z95;
  const topkOpt = opts.topk;
  const S = m.slices;
  const W = m.width;
  const tab = m.table;
  const combo = m.combo;
  const rowsOf = rowsOfSlices(m);

  // ---- pass 1 (scores), row order: the valid rows (finite score, y in {0, 1}) per class, counted per
  // slice combination (exact in any order) and spread to the slices after the pass
  const nc = tab.length / W;
  const cPos = new Int32Array(nc);
  const cNeg = new Int32Array(nc);
  ensureRows(n);
  const vals = rowVals;
  const pays = rowPays;
  let nv = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) continue;
    const s = score[i];
    if (s === s) {
      const c = combo[i];
      vals[nv] = s;
      pays[nv++] = c * W * 2 + yi; // the row's table offset and its label
      if (yi === 1) cPos[c]++;
      else cNeg[c]++;
    }
  }
  const vPos = new Float64Array(S);
  const vNeg = new Float64Array(S);
  for (let c = 0; c < nc; c++)
    for (let j = 0; j < W; j++) {
      const sl = tab[c * W + j];
      if (sl < 0) continue;
      vPos[sl] += cPos[c];
      vNeg[sl] += cNeg[c];
    }

  // ---- pass 2: sort the valid rows by score, carrying (table offset, label)
  const sorted = radixSort(vals, pays, nv);
  const sv = sorted.value;
  const sp = sorted.payload;

  // ---- pass 3: AUC merge per slice over the global tie groups. The per-slice state is interleaved, one
  // cache line per slice: ST_NEG / ST_POS (negatives / positives below the current tie group), the sums of
  // V10 - ½ and its square, of V01 - ½ and its square, and the slice's negatives and positives; each
  // membership is looked up as its slice's offset in it (a table built once per call, -1 -> a sink slot
  // no result reads, so the inner loops have no branch on it)
  const st = new Float64Array((S + 1) * ST);
  for (let sl = 0; sl < S; sl++) {
    st[sl * ST + ST_NNEG] = vNeg[sl];
    st[sl * ST + ST_NPOS] = vPos[sl];
  }
  const off = new Int32Array(tab.length);
  for (let k = 0; k < tab.length; k++) off[k] = (tab[k] < 0 ? S : tab[k]) * ST;
  const tp = new Float64Array(S + 1);
  const tq = new Float64Array(S + 1);
  const touched = new Int32Array(S + 1);
  const isTouched = new Uint8Array(S + 1);
  let a = 0;
  while (a < nv) {
    const v = sv[a];
    let b = a + 1;
    while (b < nv && sv[b] === v) b++;
    if (b === a + 1) {
      const pl = sp[a];
      const base = pl >> 1;
      if ((pl & 1) === 1) {
        for (let j = 0; j < W; j++) {
          const o = off[base + j];
          const d = st[o + ST_NEG] / st[o + ST_NNEG] - 0.5;
          st[o + ST_S10] += d;
          st[o + ST_Q10] += d * d;
          st[o + ST_POS] += 1;
        }
      } else {
        for (let j = 0; j < W; j++) {
          const o = off[base + j];
          const mm = st[o + ST_NPOS];
          const d = (mm - st[o + ST_POS]) / mm - 0.5;
          st[o + ST_S01] += d;
          st[o + ST_Q01] += d * d;
          st[o + ST_NEG] += 1;
        }
      }
    } else {
      let nt = 0;
      for (let k = a; k < b; k++) {
        const pl = sp[k];
        const base = pl >> 1;
        const pos = (pl & 1) === 1;
        for (let j = 0; j < W; j++) {
          const sl = off[base + j] / ST;
          if (isTouched[sl] === 0) {
            isTouched[sl] = 1;
            touched[nt++] = sl;
          }
          if (pos) tp[sl]++;
          else tq[sl]++;
        }
      }
      for (let t = 0; t < nt; t++) {
        const sl = touched[t];
        const o = sl * ST;
        const p = tp[sl];
        const q = tq[sl];
        if (p > 0) {
          const d = (st[o + ST_NEG] + q / 2) / st[o + ST_NNEG] - 0.5;
          st[o + ST_S10] += p * d;
          st[o + ST_Q10] += p * d * d;
        }
        if (q > 0) {
          const mm = st[o + ST_NPOS];
          const d = (mm - st[o + ST_POS] - p / 2) / mm - 0.5;
          st[o + ST_S01] += q * d;
          st[o + ST_Q01] += q * d * d;
        }
        st[o + ST_NEG] += q;
        st[o + ST_POS] += p;
        tp[sl] = 0;
        tq[sl] = 0;
        isTouched[sl] = 0;
      }
    }
    a = b;
  }
  const auc: AucResult[] = [];
  for (let sl = 0; sl < S; sl++) {
    const mp = vPos[sl];
    const mn = vNeg[sl];
    const base = { n: mp + mn, n_pos: mp, n_neg: mn, n_excluded: rowsOf[sl] - mp - mn };
    auc.push(
      mp < minPer || mn < minPer
        ? aucInsufficient(base, minPer)
        : aucFromSums(
            base,
            st[sl * ST + ST_S10],
            st[sl * ST + ST_Q10],
            st[sl * ST + ST_S01],
            st[sl * ST + ST_Q01],
            z,
            vif,
          ),
    );
  }

  // ---- pass 4: top-k by descending |score|
  let topk: TopkResult[] | null = null;
  if (topkOpt !== false) {
    const frac = topkOpt?.frac ?? 0.05;
    if (!(frac > 0 && frac <= 1)) throw new RangeError(`topk: frac must be in (0, 1], got ${frac}`);
    const minB = checkInt('min_bucket', topkOpt?.min_bucket ?? 20, 1);
    const kOf = new Float64Array(S);
    const cnt = new Float64Array(S);
    const cut = new Float64Array(S).fill(NaN);
    const bucket = new Float64Array(S);
    const hits = new Float64Array(S);
    const runA = new Float64Array(S).fill(NaN);
    const run = new Float64Array(S);
    const zeros = new Float64Array(S);
    let pending = 0;
    for (let sl = 0; sl < S; sl++) {
      const nn = vPos[sl] + vNeg[sl];
      if (nn > 0) {
        kOf[sl] = topkK(frac, nn);
        pending++;
      }
    }
    let minCut = Infinity;
    // negatives ascending from the start (largest |s| first), positives from the end, zeros last
    let i = 0;
    let j = nv - 1;
    while (i <= j) {
      const si = sv[i];
      const sj = sv[j];
      let k: number;
      let s: number;
      if (si < 0 && (sj <= 0 || -si >= sj)) {
        k = i++;
        s = si;
      } else if (sj > 0) {
        k = j--;
        s = sj;
      } else {
        k = i++; // only zeros are left
        s = 0;
      }
      const abs = s < 0 ? -s : s;
      if (pending === 0 && abs < minCut) break; // every slice is past its cut
      const pl = sp[k];
      const base = pl >> 1;
      const yk = pl & 1;
      const hit = (s > 0 && yk === 1) || (s < 0 && yk === 0);
      for (let w = 0; w < W; w++) {
        const sl = tab[base + w];
        if (sl < 0) continue;
        const c = cnt[sl];
        const kk = kOf[sl];
        if (c < kk) {
          cnt[sl] = c + 1;
          if (c + 1 === kk) {
            cut[sl] = abs;
            if (abs < minCut) minCut = abs;
            pending--;
          }
        } else if (abs !== cut[sl]) continue; // below its cut: not in the bucket
        if (s === 0) {
          zeros[sl]++;
          continue;
        }
        bucket[sl]++;
        if (hit) hits[sl]++;
        if (abs === runA[sl]) run[sl]++;
        else {
          runA[sl] = abs;
          run[sl] = 1;
        }
      }
    }
    topk = [];
    for (let sl = 0; sl < S; sl++) {
      const c = cut[sl];
      topk.push(
        topkResult(
          vPos[sl] + vNeg[sl],
          kOf[sl],
          c,
          bucket[sl],
          hits[sl],
          runA[sl] === c ? run[sl] : 0,
          zeros[sl],
          minB,
        ),
      );
    }
  }

  return { auc, topk };
}
