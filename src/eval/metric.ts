/**
 * The shared shape of every evaluation figure, and how reports print it.
 *
 *   { value: number | null, n: number, reason?: string }
 *
 * `value` is null whenever the figure would not mean anything (too few samples,
 * a single class, a zero reference...) and `reason` then says why, e.g.
 * `insufficient samples (n=12; need >= 30)`. A metric never reports a number
 * that only looks meaningful: callers print it with `formatMetric`.
 *
 * `n` is the number of samples the figure was (or would have been) computed on,
 * after exclusions (NaN scores / probabilities, unresolved or excluded labels).
 *
 * Example:
 *   formatMetric({ value: 0.61234, n: 812 })                 // '0.612'
 *   formatMetric({ value: null, n: 12 })                     // 'insufficient samples (n=12)'
 *   formatMetric({ value: null, n: 12, reason: 'insufficient samples (n=12; need >= 30)' })
 */

export interface Metric {
  readonly value: number | null;
  readonly n: number;
  readonly reason?: string;
}

/** Default minimum sample count (per class where classes matter) for any figure. */
export const DEFAULT_MIN_SAMPLES = 30;

/** A null metric with the standard wording. */
export function insufficient(n: number, need: number): Metric {
  return { value: null, n, reason: `insufficient samples (n=${n}; need >= ${need})` };
}

/** Value with `digits` decimals, or the reason (default `insufficient samples (n=..)`) when null. */
export function formatMetric(m: Metric, digits = 3): string {
  if (m.value === null || !Number.isFinite(m.value)) return m.reason ?? `insufficient samples (n=${m.n})`;
  return m.value.toFixed(digits);
}

/** A value with its CI, e.g. `0.612 [0.590, 0.634]`, or the reason when null. */
export function formatWithCi(
  m: Metric & { readonly ci_low?: number | null; readonly ci_high?: number | null },
  digits = 3,
): string {
  const v = formatMetric(m, digits);
  if (m.value === null || m.ci_low == null || m.ci_high == null) return v;
  return `${v} [${m.ci_low.toFixed(digits)}, ${m.ci_high.toFixed(digits)}]`;
}

/** Checks an integer option >= lo; throws a RangeError naming it. */
export function checkInt(name: string, v: number, lo: number): number {
  if (!Number.isInteger(v) || v < lo) throw new RangeError(`${name} must be an integer >= ${lo}, got ${v}`);
  return v;
}

/** Checks a finite number > 0; throws a RangeError naming it. */
export function checkPos(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
  return v;
}
