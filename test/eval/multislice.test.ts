/**
 * The one-pass multi-slice metrics (src/eval/multislice.ts, used by
 * evaluateSlices and the slices overview) against the slow obvious reference:
 * copy each slice's rows out in row order and call aucDeLong, topkHitRate,
 * ece, brier and brierSkillVsRef on them, on random data with heavy ties,
 * zeros (gated scores), -0, NaN scores, unresolved labels, unknown slice codes
 * and empty slices. Counts, AUC (with its CI) and top-k: bit-exact (toEqual on
 * the whole result objects). ECE, Brier and Brier skill: within CALIB_TOL
 * (below), because sliceMetrics sums Σp, Σ(p - y)² and Σ(ref - y)² per slice
 * combination and then per slice, another summation order than the per-slice
 * functions' row order (one update per row instead of one per row and slice).
 */
import { describe, expect, it } from 'vitest';
import { aucDeLong } from '../../src/eval/auc.js';
import { brier, brierSkillVsRef, ece } from '../../src/eval/calibration.js';
import { membershipOf, radixSort, sliceMetrics } from '../../src/eval/multislice.js';
import { EvalRng } from '../../src/eval/rng.js';
import { evaluateSlices, layoutRows, sliceLayout, type SliceDim } from '../../src/eval/slices.js';
import { topkHitRate } from '../../src/eval/topk.js';

/**
 * ECE / Brier / Brier skill tolerance: 1e-12 relative to max(|a|, |b|, 1), i.e. absolute for these
 * values in [0, 1] (ECE and Brier skill are differences of sums, so a relative bound on them alone would
 * amplify rounding). Reordering the sums of a few thousand terms moves them by ~1e-16 per term.
 */
const CALIB_TOL = 1e-12;

/** Deep equality, except numbers: equal within CALIB_TOL (NaN = NaN, null = null); returns the worst drift. */
function expectClose(actual: unknown, expected: unknown, where = ''): number {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Number.isNaN(expected)) {
      expect(actual, where).toBeNaN();
      return 0;
    }
    const d = Math.abs(actual - expected) / Math.max(Math.abs(actual), Math.abs(expected), 1);
    expect(d, `${where}: ${actual} vs ${expected}`).toBeLessThanOrEqual(CALIB_TOL);
    return d;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual, where).toBeTypeOf('object');
    expect(Object.keys(actual as object).sort(), where).toEqual(Object.keys(expected).sort());
    let worst = 0;
    for (const [k, v] of Object.entries(expected))
      worst = Math.max(worst, expectClose((actual as Record<string, unknown>)[k], v, `${where}.${k}`));
    return worst;
  }
  expect(actual, where).toEqual(expected);
  return 0;
}

function data(seed: number, n: number) {
  const rng = new EvalRng(seed);
  const score = new Float64Array(n);
  const y = new Float64Array(n);
  const prob = new Float64Array(n);
  const ref = new Float64Array(n);
  const a = new Int8Array(n);
  const b = new Int8Array(n);
  const g = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    // coarse grid (many exact ties), zeros, -0, NaN, a few large values, continuous values
    score[i] =
      u < 0.2
        ? Math.round(rng.normal() * 4) / 4
        : u < 0.3
          ? 0
          : u < 0.33
            ? -0
            : u < 0.35
              ? NaN
              : u < 0.36
                ? (rng.uniform() < 0.5 ? -1 : 1) * 1e300
                : rng.normal() + 0.3 * (i % 3);
    const v = rng.uniform();
    y[i] = v < 0.1 ? NaN : rng.uniform() < 0.45 + 0.1 * Math.tanh(score[i] || 0) ? 1 : 0;
    prob[i] = rng.uniform() < 0.08 ? NaN : rng.uniform() < 0.05 ? (rng.uniform() < 0.5 ? 0 : 1) : rng.uniform();
    ref[i] = rng.uniform() < 0.1 ? NaN : 0.4 + 0.2 * rng.uniform();
    a[i] = rng.uniform() < 0.05 ? -1 : rng.int(3);
    b[i] = rng.int(4); // value 3 of 5 names is never... see dims: names has 5, code 4 never used (empty slice)
    g[i] = rng.int(3);
  }
  return { score, y, prob, ref, a, b, g };
}

const dimsOf = (d: ReturnType<typeof data>): SliceDim[] => [
  { name: 'a', codes: d.a, names: ['a0', 'a1', 'a2'] },
  { name: 'b', codes: d.b, names: ['b0', 'b1', 'b2', 'b3', 'b4'] },
];

/** The reference: each slice's rows copied in row order, then the per-slice functions. */
function reference(
  d: ReturnType<typeof data>,
  keep: (i: number) => boolean,
  opts: { vif: number; minPer?: number; minBucket?: number },
) {
  const idx: number[] = [];
  for (let i = 0; i < d.score.length; i++) if (keep(i)) idx.push(i);
  const pick = (c: Float64Array) => Float64Array.from(idx, (i) => c[i]);
  const s = pick(d.score);
  const y = pick(d.y);
  const p = pick(d.prob);
  const r = pick(d.ref);
  return {
    rows: idx.length,
    auc: aucDeLong(s, y, { variance_inflation: opts.vif, min_per_class: opts.minPer }),
    topk: topkHitRate(s, y, { min_bucket: opts.minBucket }),
    ece: ece(p, y, 10),
    brier: brier(p, y),
    brier_skill: brierSkillVsRef(p, y, r),
  };
}

describe('radixSortRows', () => {
  it('orders rows exactly as a comparator sort (ties, -0 = +0, infinities, denormals, long runs of one high word)', () => {
    const rng = new EvalRng(3);
    const n = 5000;
    const score = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      score[i] =
        u < 0.3
          ? Math.round(rng.normal() * 3)
          : u < 0.35
            ? -0
            : u < 0.37
              ? (rng.uniform() < 0.5 ? -1 : 1) * Infinity
              : u < 0.4
                ? (rng.uniform() - 0.5) * 1e-310
                : u < 0.5
                  ? // long runs sharing the high 32 bits (differences below 2^-20 relative), some tied
                    (rng.uniform() < 0.5 ? -1 : 1) * (1 + rng.int(300) * 2 ** -40)
                  : u < 0.53
                    ? 3 + rng.int(20) * 2 ** -45
                    : rng.normal() * 10 ** rng.int(8);
    }
    const pay = Int32Array.from({ length: n }, (_, i) => i);
    const r = radixSort(score, pay, n);
    const want = [...score].sort((p, q) => p - q);
    // equal as numbers at every position (-0 sorted as +0: one tie group), payload = the value's row
    expect([...r.value]).toEqual(want.map((v) => (v === 0 ? 0 : v)));
    expect([...r.payload].map((i) => (score[i] === 0 ? 0 : score[i]))).toEqual([...r.value]);
    expect(new Set(r.payload).size).toBe(n);
    // stable: equal values keep their payload order
    for (let k = 1; k < n; k++)
      if (r.value[k] === r.value[k - 1]) expect(r.payload[k]).toBeGreaterThan(r.payload[k - 1]);
  });
});

describe('sliceMetrics via evaluateSlices and grouped layouts = per-slice reference (AUC, top-k bit-exact)', () => {
  it('one group: every slice of two dimensions, with and without probabilities', () => {
    let drift = 0;
    for (const seed of [1, 2, 7]) {
      const d = data(seed, 4000);
      const dims = dimsOf(d);
      const rows = evaluateSlices({ score: d.score, y: d.y, prob: d.prob }, dims, {
        auc: { variance_inflation: 60 },
        sample_ms: 1000,
        topk: { min_bucket: 5 },
      });
      // 'all' + 3 a-values + '(unknown)' + 5 b-values (b4 empty, no unknown b)
      expect(rows.map((r) => `${r.dim}=${r.value}`)).toEqual([
        'all=all',
        'a=a0',
        'a=a1',
        'a=a2',
        'a=(unknown)',
        'b=b0',
        'b=b1',
        'b=b2',
        'b=b3',
        'b=b4',
      ]);
      for (const r of rows) {
        const codes = r.dim === 'a' ? d.a : d.b;
        const keep = r.dim === 'all' ? () => true : (i: number) => codes[i] === r.code;
        const ref = reference(d, keep, { vif: 60, minBucket: 5 });
        expect(r.rows).toBe(ref.rows);
        expect(r.auc).toEqual(ref.auc);
        expect(r.topk).toEqual(ref.topk);
        drift = Math.max(drift, expectClose(r.ece, ref.ece, `${r.dim}=${r.value} ece`));
        drift = Math.max(drift, expectClose(r.brier, ref.brier, `${r.dim}=${r.value} brier`));
        expect(r.effective_hours).toBe((ref.rows * 1000) / 3.6e6);
      }
      // some slices must be computable and some not, or the test proves little
      expect(rows.filter((r) => r.auc.auc !== null).length).toBeGreaterThan(5);
      expect(rows.find((r) => r.value === 'b4')!.auc.reason).toMatch(/insufficient/);
      const noProb = evaluateSlices({ score: d.score, y: d.y }, dims, { topk: false });
      expect(noProb.map((r) => r.auc)).toEqual(
        rows.map(
          (r) =>
            reference(d, r.dim === 'all' ? () => true : (i) => (r.dim === 'a' ? d.a : d.b)[i] === r.code, { vif: 1 })
              .auc,
        ),
      );
      expect(noProb.every((r) => r.topk.value === null && r.ece.value === null)).toBe(true);
    }
    // the reordered sums do differ somewhere (else the tolerance is untested), by rounding only
    expect(drift).toBeGreaterThan(0);
    expect(drift).toBeLessThan(1e-14);
  });

  it('groups plus the pooled group: each group x slice, and Brier skill against a per-row reference', () => {
    const d = data(11, 6000);
    const dims = dimsOf(d);
    const layout = sliceLayout(d.y, dims, { codes: d.g, count: 3, pooled: true });
    const out = layoutRows(
      layout,
      { score: d.score, y: d.y, prob: d.prob, ref: d.ref },
      {
        auc: { variance_inflation: 3, min_per_class: 10 },
        topk: { min_bucket: 3 },
      },
    );
    expect(new Set(layout.slots.map((s) => s.group))).toEqual(new Set([0, 1, 2, 3]));
    for (let k = 0; k < layout.slots.length; k++) {
      const s = layout.slots[k];
      const inGroup = (i: number) => s.group === 3 || d.g[i] === s.group;
      const codes = s.dim === 'a' ? d.a : d.b;
      const keep = (i: number) => inGroup(i) && (s.dim === 'all' || codes[i] === s.code);
      const ref = reference(d, keep, { vif: 3, minPer: 10, minBucket: 3 });
      const r = out.rows[k];
      expect([r.rows, r.auc, r.topk]).toEqual([ref.rows, ref.auc, ref.topk]);
      expectClose(r.ece, ref.ece, `slot ${k} ece`);
      expectClose(r.brier, ref.brier, `slot ${k} brier`);
      expectClose(out.brier_skill![k], ref.brier_skill, `slot ${k} brier_skill`);
    }
  });

  it('top-k with the cut inside a tie group and at zero; deterministic', () => {
    // 200 rows: 40 at |s| = 3, the rest 0: k = 10 falls inside the tie group; a second slice is all zeros
    const n = 200;
    const score = new Float64Array(n);
    const y = new Float64Array(n);
    const code = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      score[i] = i < 40 ? (i % 2 ? 3 : -3) : 0;
      y[i] = i % 3 === 0 ? 1 : 0;
      code[i] = i < 40 ? 0 : 1;
    }
    const dims: SliceDim[] = [{ name: 'c', codes: code, names: ['tied', 'zero'] }];
    const rows = evaluateSlices({ score, y }, dims, { topk: { min_bucket: 1 } });
    for (const r of rows) {
      const keep = (i: number) => r.dim === 'all' || code[i] === r.code;
      const idx = [...Array(n).keys()].filter(keep);
      const want = topkHitRate(
        Float64Array.from(idx, (i) => score[i]),
        Float64Array.from(idx, (i) => y[i]),
        { min_bucket: 1 },
      );
      expect(r.topk).toEqual(want);
    }
    expect(rows[0].topk).toMatchObject({ k: 10, cut: 3, bucket: 40, ties_at_cut: 40 });
    expect(rows[2].topk).toMatchObject({ cut: 0, bucket: 0, zeros_dropped: 160 });
    const again = evaluateSlices({ score, y }, dims, { topk: { min_bucket: 1 } });
    expect(again).toEqual(rows);
  });

  it('rejects bad membership ids and column lengths', () => {
    const m = membershipOf(2, 1, Int32Array.of(0, 0), 1);
    expect(() => membershipOf(2, 1, Int32Array.of(0, 3), 1)).toThrow(/id 3 at row 1/);
    expect(() => sliceMetrics(m, { score: [1], y: [1] })).toThrow(/column lengths/);
    expect(() => evaluateSlices({ score: [1, 2], y: [1, 0] }, [{ name: 'x', codes: [0, 5], names: ['a'] }])).toThrow(
      /code 5 at row 1/,
    );
  });
});
