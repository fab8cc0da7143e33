import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import type { MockExchange } from '../../recorder/mock-exchange.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { readManifest } from '../../src/dataset/manifest.js';
import { readLines } from '../../src/import/lines.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CAPTURE = path.resolve(REPO, '../shared/realdata/hftbacktest/spot/btcusdt_20240808.gz');

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `flowlab-rec-${tag}-`));
}

/** Trade ids (`t`) and bookTicker ids (`u`) of the first `maxLines` lines of a capture. */
export async function captureIds(
  file: string,
  maxLines: number,
): Promise<{ trades: number[]; quotes: number[]; depth: number }> {
  const trades: number[] = [];
  const quotes: number[] = [];
  let depth = 0;
  let n = 0;
  outer: for await (const lines of readLines(file)) {
    for (const line of lines) {
      if (n++ >= maxLines) break outer;
      const j = JSON.parse(line.slice(line.indexOf(' ') + 1));
      if (typeof j.stream !== 'string') continue;
      if (j.stream.endsWith('@trade')) trades.push(j.data.t);
      else if (j.stream.endsWith('@bookTicker')) quotes.push(j.data.u);
      else depth++;
    }
  }
  return { trades, quotes, depth };
}

/** Ids in a recorded dataset, per kind, in file order (duplicates kept so tests can count them). */
export async function datasetIds(root: string): Promise<{ trades: number[]; quotes: number[]; depth: number }> {
  const m = readManifest(root);
  const files = (kind: string) => m.files.filter((f) => f.kind === kind).map((f) => sqlString(path.join(root, f.path)));
  const q = async (kind: string, col: string): Promise<number[]> => {
    const f = files(kind);
    if (f.length === 0) return [];
    const rows = await queryRows(`SELECT ${col} AS id FROM read_parquet([${f.join(',')}])`);
    return rows.map((r) => Number(r.id));
  };
  const depth = files('depth').length ? (await q('depth', 'last_update_id')).length : 0;
  return { trades: await q('trades', 'agg_trade_id'), quotes: await q('quotes', 'update_id'), depth };
}

/** [missing, duplicated] of `got` against `want` (sets of ids). */
export function diffIds(want: number[], got: number[]): { missing: number; dups: number; extra: number } {
  const w = new Set(want);
  const seen = new Set<number>();
  let dups = 0;
  let extra = 0;
  for (const id of got) {
    if (seen.has(id)) dups++;
    seen.add(id);
    if (!w.has(id)) extra++;
  }
  let missing = 0;
  for (const id of w) if (!seen.has(id)) missing++;
  return { missing, dups, extra };
}

export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** Depth rows of a dataset (receive time / recv_seq left out: they differ between recordings), ordered by last_update_id. */
export async function datasetDepthRows(root: string): Promise<{ u: number; ts: number; rest: string }[]> {
  const m = readManifest(root);
  const f = m.files.filter((x) => x.kind === 'depth').map((x) => sqlString(path.join(root, x.path)));
  if (f.length === 0) return [];
  const rows = await queryRows(
    `SELECT last_update_id AS u, ts_ms AS ts, bid_px, bid_qty, ask_px, ask_qty FROM read_parquet([${f.join(',')}]) ORDER BY last_update_id, recv_seq`,
  );
  return rows.map((r) => ({
    u: Number(r.u),
    ts: Number(r.ts),
    rest: JSON.stringify([r.bid_px, r.bid_qty, r.ask_px, r.ask_qty]),
  }));
}

/** `flowlab record` (via test/recorder/record-child.ts) for BTCUSDT from `url` into `out`, in a child process. */
export function startRecordChild(
  url: string,
  out: string,
  cfg: string,
  streams: string,
): { child: ChildProcess; exit: Promise<number | null>; stderr: string[] } {
  const stderr: string[] = [];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO, 'test/recorder/record-child.ts'),
      'record',
      '--symbols',
      'BTCUSDT',
      '--out',
      out,
      '--endpoint',
      url,
      '--streams',
      streams,
      '--config',
      cfg,
      '--no-hourly-dq',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (d) => stderr.push(String(d)));
  child.stdout!.on('data', () => undefined);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exit, stderr };
}

/**
 * Record from `mock` in child processes: one child per entry of `kills`, each
 * SIGKILLed once `ready(k, at)` holds (or the mock's session is done), then a
 * last child that runs to the end of the session and stops on SIGTERM with
 * exit 0. Closes the mock. Returns the children's stderr, with a marker per kill.
 */
export async function recordThroughKills(
  mock: MockExchange,
  url: string,
  out: string,
  cfg: string,
  streams: string,
  kills: readonly number[],
  ready: (k: number, at: number) => boolean,
): Promise<string[]> {
  const logs: string[] = [];
  try {
    for (const [k, at] of kills.entries()) {
      const c = startRecordChild(url, out, cfg, streams);
      expect(await waitFor(() => ready(k, at) || mock.sessionDone(), 60_000, 2)).toBe(true);
      c.child.kill('SIGKILL');
      logs.push(...c.stderr, '--- kill\n');
      expect(await c.exit).toBe(null);
    }
    const last = startRecordChild(url, out, cfg, streams);
    expect(await waitFor(() => mock.sessionDone(), 60_000)).toBe(true);
    last.child.kill('SIGTERM');
    const code = await last.exit;
    logs.push(...last.stderr);
    expect(code, last.stderr.join('')).toBe(0);
  } finally {
    await mock.close();
  }
  return logs;
}
