import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { RawSink } from '../../src/core/types.js';

export const REPO = path.resolve(__dirname, '../..');
export const REALDATA = path.resolve(REPO, '../shared/realdata/hftbacktest');

export interface TradeRow {
  symbol: string;
  recv: number;
  ts: number;
  ev: number;
  id: number;
  price: number;
  qty: number;
  m: number;
  first: number;
  last: number;
}
export interface QuoteRow {
  symbol: string;
  recv: number;
  ts: number;
  u: number;
  bp: number;
  bq: number;
  ap: number;
  aq: number;
}
export interface DepthRow {
  symbol: string;
  recv: number;
  ts: number;
  u: number;
  bids: [number, number][];
  asks: [number, number][];
}

/** A RawSink that records rows as objects, in call order (tests only: small inputs). */
export class RecordingSink implements RawSink {
  readonly trades: TradeRow[] = [];
  readonly quotes: QuoteRow[] = [];
  readonly depths: DepthRow[] = [];
  /** Kinds in call order (arrival order). */
  readonly order: string[] = [];
  trade(
    symbol: string,
    recv: number,
    ts: number,
    ev: number,
    id: number,
    price: number,
    qty: number,
    m: number,
    first: number,
    last: number,
  ): void {
    this.trades.push({ symbol, recv, ts, ev, id, price, qty, m, first, last });
    this.order.push('trade');
  }
  quote(symbol: string, recv: number, ts: number, u: number, bp: number, bq: number, ap: number, aq: number): void {
    this.quotes.push({ symbol, recv, ts, u, bp, bq, ap, aq });
    this.order.push('quote');
  }
  depth(
    symbol: string,
    recv: number,
    ts: number,
    u: number,
    bpx: ArrayLike<number>,
    bqty: ArrayLike<number>,
    nb: number,
    apx: ArrayLike<number>,
    aqty: ArrayLike<number>,
    na: number,
  ): void {
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    for (let i = 0; i < nb; i++) bids.push([bpx[i], bqty[i]]);
    for (let i = 0; i < na; i++) asks.push([apx[i], aqty[i]]);
    this.depths.push({ symbol, recv, ts, u, bids, asks });
    this.order.push('depth');
  }
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `flowlab-${prefix}-`));
}

/** Write capture lines as a gzip file. */
export function writeGz(file: string, lines: readonly string[]): string {
  fs.writeFileSync(file, zlib.gzipSync(Buffer.from(`${lines.join('\n')}\n`)));
  return file;
}

/** Capture-line builders (`<ns> <json>`). ns is derived from ms with a fixed sub-ms part. */
export const ns = (ms: number) => `${ms}123456`;
export const line = (ms: number, obj: unknown) => `${ns(ms)} ${JSON.stringify(obj)}`;

export const T0 = Date.UTC(2024, 7, 8, 23, 54, 15);

export function tradeMsg(
  sym: string,
  t: number,
  price: string,
  qty: string,
  ms: number,
  extra: Record<string, unknown> = {},
) {
  return {
    stream: `${sym.toLowerCase()}@trade`,
    data: { e: 'trade', E: ms + 1, s: sym, t, p: price, q: qty, T: ms, m: true, M: true, ...extra },
  };
}
export function bookTickerMsg(
  sym: string,
  u: number,
  b: string,
  B: string,
  a: string,
  A: string,
  extra: Record<string, unknown> = {},
) {
  return { stream: `${sym.toLowerCase()}@bookTicker`, data: { u, s: sym, b, B, a, A, ...extra } };
}
export function diffMsg(
  sym: string,
  U: number,
  u: number,
  b: [string, string][],
  a: [string, string][],
  ms: number,
  pu?: number,
) {
  const data: Record<string, unknown> = { e: 'depthUpdate', E: ms, s: sym, U, u, b, a };
  if (pu !== undefined) {
    data.pu = pu;
    data.T = ms - 1;
  }
  return { stream: `${sym.toLowerCase()}@depth@${pu !== undefined ? '0' : '100'}ms`, data };
}
export function snapshotMsg(lastUpdateId: number, bids: [string, string][], asks: [string, string][]) {
  return { lastUpdateId, bids, asks };
}
