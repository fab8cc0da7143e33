/**
 * Forward as-of labels (ARCHITECTURE §5), batch and streaming.
 *
 * For a sample at time t (ms), horizon H (ms), tolerance tol = merge_tol_ms (inclusive):
 *   mid(t)   = the sample's own mid when given, else the last quote with ts <= t
 *   mid(t+H) = the first quote with ts >= t + H, provided ts - (t + H) <= tol;
 *              otherwise the label is unmatched
 *   y = 1 if mid(t+H) > mid(t), 0 if lower; NaN (excluded) if equal or unmatched.
 *   resolved_at = ts of the quote that gave mid(t+H): the label is KNOWN only
 *   from that time on (NaN when unmatched). Always resolved_at >= t + H.
 *
 * Counts: matched = both mids found within tolerance (equal mids included),
 * unmatched = unmatched_no_start (mid(t) unknown: no quote yet or NaN sample
 * mid) + unmatched_no_end (no quote in [t+H, t+H+tol]); matched = equal + up + down;
 * label_match_rate = matched / n (NaN when n = 0).
 *
 * Quotes with a non-finite mid are ignored (neither start nor end of a label).
 * Quote ties (same ts): "last at or before" takes the last one in array/feed
 * order, "first at or after" the first one.
 *
 * Batch `forwardLabels`: `t` and `quoteTs` non-decreasing (checked, RangeError
 * otherwise); one two-pointer pass, O(n + m), no allocation beyond the outputs.
 *
 * Streaming `LabelResolver`: fed quotes and samples in event order, it calls
 * `onLabel(index, y, resolvedAt, sampleT)` for each sample, in sample order, as soon as
 * its label is known (the resolving quote arrived, or a later quote proved it
 * unmatched, or `flush()` at end of stream). Ordering contract:
 *   - quotes: non-decreasing ts;
 *   - samples: non-decreasing t; `addSample(t)` without a mid (as-of from the
 *     quotes fed so far) must come after every quote with ts <= t and before any
 *     quote with ts > t (quotes first at equal times, like the sequencer's
 *     KIND_RANK); `addSample(t, mid)` may come later, as long as no quote with
 *     ts >= t + H has been fed yet. Violations throw a RangeError.
 * Fed the same data in that order, it produces exactly the batch result
 * (tested as an oracle). O(1) amortised per call.
 *
 * Example:
 *   const r = forwardLabels(Float64Array.of(0), null, Float64Array.of(0, 60_000), Float64Array.of(100, 101),
 *                           { horizon_ms: 60_000, merge_tol_ms: 1500 });
 *   r.y[0] === 1; r.resolved_at[0] === 60_000; r.label_match_rate === 1
 */

export interface LabelOptions {
  /** Horizon H in ms (labels.horizons_s · 1000), > 0. */
  readonly horizon_ms: number;
  /** Forward as-of tolerance in ms, inclusive (default config 1500). */
  readonly merge_tol_ms: number;
}

export interface LabelCounts {
  n: number;
  matched: number;
  unmatched: number;
  unmatched_no_start: number;
  unmatched_no_end: number;
  equal: number;
  up: number;
  down: number;
}

export interface LabelResult {
  /** 1 up, 0 down, NaN excluded (equal or unmatched). */
  readonly y: Float64Array;
  /** ts of the resolving quote (NaN when unmatched). */
  readonly resolved_at: Float64Array;
  readonly counts: LabelCounts;
  readonly label_match_rate: number;
}

function checkOpts(o: LabelOptions): void {
  if (!(Number.isFinite(o.horizon_ms) && o.horizon_ms > 0))
    throw new RangeError(`labels: horizon_ms must be a finite number > 0, got ${o.horizon_ms}`);
  if (!(Number.isFinite(o.merge_tol_ms) && o.merge_tol_ms >= 0))
    throw new RangeError(`labels: merge_tol_ms must be a finite number >= 0, got ${o.merge_tol_ms}`);
}

export function emptyCounts(): LabelCounts {
  return { n: 0, matched: 0, unmatched: 0, unmatched_no_start: 0, unmatched_no_end: 0, equal: 0, up: 0, down: 0 };
}

function checkSorted(name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`${name}[${i}] = ${a[i]}: times must be finite`);
    if (i > 0 && a[i] < a[i - 1])
      throw new RangeError(`${name}[${i}] = ${a[i]} < ${name}[${i - 1}] = ${a[i - 1]}: times must be non-decreasing`);
  }
}

/**
 * Batch forward as-of labels. `sampleMid` = the samples' mid(t) (NaN = unknown),
 * or null to take the last quote at or before t.
 */
export function forwardLabels(
  t: ArrayLike<number>,
  sampleMid: ArrayLike<number> | null,
  quoteTs: ArrayLike<number>,
  quoteMid: ArrayLike<number>,
  opts: LabelOptions,
): LabelResult {
  checkOpts(opts);
  const n = t.length;
  const M = quoteTs.length;
  if (quoteMid.length !== M) throw new RangeError(`labels: quoteTs has ${M} rows but quoteMid has ${quoteMid.length}`);
  if (sampleMid !== null && sampleMid.length !== n)
    throw new RangeError(`labels: t has ${n} rows but sampleMid has ${sampleMid.length}`);
  checkSorted('t', t);
  checkSorted('quoteTs', quoteTs);
  const H = opts.horizon_ms;
  const tol = opts.merge_tol_ms;
  const y = new Float64Array(n);
  const ra = new Float64Array(n);
  const c = emptyCounts();
  c.n = n;
  let a = 0; // quotes [0, a) have ts <= t_i
  let last = NaN;
  let b = 0; // first valid quote with ts >= t_i + H
  for (let i = 0; i < n; i++) {
    const ti = t[i];
    let m0: number;
    if (sampleMid === null) {
      while (a < M && quoteTs[a] <= ti) {
        const q = quoteMid[a];
        if (Number.isFinite(q)) last = q;
        a++;
      }
      m0 = last;
    } else {
      m0 = sampleMid[i];
    }
    const target = ti + H;
    while (b < M && (quoteTs[b] < target || !Number.isFinite(quoteMid[b]))) b++;
    if (!Number.isFinite(m0)) {
      c.unmatched++;
      c.unmatched_no_start++;
      y[i] = NaN;
      ra[i] = NaN;
      continue;
    }
    if (b >= M || quoteTs[b] - target > tol) {
      c.unmatched++;
      c.unmatched_no_end++;
      y[i] = NaN;
      ra[i] = NaN;
      continue;
    }
    const m1 = quoteMid[b];
    c.matched++;
    ra[i] = quoteTs[b];
    if (m1 > m0) {
      y[i] = 1;
      c.up++;
    } else if (m1 < m0) {
      y[i] = 0;
      c.down++;
    } else {
      y[i] = NaN;
      c.equal++;
    }
  }
  return { y, resolved_at: ra, counts: c, label_match_rate: n > 0 ? c.matched / n : NaN };
}

/** Called once per sample, in sample order: y = 1 / 0 / NaN (excluded), resolvedAt = NaN when unmatched. */
/**
 * y: 1 up, 0 down, NaN equal or unmatched; resolvedAt: the resolving quote's ts (NaN if unmatched); sampleT: the
 * sample's t; firstQuoteTs: the first quote at or after t + H whether or not it matched (NaN at flush), so
 * `firstQuoteTs - (t + H)` is the label's alignment gap; tolMs: the tolerance the label was resolved under.
 */
export type LabelCallback = (
  index: number,
  y: number,
  resolvedAt: number,
  sampleT: number,
  firstQuoteTs: number,
  tolMs: number,
) => void;

/** Streaming forward as-of labels; see the file doc for the ordering contract. */
export class LabelResolver {
  private readonly H: number;
  private tol: number;
  private readonly onLabel: LabelCallback;
  // pending samples [head, count) live at positions [0, len) of qT / qMid
  private qT = new Float64Array(256);
  private qMid = new Float64Array(256);
  private qHead = 0;
  private qLen = 0;
  private nextIndex = 0; // index of the next sample added
  private headIndex = 0; // index of the oldest pending sample
  private lastMid = NaN;
  private lastQuoteTs = -Infinity;
  private lastSampleT = -Infinity;
  readonly counts: LabelCounts = emptyCounts();

  constructor(opts: LabelOptions, onLabel: LabelCallback) {
    checkOpts(opts);
    this.H = opts.horizon_ms;
    this.tol = opts.merge_tol_ms;
    this.onLabel = onLabel;
  }

  /** The tolerance applied to the quotes fed from now on (a live system may change it, e.g. a canary action). */
  get mergeTolMs(): number {
    return this.tol;
  }
  set mergeTolMs(v: number) {
    checkOpts({ horizon_ms: this.H, merge_tol_ms: v });
    this.tol = v;
  }

  /** Samples added but not yet labelled. */
  get pending(): number {
    return this.qLen - this.qHead;
  }

  get label_match_rate(): number {
    const n = this.counts.n;
    return n > 0 ? this.counts.matched / n : NaN;
  }

  /** Register the sample at time t (index = number of samples added before); returns its index. */
  addSample(t: number, mid?: number): number {
    if (!Number.isFinite(t)) throw new RangeError(`LabelResolver.addSample: t = ${t} must be finite`);
    if (t < this.lastSampleT)
      throw new RangeError(
        `LabelResolver.addSample: t = ${t} < previous sample t = ${this.lastSampleT}: samples must be non-decreasing`,
      );
    let m0: number;
    if (mid === undefined) {
      if (this.lastQuoteTs > t) {
        throw new RangeError(
          `LabelResolver.addSample(${t}) without a mid after a quote at ${this.lastQuoteTs}: the as-of mid would see the future (add samples before later quotes, or pass the sample's mid)`,
        );
      }
      m0 = this.lastMid;
    } else {
      if (this.lastQuoteTs >= t + this.H) {
        throw new RangeError(
          `LabelResolver.addSample(${t}) after a quote at ${this.lastQuoteTs} >= t + H = ${t + this.H}: its resolving quote may already have passed`,
        );
      }
      m0 = mid;
    }
    this.lastSampleT = t;
    if (this.qLen === this.qT.length) this.makeRoom();
    this.qT[this.qLen] = t;
    this.qMid[this.qLen] = m0;
    this.qLen++;
    this.counts.n++;
    return this.nextIndex++;
  }

  /** Feed the next quote (ts non-decreasing); labels it resolves are emitted before it returns. */
  onQuote(ts: number, mid: number): void {
    if (!Number.isFinite(ts)) throw new RangeError(`LabelResolver.onQuote: ts = ${ts} must be finite`);
    if (ts < this.lastQuoteTs)
      throw new RangeError(
        `LabelResolver.onQuote: ts = ${ts} < previous quote ts = ${this.lastQuoteTs}: quotes must be non-decreasing`,
      );
    this.lastQuoteTs = ts;
    if (!Number.isFinite(mid)) return; // ignored, as in the batch version
    this.lastMid = mid;
    const H = this.H;
    while (this.qHead < this.qLen) {
      const t = this.qT[this.qHead];
      const target = t + H;
      if (target > ts) break;
      const m0 = this.qMid[this.qHead];
      this.qHead++;
      const i = this.headIndex++;
      if (!Number.isFinite(m0)) {
        this.counts.unmatched++;
        this.counts.unmatched_no_start++;
        this.onLabel(i, NaN, NaN, t, ts, this.tol);
      } else if (ts - target > this.tol) {
        this.counts.unmatched++;
        this.counts.unmatched_no_end++;
        this.onLabel(i, NaN, NaN, t, ts, this.tol);
      } else {
        this.counts.matched++;
        if (mid > m0) {
          this.counts.up++;
          this.onLabel(i, 1, ts, t, ts, this.tol);
        } else if (mid < m0) {
          this.counts.down++;
          this.onLabel(i, 0, ts, t, ts, this.tol);
        } else {
          this.counts.equal++;
          this.onLabel(i, NaN, ts, t, ts, this.tol);
        }
      }
    }
  }

  /** End of stream: every pending sample is unmatched (no quote will come). */
  flush(): void {
    while (this.qHead < this.qLen) {
      const t = this.qT[this.qHead];
      const m0 = this.qMid[this.qHead];
      this.qHead++;
      this.counts.unmatched++;
      if (Number.isFinite(m0)) this.counts.unmatched_no_end++;
      else this.counts.unmatched_no_start++;
      this.onLabel(this.headIndex++, NaN, NaN, t, NaN, this.tol);
    }
  }

  private makeRoom(): void {
    const live = this.qLen - this.qHead;
    if (this.qHead > 0 && live <= this.qT.length / 2) {
      this.qT.copyWithin(0, this.qHead, this.qLen);
      this.qMid.copyWithin(0, this.qHead, this.qLen);
    } else {
      const cap = this.qT.length * 2;
      const t = new Float64Array(cap);
      const m = new Float64Array(cap);
      t.set(this.qT.subarray(this.qHead, this.qLen));
      m.set(this.qMid.subarray(this.qHead, this.qLen));
      this.qT = t;
      this.qMid = m;
    }
    this.qHead = 0;
    this.qLen = live;
  }
}
