/**
 * Every metric of many overlapping slices of one sample set, in a few passes
 * over the samples instead of one copy and one sort per slice.
 *
 * A `SliceMembership` says which slices each row is in: `width` slice ids per
 * row (`member[i * width + j]`, -1 = none), e.g. a symbol's 'all', regime,
 * session, vol tertile and scenario slices and the same five of the pooled
 * group: ten slices per row. It depends on the slice codes only, so callers
 * that evaluate the same rows under many scores build it once.
 *
 * Per call (`sliceMetrics`), with S = rows x width memberships:
 *  1. one pass in row order: per slice, the valid rows (finite score, y in
 *     {0, 1}) of each class, and when probabilities are given the ECE bins,
 *     Brier and Brier-skill sums, accumulated in row order, i.e. in the order
 *     the per-slice functions (`ece`, `brier`, `brierSkillVsRef`) would see a
 *     slice's rows: the same sums to the bit;
 *  2. one LSD radix sort of the valid rows by score (11-bit digits of the
 *     IEEE-754 bits mapped to an unsigned order, -0 as +0): exact ties stay ties;
 *  3. one pass over the sorted order, tie group by tie group, dispatching each
 *     row to its slices: per slice the merge of `aucFromSplit` (Mann–Whitney
 *     with ties ½, DeLong components), the same tie groups in the same order,
 *     hence the same sums, finished by the same `aucFromSums`;
 *  4. one walk by descending |score| (the sorted order read from both ends),
 *     per slice counting to its k = ceil(5% of its valid rows) and taking every
 *     row tied with the k-th: `topkHitRate`'s bucket, hits, ties and zeros,
 *     stopping once every slice has passed its cut.
 * Cost O(S + n) per call plus the radix passes; no per-slice copies or sorts.
 * Tested as an oracle against the per-slice functions (test/eval/multislice.test.ts).
 */
import { aucFromSums, aucInsufficient, type AucResult, Z95 } from './auc.js';
import { brierFromSums, checkP, eceFromBins, type EceResult, skillFromSums } from './calibration.js';
import { checkInt, DEFAULT_MIN_SAMPLES, type Metric } from './metric.js';
import { topkK, topkResult, type TopkOptions, type TopkResult } from './topk.js';

export interface SliceMembership {
  readonly rows: number;
  readonly width: number;
  /** rows * width slice ids in [0, slices), -1 = none. */
  readonly member: Int32Array;
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

/** Rows per slice (0 for a slice no row is in). */
export function sliceRowCounts(m: SliceMembership): Int32Array {
  const c = new Int32Array(m.slices);
  const mem = m.member;
  for (let k = 0; k < mem.length; k++) {
    const s = mem[k];
    if (s >= 0) c[s]++;
  }
  return c;
}

export function checkMembership(m: SliceMembership): void {
  if (m.member.length !== m.rows * m.width)
    throw new RangeError(`slice membership: ${m.member.length} ids for ${m.rows} rows x width ${m.width}`);
  for (let k = 0; k < m.member.length; k++) {
    const s = m.member[k];
    if (s < -1 || s >= m.slices || !Number.isInteger(s))
      throw new RangeError(`slice membership: id ${s} at row ${Math.floor(k / m.width)} is not -1 or < ${m.slices}`);
  }
}

// reusable scratch (grown on demand; the functions stay pure: nothing survives a call that affects a result)
let keyHi = new Uint32Array(0);
let keyLo = new Uint32Array(0);
let tmpHi = new Uint32Array(0);
let tmpLo = new Uint32Array(0);
let idxA = new Int32Array(0);
let idxB = new Int32Array(0);
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

function ensure(n: number): void {
  if (idxA.length >= n) return;
  const m = Math.max(n, idxA.length * 2);
  keyHi = new Uint32Array(m);
  keyLo = new Uint32Array(m);
  tmpHi = new Uint32Array(m);
  tmpLo = new Uint32Array(m);
  idxA = new Int32Array(m);
  idxB = new Int32Array(m);
}

const SHIFTS = [0, 11, 22] as const;
const MASKS = [0x7ff, 0x7ff, 0x3ff] as const;
const HIST = new Int32Array(6 * 2048);

/**
 * Sorts rows[0..n) (row ids) by score ascending, exactly (IEEE order, -0 = +0,
 * no NaN), as an LSD radix sort of 6 passes of 11 / 11 / 10 bits of the low
 * then the high word; passes whose digit is constant are skipped. Returns the
 * sorted row ids (a scratch buffer, valid until the next call).
 */
export function radixSortRows(score: ArrayLike<number>, rows: Int32Array, n: number): Int32Array {
  ensure(n);
  let src = idxA;
  let dst = idxB;
  let hi = keyHi;
  let lo = keyLo;
  let th = tmpHi;
  let tl = tmpLo;
  HIST.fill(0);
  for (let k = 0; k < n; k++) {
    const r = rows[k];
    const v = score[r];
    f64[0] = v === 0 ? 0 : v;
    let h = u32[HI];
    let l = u32[LO];
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else h = (h | 0x80000000) >>> 0;
    hi[k] = h;
    lo[k] = l;
    src[k] = r;
    HIST[l & 0x7ff]++;
    HIST[2048 + ((l >>> 11) & 0x7ff)]++;
    HIST[4096 + (l >>> 22)]++;
    HIST[6144 + (h & 0x7ff)]++;
    HIST[8192 + ((h >>> 11) & 0x7ff)]++;
    HIST[10240 + (h >>> 22)]++;
  }
  for (let p = 0; p < 6; p++) {
    const off = p * 2048;
    const sh = SHIFTS[p % 3];
    const mask = MASKS[p % 3];
    // skip a pass whose digit is the same for every row
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
    const useLo = p < 3;
    const keyOf = useLo ? lo : hi;
    for (let k = 0; k < n; k++) {
      const d = (keyOf[k] >>> sh) & mask;
      const at = HIST[off + d]++;
      dst[at] = src[k];
      th[at] = hi[k];
      tl[at] = lo[k];
    }
    let t: Int32Array | Uint32Array = src;
    src = dst;
    dst = t as Int32Array;
    t = hi;
    hi = th;
    th = t as Uint32Array;
    t = lo;
    lo = tl;
    tl = t as Uint32Array;
  }
  return src;
}

/** Every metric of every slice of `m` (see the file comment). */
export function sliceMetrics(
  m: SliceMembership,
  input: SliceMetricsInput,
  opts: SliceMetricsOptions = {},
): SliceMetrics {
  const { score, y, prob, ref } = input;
  const n = m.rows;
  if (score.length !== n || y.length !== n || (prob && prob.length !== n) || (ref && ref.length !== n))
    throw new RangeError(`sliceMetrics: column lengths differ from the membership's ${n} rows`);
  const minPer = checkInt('min_per_class', opts.min_per_class ?? DEFAULT_MIN_SAMPLES, 1);
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  const vif = opts.variance_inflation ?? 1;
  if (!(vif >= 1)) throw new RangeError(`variance_inflation must be >= 1, got ${vif}`);
  const z = opts.z ?? Z95;
  const bins = checkInt('ece_bins', opts.ece_bins ?? 10, 1);
  const topkOpt = opts.topk;
  const S = m.slices;
  const W = m.width;
  const mem = m.member;
  const rowsOf = sliceRowCounts(m);

  // ---- pass 1, row order: valid rows per class; ECE / Brier / skill sums
  const vPos = new Int32Array(S);
  const vNeg = new Int32Array(S);
  const eCnt = prob ? new Float64Array(S * bins) : null;
  const eSp = prob ? new Float64Array(S * bins) : null;
  const eSy = prob ? new Float64Array(S * bins) : null;
  const eN = new Int32Array(S);
  const bS = new Float64Array(S);
  const kN = new Int32Array(S);
  const kS = new Float64Array(S);
  const kR = new Float64Array(S);
  const valid = new Int32Array(n);
  let nv = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) continue;
    const s = score[i];
    const base = i * W;
    if (s === s) {
      valid[nv++] = i;
      const cls = yi === 1 ? vPos : vNeg;
      for (let j = 0; j < W; j++) {
        const sl = mem[base + j];
        if (sl >= 0) cls[sl]++;
      }
    }
    if (prob) {
      const p = prob[i];
      if (p !== p) continue;
      checkP(p, i);
      let b = Math.floor(p * bins);
      if (b >= bins) b = bins - 1;
      const e2 = (p - yi) * (p - yi);
      const r = ref ? ref[i] : NaN;
      const hasRef = r === r;
      const r2 = hasRef ? (r - yi) * (r - yi) : 0;
      for (let j = 0; j < W; j++) {
        const sl = mem[base + j];
        if (sl < 0) continue;
        const o = sl * bins + b;
        eCnt![o]++;
        eSp![o] += p;
        eSy![o] += yi;
        eN[sl]++;
        bS[sl] += e2;
        if (hasRef) {
          kS[sl] += e2;
          kR[sl] += r2;
          kN[sl]++;
        }
      }
    }
  }

  // ---- pass 2: sort the valid rows by score
  const order = radixSortRows(score, valid, nv);

  // ---- pass 3: AUC merge per slice over the global tie groups
  const negBelow = new Float64Array(S);
  const posBelow = new Float64Array(S);
  const s10 = new Float64Array(S);
  const q10 = new Float64Array(S);
  const s01 = new Float64Array(S);
  const q01 = new Float64Array(S);
  const tp = new Float64Array(S);
  const tq = new Float64Array(S);
  const touched = new Int32Array(S);
  const isTouched = new Uint8Array(S);
  let a = 0;
  while (a < nv) {
    const r0 = order[a];
    const v = score[r0];
    let b = a + 1;
    while (b < nv && score[order[b]] === v) b++;
    if (b === a + 1) {
      const base = r0 * W;
      if (y[r0] === 1) {
        for (let j = 0; j < W; j++) {
          const sl = mem[base + j];
          if (sl < 0) continue;
          const d = negBelow[sl] / vNeg[sl] - 0.5;
          s10[sl] += d;
          q10[sl] += d * d;
          posBelow[sl] += 1;
        }
      } else {
        for (let j = 0; j < W; j++) {
          const sl = mem[base + j];
          if (sl < 0) continue;
          const mm = vPos[sl];
          const d = (mm - posBelow[sl]) / mm - 0.5;
          s01[sl] += d;
          q01[sl] += d * d;
          negBelow[sl] += 1;
        }
      }
    } else {
      let nt = 0;
      for (let k = a; k < b; k++) {
        const r = order[k];
        const base = r * W;
        const pos = y[r] === 1;
        for (let j = 0; j < W; j++) {
          const sl = mem[base + j];
          if (sl < 0) continue;
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
        const p = tp[sl];
        const q = tq[sl];
        if (p > 0) {
          const d = (negBelow[sl] + q / 2) / vNeg[sl] - 0.5;
          s10[sl] += p * d;
          q10[sl] += p * d * d;
        }
        if (q > 0) {
          const mm = vPos[sl];
          const d = (mm - posBelow[sl] - p / 2) / mm - 0.5;
          s01[sl] += q * d;
          q01[sl] += q * d * d;
        }
        negBelow[sl] += q;
        posBelow[sl] += p;
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
        : aucFromSums(base, s10[sl], q10[sl], s01[sl], q01[sl], z, vif),
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
    const visit = (r: number, s: number): void => {
      const abs = s < 0 ? -s : s;
      const base = r * W;
      const hit = (s > 0 && y[r] === 1) || (s < 0 && y[r] === 0);
      for (let w = 0; w < W; w++) {
        const sl = mem[base + w];
        if (sl < 0) continue;
        const c = cnt[sl];
        const k = kOf[sl];
        if (c < k) {
          cnt[sl] = c + 1;
          if (c + 1 === k) {
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
    };
    while (i <= j) {
      const ri = order[i];
      const rj = order[j];
      const si = score[ri];
      const sj = score[rj];
      let r: number;
      let s: number;
      if (si < 0 && (sj <= 0 || -si >= sj)) {
        r = ri;
        s = si;
        i++;
      } else if (sj > 0) {
        r = rj;
        s = sj;
        j--;
      } else {
        // only zeros left (si >= 0 and sj <= 0 means both are 0)
        r = ri;
        s = 0;
        i++;
      }
      const abs = s < 0 ? -s : s;
      if (pending === 0 && abs < minCut) break; // every slice is past its cut
      visit(r, s);
    }
    topk = [];
    for (let sl = 0; sl < S; sl++) {
      const nn = vPos[sl] + vNeg[sl];
      const c = cut[sl];
      topk.push(topkResult(nn, kOf[sl], c, bucket[sl], hits[sl], runA[sl] === c ? run[sl] : 0, zeros[sl], minB));
    }
  }

  let eceR: EceResult[] | null = null;
  let brierR: Metric[] | null = null;
  let skillR: Metric[] | null = null;
  if (prob) {
    eceR = [];
    brierR = [];
    for (let sl = 0; sl < S; sl++) {
      eceR.push(eceFromBins(eCnt!, eSp!, eSy!, sl * bins, bins, eN[sl], rowsOf[sl] - eN[sl], minN));
      brierR.push(brierFromSums(eN[sl], bS[sl], minN));
    }
    if (ref) {
      skillR = [];
      for (let sl = 0; sl < S; sl++) skillR.push(skillFromSums(kN[sl], kS[sl], kR[sl], minN));
    }
  }
  return { auc, topk, ece: eceR, brier: brierR, brier_skill: skillR };
}
