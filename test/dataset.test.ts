import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatasetWriter } from '../src/dataset/writer.js';
import { Dataset } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { MANIFEST_FILE } from '../src/dataset/manifest.js';
import { sha256File } from '../src/core/hash.js';
import type { TickBatch } from '../src/core/types.js';

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
