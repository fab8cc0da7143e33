import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatasetWriter } from '../src/dataset/writer.js';
import { Dataset, type ReadOptions } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { MANIFEST_FILE } from '../src/dataset/manifest.js';
import { sha256File } from '../src/core/hash.js';
import type { Kind, TickBatch } from '../src/core/types.js';
import { queryRows, sqlString } from '../src/io/duck.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-ds-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 7, 8, 23, 30);

/** A small mixed stream: trades + quotes for A, depth for B, crossing midnight UTC. */
async function writeFixture(dir: string, rotateSec = 600): Promise<{ calls: [string, string, number][] }> {
  const w = new DatasetWriter(dir, { rotateSec, depthLevels: 4, source: { type: 'test' } });
  const calls: [string, string, number][] = [];
  const bp = [100, 99.5, 99, 98.5];
  const bq = [1, 2, 3, 4];
  for (let i = 0; i < 5000; i++) {
    const t = T0 + i * 997; // ~83 minutes, crosses 00:00 UTC
    if (i % 3 === 0) {
      w.trade(
        'AAAUSDT',
        t,
        t - 7,
        t - 6,
        10 + i,
        100 + (i % 5) * 0.5,
        0.25 * (1 + (i % 4)),
        i % 7 === 0 ? -1 : i % 2,
        10 + i,
        10 + i,
      );
      calls.push(['AAAUSDT', 'trades', t]);
    } else if (i % 3 === 1) {
      w.quote('AAAUSDT', t, t - 5, 1000 + i, 99.5, 1 + (i % 3), 100.5, 2);
      calls.push(['AAAUSDT', 'quotes', t]);
    } else {
      w.depth(
        'BBBUSDT',
        t,
        t - 3,
        5000 + i,
        bp,
        bq,
        1 + (i % 4),
        bp.map((p) => p + 2),
        bq,
        i % 5 === 0 ? 0 : 4,
      );
      calls.push(['BBBUSDT', 'depth', t]);
    }
    if (i % 700 === 0) await w.drain();
  }
  await w.close();
  return { calls };
}

describe('raw dataset writer + reader', () => {
  it('round-trips every tick in arrival order with hive partitions, rotation and a sha256 manifest', async () => {
    const dir = path.join(tmp, 'a');
    const { calls } = await writeFixture(dir);
    const ds = new Dataset(dir);
    const m = ds.manifest;
    expect(m.symbols).toEqual(['AAAUSDT', 'BBBUSDT']);
    expect(m.rows.AAAUSDT).toEqual({ trades: 1667, quotes: 1667, depth: 0 });
    expect(m.rows.BBBUSDT.depth).toBe(1666);
    // rotation every 600 s of recv time and a split at the UTC date boundary
    const dates = new Set(m.files.map((f) => f.date));
    expect(dates).toEqual(new Set(['2024-08-08', '2024-08-09']));
    expect(m.files.filter((f) => f.symbol === 'AAAUSDT' && f.kind === 'trades').length).toBeGreaterThanOrEqual(9);
    for (const f of m.files) {
      expect(f.path).toMatch(
        /^date=\d{4}-\d{2}-\d{2}\/symbol=[A-Z]+\/kind=(trades|quotes|depth)\/part-\d+-\d+\.parquet$/,
      );
      expect(await sha256File(path.join(dir, f.path))).toBe(f.sha256);
      expect(f.last_recv_ts_ms - f.first_recv_ts_ms).toBeLessThan(600_000);
    }
    // arrival order == call order, values intact
    let k = 0;
    let prevSeq = -1;
    for await (const blk of arrivalBlocks(ds, { batchRows: 333 })) {
      for (let a = 0; a < blk.n; a++, k++) {
        const b = blk.batches[blk.src[a]];
        const i = blk.row[a];
        expect(b.recv_seq[i]).toBeGreaterThan(prevSeq);
        prevSeq = b.recv_seq[i];
        expect([b.symbol, b.kind, b.recv_ts_ms[i]]).toEqual(calls[k]);
        const n = Math.round((b.recv_ts_ms[i] - T0) / 997);
        if (b.kind === 'trades') {
          expect(b.ts_ms[i]).toBe(b.recv_ts_ms[i] - 7);
          expect(b.agg_trade_id[i]).toBe(10 + n);
          expect(b.qty[i]).toBe(0.25 * (1 + (n % 4)));
          expect(b.is_buyer_maker[i]).toBe(n % 7 === 0 ? -1 : n % 2);
        } else if (b.kind === 'depth') {
          expect(b.n_bid[i]).toBe(1 + (n % 4));
          expect(b.n_ask[i]).toBe(n % 5 === 0 ? 0 : 4);
          expect(b.bid_px[i * 4]).toBe(100);
          expect(b.ask_px[i * 4 + 1]).toBe(n % 5 === 0 ? NaN : 101.5);
          if (b.n_bid[i] < 4) expect(b.bid_px[i * 4 + 3]).toBeNaN();
        }
      }
    }
    expect(k).toBe(calls.length);
  });

  it('is deterministic: the same ticks give byte-identical part files and manifest', async () => {
    await writeFixture(path.join(tmp, 'd1'));
    await writeFixture(path.join(tmp, 'd2'));
    const m1 = fs.readFileSync(path.join(tmp, 'd1', MANIFEST_FILE), 'utf8');
    const m2 = fs.readFileSync(path.join(tmp, 'd2', MANIFEST_FILE), 'utf8');
    expect(m1).toBe(m2);
  });

  it('filters by symbol, kind and receive-time range; batches never exceed batchRows', async () => {
    const ds = new Dataset(path.join(tmp, 'a'));
    const from = T0 + 1000 * 997;
    const to = T0 + 2000 * 997;
    let n = 0;
    for await (const b of ds.stream('AAAUSDT', 'trades', { fromMs: from, toMs: to, batchRows: 100 })) {
      expect(b.length).toBeLessThanOrEqual(100);
      for (let i = 0; i < b.length; i++) {
        expect(b.recv_ts_ms[i]).toBeGreaterThanOrEqual(from);
        expect(b.recv_ts_ms[i]).toBeLessThan(to);
      }
      n += b.length;
    }
    expect(n).toBe(333); // i in [1000, 2000) with i % 3 == 0
    // early break closes cleanly
    for await (const b of ds.stream('AAAUSDT', 'quotes', { batchRows: 10 })) {
      expect(b.length).toBe(10);
      break;
    }
  });

  it('says so for an unknown symbol, an empty range, a missing dataset, and a corrupt part file (naming it)', async () => {
    const ds = new Dataset(path.join(tmp, 'a'));
    expect(() => ds.select({ symbols: ['ZZZUSDT'] })).toThrow(
      /symbol 'ZZZUSDT' is not in dataset .* \(it has: AAAUSDT, BBBUSDT\)/,
    );
    expect(() => ds.select({ fromMs: 10, toMs: 10 })).toThrow(/empty time range/);
    expect(() => ds.select({ fromMs: 0, toMs: 1000 })).toThrow(/no data for .*\(dataset covers/);
    expect(() => new Dataset(path.join(tmp, 'nope'))).toThrow(/dataset '.*nope' does not exist/);
    const dir = path.join(tmp, 'corrupt');
    await writeFixture(dir);
    const victim = new Dataset(dir).manifest.files.find((f) => f.kind === 'quotes')!;
    const file = path.join(dir, victim.path);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const read = async () => {
      const out: TickBatch[] = [];
      for await (const b of new Dataset(dir).stream('AAAUSDT', 'quotes')) out.push(b);
    };
    await expect(read()).rejects.toThrow(new RegExp(`part file '.*${path.basename(file)}' cannot be read`));
    await expect(
      (async () => {
        for await (const _ of new Dataset(dir).stream('AAAUSDT', 'quotes', { verifyHashes: true })) void _;
      })(),
    ).rejects.toThrow(/changed: sha256/);
  });

  it('appending continues recv_seq and keeps earlier files in the manifest', async () => {
    const dir = path.join(tmp, 'append');
    const w1 = new DatasetWriter(dir, { rotateSec: 60 });
    w1.trade('AAAUSDT', T0, T0, T0, 1, 10, 1, 0, 1, 1);
    await w1.close();
    const w2 = new DatasetWriter(dir, { rotateSec: 60 });
    expect(w2.nextSeq).toBe(1);
    w2.trade('AAAUSDT', T0 + 120_000, T0 + 120_000, T0 + 120_000, 2, 10, 1, 1, 2, 2);
    const m = await w2.close();
    expect(m.files).toHaveLength(2);
    expect(m.rows.AAAUSDT.trades).toBe(2);
  });
});

/**
 * The reader scans runs of part files with one query and no ORDER BY, holding
 * each file until its (recv_ts_ms, recv_seq) order is checked, and reads a file
 * again sorted on its own when it is not in order, has more rows than its
 * manifest entry, or is larger than `holdRows`. The slow obvious reference:
 * every file on its own, `ORDER BY recv_ts_ms, recv_seq`, in first_recv_seq
 * order, cut into batches of `batchRows`.
 */
describe('reader: runs of part files against per-file ORDER BY', () => {
  const dir = path.join(tmp, 'scan');
  const LEVELS = 3;

  /** Two symbols; AAAUSDT's receive clock steps back now and then (its part files are not all in order). */
  async function fixture(): Promise<void> {
    const w = new DatasetWriter(dir, { rotateSec: 120, depthLevels: LEVELS, source: { type: 'test' } });
    for (let i = 0; i < 4000; i++) {
      const back = i % 97 === 50 ? 1500 : 0;
      const t = T0 + i * 211 - back;
      const sym = i % 5 === 0 ? 'BBBUSDT' : 'AAAUSDT';
      if (i % 3 === 0) w.trade(sym, t, t - 4, t - 3, i, 100 + (i % 9), 1 + (i % 4), i % 11 === 0 ? -1 : i % 2, i, i);
      else if (i % 3 === 1) w.quote(sym, t, t - 2, 10_000 + i, 99 + (i % 3), 1, 101, 2 + (i % 5));
      else {
        const n = i % 4;
        const px = [100, 99, 98].slice(0, n);
        w.depth(sym, t, t - 1, 20_000 + i, px, px, n, px, px, n === 3 ? 2 : n);
      }
      if (i % 600 === 0) await w.drain();
    }
    await w.close();
  }

  /** Every column of a batch as one line per row. */
  function lines(b: TickBatch): string[] {
    const out: string[] = [];
    for (let r = 0; r < b.length; r++) {
      const v: unknown[] = [];
      for (const [k, a] of Object.entries(b)) {
        if (!ArrayBuffer.isView(a)) continue;
        const w = b.kind === 'depth' && /_(px|qty)$/.test(k) ? b.levels : 1;
        v.push(k, ...Array.from((a as Float64Array).subarray(r * w, (r + 1) * w)));
      }
      out.push(v.join(' '));
    }
    return out;
  }

  /** The reference rows and batch lengths of one stream. */
  async function reference(
    ds: Dataset,
    symbol: string,
    kind: Kind,
    opts: ReadOptions,
  ): Promise<{ rows: string[]; lengths: number[] }> {
    const files = ds
      .select({ ...opts, symbols: [symbol], kinds: [kind] })
      .sort((a, b) => a.first_recv_seq - b.first_recv_seq);
    const rows: string[] = [];
    for (const f of files) {
      const one = await queryRows(
        `SELECT recv_ts_ms, recv_seq FROM read_parquet(${sqlString(path.join(ds.root, f.path))})` +
          `${opts.fromMs !== undefined ? ` WHERE recv_ts_ms >= ${opts.fromMs} AND recv_ts_ms < ${opts.toMs}` : ''} ORDER BY recv_ts_ms, recv_seq`,
      );
      for (const r of one) rows.push(`${Number(r.recv_ts_ms)} ${Number(r.recv_seq)}`);
    }
    const batch = opts.batchRows ?? 65536;
    const lengths: number[] = [];
    for (let left = rows.length; left > 0; left -= batch) lengths.push(Math.min(batch, left));
    return { rows, lengths };
  }

  it('gives the rows and batches of per-file ORDER BY, for files out of order, mis-counted and too large to hold', async () => {
    await fixture();
    const ds = new Dataset(dir);
    // the fixture exercises the fallback: some AAAUSDT files are not in (recv_ts_ms, recv_seq) order on disk
    let unsorted = 0;
    for (const f of ds.manifest.files.filter((x) => x.symbol === 'AAAUSDT')) {
      const r = await queryRows(`SELECT recv_ts_ms FROM read_parquet(${sqlString(path.join(dir, f.path))})`);
      if (r.some((x, i) => i > 0 && Number(x.recv_ts_ms) < Number(r[i - 1].recv_ts_ms))) unsorted++;
    }
    expect(unsorted).toBeGreaterThan(1);
    // and manifest entries that say fewer rows than their files hold: the largest of their stream, so the held
    // buffer (sized by the manifest) is too small for them
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as {
      files: { rows: number; symbol: string; kind: string }[];
    };
    const stream = m.files.filter((f) => f.symbol === 'BBBUSDT' && f.kind === 'quotes').sort((a, b) => b.rows - a.rows);
    const most = stream[0].rows;
    for (const f of stream) if (f.rows === most) f.rows = 1;
    expect(most).toBeGreaterThan(Math.max(...stream.map((f) => f.rows)));
    fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2));
    const dsm = new Dataset(dir);
    const sizes = dsm.manifest.files.map((f) => f.rows).sort((a, b) => a - b);
    const mid = sizes[Math.floor(sizes.length / 2)];
    const cases: ReadOptions[] = [
      { batchRows: 1 },
      { batchRows: 7, verifyHashes: true },
      { batchRows: 64, holdRows: mid }, // files above the median on their own, the others in runs
      { batchRows: 1000, holdRows: 0 },
      { batchRows: 33, fromMs: T0 + 300 * 211, toMs: T0 + 3100 * 211 },
    ];
    for (const opts of cases) {
      for (const symbol of ['AAAUSDT', 'BBBUSDT']) {
        for (const kind of ['trades', 'quotes', 'depth'] as const) {
          const want = await reference(dsm, symbol, kind, opts);
          const got: string[] = [];
          const lengths: number[] = [];
          const keys: string[] = [];
          for await (const b of dsm.stream(symbol, kind, opts)) {
            lengths.push(b.length);
            got.push(...lines(b));
            for (let r = 0; r < b.length; r++) keys.push(`${b.recv_ts_ms[r]} ${b.recv_seq[r]}`);
          }
          expect(keys, `${symbol} ${kind} ${JSON.stringify(opts)}`).toEqual(want.rows);
          expect(lengths).toEqual(want.lengths);
          // every column equals a per-file sorted read (holdRows -1: every file on its own, ORDER BY)
          const alone: string[] = [];
          for await (const b of dsm.stream(symbol, kind, { ...opts, holdRows: -1 })) alone.push(...lines(b));
          expect(got).toEqual(alone);
        }
      }
    }
  });
});
