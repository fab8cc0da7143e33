/**
 * `mergeEngineRecords` on hand-made shard records: incidents and fingerprint
 * entries merged on their release-order keys (not shard by shard), renumbered
 * INC-0001.. in merged order, ids quoted in texts following their incident;
 * a shard whose keys go backwards is refused with a one-line FlowlabError.
 */
import { describe, expect, it } from 'vitest';
import { mergeEngineRecords, type EngineRecord } from '../../src/canary/shards.js';
import type { Incident } from '../../src/canary/engine.js';
import type { OrderKey } from '../../src/pipeline/pipeline.js';
import { FlowlabError } from '../../src/core/errors.js';

const STABLE = [{ fingerprint: 'f', defaults: { ofi: 0.6, cvd: 0.4 }, overrides: {} }];

function inc(id: string, symbol: string, why: string): Incident {
  return {
    id,
    symbol,
    slice: 'all',
    gate: why.startsWith('INC-') ? 'p1_timeout' : 'fusion_auc_active',
    severity: 'P1',
    opened_at_ms: 0,
    closed_at_ms: null,
    who: 'canary',
    why,
    metrics_before: {},
    metrics_after: null,
    action: 'rollback',
    actions: [{ at_ms: 0, action: 'rollback' }],
    fingerprint_before: 'f',
    fingerprint_after: 'f',
    gate_mode: 'seed',
  };
}

function record(symbol: string, incidents: [Incident, OrderKey][], fps: [string, OrderKey][]): EngineRecord {
  return {
    gateMode: 'seed',
    stableChain: STABLE,
    tracks: [],
    timeseries: [],
    merge: [],
    folds: [],
    incidents: incidents.map((x) => x[0]),
    incidentKeys: incidents.map((x) => x[1]),
    fingerprints: fps.map(([reason]) => ({ symbol, fingerprint: 'f', from_ms: 0, reason })),
    fingerprintKeys: fps.map((x) => x[1]),
  };
}

describe('mergeEngineRecords', () => {
  it('merges on the keys, renumbers, and rewrites the ids quoted in texts', () => {
    // shard 1 (AAA): INC-0001 at t=10, its timeout INC-0002 at t=40; shard 2 (BBB): INC-0001 at t=20, INC-0002 at 30
    const a = record(
      'AAA',
      [
        [inc('INC-0001', 'AAA', 'auc low'), [0, 10, 1, 'AAA', 'trades']],
        [inc('INC-0002', 'AAA', 'INC-0001 (fusion_auc_active) open for 30 min'), [0, 40, 5, 'AAA', 'quotes']],
      ],
      [
        ['config at start', [0, 1, 0, 'AAA', 'quotes']],
        ['rollback: INC-0001 open 30 min', [0, 40, 5, 'AAA', 'quotes']],
      ],
    );
    const b = record(
      'BBB',
      [
        [inc('INC-0001', 'BBB', 'auc low'), [0, 20, 2, 'BBB', 'trades']],
        [inc('INC-0002', 'BBB', 'auc low again'), [3, 'BBB']],
      ],
      [['config at start', [0, 2, 0, 'BBB', 'quotes']]],
    );
    const r = mergeEngineRecords([a, b], 60_000).finish();
    expect(r.incidents.map((i) => `${i.id} ${i.symbol} ${i.why}`)).toEqual([
      'INC-0001 AAA auc low',
      'INC-0002 BBB auc low',
      'INC-0003 AAA INC-0001 (fusion_auc_active) open for 30 min',
      'INC-0004 BBB auc low again',
    ]);
    expect(r.fingerprints.map((f) => `${f.symbol} ${f.reason}`)).toEqual([
      'AAA config at start',
      'BBB config at start',
      'AAA rollback: INC-0001 open 30 min',
    ]);
    // the shards' own records are left as they were
    expect(b.incidents[0].id).toBe('INC-0001');
    // the same merge with the shards the other way round
    const swapped = mergeEngineRecords([b, a], 60_000).finish();
    expect(swapped.incidents).toEqual(r.incidents);
    expect(swapped.fingerprints).toEqual(r.fingerprints);
  });

  it("refuses a shard whose keys go backwards (it could not be placed as one run's)", () => {
    const a = record(
      'AAA',
      [
        [inc('INC-0001', 'AAA', 'x'), [0, 50, 1, 'AAA', 'trades']],
        [inc('INC-0002', 'AAA', 'y'), [0, 40, 1, 'AAA', 'trades']],
      ],
      [],
    );
    const b = record('BBB', [], []);
    expect(() => mergeEngineRecords([a, b], 60_000)).toThrow(FlowlabError);
    expect(() => mergeEngineRecords([a, b], 60_000)).toThrow(
      /shard 1's entries are not in release order.*--threads 1$/,
    );
  });
});
