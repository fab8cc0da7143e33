/**
 * The observer interface: onSample gets one reused FusionRow struct (no object
 * per sample), whose values are exactly the fusion table's rows, in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dataset } from '../../src/dataset/reader.js';
import { arrivalBlocks } from '../../src/pipeline/arrival.js';
import { Pipeline, type FusionRow } from '../../src/pipeline/pipeline.js';
import { TABLES } from '../../src/pipeline/tables.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { configFromObject } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-observer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('PipelineObserver.onSample', () => {
  it('one reused struct per pipeline, carrying exactly the fusion rows', async () => {
    const ds = path.join(tmp, 'ds');
    const syn = runCli(['synth', '--out', ds, '--hours', '0.5', '--symbols', 'BTCUSDT,ETHUSDT', '--seed', '4']);
    expect(syn.code).toBe(0);
    const cfg = configFromObject({}, {}).config;
    const objects = new Set<object>();
    const seen: Record<string, number[][]> = { BTCUSDT: [], ETHUSDT: [] };
    // the fusion columns the struct carries (slice codes by code; fee_tier is per symbol)
    const names = TABLES.fusion.map((c) => c.name).filter((n) => n !== 'fee_tier');
    const key = (n: string): keyof FusionRow => (n === 'ts_ms' ? 'ts' : (n as keyof FusionRow));
    const p = new Pipeline(calcParamsFromConfig(cfg), {
      mergeTolMs: cfg.labels.merge_tol_ms,
      observer: {
        onSample(symbol, s, calc) {
          objects.add(s);
          expect(calc.symbol).toBe(symbol);
          seen[symbol].push(names.map((n) => s[key(n)]));
        },
      },
    });
    const written: Record<string, number[][]> = { BTCUSDT: [], ETHUSDT: [] };
    const collect = () => {
      for (const b of p.take(1000)) {
        if (b.kind !== 'fusion') continue;
        const cols = names.map((n) => b.columns.find((c) => c.name === n)!);
        for (let i = 0; i < b.rows; i++) {
          written[b.symbol].push(
            cols.map((c) => (c.type === 'codes' ? c.codes[i] : c.type === 'f64' || c.type === 'i64' ? c.data[i] : NaN)),
          );
        }
      }
    };
    for await (const block of arrivalBlocks(new Dataset(ds), { kinds: ['trades', 'quotes'], batchRows: 4096 })) {
      p.push(block);
      collect();
    }
    p.finish();
    collect();
    expect(objects.size).toBe(1);
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      expect(seen[sym].length).toBe(1800);
      expect(seen[sym]).toEqual(written[sym]);
    }
  });
});
