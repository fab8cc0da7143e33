/**
 * The depth-diff fast path (src/import/fastdepth.ts) gives exactly what
 * JSON.parse + the importer give: on the diffs of every real capture kind, and on
 * hand-made variants it must either decline (null -> JSON path) or match.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseDepthDiff, peekStream } from '../../src/import/fastdepth.js';
import { WsCaptureImporter } from '../../src/import/wscapture.js';
import type { RawSink } from '../../src/core/types.js';
import { REALDATA } from './helpers.js';

function collector(): { sink: RawSink; rows: string[] } {
  const rows: string[] = [];
  const sink: RawSink = {
    trade: () => undefined,
    quote: () => undefined,
    depth: (s, r, ts, u, bp, bq, nb, ap, aq, na) => {
      rows.push(
        JSON.stringify([
          s,
          r,
          ts,
          u,
          Array.from(bp).slice(0, nb),
          Array.from(bq).slice(0, nb),
          Array.from(ap).slice(0, na),
          Array.from(aq).slice(0, na),
        ]),
      );
    },
  };
  return { sink, rows };
}

/** Feed `lines` (ws-capture) to two importers: A always via JSON.parse, B via the fast path when it accepts. */
function both(lines: string[]): { a: string[]; b: string[]; ca: unknown; cb: unknown; fast: number } {
  const A = collector();
  const B = collector();
  const ia = new WsCaptureImporter(A.sink, { depthLevels: 20 });
  const ib = new WsCaptureImporter(B.sink, { depthLevels: 20 });
  ia.beginFile(null);
  ib.beginFile(null);
  let fast = 0;
  for (const line of lines) {
    const sp = line.indexOf(' ');
    const recv = Number(line.slice(0, sp - 6));
    const text = line.slice(sp + 1);
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      /* malformed: both skip */
    }
    if (msg !== undefined) ia.handleMessage(msg, recv);
    const name = peekStream(text);
    const p = name !== null && /@depth(@\d+ms)?$/.test(name) ? parseDepthDiff(text, name) : null;
    if (p !== null) {
      fast++;
      expect(msg, `fast path accepted a frame JSON.parse rejects: ${text.slice(0, 80)}`).not.toBe(undefined);
      ib.handleDiff(p, recv);
    } else if (msg !== undefined) ib.handleMessage(msg, recv);
  }
  return { a: A.rows, b: B.rows, ca: ia.finish(), cb: ib.finish(), fast };
}

function captureLines(rel: string): string[] {
  return zlib
    .gunzipSync(fs.readFileSync(path.join(REALDATA, rel)))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .slice(0, 40_000);
}

describe('depth-diff fast path', () => {
  for (const rel of ['spot/btcusdt_20240808.gz', 'usdm/btcusdt_20240808.gz', 'cm/btcusd_perp_20240808.gz']) {
    it(`equals JSON.parse + importer on the first 40k lines of ${rel}`, () => {
      const lines = captureLines(rel);
      const r = both(lines);
      const diffs = lines.filter((l) => l.includes('@depth')).length;
      expect(r.fast).toBe(diffs); // the real format always takes the fast path
      expect(r.b.length).toBe(r.a.length);
      expect(r.b).toEqual(r.a);
      expect(r.cb).toEqual(r.ca);
    });
  }

  it('declines or matches on variants of a diff', () => {
    const base = (data: string) => `{"stream":"btcusdt@depth@100ms","data":{${data}}}`;
    const ok =
      '"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":101,"u":105,"b":[["61737.63000000","0.5"],["61730.17","0.00000000"]],"a":[["61837.64","1.54698000"]]';
    const snap = '1723161253000000000 {"lastUpdateId":100,"bids":[["61700.00","1"]],"asks":[["61900.00","1"]]}';
    const variants = [
      ok,
      ok.replace('"E":1723161255208', '"E":1723161255208,"T":1723161255207'),
      `${ok},"pu":100`,
      ok.replace('"0.5"', '"0.50000000000000001"'), // > 15 digits: declined
      ok.replace('"0.5"', '"5e-1"'),
      ok.replace('"0.5"', '"-0.5"'),
      ok.replace('"0.5"', '""'),
      ok.replace('"0.5"', '0.5'),
      ok.replace('"61737.63000000"', '"0"'),
      ok.replace('["61730.17","0.00000000"]', '["61730.17","0","x"]'),
      ok.replace('"U":101', '"U":106'), // U > u: bad row either way
      ok.replace('"U":101', '"U":101.0'),
      ok.replace('"U":101', '"U":0101'),
      ok.replace('"U":101', '"U":"101"'),
      ok.replace('"U":101', '"U":-1'),
      ok.replace('"U":101', '"U":9007199254740993'),
      ok.replace('"U":101,', ''),
      ok.replace('"E":1723161255208', '"E":1723161255208,"E":1723161255209'), // repeated key: JSON takes the last
      ok.replace('"u":105', '"u":105,"u":104'),
      ok.replace('"s":"BTCUSDT"', '"s":"BTC\\u0055SDT"'),
      ok.replace('"s":"BTCUSDT"', '"s":"bad sym"'),
      ok.replace('"s":"BTCUSDT"', '"s":7'),
      ok.replace(',"a":[["61837.64","1.54698000"]]', ',"a":[]'),
      ok.replace(',"a":[["61837.64","1.54698000"]]', ''),
      ok.replace('"e":"depthUpdate"', '"e":{"x":1}'),
      ok.replace('"e":"depthUpdate"', '"e":true'),
      ok.replace('"e":"depthUpdate"', '"\\u0055":7'),
      ok.replace(',"b":', ', "b":'),
      ok.replace('"E":1723161255208', '"E":1.7e12'),
    ];
    const frames = variants.map((v) => base(v));
    frames.push(
      `${base(ok)} `,
      base(ok).replace('"data":{', '"data" :{'),
      base(ok).slice(0, -1),
      `${base(ok)}}`,
      `{"stream":"btcusdt@depth@100ms","data":{${ok}},"x":1}`,
    );
    for (const f of frames) {
      const lines = [
        snap,
        `1723161254000000000 ${base(ok.replace('"U":101,"u":105', '"U":99,"u":100'))}`,
        `1723161255000000000 ${f}`,
      ];
      const r = both(lines);
      expect(r.b, f).toEqual(r.a);
      expect(r.cb, f).toEqual(r.ca);
    }
    // the strict form is taken, the odd ones are declined
    expect(parseDepthDiff(base(ok), 'btcusdt@depth@100ms')).not.toBe(null);
    expect(parseDepthDiff(base(variants[3]), 'btcusdt@depth@100ms')).toBe(null);
    expect(parseDepthDiff(base(variants[17]), 'btcusdt@depth@100ms')).toBe(null);
    expect(peekStream('{"stream":"a\\"b@depth","data":{}}')).toBe(null);
  });
});
