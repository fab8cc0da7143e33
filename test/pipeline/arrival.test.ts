/**
 * The one arrival merge (src/pipeline/arrival.ts) against a slow obvious
 * reference: every row of every stream read whole, sorted by (recv_ts_ms,
 * recv_seq). Many streams, ties on recv_ts_ms across streams, batch sizes from
 * 1 row up; and the worker-thread read-ahead yields the very same blocks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatasetWriter } from '../../src/dataset/writer.js';
import { Dataset, type ReadOptions } from '../../src/dataset/reader.js';
import { arrivalBlocks, type ArrivalBlock } from '../../src/pipeline/arrival.js';
import { arrivalBlocksAhead } from '../../src/pipeline/arrival-ahead.js';
import { mulberry32 } from '../calc/helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-arrival-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 7, 8, 23, 50);
const SYMBOLS = ['AAAUSDT', 'BBBUSDT', 'CCCUSDT'];
const N = 3000;

/** Trades and quotes of three symbols in a random interleaving; recv_ts_ms repeats (ties across streams). */
async function writeFixture(dir: string): Promise<void> {
  const w = new DatasetWriter(dir, { rotateSec: 300, depthLevels: 2, source: { type: 'test' } });
  const rnd = mulberry32(7);
  for (let i = 0; i < N; i++) {
    const t = T0 + Math.floor(i / 4) * 13; // 4 arrivals share each receive time, crosses midnight UTC
    const sym = SYMBOLS[Math.floor(rnd() * SYMBOLS.length)];
    if (rnd() < 0.5) w.trade(sym, t, t - 3, t - 2, i, 100 + (i % 7), 1 + (i % 3), i % 2, i, i);
    else w.quote(sym, t, t - 1, i, 99, 1, 101, 2);
    if (i % 500 === 0) await w.drain();
  }
  await w.close();
}

/** "symbol kind recv_ts recv_seq ts" of every arrival, in block order. */
function flatten(blocks: readonly ArrivalBlock[]): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    for (let i = 0; i < b.n; i++) {
      const bt = b.batches[b.src[i]];
      const r = b.row[i];
      out.push(`${bt.symbol} ${bt.kind} ${bt.recv_ts_ms[r]} ${bt.recv_seq[r]} ${bt.ts_ms[r]}`);
    }
  }
  return out;
}

async function collect(it: AsyncIterable<ArrivalBlock>): Promise<ArrivalBlock[]> {
  const out: ArrivalBlock[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** The reference: every stream read whole, all rows sorted by (recv_ts_ms, recv_seq). */
async function reference(ds: Dataset, opts: ReadOptions): Promise<string[]> {
  const rows: { t: number; s: number; line: string }[] = [];
  for (const sym of SYMBOLS) {
    for (const kind of ['trades', 'quotes'] as const) {
      for await (const b of ds.stream(sym, kind, opts)) {
        for (let r = 0; r < b.length; r++) {
          const line = `${sym} ${kind} ${b.recv_ts_ms[r]} ${b.recv_seq[r]} ${b.ts_ms[r]}`;
          rows.push({ t: b.recv_ts_ms[r], s: b.recv_seq[r], line });
        }
      }
    }
  }
  rows.sort((a, b) => a.t - b.t || a.s - b.s);
  return rows.map((r) => r.line);
}

describe('arrivalBlocks (the one arrival merge)', () => {
  const dir = path.join(tmp, 'ds');

  it('equals the sorted reference for every batch size, and every block is a complete prefix', async () => {
    await writeFixture(dir);
    const ds = new Dataset(dir);
    const want = await reference(ds, {});
    expect(want.length).toBe(N);
    // the writer's recv_seq is the call order, so the reference is also 0..N-1 in order
    expect(want.map((l) => Number(l.split(' ')[3]))).toEqual([...Array(N).keys()]);
    for (const batchRows of [1, 7, 64, 333, 65_536]) {
      const blocks = await collect(arrivalBlocks(ds, { batchRows }));
      expect(flatten(blocks)).toEqual(want);
      for (const b of blocks) {
        expect(b.batchIds.length).toBe(b.batches.length);
        for (let i = 0; i < b.n; i++) expect(b.batchIds[b.src[i]]).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('honours the symbol and receive-time selection like the reference', async () => {
    const ds = new Dataset(dir);
    const opts: ReadOptions = { symbols: ['BBBUSDT', 'CCCUSDT'], fromMs: T0 + 1300, toMs: T0 + 6500, batchRows: 50 };
    const got = flatten(await collect(arrivalBlocks(ds, opts)));
    const want = (await reference(ds, { fromMs: opts.fromMs, toMs: opts.toMs })).filter(
      (l) => !l.startsWith('AAAUSDT'),
    );
    expect(want.length).toBeGreaterThan(100);
    expect(got).toEqual(want);
  });

  it('refuses a row without an arrival key, naming the stream and the values', async () => {
    const ds = new Dataset(dir);
    // the dataset's own batches, with one recv_ts_ms made NULL (as readF64 gives it) on the way out
    const fake = {
      select: (o: ReadOptions) => ds.select(o),
      async *stream(symbol: string, kind: 'trades' | 'quotes', o: ReadOptions) {
        for await (const b of ds.stream(symbol, kind, o)) {
          if (symbol === 'BBBUSDT' && kind === 'quotes') b.recv_ts_ms[3] = NaN;
          yield b;
        }
      },
    } as unknown as Dataset;
    await expect(collect(arrivalBlocks(fake, { kinds: ['trades', 'quotes'] }))).rejects.toThrow(
      /^BBBUSDT quotes: a row with recv_ts_ms NaN, recv_seq \d+ \(expected both non-NULL\)$/,
    );
  });

  it('the worker-thread read-ahead yields the same blocks', async () => {
    const ds = new Dataset(dir);
    const opts: ReadOptions = { batchRows: 97 };
    const inline = await collect(arrivalBlocks(ds, opts));
    const ahead = await collect(arrivalBlocksAhead(ds.root, opts));
    expect(ahead.length).toBe(inline.length);
    expect(flatten(ahead)).toEqual(flatten(inline));
    for (let k = 0; k < inline.length; k++) {
      expect([...ahead[k].src]).toEqual([...inline[k].src]);
      expect([...ahead[k].row]).toEqual([...inline[k].row]);
      expect(ahead[k].batchIds).toEqual(inline[k].batchIds);
    }
  });
});
