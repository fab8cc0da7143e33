/**
 * The pipeline's release-order keys (`Pipeline.orderKey`, what the canary's
 * symbol shards merge on): over all symbols, every observer call comes with a
 * key no smaller than the one before (the keys ARE the call order), and a
 * pipeline over a subset of the symbols makes exactly the calls of those
 * symbols, in the same order, with the same keys. The oracle is the full run's
 * call list itself, filtered by symbol. The fixture has duplicates, held-back
 * (late) messages, a clock skew (warm-up staging) and an end-of-input flush.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { Dataset } from '../../src/dataset/reader.js';
import { arrivalBlocks } from '../../src/pipeline/arrival.js';
import { compareOrderKeys, Pipeline, type OrderKey, type ReleaseOrder } from '../../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { loadConfig } from '../../src/config/load.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-orderkey-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CONFIG = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
const SYMBOLS = ['ADAUSDT', 'BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const D = path.join(tmp, 'D');

interface Call {
  what: 'sample' | 'quote';
  symbol: string;
  ts: number;
  key: OrderKey;
}

/** Every observer call of a pipeline over `symbols`, with the key it was made at. */
async function calls(symbols: string[]): Promise<Call[]> {
  const out: Call[] = [];
  let order: ReleaseOrder | null = null;
  const cfg = CONFIG.config;
  const p = new Pipeline(calcParamsFromConfig(cfg), {
    mergeTolMs: cfg.labels.merge_tol_ms,
    tables: ['fusion'],
    observer: {
      attach: (o) => {
        order = o;
      },
      onSample: (symbol, s) => out.push({ what: 'sample', symbol, ts: s.ts, key: order!.orderKey() }),
      onQuote: (symbol, ts) => out.push({ what: 'quote', symbol, ts, key: order!.orderKey() }),
    },
  });
  for await (const b of arrivalBlocks(new Dataset(D), { symbols, kinds: ['trades', 'quotes'], batchRows: 4096 })) {
    p.push(b);
    p.take(1 << 30);
  }
  p.finish();
  return out;
}

let all: Call[];

beforeAll(async () => {
  await synthesize(
    { ...DEFAULT_SYNTH, symbols: SYMBOLS, hours: 0.5, seed: 3, dupRate: 0.01, oooRate: 0.02, skewMs: -1270 },
    D,
  );
  all = await calls(SYMBOLS);
}, 120_000);

describe('Pipeline.orderKey', () => {
  it('over all symbols: keys never decrease along the calls, pushes and the end-of-input flush among them', () => {
    expect(all.length).toBeGreaterThan(10_000);
    for (let i = 1; i < all.length; i++) {
      if (compareOrderKeys(all[i - 1].key, all[i].key) > 0)
        throw new Error(`call ${i}: ${JSON.stringify(all[i - 1].key)} then ${JSON.stringify(all[i].key)}`);
    }
    // phase 2 (samples the calculators emit only at their own flush) may not occur
    const phases = new Set(all.map((c) => c.key[0]));
    expect(phases.has(0) && phases.has(1)).toBe(true);
    expect(all.filter((c) => c.key[0] === 1).length).toBeGreaterThan(SYMBOLS.length);
    // the symbols' calls interleave (a shard's calls are not a block of the full run's)
    const switches = all.filter((c, i) => i > 0 && c.symbol !== all[i - 1].symbol).length;
    expect(switches).toBeGreaterThan(1000);
  });

  for (const subset of [['BTCUSDT'], ['ADAUSDT', 'SOLUSDT'], ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']]) {
    it(`a pipeline over ${subset.join(',')} makes the full run's calls of those symbols, with the same keys`, async () => {
      const want = all.filter((c) => subset.includes(c.symbol));
      const got = await calls(subset);
      expect(got.length).toBe(want.length);
      expect(got).toEqual(want);
    });
  }

  it('compares element by element, numbers and strings, a prefix first', () => {
    expect(compareOrderKeys([0, 5, 1, 'A', 'quotes'], [0, 5, 1, 'B', 'quotes'])).toBeLessThan(0);
    expect(compareOrderKeys([1, 3], [0, 9])).toBeGreaterThan(0);
    expect(compareOrderKeys([2, 'X'], [2, 'X'])).toBe(0);
    expect(compareOrderKeys([2], [2, 'X'])).toBeLessThan(0);
  });
});
