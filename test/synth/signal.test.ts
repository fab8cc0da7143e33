/**
 * The statistical structure of the default synthetic day (24 h x 6 symbols):
 * - regimes: trades/s over 300 s windows crosses ACTIVE_TPS = 2.0 both ways,
 *   Quiet ~0.7-1.5/s, Active ~3-6/s;
 * - sessions: London and NY busier than Tokyo (UTC windows of the default rules
 *   in August: Tokyo 21-07, London 07-12, NY 12-21);
 * - volatility clustering: |1-min mid returns| are autocorrelated;
 * - the order-flow effect: the rank AUC of the signed trade volume of the last
 *   60 s (and of the L1 OFI, and of their 0.6/0.4 fusion) against the sign of the
 *   60 s forward mid change, sampled every second (reference.ts), lies in the
 *   documented band for the default strength and at 0.5 +- 0.02 for effect 0
 *   (README.md, "Expected AUC").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, generate } from '../../src/synth/index.js';
import { FlowSink, flowAuc, type EventView } from './reference.js';

const START = DEFAULT_SYNTH.startMs;
const END = START + 24 * 3_600_000;

let withEffect: FlowSink;
let noEffect: FlowSink;
const views = new Map<string, EventView>();

beforeAll(async () => {
  withEffect = new FlowSink();
  await generate(DEFAULT_SYNTH, withEffect);
  noEffect = new FlowSink();
  await generate({ ...DEFAULT_SYNTH, effect: 0 }, noEffect);
  for (const s of withEffect.symbols()) views.set(s, withEffect.view(s));
}, 120_000);

/** Trades per second over trailing 300 s windows, sampled every 60 s. */
function tpsWindows(ts: Float64Array): number[] {
  const out: number[] = [];
  let lo = 0;
  let hi = 0;
  for (let s = START + 300_000; s <= END; s += 60_000) {
    while (hi < ts.length && ts[hi] <= s) hi++;
    while (lo < hi && ts[lo] <= s - 300_000) lo++;
    out.push((hi - lo) / 300);
  }
  return out;
}

describe('synthetic day: regimes and sessions', () => {
  it('has trade rates that cross ACTIVE_TPS = 2.0 both ways, Quiet ~1/s and Active ~4/s', () => {
    for (const [sym, v] of views) {
      const w = tpsWindows(v.tradeTs);
      let up = 0;
      let down = 0;
      for (let i = 1; i < w.length; i++) {
        if (w[i - 1] < 2 && w[i] >= 2) up++;
        if (w[i - 1] >= 2 && w[i] < 2) down++;
      }
      expect(up, sym).toBeGreaterThanOrEqual(5);
      expect(down, sym).toBeGreaterThanOrEqual(5);
      const lowW = w.filter((x) => x < 2);
      const highW = w.filter((x) => x >= 2);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(highW.length / w.length, sym).toBeGreaterThan(0.15);
      expect(highW.length / w.length, sym).toBeLessThan(0.7);
      expect(mean(lowW), sym).toBeGreaterThan(0.6);
      expect(mean(lowW), sym).toBeLessThan(1.6);
      // windows that straddle a switch pull the Active mean down a little
      expect(mean(highW), sym).toBeGreaterThan(2.8);
      expect(mean(highW), sym).toBeLessThan(6.5);
    }
  });

  it('is busier in London and NY hours than in Tokyo hours', () => {
    const count = { Tokyo: 0, London: 0, NY: 0 };
    const hours = { Tokyo: 10, London: 5, NY: 9 };
    for (const v of views.values()) {
      for (const t of v.tradeTs) {
        const h = new Date(t).getUTCHours();
        if (h >= 7 && h < 12) count.London++;
        else if (h >= 12 && h < 21) count.NY++;
        else count.Tokyo++;
      }
    }
    const rate = (k: keyof typeof count) => count[k] / hours[k];
    expect(rate('London') / rate('Tokyo')).toBeGreaterThan(1.15);
    expect(rate('NY') / rate('Tokyo')).toBeGreaterThan(1.3);
  });

  it('clusters volatility: |1-min mid returns| are autocorrelated', () => {
    for (const [sym, v] of views) {
      const r: number[] = [];
      let k = 0;
      let prev = NaN;
      for (let s = START + 60_000; s < END; s += 60_000) {
        while (k < v.quoteTs.length && v.quoteTs[k] <= s) k++;
        const mid = (v.bid[k - 1] + v.ask[k - 1]) / 2;
        if (!Number.isNaN(prev)) r.push(Math.abs(Math.log(mid / prev)));
        prev = mid;
      }
      const m = r.reduce((a, b) => a + b, 0) / r.length;
      let c0 = 0;
      let c5 = 0;
      for (let i = 0; i < r.length; i++) {
        c0 += (r[i] - m) ** 2;
        if (i >= 5) c5 += (r[i] - m) * (r[i - 5] - m);
      }
      expect(c5 / c0, sym).toBeGreaterThan(0.08);
    }
  });
});

describe('synthetic day: order-flow effect (README "Expected AUC")', () => {
  it(`default effect (${DEFAULT_SYNTH.effect}): the flow of the last 60 s predicts the 60 s mid change, AUC in 0.54..0.62`, () => {
    const cvd: number[] = [];
    const ofi: number[] = [];
    const fusion: number[] = [];
    for (const [sym, v] of views) {
      const a = flowAuc(v, START, END, 60_000);
      expect(a.n, sym).toBeGreaterThan(50_000);
      // per symbol: 8 seeds gave 0.531..0.589 (cvd) and 0.550..0.600 (fusion), README.md
      expect(a.cvd, sym).toBeGreaterThan(0.52);
      expect(a.cvd, sym).toBeLessThan(0.64);
      expect(a.fusion, sym).toBeGreaterThan(0.53);
      cvd.push(a.cvd);
      ofi.push(a.ofi);
      fusion.push(a.fusion);
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    expect(mean(cvd)).toBeGreaterThan(0.54);
    expect(mean(cvd)).toBeLessThan(0.62);
    expect(mean(ofi)).toBeGreaterThan(0.53);
    // the drift loads 0.4 / 0.6 on the trade / quote flows: the 0.6·z_ofi + 0.4·z_cvd fusion beats either alone
    expect(mean(fusion)).toBeGreaterThan(Math.max(mean(cvd), mean(ofi)));
    expect(mean(fusion)).toBeLessThan(0.62);
  });

  it('effect 0: no predictive power, AUC within 0.5 +- 0.02', () => {
    const aucs: number[] = [];
    for (const sym of noEffect.symbols()) {
      const a = flowAuc(noEffect.view(sym), START, END, 60_000);
      expect(Math.abs(a.cvd - 0.5), sym).toBeLessThan(0.05);
      expect(Math.abs(a.fusion - 0.5), sym).toBeLessThan(0.05);
      aucs.push(a.cvd);
    }
    const mean = aucs.reduce((x, y) => x + y, 0) / aucs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
  });
});
