import { describe, it, expect } from 'vitest';
import { DEFAULT_CALC_PARAMS, cloneCalcParams } from '../../src/calc/params.js';
import { Sequencer } from '../../src/pipeline/sequencer.js';
import { DepthOfi } from '../../src/calc/ofi.js';
import { RobustScale } from '../../src/calc/robust.js';
import { Fusion } from '../../src/calc/fusion.js';
import { EventLog, SampleLog } from './helpers.js';
import { SliceTracker } from '../../src/calc/slices.js';
import { EventDetector } from '../../src/calc/events.js';
import { SymbolCalc } from '../../src/pipeline/symbol-calc.js';

describe('DEFAULT_CALC_PARAMS', () => {
  it('holds the seed values of ARCHITECTURE §1/§4', () => {
    const d = DEFAULT_CALC_PARAMS;
    expect(d.sequencer.watermark_ms).toBe(500);
    expect(d.robust).toMatchObject({
      half_life_sec: 600,
      scale_fast_weight: 0.2,
      mad_multiplier: 1.8,
      winsor_limit: 8,
    });
    expect(d.fusion).toMatchObject({ sample_ms: 1000, weights: { ofi: 0.6, cvd: 0.4 }, gate: 0 });
    expect(d.slices).toMatchObject({ win_secs: 300, active_tps: 2.0, vol_split: 0.5, fee_tier_default: 'TM' });
  });

  it('is deeply frozen; cloneCalcParams gives a mutable deep copy', () => {
    expect(Object.isFrozen(DEFAULT_CALC_PARAMS.fusion.weights)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CALC_PARAMS.slices.sessions[0])).toBe(true);
    const c = cloneCalcParams();
    c.fusion.weights.ofi = 0.9;
    expect(DEFAULT_CALC_PARAMS.fusion.weights.ofi).toBe(0.6);
    expect(c).not.toBe(DEFAULT_CALC_PARAMS);
  });

  it('every calculator accepts the defaults', () => {
    const d = DEFAULT_CALC_PARAMS;
    expect(() => new Sequencer(d.sequencer, () => {})).not.toThrow();
    expect(() => new DepthOfi(d.ofi)).not.toThrow();
    expect(() => new RobustScale(d.robust)).not.toThrow();
    expect(() => new Fusion(d.fusion, new SampleLog())).not.toThrow();
    expect(() => new SliceTracker(d.slices, 'BTCUSDT')).not.toThrow();
    expect(() => new EventDetector(d.events, 'BTCUSDT', new EventLog())).not.toThrow();
    expect(() => new SymbolCalc(d, 'BTCUSDT')).not.toThrow();
  });

  it('config errors name the key, the value and what is allowed', () => {
    const c = cloneCalcParams();
    c.fusion.robust.mad_window = 0;
    expect(() => new Fusion(c.fusion, new SampleLog())).toThrow(
      'fusion.robust.mad_window: 0 is not valid (expected an integer >= 1 and <= 1000000)',
    );
    const s = cloneCalcParams();
    s.slices.vol_split = 1.5;
    expect(() => new SliceTracker(s.slices, 'X')).toThrow(
      'slices.vol_split: 1.5 is not valid (expected a number >= 0 and <= 1)',
    );
  });
});
