/**
 * `resampleQuantile` (the merge checks' bootstrap statistic) against the slow
 * obvious reference: copy the resample, sort it, interpolate. The same number
 * bit for bit (Object.is), for resamples of data with many ties (integer ms
 * gaps), without ties, and with -0 / NaN (the sorting path).
 */
import { describe, expect, it } from 'vitest';
import { resampleQuantile } from '../../src/canary/canary.js';
import { EvalRng } from '../../src/eval/rng.js';
import { blockBootstrapCi } from '../../src/eval/sequential.js';

function reference(v: Float64Array, q: number) {
  return (idx: Int32Array, k: number) => {
    const b = new Float64Array(k);
    for (let j = 0; j < k; j++) b[j] = v[idx[j]];
    b.sort();
    const h = (b.length - 1) * q;
    const lo = Math.floor(h);
    return b[lo] + (b[Math.min(lo + 1, b.length - 1)] - b[lo]) * (h - lo);
  };
}

const rng = new EvalRng(12345);
const data: Record<string, Float64Array> = {
  'integer gaps (many ties)': Float64Array.from({ length: 5000 }, () => Math.floor(rng.uniform() ** 3 * 4000)),
  'continuous (no ties)': Float64Array.from({ length: 3001 }, () => (rng.uniform() - 0.3) * 1e3),
  'one value': new Float64Array(50).fill(7),
  'two values': Float64Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? 1 : 2)),
  'with -0': Float64Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : i)),
  'with NaN': Float64Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? Number.NaN : i % 11)),
};

describe('resampleQuantile', () => {
  for (const [name, v] of Object.entries(data)) {
    it(`${name}: the sorted resample's quantile, bit for bit`, () => {
      for (const q of [0, 0.01, 0.5, 0.9, 0.99, 1]) {
        const fast = resampleQuantile(v, q);
        const slow = reference(v, q);
        const r = new EvalRng(99);
        for (let rep = 0; rep < 40; rep++) {
          const k = rep === 0 ? v.length : 1 + r.int(v.length);
          const idx = Int32Array.from({ length: k }, () => r.int(v.length));
          const a = fast(idx, k);
          const b = slow(idx, k);
          if (!Object.is(a, b)) throw new Error(`q ${q} rep ${rep}: ${a} vs ${b}`);
        }
        // and as the bootstrap uses it: the same CI
        expect(blockBootstrapCi(v.length, 37, 25, new EvalRng(5), fast)).toEqual(
          blockBootstrapCi(v.length, 37, 25, new EvalRng(5), slow),
        );
      }
    });
  }
});
