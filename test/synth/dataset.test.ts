/**
 * The synthetic dataset on disk: byte-identical for the same seed, different
 * for another seed, readable back in arrival order with the manifest's counts,
 * and per-symbol streams independent of the other symbols and of the fault rates.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_DATASET_RECIPE,
  DEFAULT_SYNTH,
  GENERATOR_VERSION,
  generate,
  synthesize,
  type SynthOptions,
} from '../../src/synth/index.js';
import { Dataset } from '../../src/dataset/reader.js';
import { arrivalBlocks } from '../../src/pipeline/arrival.js';
import { MANIFEST_FILE, type DatasetManifest } from '../../src/dataset/manifest.js';
import { MemorySink, type SymbolTicks } from './reference.js';
import { runCli } from '../helpers/cli.js';
import { main } from '../../src/cli/main.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-synth-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SMALL: SynthOptions = {
  ...DEFAULT_SYNTH,
  symbols: ['ETHUSDT', 'BTCUSDT'],
  hours: 1,
  startMs: Date.UTC(2024, 7, 8, 23, 30),
};

const hashes = (m: DatasetManifest) => m.files.map((f) => `${f.path} ${f.sha256}`);

let a: DatasetManifest;
let b: DatasetManifest;
let c: DatasetManifest;

beforeAll(async () => {
  a = (await synthesize(SMALL, path.join(tmp, 'a'))).manifest;
  b = (await synthesize(SMALL, path.join(tmp, 'b'))).manifest;
  c = (await synthesize({ ...SMALL, seed: 43 }, path.join(tmp, 'c'))).manifest;
}, 60_000);

describe('synth dataset on disk', () => {
  it('is byte-identical for the same seed and options', () => {
    expect(a.files.length).toBeGreaterThan(0);
    expect(hashes(b)).toEqual(hashes(a));
    const ma = fs.readFileSync(path.join(tmp, 'a', MANIFEST_FILE));
    const mb = fs.readFileSync(path.join(tmp, 'b', MANIFEST_FILE));
    expect(mb.equals(ma)).toBe(true);
  });

  it('differs for another seed', () => {
    const ha = new Set(a.files.map((f) => f.sha256));
    expect(c.files.some((f) => ha.has(f.sha256))).toBe(false);
  });

  it('crosses midnight into two date partitions with hourly part files', () => {
    // 23:30 + 1 h: each (symbol, kind) has a part on 08-08 and one on 08-09
    expect(a.files.length).toBe(2 * 3 * 2);
    expect(new Set(a.files.map((f) => f.date))).toEqual(new Set(['2024-08-08', '2024-08-09']));
  });

  it('records the recipe in source and the injected faults in stats.synth', () => {
    expect(a.source).toMatchObject({
      type: 'synth',
      generator_version: GENERATOR_VERSION,
      seed: 42,
      symbols: ['BTCUSDT', 'ETHUSDT'],
      hours: 1,
      start: '2024-08-08T23:30:00.000Z',
      effect: DEFAULT_SYNTH.effect,
      dup_rate: 0.001,
      gap_rate: 0.0005,
      ooo_rate: 0.002,
    });
    const st = a.stats.synth as { rows: Record<string, number>; per_symbol: Record<string, Record<string, number>> };
    expect(st.rows.total).toBe(Object.values(a.rows).reduce((s, r) => s + r.trades + r.quotes + r.depth, 0));
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      const p = st.per_symbol[sym];
      expect(p.trades_delivered).toBe(a.rows[sym].trades);
      expect(p.quotes_delivered).toBe(a.rows[sym].quotes);
      expect(p.depth_delivered).toBe(a.rows[sym].depth);
      for (const k of ['dup_trades', 'lost_trades', 'ooo_delayed', 'ooo_reordered', 'late_over_watermark'])
        expect(p[k]).toBeTypeOf('number');
    }
  });

  it('reads back in arrival order with the generated values', async () => {
    const ds = new Dataset(path.join(tmp, 'a'));
    const mem = new MemorySink();
    await generate(SMALL, mem);
    let prevT = -Infinity;
    let n = 0;
    let badOrder = 0;
    let badTrade = 0;
    const trades: Record<string, number> = { BTCUSDT: 0, ETHUSDT: 0 };
    for await (const blk of arrivalBlocks(ds)) {
      for (let a = 0; a < blk.n; a++) {
        const bt = blk.batches[blk.src[a]];
        const i = blk.row[a];
        const t = bt.recv_ts_ms[i];
        // recv_seq is the sink call order, from 0; recv_ts_ms never goes back
        if (bt.recv_seq[i] !== n || t < prevT) badOrder++;
        prevT = t;
        n++;
        if (bt.kind === 'trades') {
          const x = mem.bySymbol.get(bt.symbol) as SymbolTicks;
          const j = trades[bt.symbol]++;
          if (
            bt.agg_trade_id[i] !== x.tId.data[j] ||
            bt.price[i] !== x.tPx.data[j] ||
            bt.qty[i] !== x.tQty.data[j] ||
            bt.is_buyer_maker[i] !== x.tM.data[j] ||
            bt.ts_ms[i] !== x.tTs.data[j] ||
            bt.event_ts_ms[i] !== x.tEvt.data[j]
          ) {
            badTrade++;
          }
        }
      }
    }
    expect(badOrder).toBe(0);
    expect(badTrade).toBe(0);
    expect(trades.BTCUSDT).toBe(a.rows.BTCUSDT.trades);
    expect(n).toBe(mem.seq);
  });

  it('keeps a symbol identical whatever the other symbols, and the market identical whatever the fault rates', async () => {
    const opts = { ...SMALL, hours: 0.25 };
    const solo = new MemorySink();
    await generate({ ...opts, symbols: ['BTCUSDT'] }, solo);
    const pair = new MemorySink();
    await generate(opts, pair);
    const s = solo.bySymbol.get('BTCUSDT')!;
    const p = pair.bySymbol.get('BTCUSDT')!;
    for (const k of [
      'tRecv',
      'tTs',
      'tId',
      'tPx',
      'tQty',
      'qRecv',
      'qTs',
      'qBid',
      'qAskQty',
      'dRecv',
      'dBid0',
    ] as const) {
      expect(Array.from(p[k].view()), k).toEqual(Array.from(s[k].view()));
    }
    // no faults: same exchange-side events (ts, ids, prices), different arrivals
    const clean = new MemorySink();
    await generate({ ...opts, dupRate: 0, gapRate: 0, oooRate: 0 }, clean);
    const cl = clean.bySymbol.get('BTCUSDT')!;
    const ids = new Set(p.tId.view());
    expect(cl.tId.length).toBeGreaterThanOrEqual(ids.size);
    expect(Array.from(cl.qTs.view())).toEqual(Array.from(p.qTs.view()).sort((x, y) => x - y));
    // effect 0: same order flow (times, sides, sizes), different prices
    const null0 = new MemorySink();
    await generate({ ...opts, effect: 0 }, null0);
    const z = null0.bySymbol.get('BTCUSDT')!;
    expect(Array.from(z.tTs.view())).toEqual(Array.from(p.tTs.view()));
    expect(Array.from(z.tM.view())).toEqual(Array.from(p.tM.view()));
    expect(Array.from(z.tQty.view())).toEqual(Array.from(p.tQty.view()));
    expect(Array.from(z.tPx.view())).not.toEqual(Array.from(p.tPx.view()));
  });

  it('refuses to write into a non-empty directory unless asked to replace a dataset', async () => {
    const tiny = { ...SMALL, hours: 0.01 };
    await expect(synthesize(tiny, path.join(tmp, 'a'))).rejects.toThrow(/not empty.*--force/);
    const other = path.join(tmp, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'keep me');
    await expect(synthesize(tiny, other, { overwrite: true })).rejects.toThrow(/not a flowlab dataset/);
    expect(fs.readFileSync(path.join(other, 'notes.txt'), 'utf8')).toBe('keep me');
    const again = path.join(tmp, 'again');
    await synthesize(tiny, again);
    const r = await synthesize({ ...tiny, seed: 7 }, again, { overwrite: true });
    expect(r.manifest.source.seed).toBe(7);
    expect(new Dataset(again).manifest.files.map((f) => f.path).sort()).toEqual(
      r.manifest.files.map((f) => f.path).sort(),
    );
  });

  it('rejects bad options with a message naming the field', async () => {
    await expect(generate({ ...SMALL, hours: 0 }, new MemorySink())).rejects.toThrow(/hours/);
    await expect(generate({ ...SMALL, symbols: ['btc usdt'] }, new MemorySink())).rejects.toThrow(/symbol/);
    await expect(generate({ ...SMALL, dupRate: 0.9 }, new MemorySink())).rejects.toThrow(/dupRate/);
    await expect(generate({ ...SMALL, depthIntervalMs: 100 }, new MemorySink())).rejects.toThrow(/depthIntervalMs/);
    await expect(generate({ ...SMALL, seed: -1 }, new MemorySink())).rejects.toThrow(/seed/);
  });

  it('exports the default dataset recipe', () => {
    expect(DEFAULT_DATASET_RECIPE.dir).toBe('datasets/default');
    expect(DEFAULT_DATASET_RECIPE.options).toMatchObject({ hours: 24, seed: 42, startMs: Date.UTC(2024, 7, 8) });
    expect([...DEFAULT_DATASET_RECIPE.options.symbols].sort()).toEqual([
      'ADAUSDT',
      'BNBUSDT',
      'BTCUSDT',
      'ETHUSDT',
      'SOLUSDT',
      'XRPUSDT',
    ]);
  });
});

describe('flowlab synth (CLI)', () => {
  it('writes a dataset and prints a one-paragraph summary', () => {
    const out = path.join(tmp, 'cli');
    const r = runCli([
      'synth',
      '--out',
      out,
      '--symbols',
      'xrpusdt',
      '--hours',
      '0.1',
      '--seed',
      '5',
      '--effect',
      '0',
      '--dup-rate',
      '0.01',
    ]);
    // lower-case symbols are accepted, and the upper-casing is said (issue 11)
    expect(r.stderr).toBe("flowlab: note: --symbols: 'xrpusdt' taken as XRPUSDT (symbols are upper case)\n");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stdout.trim().split('\n')[1]).toMatch(/^done in \d+\.\d s$/);
    expect(r.stdout).toMatch(
      /^synth: wrote [\d,]+ rows .*trades [\d,]+, quotes [\d,]+, depth [\d,]+; injected \d+ duplicate trades, \d+ lost trades/,
    );
    const m = new Dataset(out).manifest;
    expect(m.symbols).toEqual(['XRPUSDT']);
    expect(m.source).toMatchObject({ seed: 5, effect: 0, dup_rate: 0.01, hours: 0.1 });
  });

  it('exits 2 with a one-line message on bad arguments', async () => {
    // in-process (no child start-up per case): main() returns the exit code, stderr is captured
    const run = async (args: string[]) => {
      let err = '';
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        err += String(chunk);
        return true;
      });
      try {
        return { code: await main(['node', 'flowlab', 'synth', ...args]), err };
      } finally {
        spy.mockRestore();
      }
    };
    for (const args of [
      ['--hours', 'x'],
      ['--effect', '-1'],
      ['--start', 'yesterday'],
      ['--skew-ms', '1.5'],
      ['--depth-interval-ms', '10'],
      ['--symbols', 'BTC-USDT'],
    ]) {
      const r = await run(['--out', path.join(tmp, 'bad'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(new RegExp(`^flowlab: ${args[0]}`));
    }
    const r = await run(['--out', path.join(tmp, 'a')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not empty/);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });
});
