/**
 * Sequencer release delay: how long a tick waits in the sequencer, in arrival
 * time (the `recv_ts_ms` of the arrival whose push released it minus the
 * tick's own `recv_ts_ms`), with one group per symbol (each symbol's own
 * arrival clock, skew estimate and late rule: what the pipeline does) against
 * one group for all symbols (a clock shared by all symbols), on the same
 * arrivals. Ticks still held at the end (released by `flush`) have no delay
 * and are counted apart. This is the live cost of symbol independence: a tick
 * of a quiet symbol waits for that symbol's next arrival instead of any
 * symbol's. Not a timing benchmark: figures are a function of the data.
 *
 * Datasets: the real captures (../shared/realdata, imported with the
 * ws-capture importer into a temp folder: spot BTCUSDT + ETHUSDT, both days;
 * USD-M BTCUSDT + ETHUSDT with COIN-M BTCUSD_PERP + ETHUSD_PERP, first day)
 * and `synth --hours 2 --seed 5` (all six seed symbols). Trades and quotes, as
 * the pipeline sequences them (depth is not sequenced); the production config's
 * sequencer parameters (auto skew, watermark 500 ms).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runImport } from '../src/import/run.js';
import { DEFAULT_SYNTH, synthesize } from '../src/synth/index.js';
import { Dataset } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { tickClock } from '../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../src/pipeline/params.js';
import { loadConfig } from '../src/config/load.js';
import { Sequencer } from '../src/pipeline/sequencer.js';
import { GrowableF64 } from '../src/core/growable.js';
import { KIND_RANK } from '../src/core/types.js';

type Row = { name: string; value: number; unit: string };

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REAL = path.resolve(REPO, '../shared/realdata/hftbacktest');
const QS = [0.5, 0.9, 0.99, 0.999, 1];

function log(msg: string): void {
  process.stderr.write(`bench seqdelay: ${msg}\n`);
}

interface Arrivals {
  readonly symbols: string[];
  readonly group: number[];
  readonly rank: number[];
  readonly ts: Float64Array;
  readonly recv: Float64Array;
  readonly seq: Float64Array;
  readonly clock: number[];
}

async function readArrivals(dir: string): Promise<Arrivals> {
  const ts = new GrowableF64();
  const recv = new GrowableF64();
  const seq = new GrowableF64();
  const group: number[] = [];
  const rank: number[] = [];
  const clock: number[] = [];
  const symbols: string[] = [];
  for await (const b of arrivalBlocks(new Dataset(dir), { kinds: ['trades', 'quotes', 'depth'] })) {
    for (let i = 0; i < b.n; i++) {
      const batch = b.batches[b.src[i]];
      const r = b.row[i];
      let g = symbols.indexOf(batch.symbol);
      if (g < 0) g = symbols.push(batch.symbol) - 1;
      const t = batch.ts_ms[r];
      const rv = batch.recv_ts_ms[r];
      ts.push(t);
      recv.push(rv);
      seq.push(batch.recv_seq[r]);
      group.push(g);
      rank.push(batch.kind === 'depth' ? -1 : KIND_RANK[batch.kind]); // -1: a depth message (not sequenced)
      clock.push(tickClock(batch.kind, t, rv));
    }
  }
  return { symbols, group, rank, ts: ts.view().slice(), recv: recv.view().slice(), seq: seq.view().slice(), clock };
}

type Mode = 'shared' | 'per-symbol' | 'depth-heartbeat';

/**
 * Per tick: recv of the releasing arrival minus its own recv; NaN when
 * released by flush, and for depth rows. 'depth-heartbeat': per symbol, and
 * each depth message of the symbol advances its clock (`Sequencer.advance`).
 */
function delays(a: Arrivals, mode: Mode): Float64Array {
  const params = calcParamsFromConfig(loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {}).config).sequencer;
  const n = a.ts.length;
  const out = new Float64Array(n).fill(Number.NaN);
  let now = 0;
  const seq = new Sequencer(params, (h) => {
    out[h] = now - a.recv[h];
  });
  for (let i = 0; i < n; i++) {
    now = a.recv[i];
    const g = mode === 'shared' ? 0 : a.group[i];
    if (a.rank[i] >= 0) seq.push(a.rank[i], a.ts[i], a.recv[i], a.seq[i], i, a.clock[i], g);
    else if (mode === 'depth-heartbeat') seq.advance(a.recv[i], g);
  }
  seq.flush(); // NaN stays for these
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

function rows(label: string, a: Arrivals): Row[] {
  // steady state: leave out each symbol's skew warm-up (its first skew_max_wait_ms of arrivals, when
  // ticks are staged until the estimate freezes): a start-up cost, reported as its own count
  const wait = calcParamsFromConfig(loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {}).config).sequencer
    .skew_max_wait_ms;
  const first = a.symbols.map(() => Number.NaN);
  for (let i = 0; i < a.recv.length; i++) if (Number.isNaN(first[a.group[i]])) first[a.group[i]] = a.recv[i];
  const own = delays(a, 'per-symbol');
  const shared = delays(a, 'shared');
  const beat = delays(a, 'depth-heartbeat');
  const out: Row[] = [];
  const pick = (g: number) => {
    const o: number[] = [];
    const s: number[] = [];
    const x: number[] = [];
    const h: number[] = [];
    let flushed = 0;
    let warm = 0;
    for (let i = 0; i < own.length; i++) {
      if (a.rank[i] < 0 || (g >= 0 && a.group[i] !== g)) continue;
      if (a.recv[i] < first[a.group[i]] + wait) {
        warm++;
        continue;
      }
      if (!Number.isNaN(beat[i])) h.push(beat[i]);
      if (Number.isNaN(own[i])) flushed++;
      else o.push(own[i]);
      if (!Number.isNaN(shared[i])) s.push(shared[i]);
      if (!Number.isNaN(own[i]) && !Number.isNaN(shared[i])) x.push(own[i] - shared[i]);
    }
    const srt = (v: number[]) => Float64Array.from(v).sort();
    return { o: srt(o), s: srt(s), x: srt(x), h: srt(h), flushed, warm };
  };
  for (let g = -1; g < a.symbols.length; g++) {
    const who = g < 0 ? 'all' : a.symbols[g];
    const { o, s, x, h, flushed, warm } = pick(g);
    const qs = (v: Float64Array) => QS.map((q) => quantile(v, q).toFixed(0)).join(' / ');
    const name = `seqdelay ${label} ${who}`;
    log(
      `${name}: ticks ${o.length + flushed + warm} (${warm} in the first ${wait} ms left out, ${flushed} at flush); ` +
        'delay p50/p90/p99/p99.9/max ms: ' +
        `per symbol ${qs(o)}; shared clock ${qs(s)}; extra ${qs(x)}; per symbol + depth heartbeat ${qs(h)}`,
    );
    out.push({ name: `${name} per-symbol p50`, value: quantile(o, 0.5), unit: 'ms' });
    out.push({ name: `${name} per-symbol p99`, value: quantile(o, 0.99), unit: 'ms' });
    out.push({ name: `${name} per-symbol max`, value: quantile(o, 1), unit: 'ms' });
    out.push({ name: `${name} shared-clock p99`, value: quantile(s, 0.99), unit: 'ms' });
    out.push({ name: `${name} extra p99`, value: quantile(x, 0.99), unit: 'ms' });
    out.push({ name: `${name} extra max`, value: quantile(x, 1), unit: 'ms' });
    out.push({ name: `${name} depth-heartbeat p99`, value: quantile(h, 0.99), unit: 'ms' });
  }
  return out;
}

export async function benchSeqDelay(): Promise<Row[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-seqdelay-'));
  try {
    const out: Row[] = [];
    const sets: [string, string[]][] = [
      [
        'real spot',
        [
          'spot/btcusdt_20240808.gz',
          'spot/btcusdt_20240809.gz',
          'spot/ethusdt_20240808.gz',
          'spot/ethusdt_20240809.gz',
        ],
      ],
      [
        'real futures',
        [
          'usdm/btcusdt_20240808.gz',
          'usdm/ethusdt_20240808.gz',
          'cm/btcusd_perp_20240808.gz',
          'cm/ethusd_perp_20240808.gz',
        ],
      ],
    ];
    for (const [label, files] of sets) {
      const inputs = files.map((f) => path.join(REAL, f));
      if (!inputs.every((f) => fs.existsSync(f))) {
        log(`${label}: capture files missing under ${REAL}, skipped`);
        continue;
      }
      const dir = path.join(tmp, label.replace(' ', '-'));
      await runImport({ format: 'ws-capture', inputs, out: dir });
      out.push(...rows(label, await readArrivals(dir)));
    }
    const syn = path.join(tmp, 'synth');
    await synthesize({ ...DEFAULT_SYNTH, hours: 2, seed: 5 }, syn);
    out.push(...rows('synth 2h seed 5', await readArrivals(syn)));
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
