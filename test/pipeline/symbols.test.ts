/**
 * Symbols are independent (prerequisite of sharding by symbol, issues 13 and
 * 16): replaying one symbol of a dataset alone gives byte-identical derived
 * Parquet files for it (all five tables) and the same per-symbol figures as
 * the replay of all symbols. The fixture has repeated trades, held-back
 * (overtaken) messages and a recorder clock skew, and symbols of different
 * activity, so each symbol's releases would move if the sequencer's arrival
 * clock or skew estimate, or the dedup memory, were shared across symbols.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { replay, type ReplayResult } from '../../src/replay/replay.js';
import { loadConfig } from '../../src/config/load.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { DERIVED_KINDS } from '../../src/pipeline/tables.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { Dataset } from '../../src/dataset/reader.js';
import { arrivalBlocks } from '../../src/pipeline/arrival.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-symbols-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CONFIG = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
const SYMBOLS = ['ADAUSDT', 'BTCUSDT', 'SOLUSDT'];
const D = path.join(tmp, 'D');
let all: ReplayResult;

const kindOf = (p: string) => /kind=([a-z]+)/.exec(p)![1];
/** "path rows sha256" of a run's outputs of one symbol, in manifest order. */
function outputsOf(r: ReplayResult, symbol: string): string[] {
  return r.manifest.outputs
    .filter((o) => o.path.includes(`symbol=${symbol}`))
    .map((o) => `${o.path} ${o.rows} ${o.sha256}`);
}

beforeAll(async () => {
  await synthesize(
    { ...DEFAULT_SYNTH, symbols: SYMBOLS, hours: 1, seed: 7, dupRate: 0.01, oooRate: 0.01, skewMs: -1270 },
    D,
  );
  all = await replay({ data: D, config: CONFIG, out: tmp, runTag: 'all', progress: false, blockRows: 2048 });
}, 180_000);

describe('symbols are independent in the pipeline', () => {
  for (const sym of SYMBOLS) {
    it(`${sym} replayed alone: byte-identical derived files and figures`, async () => {
      const one = await replay({
        data: D,
        config: CONFIG,
        out: tmp,
        runTag: `only-${sym}`,
        symbols: [sym],
        progress: false,
        blockRows: 2048,
      });
      const want = outputsOf(all, sym);
      // every table of the symbol is there, in several parts
      expect(new Set(want.map(kindOf))).toEqual(new Set(DERIVED_KINDS));
      expect(want.length).toBeGreaterThan(DERIVED_KINDS.length);
      expect(one.manifest.outputs.length).toBe(want.length);
      expect(outputsOf(one, sym)).toEqual(want);
      expect(one.manifest.symbols[sym]).toEqual(all.manifest.symbols[sym]);
      // the fixture exercises the per-symbol rules
      const s = all.manifest.symbols[sym];
      expect(s.duplicate_trades as number).toBeGreaterThan(10);
      expect(s.past_watermark as number).toBeGreaterThan(0);
    }, 180_000);
  }

  it("the run summary holds each symbol's own skew estimate (about the recorder skew)", () => {
    for (const sym of SYMBOLS) {
      const k = all.manifest.symbols[sym].skew_ms as number;
      expect(k, sym).toBeGreaterThan(-1270);
      expect(k, sym).toBeLessThan(-1200);
    }
    const ks = SYMBOLS.map((s) => all.manifest.symbols[s].skew_ms as number).sort((a, b) => a - b);
    expect(all.manifest.counters.skew_ms).toBe(ks[1]);
  });

  it("a small dedup memory forgets per symbol: other symbols' trades do not evict a symbol's ids", async () => {
    const params = calcParamsFromConfig(CONFIG.config);
    params.sequencer = { ...params.sequencer, dedup_ids: 3 };
    const run = async (symbols: readonly string[]) => {
      const p = new Pipeline(params, { mergeTolMs: CONFIG.config.labels.merge_tol_ms });
      for await (const b of arrivalBlocks(new Dataset(D), { symbols, kinds: ['trades', 'quotes'] })) p.push(b);
      p.finish();
      return p.symbolSummary();
    };
    const three = await run(SYMBOLS);
    let caught = 0;
    for (const sym of SYMBOLS) {
      expect((await run([sym]))[sym], sym).toEqual(three[sym]);
      caught += three[sym].duplicate_trades as number;
    }
    // repeats come within a few trades of their original: a memory of 3 ids per symbol still catches some
    expect(caught).toBeGreaterThan(0);
  }, 180_000);

  it("with depth messages in the arrivals (heartbeats of their symbol's clock) symbols stay independent", async () => {
    const params = calcParamsFromConfig(CONFIG.config);
    const run = async (symbols: readonly string[], withDepth: boolean) => {
      const p = new Pipeline(params, { mergeTolMs: CONFIG.config.labels.merge_tol_ms });
      const kinds = withDepth ? (['trades', 'quotes', 'depth'] as const) : (['trades', 'quotes'] as const);
      for await (const b of arrivalBlocks(new Dataset(D), { symbols, kinds: [...kinds], batchRows: 4096 })) p.push(b);
      p.finish();
      return { summary: p.symbolSummary(), counters: p.counters };
    };
    const three = await run(SYMBOLS, true);
    for (const sym of SYMBOLS) expect((await run([sym], true)).summary[sym], sym).toEqual(three.summary[sym]);
    // the same ticks, each once
    const plain = await run(SYMBOLS, false);
    expect(three.counters.pushed).toBe(plain.counters.pushed);
    expect(three.counters.released).toBe(plain.counters.released);
  }, 180_000);
});
