/**
 * `--effect-schedule`: ground truth that changes mid-run. What it may change and
 * what it may not, given the RNG design (no draw depends on a price or on the
 * effect):
 * - every other symbol is byte-identical (same ticks, same interleaving, same recv_seq);
 * - the scheduled symbol is identical before the offset (every tick with ts_ms < offset),
 *   and its trade times, ids, sides and sizes and its quote times are identical throughout;
 *   only prices (and the quote sizes that depend on whether the touch moved) differ after it;
 * - a part file whose rows all have ts_ms < offset is byte-identical;
 * - the recipe is in manifest.json source, and regenerating from it gives the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_SYNTH,
  generate,
  synthesize,
  synthOptionsFromSource,
  type SynthOptions,
} from '../../src/synth/index.js';
import { MANIFEST_FILE, type DatasetManifest } from '../../src/dataset/manifest.js';
import { MemorySink, type SymbolTicks } from './reference.js';
import { flowlab } from '../helpers/flowlab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-synth-sched-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const START = Date.UTC(2024, 7, 8, 0, 0);
const BASE: SynthOptions = {
  ...DEFAULT_SYNTH,
  symbols: ['SOLUSDT', 'BTCUSDT'],
  hours: 2,
  startMs: START,
  effect: 0.15,
};
const OFFSET = 90 * 60_000;
const DYING: SynthOptions = { ...BASE, effectSchedule: [{ symbol: 'SOLUSDT', offsetMs: OFFSET, effect: 0 }] };

const TRADE_COLS = ['tRecv', 'tTs', 'tEvt', 'tId', 'tFirst', 'tLast', 'tPx', 'tQty', 'tM', 'tSeq'] as const;
const QUOTE_COLS = ['qRecv', 'qTs', 'qId', 'qBid', 'qBidQty', 'qAsk', 'qAskQty', 'qSeq'] as const;
const DEPTH_COLS = ['dRecv', 'dTs', 'dId', 'dBid0', 'dBidQty0', 'dAsk0', 'dAskQty0', 'dNb', 'dNa', 'dSeq'] as const;
const ALL_COLS = [...TRADE_COLS, ...QUOTE_COLS, ...DEPTH_COLS] as const;
type Col = (typeof ALL_COLS)[number];

const col = (x: SymbolTicks, k: Col): number[] => Array.from(x[k].view() as ArrayLike<number>);
const tsCol = (k: Col): Col => (k[0] === 't' ? 'tTs' : k[0] === 'q' ? 'qTs' : 'dTs');

/** Values of column k for the rows whose ts_ms is before `atMs` (arrival order kept). */
function rowsBefore(x: SymbolTicks, k: Col, atMs: number): number[] {
  const ts = col(x, tsCol(k));
  return col(x, k).filter((_, i) => ts[i] < atMs);
}

async function memory(o: SynthOptions): Promise<MemorySink> {
  const m = new MemorySink();
  await generate(o, m);
  return m;
}

describe('effect schedule (in memory)', () => {
  let base: MemorySink;
  let dying: MemorySink;
  beforeAll(async () => {
    base = await memory(BASE);
    dying = await memory(DYING);
  }, 60_000);

  it('leaves the other symbol, and the arrival order of everything, identical', () => {
    const b = base.bySymbol.get('BTCUSDT') as SymbolTicks;
    const d = dying.bySymbol.get('BTCUSDT') as SymbolTicks;
    for (const k of ALL_COLS) expect(col(d, k), k).toEqual(col(b, k));
    expect(dying.seq).toBe(base.seq);
  });

  it('changes the scheduled symbol only from its offset on, and only its prices', () => {
    const b = base.bySymbol.get('SOLUSDT') as SymbolTicks;
    const d = dying.bySymbol.get('SOLUSDT') as SymbolTicks;
    const at = START + OFFSET;
    for (const k of ALL_COLS) {
      const pre = rowsBefore(b, k, at);
      expect(pre.length, k).toBeGreaterThan(0);
      expect(rowsBefore(d, k, at), k).toEqual(pre);
    }
    // the order flow and the clock never depend on the effect
    for (const k of [
      'tRecv',
      'tTs',
      'tEvt',
      'tId',
      'tFirst',
      'tLast',
      'tQty',
      'tM',
      'tSeq',
      'qRecv',
      'qTs',
      'qId',
      'qSeq',
      'dRecv',
      'dTs',
    ] as const)
      expect(col(d, k), k).toEqual(col(b, k));
    // after the offset the prices do move differently
    const ts = col(b, 'tTs');
    const pb = col(b, 'tPx').filter((_, i) => ts[i] >= at);
    const pd = col(d, 'tPx').filter((_, i) => ts[i] >= at);
    expect(pb.length).toBeGreaterThan(1000);
    expect(pd.filter((p, i) => p !== pb[i]).length).toBeGreaterThan(pb.length / 2);
  });

  it('a change to the base effect changes nothing', async () => {
    const same = await memory({ ...BASE, effectSchedule: [{ symbol: 'SOLUSDT', offsetMs: OFFSET, effect: 0.15 }] });
    const b = base.bySymbol.get('SOLUSDT') as SymbolTicks;
    const s = same.bySymbol.get('SOLUSDT') as SymbolTicks;
    for (const k of ALL_COLS) expect(col(s, k), k).toEqual(col(b, k));
  });

  it('rejects a bad schedule naming the entry', async () => {
    const bad = (effectSchedule: SynthOptions['effectSchedule']) =>
      generate({ ...BASE, hours: 0.01, effectSchedule }, new MemorySink());
    await expect(bad([{ symbol: 'ETHUSDT', offsetMs: 0, effect: 0 }])).rejects.toThrow(/ETHUSDT is not generated/);
    await expect(bad([{ symbol: 'SOLUSDT', offsetMs: 36_000, effect: 0 }])).rejects.toThrow(/offset 36000 ms/);
    await expect(bad([{ symbol: 'SOLUSDT', offsetMs: 1.5, effect: 0 }])).rejects.toThrow(/offset 1.5 ms/);
    await expect(bad([{ symbol: 'SOLUSDT', offsetMs: 0, effect: -1 }])).rejects.toThrow(/effect for SOLUSDT/);
    await expect(
      bad([
        { symbol: 'SOLUSDT', offsetMs: 0, effect: 0 },
        { symbol: 'SOLUSDT', offsetMs: 0, effect: 1 },
      ]),
    ).rejects.toThrow(/twice/);
  });
});

describe('effect schedule (on disk)', () => {
  let base: DatasetManifest;
  let dying: DatasetManifest;
  let again: DatasetManifest;
  beforeAll(async () => {
    base = (await synthesize(BASE, path.join(tmp, 'base'))).manifest;
    dying = (await synthesize(DYING, path.join(tmp, 'dying'))).manifest;
    // regenerated from nothing but the manifest: the recipe is complete
    again = (await synthesize(synthOptionsFromSource(dying.source), path.join(tmp, 'again'))).manifest;
  }, 120_000);

  it('records the schedule in the manifest source and regenerates the same bytes from it', () => {
    expect(dying.source.effect_schedule).toEqual([
      { symbol: 'SOLUSDT', offset_ms: OFFSET, at: '2024-08-08T01:30:00.000Z', effect: 0 },
    ]);
    expect(dying.source.effect).toBe(0.15);
    expect('effect_schedule' in base.source).toBe(false);
    expect(again.files.map((f) => `${f.path} ${f.sha256}`)).toEqual(dying.files.map((f) => `${f.path} ${f.sha256}`));
    const ma = fs.readFileSync(path.join(tmp, 'again', MANIFEST_FILE));
    expect(ma.equals(fs.readFileSync(path.join(tmp, 'dying', MANIFEST_FILE)))).toBe(true);
  });

  it('keeps every part file of the other symbol, and every part before the offset, byte-identical', () => {
    const sha = new Map(base.files.map((f) => [f.path, f.sha256]));
    expect(dying.files.map((f) => f.path)).toEqual(base.files.map((f) => f.path));
    let preParts = 0;
    let changed = 0;
    for (const f of dying.files) {
      if (f.symbol === 'BTCUSDT' || f.max_ts_ms < START + OFFSET) {
        expect(f.sha256, f.path).toBe(sha.get(f.path));
        if (f.symbol === 'SOLUSDT') preParts++;
      } else if (f.sha256 !== sha.get(f.path)) changed++;
    }
    expect(preParts).toBe(3); // trades, quotes, depth of the first hour
    expect(changed).toBe(3); // ... and of the hour that holds the change
  });

  it('round-trips a manifest without a schedule and refuses one that is not a synth recipe', () => {
    expect(synthOptionsFromSource(base.source)).toEqual({
      ...BASE,
      symbols: ['BTCUSDT', 'SOLUSDT'],
      effectSchedule: [],
    });
    expect(() => synthOptionsFromSource({ type: 'import' })).toThrow(/expected type synth/);
    expect(() => synthOptionsFromSource({ ...base.source, seed: 'x' })).toThrow(/source.seed = "x"/);
  });
});

describe('flowlab synth --effect-schedule (CLI)', () => {
  const run = (args: string[]) => flowlab(['synth', ...args]);
  const common = ['--symbols', 'BTCUSDT,SOLUSDT', '--hours', '2', '--effect', '0.15'];

  it('writes the schedule it was given', async () => {
    const out = path.join(tmp, 'cli');
    const r = await run([
      '--out',
      out,
      ...common,
      '--hours',
      '0.05',
      '--effect-schedule',
      'solusdt:0@90s,SOLUSDT:0.3@2m',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SOLUSDT 0 from \+90 s, SOLUSDT 0.3 from \+120 s/);
    const m = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_FILE), 'utf8')) as DatasetManifest;
    expect(m.source.effect_schedule).toEqual([
      { symbol: 'SOLUSDT', offset_ms: 90_000, at: '2024-08-08T00:01:30.000Z', effect: 0 },
      { symbol: 'SOLUSDT', offset_ms: 120_000, at: '2024-08-08T00:02:00.000Z', effect: 0.3 },
    ]);
  });

  it('exits 2 with a one-line message naming the entry', async () => {
    for (const [spec, msg] of [
      ['ETHUSDT:0@1h', /symbol ETHUSDT is not in --symbols/],
      ['SOLUSDT:0@3h', /offset 3h is not inside the dataset/],
      ['SOLUSDT:0@2h', /offset 2h is not inside the dataset/],
      ['SOLUSDT:0@1d', /'1d' is not a duration/],
      ['SOLUSDT:x@1h', /effect: 'x' is not valid/],
      ['SOLUSDT:-0.1@1h', /effect: '-0.1' is not valid/],
      ['SOLUSDT@1h', /is not SYM:EFFECT@OFFSET/],
      ['SOLUSDT:0@1h,SOLUSDT:1@60m', /already changes at that offset/],
      [',', /is empty/],
    ] as const) {
      const r = await run(['--out', path.join(tmp, 'bad'), ...common, '--effect-schedule', spec]);
      expect(r.code, spec).toBe(2);
      expect(r.stderr.trim().split('\n'), spec).toHaveLength(1);
      expect(r.stderr, spec).toMatch(/^flowlab: --effect-schedule/);
      expect(r.stderr, spec).toMatch(msg);
    }
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });
});
