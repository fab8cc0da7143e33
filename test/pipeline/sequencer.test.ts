import { describe, it, expect } from 'vitest';
import {
  Sequencer,
  packHandle,
  handleBatch,
  handleRow,
  CLOCK_EXCHANGE,
  CLOCK_LOCAL,
  FLAG_LATE,
  FLAG_LOCAL_CLOCK,
  FLAG_PAST_WATERMARK,
} from '../../src/pipeline/sequencer.js';
import { DEFAULT_CALC_PARAMS, type SequencerParams } from '../../src/calc/params.js';
import { KIND_RANK } from '../../src/core/types.js';
import { mulberry32 } from '../calc/helpers.js';

interface Tick {
  rank: number;
  ts: number;
  recv: number;
  seq: number;
  handle: number;
  clock: number;
  /** lateness group (a symbol); 0 when omitted */
  group?: number;
  /** a heartbeat of the group (`advance(recv, group)`), not a tick */
  beat?: boolean;
}
interface Out {
  handle: number;
  ts: number;
  rank: number;
  flags: number;
}

function params(over: Partial<SequencerParams> = {}): SequencerParams {
  return { ...DEFAULT_CALC_PARAMS.sequencer, ...over };
}

function run(p: SequencerParams, ticks: Tick[], seq?: Sequencer): { out: Out[]; seq: Sequencer } {
  const out: Out[] = [];
  const s = seq ?? new Sequencer(p, (handle, ts, rank, flags) => out.push({ handle, ts, rank, flags }));
  for (const t of ticks) {
    if (t.beat) s.advance(t.recv, t.group ?? 0);
    else s.push(t.rank, t.ts, t.recv, t.seq, t.handle, t.clock, t.group ?? 0);
  }
  s.flush();
  return { out, seq: s };
}

/** Random exchange-clock ticks: event times with bursts of equal ts, recv = ts + skew + jitter in [0, J). */
function randomTicks(seed: number, n: number, jitter: number, skew: number): Tick[] {
  const rnd = mulberry32(seed);
  const ticks: Tick[] = [];
  let ts = 1_723_161_255_000;
  for (let i = 0; i < n; i++) {
    const u = rnd();
    ts += u < 0.3 ? 0 : Math.floor(rnd() * 40); // 30% identical timestamps
    const rank = [0, 1, 2][Math.floor(rnd() * 3)];
    ticks.push({ rank, ts, recv: ts + skew + Math.floor(rnd() * jitter), seq: 0, handle: i, clock: CLOCK_EXCHANGE });
  }
  // arrival order = (recv, then a random tie order); recv_seq assigned in arrival order
  const order = ticks.map((t, i) => ({ t, k: rnd(), i }));
  order.sort((a, b) => a.t.recv - b.t.recv || a.k - b.k);
  return order.map((o, j) => ({ ...o.t, seq: j }));
}

function tupleSorted(ticks: Tick[]): number[] {
  return [...ticks].sort((a, b) => a.ts - b.ts || a.rank - b.rank || a.seq - b.seq).map((t) => t.handle);
}

type Pend = Tick & { key: number; ord: number; past: number };
const byTuple = (a: Pend, b: Pend) => a.key - b.key || a.rank - b.rank || a.seq - b.seq || a.ord - b.ord;

/**
 * Slow reference, per-group semantics: every group has its own arrival clock
 * (max recv of its own ticks), its own skew (fixed, or the `quantile` order
 * statistic of its first `samples` exchange-clock `recv - ts`, frozen at the
 * cap, after `maxWait` of its own clock, or at flush; 0 without samples), its
 * own pending list (sorted in full at every push) and its own last released
 * tick. A push touches its own group only; flush merges all groups by tuple.
 */
function slowSequencer(
  ticks: Tick[],
  watermark: number,
  skew: number | null,
  samples = 500,
  quantile = 0.01,
  maxWait = 10_000,
): Out[] {
  const out: Out[] = [];
  interface G {
    maxRecv: number;
    firstRecv: number;
    skew: number;
    frozen: boolean;
    samples: number[];
    staged: Pend[];
    pending: Pend[];
    last: { ts: number; rank: number; seq: number };
  }
  const groups = new Map<number, G>();
  let ord = 0;
  const emit = (p: Pend) => {
    out.push({
      handle: p.handle,
      ts: p.key,
      rank: p.rank,
      flags: p.past | (p.clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0),
    });
  };
  const release = (g: G, limit: number) => {
    g.pending.sort(byTuple);
    while (g.pending.length > 0 && g.pending[0].key <= limit) {
      const p = g.pending.shift()!;
      g.last = { ts: p.key, rank: p.rank, seq: p.seq };
      emit(p);
    }
  };
  const freeze = (g: G) => {
    const s = [...g.samples].sort((x, y) => x - y);
    g.skew = s.length === 0 ? 0 : s[Math.floor(quantile * (s.length - 1))];
    g.frozen = true;
    for (const p of g.staged) g.pending.push({ ...p, key: p.clock === CLOCK_LOCAL ? p.recv - g.skew : p.ts });
    g.staged = [];
  };
  for (const t of ticks) {
    const gid = t.group ?? 0;
    let g = groups.get(gid);
    if (!g) {
      g = {
        maxRecv: -Infinity,
        firstRecv: t.recv,
        skew: skew ?? NaN,
        frozen: skew !== null,
        samples: [],
        staged: [],
        pending: [],
        last: { ts: -Infinity, rank: -1, seq: -Infinity },
      };
      groups.set(gid, g);
    }
    g.maxRecv = Math.max(g.maxRecv, t.recv);
    if (t.beat) {
      // heartbeat: the group's clock moves, nothing is pushed
      if (!g.frozen && g.maxRecv - g.firstRecv >= maxWait) freeze(g);
      if (g.frozen) release(g, g.maxRecv - g.skew - watermark);
      continue;
    }
    if (!g.frozen) {
      if (t.clock === CLOCK_EXCHANGE && g.samples.length < samples) g.samples.push(t.recv - t.ts);
      g.staged.push({ ...t, key: t.ts, ord: ord++, past: 0 });
      if (g.samples.length >= samples || g.maxRecv - g.firstRecv >= maxWait) {
        freeze(g);
        release(g, g.maxRecv - g.skew - watermark);
      }
      continue;
    }
    const key = t.clock === CLOCK_LOCAL ? t.recv - g.skew : t.ts;
    const limit = g.maxRecv - g.skew - watermark;
    // arrived after its watermark had passed (on its own group's clock)
    const past = key < limit ? FLAG_PAST_WATERMARK : 0;
    const l = g.last;
    if (key < l.ts || (key === l.ts && (t.rank < l.rank || (t.rank === l.rank && t.seq < l.seq)))) {
      out.push({
        handle: t.handle,
        ts: l.ts,
        rank: t.rank,
        flags: FLAG_LATE | past | (t.clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0),
      });
    } else {
      g.pending.push({ ...t, key, ord: ord++, past });
    }
    release(g, limit);
  }
  for (const g of groups.values()) if (!g.frozen) freeze(g);
  const rest = [...groups.values()].flatMap((g) => g.pending).sort(byTuple);
  for (const p of rest) emit(p);
  return out;
}

/** The outputs of group g only, in release order. */
function ofGroup(out: Out[], ticks: Tick[], g: number): Out[] {
  const groupOf = new Map(ticks.map((t) => [t.handle, t.group ?? 0]));
  return out.filter((o) => groupOf.get(o.handle) === g);
}

/**
 * Random multi-group arrivals: each group has its own skew and local-clock
 * (spot bookTicker-like) quotes, ~5% very late ticks, and its own arrival rate
 * (group 2 is quiet).
 */
function multiGroupTicks(seed: number, n: number): Tick[] {
  const rnd = mulberry32(seed);
  const skews = [-1270, 35, -400];
  const rates = [1, 0.6, 0.05];
  const ticks: Tick[] = [];
  let t = 1_723_161_255_000;
  let h = 0;
  while (ticks.length < n) {
    t += Math.floor(rnd() * 15);
    for (let g = 0; g < 3; g++) {
      if (rnd() >= rates[g]) continue;
      const lat = 2 + Math.floor(-Math.log(1 - rnd()) * 20);
      const recv = t + skews[g] + lat;
      const local = rnd() < 0.4;
      const rank = local ? 0 : [1, 2][Math.floor(rnd() * 2)];
      let ts = local ? recv : t - (rnd() < 0.3 ? 0 : Math.floor(rnd() * 5));
      if (!local && rnd() < 0.05) ts -= 600 + Math.floor(rnd() * 3000);
      ticks.push({ rank, ts, recv, seq: 0, handle: h++, clock: local ? CLOCK_LOCAL : CLOCK_EXCHANGE, group: g });
    }
  }
  const order = ticks.map((x) => ({ x, k: rnd() }));
  order.sort((a, b) => a.x.recv - b.x.recv || a.k - b.k);
  return order.map((o, j) => ({ ...o.x, seq: j }));
}

describe('Sequencer', () => {
  it('handles pack batch id and row', () => {
    const h = packHandle(12345, 4_000_000_000);
    expect(handleBatch(h)).toBe(12345);
    expect(handleRow(h)).toBe(4_000_000_000);
    expect(handleBatch(packHandle(0, 7))).toBe(0);
    expect(handleRow(packHandle(0, 7))).toBe(7);
  });

  it('doc example: a quote arriving later but earlier in event time comes out first', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0 }), (h) => out.push(h));
    seq.push(KIND_RANK.trades, 1000, 1000, 0, 100);
    seq.push(KIND_RANK.quotes, 990, 1010, 1, 200);
    expect(out).toEqual([]);
    seq.push(KIND_RANK.trades, 1600, 1600, 2, 101);
    expect(out).toEqual([200, 100]);
    expect(seq.pending).toBe(1);
    seq.flush();
    expect(out).toEqual([200, 100, 101]);
  });

  it('releases exactly when the arrival clock reaches ts + watermark (not before)', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0, watermark_ms: 500 }), (h) => out.push(h));
    seq.push(2, 1000, 1000, 0, 1);
    seq.push(2, 1400, 1499, 1, 2);
    expect(out).toEqual([]);
    seq.push(2, 1450, 1500, 2, 3);
    expect(out).toEqual([1]);
  });

  it('ties: (ts, kind rank, recv_seq)', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0 }), (h) => out.push(h));
    seq.push(KIND_RANK.trades, 1000, 1000, 5, 1);
    seq.push(KIND_RANK.depth, 1000, 1000, 6, 2);
    seq.push(KIND_RANK.trades, 1000, 1000, 3, 3);
    seq.push(KIND_RANK.quotes, 1000, 1000, 9, 4);
    seq.flush();
    expect(out).toEqual([4, 2, 3, 1]);
  });

  for (const [seed, skewMode] of [
    [1, 'fixed'],
    [2, 'auto'],
    [3, 'fixed'],
    [4, 'auto'],
  ] as const) {
    it(`random jitter < watermark => output == fully sorted order (seed ${seed}, ${skewMode} skew)`, () => {
      const trueSkew = seed % 2 ? -1270 : 40;
      const ticks = randomTicks(seed, 20_000, 499, trueSkew);
      const p = params({ watermark_ms: 500, skew_ms: skewMode === 'fixed' ? trueSkew : null });
      const { out, seq } = run(p, ticks);
      expect(out.map((o) => o.handle)).toEqual(tupleSorted(ticks));
      expect(seq.late_ticks).toBe(0);
      expect(out.every((o) => o.flags === 0)).toBe(true);
      if (skewMode === 'auto') {
        expect(seq.skew_ms).toBeGreaterThanOrEqual(trueSkew);
        expect(seq.skew_ms).toBeLessThan(trueSkew + 20);
      }
    });
  }

  it('late ticks: counted, clamped, released immediately, nothing dropped; matches the slow reference', () => {
    const rnd = mulberry32(99);
    const ticks = randomTicks(7, 5000, 300, 0).map((t) => ({ ...t }));
    // make ~5% of ticks very late: event time far in the past
    for (const t of ticks) if (rnd() < 0.05) t.ts -= 600 + Math.floor(rnd() * 3000);
    const p = params({ watermark_ms: 200, skew_ms: 0 });
    const { out, seq } = run(p, ticks);
    const ref = slowSequencer(ticks, 200, 0);
    expect(out).toEqual(ref);
    expect(out.length).toBe(ticks.length);
    expect(new Set(out.map((o) => o.handle)).size).toBe(ticks.length);
    const late = out.filter((o) => o.flags & FLAG_LATE).length;
    expect(late).toBeGreaterThan(50);
    expect(seq.late_ticks).toBe(late);
    expect(seq.max_late_ms).toBeGreaterThan(0);
    for (let i = 1; i < out.length; i++) expect(out[i].ts).toBeGreaterThanOrEqual(out[i - 1].ts);
    // non-late output is in tuple order
    const byHandle = new Map(ticks.map((t) => [t.handle, t]));
    const nonLate = out.filter((o) => !(o.flags & FLAG_LATE)).map((o) => byHandle.get(o.handle)!);
    for (let i = 1; i < nonLate.length; i++) {
      const a = nonLate[i - 1],
        b = nonLate[i];
      const cmp = a.ts - b.ts || a.rank - b.rank || a.seq - b.seq;
      expect(cmp).toBeLessThanOrEqual(0);
    }
  });

  it('per group: own arrival clock, lateness judged within the group, other groups untouched', () => {
    const out: Out[] = [];
    const seq = new Sequencer(params({ skew_ms: 0, watermark_ms: 500 }), (handle, ts, rank, flags) =>
      out.push({ handle, ts, rank, flags }),
    );
    seq.push(KIND_RANK.trades, 1000, 1000, 0, 1, CLOCK_EXCHANGE, 0); // group 0 at 1000
    seq.push(KIND_RANK.trades, 1200, 1200, 1, 2, CLOCK_EXCHANGE, 1); // group 1 at 1200
    // group 0's clock 2600 releases group 0's 1000 and 2000; group 1's clock is still 1200: its 1200 waits
    seq.push(KIND_RANK.trades, 2000, 2600, 2, 3, CLOCK_EXCHANGE, 0);
    expect(out.map((o) => o.handle)).toEqual([1, 3]);
    expect(seq.pending).toBe(1);
    // group 1's clock 2700 releases its 1200, then its 1500 (after its watermark, in order within group 1)
    seq.push(KIND_RANK.trades, 1500, 2700, 3, 4, CLOCK_EXCHANGE, 1);
    expect(out.map((o) => o.handle)).toEqual([1, 3, 2, 4]);
    // group 0's tick at 1900 is behind group 0's 2000: late, clamped to 2000
    seq.push(KIND_RANK.trades, 1900, 2800, 4, 5, CLOCK_EXCHANGE, 0);
    seq.flush();
    expect(out).toEqual([
      { handle: 1, ts: 1000, rank: KIND_RANK.trades, flags: 0 },
      // ts 2000 arrived at 2600: 600 ms > watermark on group 0's own clock
      { handle: 3, ts: 2000, rank: KIND_RANK.trades, flags: FLAG_PAST_WATERMARK },
      { handle: 2, ts: 1200, rank: KIND_RANK.trades, flags: 0 },
      { handle: 4, ts: 1500, rank: KIND_RANK.trades, flags: FLAG_PAST_WATERMARK },
      { handle: 5, ts: 2000, rank: KIND_RANK.trades, flags: FLAG_LATE | FLAG_PAST_WATERMARK },
    ]);
    expect(seq.late_ticks).toBe(1);
    expect(seq.past_watermark).toBe(3);
    expect(seq.max_late_ms).toBe(100);
    expect(seq.lastReleasedTs(0)).toBe(2000);
    expect(seq.lastReleasedTs(1)).toBe(1500);
    expect(seq.groups).toBe(2);
  });

  it("a quiet group waits for its own next arrival (or flush), not for another group's", () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0, watermark_ms: 500 }), (h) => out.push(h));
    seq.push(KIND_RANK.trades, 1000, 1000, 0, 1, CLOCK_EXCHANGE, 1); // quiet group 1
    for (let i = 0; i < 20; i++)
      seq.push(KIND_RANK.trades, 1000 + i * 200, 1000 + i * 200, 1 + i, 100 + i, CLOCK_EXCHANGE, 0);
    expect(out).not.toContain(1);
    expect(out.length).toBe(17); // group 0's ticks up to its clock 4800 - 500
    seq.push(KIND_RANK.trades, 1600, 1600, 21, 2, CLOCK_EXCHANGE, 1); // group 1's clock 1600 releases its 1000
    expect(out[out.length - 1]).toBe(1);
    seq.flush();
    expect(out.length).toBe(22);
  });

  for (const skewMode of ['fixed', 'auto'] as const) {
    it(`independence (${skewMode} skew): each group's output equals that group pushed alone`, () => {
      const ticks = multiGroupTicks(21, 12_000);
      const p =
        skewMode === 'fixed'
          ? params({ watermark_ms: 300, skew_ms: -200 })
          : params({ watermark_ms: 300, skew_samples: 200, skew_max_wait_ms: 4000 });
      const all = run(p, ticks);
      expect(all.out.length).toBe(ticks.length);
      let late = 0;
      for (let g = 0; g < 3; g++) {
        const alone = run(
          p,
          ticks.filter((t) => t.group === g).map((t) => ({ ...t, group: 0 })),
        );
        expect(ofGroup(all.out, ticks, g), `group ${g}`).toEqual(alone.out);
        expect(all.seq.skewOf(g)).toBe(alone.seq.skewOf(0));
        expect(all.seq.skewSamplesUsed(g)).toBe(alone.seq.skewSamplesUsed(0));
        late += alone.seq.late_ticks;
      }
      expect(all.seq.late_ticks).toBe(late);
      expect(late).toBeGreaterThan(50);
    });
  }

  it("heartbeats (advance) move only their group's clock; random input with heartbeats matches the slow reference", () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0, watermark_ms: 500 }), (h) => out.push(h));
    seq.push(KIND_RANK.trades, 1000, 1000, 0, 1, CLOCK_EXCHANGE, 1);
    seq.advance(1499, 1);
    seq.advance(5000, 0); // another group's heartbeat: group 1 untouched
    expect(out).toEqual([]);
    seq.advance(1400, 1); // never back
    seq.advance(1500, 1);
    expect(out).toEqual([1]);
    expect(seq.pushed).toBe(1);
    expect(() => seq.advance(Number.NaN, 0)).toThrow(/non-finite/);

    const rnd = mulberry32(3);
    const ticks = multiGroupTicks(31, 12_000);
    // insert heartbeats (a quiet group's depth-like stream) between arrivals, in arrival order
    const withBeats: Tick[] = [];
    for (const t of ticks) {
      withBeats.push(t);
      if (rnd() < 0.3) withBeats.push({ ...t, beat: true, handle: -1, group: Math.floor(rnd() * 3) });
    }
    for (const p of [
      params({ watermark_ms: 300, skew_ms: -200 }),
      params({ watermark_ms: 300, skew_samples: 200, skew_max_wait_ms: 4000 }),
    ]) {
      const got = run(p, withBeats);
      const ref = slowSequencer(withBeats, 300, p.skew_ms, p.skew_samples, p.skew_quantile, p.skew_max_wait_ms);
      expect(got.out).toEqual(ref);
      expect(got.out.length).toBe(ticks.length);
      // heartbeats release ticks earlier: at every point fewer are held than without them
      const held = (ts: Tick[]) => {
        const q = new Sequencer(p, () => {});
        let sum = 0;
        for (const t of ts) {
          if (t.beat) q.advance(t.recv, t.group ?? 0);
          else {
            q.push(t.rank, t.ts, t.recv, t.seq, t.handle, t.clock, t.group ?? 0);
            sum += q.pending;
          }
        }
        return sum;
      };
      expect(held(withBeats)).toBeLessThan(held(ticks));
      // and keep the groups independent
      for (let g = 0; g < 3; g++) {
        const alone = run(
          p,
          withBeats.filter((t) => t.group === g).map((t) => ({ ...t, group: 0 })),
        );
        expect(ofGroup(got.out, withBeats, g), `group ${g}`).toEqual(alone.out);
      }
    }
  });

  it('auto skew per group on random multi-group input matches the slow reference; each group finds its own skew', () => {
    const ticks = multiGroupTicks(8, 15_000);
    const p = params({ watermark_ms: 300, skew_samples: 200, skew_max_wait_ms: 4000 });
    const { out, seq } = run(p, ticks);
    expect(out).toEqual(slowSequencer(ticks, 300, null, 200, 0.01, 4000));
    // true skews -1270, 35, -400 plus a low latency quantile (latency >= 2 ms)
    expect(seq.skewOf(0) - -1270).toBeGreaterThanOrEqual(2);
    expect(seq.skewOf(0) - -1270).toBeLessThan(10);
    expect(seq.skewOf(1) - 35).toBeGreaterThanOrEqual(2);
    expect(seq.skewOf(1) - 35).toBeLessThan(10);
    // the quiet group froze on skew_max_wait_ms with fewer than 200 samples
    expect(seq.skewSamplesUsed(2)).toBeLessThan(200);
    expect(seq.skewSamplesUsed(2)).toBeGreaterThan(5);
    expect(seq.skewOf(2) - -400).toBeGreaterThanOrEqual(2);
    expect(seq.skewOf(2) - -400).toBeLessThan(40);
  });

  it('per-group late rule on random multi-group input matches the slow reference; ts monotone per group', () => {
    const rnd = mulberry32(5);
    const ticks = randomTicks(11, 6000, 300, 0).map((t) => ({ ...t, group: Math.floor(rnd() * 3) }));
    for (const t of ticks) if (rnd() < 0.05) t.ts -= 600 + Math.floor(rnd() * 3000);
    const { out, seq } = run(params({ watermark_ms: 200, skew_ms: 0 }), ticks);
    expect(out).toEqual(slowSequencer(ticks, 200, 0));
    expect(out.length).toBe(ticks.length);
    const groupOf = new Map(ticks.map((t) => [t.handle, t.group]));
    const lastTs = [-Infinity, -Infinity, -Infinity];
    let globalBackwards = 0;
    for (let i = 0; i < out.length; i++) {
      const g = groupOf.get(out[i].handle)!;
      expect(out[i].ts).toBeGreaterThanOrEqual(lastTs[g]);
      lastTs[g] = out[i].ts;
      if (i > 0 && out[i].ts < out[i - 1].ts) globalBackwards++;
    }
    // some ticks were in order within their group although another group had gone ahead
    expect(globalBackwards).toBeGreaterThan(10);
    expect(seq.late_ticks).toBe(out.filter((o) => o.flags & FLAG_LATE).length);
    // fewer clamps than one global group would make on the same arrivals
    const global = run(
      params({ watermark_ms: 200, skew_ms: 0 }),
      ticks.map((t) => ({ ...t, group: 0 })),
    );
    expect(seq.late_ticks).toBeLessThan(global.seq.late_ticks);
  });

  it('adversarial: equal recv, equal ts, duplicated recv_seq => deterministic push-order tie-break', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_ms: 0 }), (h) => out.push(h));
    for (let i = 0; i < 100; i++) seq.push(2, 5000, 5000, 1, i);
    seq.flush();
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('skew: spot quotes (local clock) merge sanely with trades (exchange clock) 1.27 s ahead', () => {
    const rnd = mulberry32(5);
    const offset = -1270; // local = exchange + offset
    const ticks: Tick[] = [];
    const trueTime = new Map<number, number>();
    let t = 1_000_000;
    for (let i = 0; i < 6000; i++) {
      t += Math.floor(rnd() * 20);
      const lat = 3 + Math.floor(-Math.log(1 - rnd()) * 15); // >= 3 ms, exponential tail
      const isTrade = rnd() < 0.3;
      const recv = t + offset + lat;
      trueTime.set(i, t);
      ticks.push({
        rank: isTrade ? 2 : 0,
        ts: isTrade ? t : recv,
        recv,
        seq: 0,
        handle: i,
        clock: isTrade ? CLOCK_EXCHANGE : CLOCK_LOCAL,
      });
    }
    ticks.sort((a, b) => a.recv - b.recv || a.handle - b.handle);
    ticks.forEach((x, j) => (x.seq = j));

    const { out, seq } = run(params({ skew_samples: 500, skew_max_wait_ms: 1e9 }), ticks);
    expect(out.length).toBe(ticks.length);
    // the estimate is clock offset + a low latency quantile
    expect(seq.skew_ms).toBeGreaterThanOrEqual(offset + 3);
    expect(seq.skew_ms).toBeLessThanOrEqual(offset + 6);
    expect(seq.skew_samples_used).toBe(500);
    const quoteErr = out.filter((o) => o.flags & FLAG_LOCAL_CLOCK).map((o) => o.ts - trueTime.get(o.handle)!);
    quoteErr.sort((a, b) => a - b);
    const med = quoteErr[quoteErr.length >> 1];
    expect(med).toBeGreaterThanOrEqual(0);
    expect(med).toBeLessThan(30); // vs 1270 ms without the correction
    expect(quoteErr.filter((e) => e < 0).length / quoteErr.length).toBeLessThan(0.02);
    for (let i = 1; i < out.length; i++) expect(out[i].ts).toBeGreaterThanOrEqual(out[i - 1].ts);

    // without correction, quotes land ~1.27 s before the trades they coexist with
    const naive = run(params({ skew_ms: 0 }), ticks).out;
    const naiveErr = naive.filter((o) => o.flags & FLAG_LOCAL_CLOCK).map((o) => o.ts - trueTime.get(o.handle)!);
    naiveErr.sort((a, b) => a - b);
    expect(naiveErr[naiveErr.length >> 1]).toBeLessThan(-1200);
  });

  it('auto skew: nothing released before the estimate freezes; then it drains', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_samples: 3, skew_max_wait_ms: 1e9 }), (h) => out.push(h));
    seq.push(2, 1000, 1010, 0, 1);
    seq.push(2, 2000, 2010, 1, 2);
    expect(Number.isNaN(seq.skew_ms)).toBe(true);
    expect(out).toEqual([]);
    expect(seq.pending).toBe(2);
    seq.push(2, 2600, 2610, 2, 3); // third sample: freeze at skew 10, clock = 2600
    expect(seq.skew_ms).toBe(10);
    expect(out).toEqual([1, 2]);
  });

  it('auto skew: with no exchange-clock tick it freezes at 0 after skew_max_wait_ms', () => {
    const out: number[] = [];
    const seq = new Sequencer(params({ skew_max_wait_ms: 1000 }), (h) => out.push(h));
    for (let i = 0; i < 20; i++) seq.push(0, 0, 1000 + i * 100, i, i, CLOCK_LOCAL);
    expect(seq.skew_ms).toBe(0);
    expect(out.length).toBeGreaterThan(0);
    seq.flush();
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('determinism: same input => same output; reset() gives a fresh, identical run', () => {
    const ticks = randomTicks(11, 3000, 800, -1270);
    const a = run(params(), ticks);
    const b = run(params(), ticks);
    expect(a.out).toEqual(b.out);
    a.seq.reset();
    expect(a.seq.pending).toBe(0);
    expect(a.seq.late_ticks).toBe(0);
    const out: Out[] = [];
    const s = new Sequencer(params(), (handle, ts, rank, flags) => out.push({ handle, ts, rank, flags }));
    run(params(), ticks, s);
    s.reset();
    out.length = 0;
    run(params(), ticks, s);
    expect(out).toEqual(a.out);
  });

  it('rejects non-finite times and invalid params', () => {
    const seq = new Sequencer(params({ skew_ms: 0 }), () => {});
    expect(() => seq.push(2, NaN, 1000, 0, 0)).toThrow(/non-finite/);
    expect(() => new Sequencer(params({ watermark_ms: -1 }), () => {})).toThrow(/sequencer.watermark_ms/);
    expect(() => new Sequencer(params({ skew_quantile: 2 }), () => {})).toThrow(/sequencer.skew_quantile/);
  });

  it('is fast: 200k ticks (O(log n) per tick)', () => {
    const ticks = randomTicks(3, 200_000, 400, 0);
    const t0 = performance.now();
    const { out } = run(params({ skew_ms: 0 }), ticks);
    const dt = performance.now() - t0;
    expect(out.length).toBe(200_000);
    expect(dt).toBeLessThan(6000); // generous: guards against O(n²), not a benchmark
  });
});
