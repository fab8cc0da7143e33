/**
 * Receive-timestamp units of ws-capture files (issue 12 item 2): ns, µs and
 * ms are detected per file by digit count, checked against the first exchange
 * time `E`, converted exactly and recorded in `stats.import.recv_ts_units`;
 * a file mixing units, or stamped in none, is refused naming file, line and
 * value. Fixtures: copies of the first lines of a real capture re-stamped by
 * this test (µs: the older hftbacktest `.dat.gz` format).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/dataset/manifest.js';
import { runImport } from '../../src/import/run.js';
import { readLines } from '../../src/import/lines.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { REALDATA } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const SRC = path.join(REALDATA, 'spot/btcusdt_20240808.gz');
const N = 6000;

async function firstLines(): Promise<string[]> {
  const out: string[] = [];
  outer: for await (const chunk of readLines(SRC)) {
    for (const l of chunk) {
      if (out.length >= N) break outer;
      out.push(l);
    }
  }
  return out;
}

/** The lines with their ns stamp cut by `drop` digits (3: µs, 6: ms), gzipped like the originals. */
function restamp(lines: string[], dir: string, name: string, drop: (i: number) => number): string {
  const out = lines.map((l, i) => {
    const sp = l.indexOf(' ');
    return l.slice(0, sp - drop(i)) + l.slice(sp);
  });
  const file = path.join(dir, name);
  fs.writeFileSync(file, zlib.gzipSync(`${out.join('\n')}\n`));
  return file;
}

async function allRows(root: string): Promise<string> {
  const m = readManifest(root);
  const parts: string[] = [];
  for (const kind of ['trades', 'quotes', 'depth']) {
    const files = m.files.filter((x) => x.kind === kind).map((x) => sqlString(path.join(root, x.path)));
    const rows = await queryRows(`SELECT * FROM read_parquet([${files.join(',')}]) ORDER BY recv_seq`);
    parts.push(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
  return parts.join('\n');
}

describe('ws-capture receive-timestamp units', () => {
  it('imports ns, µs and ms copies of a capture into identical rows and records each unit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-units-'));
    const lines = await firstLines();
    const ns = restamp(lines, dir, 'btcusdt_20240808.ns.gz', () => 0);
    const us = restamp(lines, dir, 'btcusdt_20240808.us.gz', () => 3);
    const ms = restamp(lines, dir, 'btcusdt_20240808.ms.gz', () => 6);
    const res: Record<string, Awaited<ReturnType<typeof runImport>>> = {};
    for (const [k, f] of Object.entries({ ns, us, ms }))
      res[k] = await runImport({ format: 'ws-capture', inputs: [f], out: path.join(dir, `out-${k}`) });
    expect(res.ns.counters.recv_ts_units).toEqual({ 'btcusdt_20240808.ns.gz': 'ns' });
    expect(res.us.counters.recv_ts_units).toEqual({ 'btcusdt_20240808.us.gz': 'us' });
    expect(res.ms.counters.recv_ts_units).toEqual({ 'btcusdt_20240808.ms.gz': 'ms' });
    // µs were read as 1970 before: the receive span is the capture's (2024-08-08/09 UTC)
    const span = res.us.counters.recv_ts_ms_range!;
    expect(new Date(span[0]).toISOString().slice(0, 10)).toBe('2024-08-08');
    expect(span).toEqual(res.ns.counters.recv_ts_ms_range);
    expect(res.us.counters.rows).toEqual(res.ns.counters.rows);
    expect(res.us.counters.rows.quotes).toBeGreaterThan(1000);
    const want = await allRows(res.ns.out);
    expect(await allRows(res.us.out)).toBe(want);
    expect(await allRows(res.ms.out)).toBe(want);
    // the manifest carries the unit
    const m = readManifest(res.us.out) as unknown as { stats: { import: { recv_ts_units: Record<string, string> } } };
    expect(m.stats.import.recv_ts_units).toEqual({ 'btcusdt_20240808.us.gz': 'us' });
  });

  it('refuses a file that mixes units, one stamped in no unit, and one whose unit disagrees with E', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-units-bad-'));
    const lines = (await firstLines()).slice(0, 200);
    const mixed = restamp(lines, dir, 'mixed.gz', (i) => (i === 150 ? 3 : 0));
    await expect(runImport({ format: 'ws-capture', inputs: [mixed], out: path.join(dir, 'a') })).rejects.toThrow(
      /^mixed\.gz: line 151: receive timestamp '\d{16}' is in us but the file's first one \(line 1\) is in ns; a file must use one unit$/,
    );
    // the CLI: exit 1, that one line on stderr
    const cli = runCli(['import', '--format', 'ws-capture', '--in', mixed, '--out', path.join(dir, 'a2')]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim()).toMatch(/^flowlab: mixed\.gz: line 151: receive timestamp '\d{16}' is in us but/);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    const secs = restamp(lines, dir, 'secs.gz', () => 9);
    await expect(runImport({ format: 'ws-capture', inputs: [secs], out: path.join(dir, 'b') })).rejects.toThrow(
      /^secs\.gz: line 1: receive timestamp '\d{10}' has 10 digits, which is no unit \(expected epoch ns: 18-20 digits/,
    );
    // 12 digits look like ms but are 1975: the first message with E is ~49 years away
    const tenth = restamp(lines, dir, 'tenth.gz', () => 7);
    await expect(runImport({ format: 'ws-capture', inputs: [tenth], out: path.join(dir, 'c') })).rejects.toThrow(
      /^tenth\.gz: line \d+: receive time \d{12} ms \(read as ms\) is \d+\.\d days from the exchange time E=\d{13} ms; expected within 1 day/,
    );
  });
});
