/**
 * A crafted two-symbol dataset with KNOWN defects, for the dq tests.
 *
 * Both symbols: exchange times 2024-08-08 22:58:00 .. 23:03:59 UTC (hours 22
 * and 23), local clock 1300 ms behind the exchange (recv = E - 1300 + latency),
 * trade latency cycling 5, 10, ..., 100 ms.
 *
 * BTCUSDT (clean): 60 trades per minute in every minute 22:58..23:03
 * (consecutive ids), 60 futures-style quotes per minute (ts = exchange time,
 * latency 2..29 ms), no depth. Every check passes.
 *
 * ETHUSDT (dirty):
 * - trades in 22:58, 22:59, 23:00, 23:02, 23:03 (23:01 empty): 300 trades;
 *   id gaps of 2 (hour 22), 3 (at the 22->23 boundary), 5 and 1 (hour 23);
 *   3 re-sent duplicates (2 in hour 22, 1 in hour 23); one trade delivered
 *   1500 ms late so it arrives after the next one (1 out-of-order, hour 23);
 *   one NaN price (hour 22), one negative qty (hour 23).
 * - spot-style quotes (ts == recv): every 2 s on the local clock from
 *   22:57:59 to 23:03:59, none in local minute 23:01; 2 duplicate update ids,
 *   1 non-monotonic id, 3 crossed, 2 locked, 1 zero bid price, 1 NaN ask qty.
 * - 20 depth rows (exchange ts): 3 unordered, 1 crossed, 1 locked, 1 negative qty.
 */
import { DatasetWriter } from '../../src/dataset/writer.js';

export const SKEW = -1300;
export const T0 = Date.UTC(2024, 7, 8, 22, 58, 0); // 22:58:00
export const MIN = 60_000;

export const tradeLatency = (i: number): number => 5 + (i % 20) * 5;
export const quoteLatency = (i: number): number => 2 + (i % 10) * 3;

export interface Expected {
  /** Raw recv - E of every trade row written, per symbol. */
  tradeRaw: Record<string, number[]>;
  tradeRawByHour: Record<string, Record<number, number[]>>;
  quoteRaw: Record<string, number[]>;
}

function pushH(m: Record<number, number[]>, hour: number, v: number): void {
  (m[hour] ??= []).push(v);
}

export async function buildFixture(root: string): Promise<Expected> {
  const w = new DatasetWriter(root, { depthLevels: 5, rotateSec: 60, source: { fixture: 'dq' } });
  const exp: Expected = {
    tradeRaw: { BTCUSDT: [], ETHUSDT: [] },
    tradeRawByHour: { BTCUSDT: {}, ETHUSDT: {} },
    quoteRaw: { BTCUSDT: [] },
  };
  const H = (ms: number) => Math.floor(ms / 3_600_000);

  // Ticks are collected with their recv time and emitted in arrival order (the
  // writer assigns recv_seq in call order, the reader orders by recv_ts_ms, recv_seq).
  type Tick = { recv: number; order: number; emit: () => void };
  const ticks: Tick[] = [];
  let order = 0;
  const add = (recv: number, emit: () => void) => ticks.push({ recv, order: order++, emit });

  // ---------------- BTCUSDT: clean ----------------
  for (let i = 0; i < 360; i++) {
    const e = T0 + Math.floor(i / 60) * MIN + 500 + (i % 60) * 1000;
    const recv = e + SKEW + tradeLatency(i);
    exp.tradeRaw.BTCUSDT.push(recv - e);
    pushH(exp.tradeRawByHour.BTCUSDT, H(e), recv - e);
    const id = 1000 + i;
    add(recv, () => w.trade('BTCUSDT', recv, e, e, id, 60000 + (i % 7), 0.01, i % 2, id * 3, id * 3 + 2));
  }
  for (let i = 0; i < 360; i++) {
    const e = T0 + Math.floor(i / 60) * MIN + 250 + (i % 60) * 1000;
    const recv = e + SKEW + quoteLatency(i);
    exp.quoteRaw.BTCUSDT.push(recv - e);
    const uid = 50_000 + i * 3;
    add(recv, () => w.quote('BTCUSDT', recv, e, uid, 59999.5, 1.5, 60000.5, 2.5));
  }

  // ---------------- ETHUSDT: dirty ----------------
  const ethMinutes = [0, 1, 2, 4, 5]; // minutes after 22:58 with trades (23:01 = minute 3 is empty)
  const skipBefore: Record<number, number> = { 30: 2, 120: 3, 150: 5, 250: 1 };
  let id = 5000;
  for (let i = 0; i < 300; i++) {
    id += skipBefore[i] ?? 0;
    const e = T0 + ethMinutes[Math.floor(i / 60)] * MIN + 500 + (i % 60) * 1000;
    const lat = i === 160 ? 1500 : tradeLatency(i);
    const recv = e + SKEW + lat;
    const price = i === 40 ? NaN : 3000 + (i % 5);
    const qty = i === 260 ? -1 : 0.5;
    const tid = id;
    const emit = () => w.trade('ETHUSDT', recv, e, e, tid, price, qty, -1, tid, tid);
    exp.tradeRaw.ETHUSDT.push(recv - e);
    pushH(exp.tradeRawByHour.ETHUSDT, H(e), recv - e);
    add(recv, emit);
    if (i === 10 || i === 70 || i === 200) {
      // re-sent duplicate, 1 ms after the original
      exp.tradeRaw.ETHUSDT.push(recv + 1 - e);
      pushH(exp.tradeRawByHour.ETHUSDT, H(e), recv + 1 - e);
      add(recv + 1, () => w.trade('ETHUSDT', recv + 1, e, e, tid, price, qty, -1, tid, tid));
    }
    id++;
  }
  // spot-style quotes: ts == recv, local clock, every 2 s from 22:57:59, none in local minute 23:01
  const q0 = T0 - 1000;
  let uid = 900_000;
  let qi = 0;
  for (let recv = q0; recv < T0 + 6 * MIN; recv += 2000) {
    if (recv >= T0 + 3 * MIN && recv < T0 + 4 * MIN) continue;
    let bid = 2999.5;
    let ask = 3000.5;
    const bidQty = 1;
    let askQty = 1;
    if (qi === 10 || qi === 11 || qi === 100) ask = bid - 0.5; // crossed x3
    if (qi === 20 || qi === 120) ask = bid; // locked x2
    if (qi === 30) bid = 0; // bad price (and not counted as crossed/locked)
    if (qi === 40) askQty = NaN; // bad qty
    let u = uid;
    if (qi === 50 || qi === 130)
      u = uid - 7; // duplicate of the previous id
    else if (qi === 60)
      u = uid - 67; // non-monotonic, not a duplicate (ids step by 7: this one falls between earlier ids)
    else uid += 7;
    const ub = u;
    const r = recv;
    add(recv, () => w.quote('ETHUSDT', r, r, ub, bid, bidQty, ask, askQty));
    qi++;
  }
  // depth: 20 rows, exchange ts in 22:58:10 + k * 15 s
  for (let k = 0; k < 20; k++) {
    const e = T0 + 10_000 + k * 15_000;
    const recv = e + SKEW + 20;
    let bids = [2999.5, 2999.0, 2998.5];
    let asks = [3000.5, 3001.0, 3001.5];
    let bq = [1, 2, 3];
    if (k === 2) bids = [2999.0, 2999.5, 2998.5]; // bids not descending
    if (k === 3) asks = [3000.5, 3000.5, 3001.5]; // repeated ask level
    if (k === 4) asks = [3001.0, 3000.5, 3001.5]; // asks not ascending
    if (k === 5) asks = [2999.0, 3001.0, 3001.5]; // crossed (ladders ordered)
    if (k === 6) asks = [2999.5, 3001.0, 3001.5]; // locked
    if (k === 7) bq = [1, -2, 3]; // negative qty
    const b = bids;
    const a = asks;
    const q = bq;
    add(recv, () => w.depth('ETHUSDT', recv, e, 7_000_000 + k, b, q, 3, a, [1, 1, 1], 3));
  }

  ticks.sort((x, y) => x.recv - y.recv || x.order - y.order);
  for (const t of ticks) t.emit();
  await w.close();
  return exp;
}

/** Type-7 (linear interpolation) quantile: the reference for DuckDB's quantile_cont. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}
