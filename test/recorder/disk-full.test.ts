/**
 * `record` on a full disk (issue 11): a small tmpfs mounted by the test (root
 * only; skipped with a printed reason otherwise). A recording resumed there is
 * fed by the mock exchange until the disk is full. Afterwards every file that
 * existed before is unchanged, the dataset the manifest describes is
 * consistent (every listed part file present with its sha256: dq accepts it),
 * nothing half-written is listed, and once space is freed a restart recovers
 * every trade id of the source exactly once.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { loadCapture } from '../../recorder/mock-source.js';
import { Journal, replayJournal } from '../../recorder/journal.js';
import { Recorder } from '../../recorder/recorder.js';
import { readManifest } from '../../src/dataset/manifest.js';
import { runDq } from '../../src/dq/index.js';
import { CAPTURE, captureIds, datasetIds, diffIds, waitFor } from './helpers.js';
import { runCli } from '../helpers/cli.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let mountPoint: string | null = null;
let skipReason = '';
if (isRoot) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (e) {
    fs.rmdirSync(dir);
    skipReason = `cannot mount a tmpfs (${String((e as Error).message).split('\n')[0]})`;
  }
} else skipReason = 'needs root to mount a small tmpfs';
if (skipReason) console.log(`disk-full test skipped: ${skipReason}`);

afterAll(() => {
  if (mountPoint) {
    execFileSync('umount', [mountPoint]);
    fs.rmdirSync(mountPoint);
  }
});

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function filesUnder(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((r) =>
    fs.statSync(path.join(root, r)).isFile(),
  );
}

const N = 8000;

function recorder(out: string, url: string, logs: string[]): Recorder {
  return new Recorder({
    symbols: ['BTCUSDT'],
    out,
    endpoint: url,
    streams: ['trade', 'bookTicker'],
    config: { parquet_rotate_sec: 1, write_retries: 1 },
    backoff: { baseMs: 5, maxMs: 100, jitter: 0.5 },
    gapGraceMs: 200,
    hourly: false,
    onLog: (l) => logs.push(l),
  });
}

// skipped (with the reason in its name) unless the tmpfs is mounted: the tests never pass without running
describe.skipIf(mountPoint === null)(`record on a full disk${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const mnt = mountPoint as string; // mounted: the block is skipped otherwise
  it('changes no pre-existing file, lists nothing half-written, and recovers everything once space is back', async () => {
    const source = await loadCapture(CAPTURE, N);
    const out = path.join(mnt, 'rec');
    const notes = path.join(mnt, 'notes.txt');
    fs.writeFileSync(notes, 'somebody else’s notes\n');
    const logs: string[] = [];

    // 1. a first recording of the start of the session (the mock stops after its first disconnect fault)
    const mock1 = new MockExchange({ source, window: 1000 });
    const s1 = await mock1.start(0);
    const a = recorder(out, s1.url, logs);
    await a.start();
    await waitFor(() => (a.counters.messages.trade ?? 0) > 300, 30_000);
    await a.stop();
    await mock1.close();
    const before = readManifest(out).files.map((f) => ({ path: f.path, sha: f.sha256 }));
    expect(before.length).toBeGreaterThan(0);
    const notesSha = sha(notes);

    // 2. fill the disk: a filler leaves ~200 kB, then the recording resumes with the whole session
    const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
    const filler = path.join(mnt, 'filler.bin');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 200_000)));
    const fillerSha = sha(filler);
    const mock2 = new MockExchange({ source, window: 1000 });
    const s2 = await mock2.start(0);
    const b = recorder(out, s2.url, logs);
    let stopError: unknown = null;
    try {
      await b.start();
      expect(await waitFor(() => b.counters.journal_errors + b.counters.write_errors > 0, 30_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 1500)); // keep running on the full disk for a while
    } finally {
      await b.stop().catch((e) => (stopError = e));
      await mock2.close();
    }
    expect(logs.some((l) => /ENOSPC|no space/i.test(l))).toBe(true);

    // every pre-existing file is unchanged
    expect(sha(notes)).toBe(notesSha);
    expect(sha(filler)).toBe(fillerSha);
    for (const f of before) expect(sha(path.join(out, f.path))).toBe(f.sha);
    // the manifest is whole and lists only whole part files: dq (which checks every sha256) accepts it
    const m = readManifest(out);
    for (const f of before) expect(m.files.some((x) => x.path === f.path && x.sha256 === f.sha)).toBe(true);
    for (const f of m.files) expect(sha(path.join(out, f.path))).toBe(f.sha256);
    const dq = await runDq(out);
    expect(dq.summary.symbols.BTCUSDT.rows.trades).toBe(
      m.files.filter((f) => f.kind === 'trades').reduce((s, f) => s + f.rows, 0),
    );
    // replay (which checks every sha256 too) runs on it, and verify accepts the run it wrote
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-diskfull-runs-'));
    const rp = runCli(['replay', '--data', out, '--out', runs, '--run-tag', 'afterfull']);
    expect({ code: rp.code, stderr: rp.stderr }).toMatchObject({ code: 0 });
    const vf = runCli(['verify', '--run', path.join(runs, 'afterfull')]);
    expect({ code: vf.code, stderr: vf.stderr }).toMatchObject({ code: 0 });
    // no temp file of the manifest or a part is left for anything to pick up
    expect(filesUnder(out).filter((r) => /\.tmp/.test(r))).toEqual([]);

    // 3. space back: a restart recovers from the journal, and the session completes with every id once
    fs.rmSync(filler);
    const mock3 = new MockExchange({ source, window: 1000 });
    const s3 = await mock3.start(0);
    const c = recorder(out, s3.url, logs);
    try {
      await c.start();
      expect(await waitFor(() => mock3.sessionDone(), 60_000)).toBe(true);
    } finally {
      await c.stop();
      await mock3.close();
    }
    const want = await captureIds(CAPTURE, N);
    const got = await datasetIds(out);
    expect(diffIds(want.trades, got.trades)).toEqual({ missing: 0, dups: 0, extra: 0 });
    expect(diffIds(want.quotes, got.quotes)).toEqual({ missing: 0, dups: 0, extra: 0 });
    expect(stopError === null || /ENOSPC|no space/i.test(String(stopError))).toBe(true);
  }, 180_000);

  it('a journal write cut short by a full disk is cut back: the retry writes every line exactly once', () => {
    const dir = path.join(mnt, 'journal-short');
    const j = new Journal(dir, { fsyncIntervalMs: 0 });
    j.open(0);
    j.append(Date.UTC(2024, 7, 8), '{"first":true}');
    expect(j.flush()).toBe(true);
    // leave less than one batch of room: the next write gets part of the way, then ENOSPC
    const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
    const filler = path.join(mnt, 'filler2.bin');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - 8192)));
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) lines.push(`{"i":${i},"pad":"${'x'.repeat(60)}"}`);
    for (const l of lines) j.append(Date.UTC(2024, 7, 8) + 1, l);
    expect(j.flush()).toBe(false);
    expect(j.lastError).toMatch(/ENOSPC/);
    const seg = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    expect(fs.statSync(path.join(dir, seg[0])).size).toBe(`${Date.UTC(2024, 7, 8)}000000 {"first":true}\n`.length);
    fs.rmSync(filler);
    expect(j.flush()).toBe(true);
    j.close();
    const got: string[] = [];
    replayJournal(dir, (jseq, _recv, json) => got.push(`${jseq} ${json}`));
    expect(got).toEqual(['0 {"first":true}', ...lines.map((l, i) => `${i + 1} ${l}`)]);
  });
});
