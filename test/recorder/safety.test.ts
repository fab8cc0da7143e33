/**
 * Data safety of `flowlab record` (issue 11, defects 1, 4, 5, 8, 9): it never
 * deletes files it did not write, never writes into an imported dataset or a
 * recording of another source, keeps reconnecting (with messages) when the
 * connection is refused, makes every loss visible (metrics, manifest, summary,
 * exit code), and counts and keeps a corrupt journal line.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../recorder/clock.js';
import { loadCapture } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { parseFaults } from '../../recorder/faults.js';
import { JOURNAL_CORRUPT_DIR, JOURNAL_DIR, PARTS_PENDING_FILE } from '../../recorder/recorder.js';
import { MANIFEST_FILE, readManifest } from '../../src/dataset/manifest.js';
import { runImport } from '../../src/import/run.js';
import { REPO, runCli } from '../helpers/cli.js';
import { aggTrade, bookTicker, fakeFactory, fakeRecorder } from './fake-ws.js';
import { CAPTURE, tmpDir, waitFor } from './helpers.js';

/** sha256 of every file under `root`, by relative path. */
function hashTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(root, { recursive: true }) as string[]) {
    const f = path.join(root, rel);
    if (fs.statSync(f).isFile()) out[rel] = crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  }
  return out;
}

/** A small imported dataset (first 3000 lines of the spot capture). */
async function importedDataset(tag: string): Promise<string> {
  const dir = tmpDir(tag);
  const lines: string[] = [];
  const zlib = await import('node:zlib');
  const text = zlib.gunzipSync(fs.readFileSync(CAPTURE)).toString('utf8');
  let i = 0;
  for (let at = 0; i < 3000; i++) {
    const nl = text.indexOf('\n', at);
    lines.push(text.slice(at, nl));
    at = nl + 1;
  }
  const f = path.join(dir, 'btcusdt_20240808.txt');
  fs.writeFileSync(f, `${lines.join('\n')}\n`);
  const res = await runImport({ format: 'ws-capture', inputs: [f], out: path.join(dir, 'ds'), rotateSec: 60 });
  expect(res.manifest.files.length).toBeGreaterThanOrEqual(3);
  return res.out;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const RECORD = ['record', '--symbols', 'BTCUSDT', '--no-hourly-dq'];

describe('record: never touches what it did not write', () => {
  it('refuses a dataset without a manifest (it deleted every part file) and an imported dataset; nothing changes', async () => {
    const ds = await importedDataset('nomanifest');
    // with its manifest: an imported dataset is never appended to
    const before = hashTree(ds);
    const port = await freePort();
    const r1 = runCli([...RECORD, '--out', ds, '--endpoint', `ws://127.0.0.1:${port}`, '--duration', '1s']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(
      /--out: '.*ds' holds a dataset of source\.type 'ws-capture' \(_manifest\.json\); record appends only to a recording of the same source/,
    );
    expect(hashTree(ds)).toEqual(before);
    // without it (the reproduction): exit 0 and 0 parquet files before
    fs.rmSync(path.join(ds, MANIFEST_FILE));
    const before2 = hashTree(ds);
    const r2 = runCli([...RECORD, '--out', ds, '--endpoint', `ws://127.0.0.1:${port}`, '--duration', '1s']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(
      /is not empty and holds no recording \(no _manifest\.json, _journal\/ or _checkpoint\.json\)/,
    );
    expect(hashTree(ds)).toEqual(before2);
  }, 60_000);

  it('resumes only a recording of the same source', async () => {
    const out = tmpDir('samesource');
    const mk = (endpoint: string, streams = ['aggTrade'], wsFactory = fakeFactory().factory) =>
      fakeRecorder(out, { endpoint, streams, wsFactory }).rec;
    const { factory, sockets } = fakeFactory();
    const a0 = mk('ws://127.0.0.1:9', ['aggTrade'], factory);
    await a0.start();
    sockets[0].open();
    sockets[0].send(aggTrade('BTCUSDT', Date.UTC(2024, 7, 8, 23), 77));
    await new Promise((r) => setImmediate(r));
    await a0.stop();
    expect(readManifest(out).files.length).toBe(1);
    await expect(mk('ws://127.0.0.2:9').start()).rejects.toThrow(
      /is a recording of another source: endpoint host of 'ws:\/\/127\.0\.0\.1:9' \(now 'ws:\/\/127\.0\.0\.2:9'\)/,
    );
    await expect(mk('ws://127.0.0.1:9', ['trade']).start()).rejects.toThrow(
      /streams \["aggTrade"\] \(now \["trade"\]\)/,
    );
    const b = mk('ws://127.0.0.1:10'); // another port of the same host (a restarted mock): the same source
    await b.start();
    await b.stop();
  });

  it('after a crash deletes only the part files it noted before writing; a stray part file is kept', async () => {
    const clock = new ManualClock(Date.UTC(2024, 7, 8, 12));
    const out = tmpDir('orphans');
    const logs: string[] = [];
    const mk = () => fakeRecorder(out, { clock, onLog: (l) => logs.push(l) });
    const a = mk();
    await a.rec.start();
    a.sockets[0].open();
    for (let i = 0; i < 20; i++) a.sockets[0].send(aggTrade('BTCUSDT', clock.now(), 5000 + i));
    a.sockets[0].send(bookTicker('BTCUSDT'));
    await new Promise((r) => setImmediate(r));
    await a.rec.checkpoint();
    const listed = readManifest(out).files.map((f) => f.path);
    expect(listed.length).toBe(2);
    expect(fs.existsSync(path.join(out, PARTS_PENDING_FILE))).toBe(false); // cleared once listed
    // a crash after a part file was written and noted, before the manifest listed it
    const dir = path.join(out, path.dirname(listed[0]));
    const orphan = `${path.dirname(listed[0])}/part-1723118400000-999.parquet`;
    fs.writeFileSync(path.join(out, orphan), 'half a parquet');
    fs.writeFileSync(path.join(out, `${orphan}.tmp-4242`), 'its temp file');
    const hiddenTmp = path.join(out, path.dirname(orphan), `.${path.basename(orphan)}.tmp-4243`); // the writer's temp name now
    fs.writeFileSync(hiddenTmp, 'its temp file');
    const hiddenTmp1 = `${hiddenTmp}-1`; // the next free temp name, when the first was taken
    fs.writeFileSync(hiddenTmp1, 'its temp file');
    fs.writeFileSync(path.join(out, PARTS_PENDING_FILE), `${orphan}\n`);
    // somebody else's file in the same folder
    const stray = path.join(dir, 'part-1-1.parquet');
    fs.writeFileSync(stray, 'not ours');
    await a.rec.stop();
    const b = mk();
    await b.rec.start();
    await b.rec.stop();
    expect(fs.existsSync(path.join(out, orphan))).toBe(false);
    expect(fs.existsSync(path.join(out, `${orphan}.tmp-4242`))).toBe(false);
    expect(fs.existsSync(hiddenTmp)).toBe(false);
    expect(fs.existsSync(hiddenTmp1)).toBe(false);
    expect(fs.readFileSync(stray, 'utf8')).toBe('not ours');
    expect(logs.some((l) => /removed 4 part files of an interrupted flush/.test(l))).toBe(true);
    expect(logs.some((l) => /1 files under date=\* are not in _manifest\.json .* left untouched/.test(l))).toBe(true);
    expect(readManifest(out).files.map((f) => f.path)).toEqual(listed);
  });
});

describe('record: keeps going and says so', () => {
  it('keeps reconnecting with messages when the connection is refused (it exited 13 silently)', async () => {
    const out = tmpDir('refused');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [path.join(REPO, 'bin/flowlab.mjs'), ...RECORD, '--out', out, '--endpoint', `ws://127.0.0.1:${port}`],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.stdout.on('data', (d) => (stdout += String(d)));
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    let exited = false;
    void exit.then(() => (exited = true));
    expect(await waitFor(() => (stderr.match(/reconnect #/g) ?? []).length >= 3 || exited, 30_000)).toBe(true);
    expect(exited).toBe(false);
    expect(stderr).toMatch(/conn 0: .*ECONNREFUSED/);
    expect(stderr).toMatch(/conn 0: reconnect #\d+ in \d+ ms/);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stdout).toMatch(/stopped: no messages; .*trade_ids_lost=0 backfill_errors=0 depth_resyncs=0/);
  }, 60_000);
});

describe('record: every loss is visible', () => {
  it('lost trade ids are in /metrics, the manifest, the summary, and exit 1', async () => {
    const source = await loadCapture(CAPTURE, 4000);
    const mock = new MockExchange({ source, faults: parseFaults('drop=0.05,seed=3'), window: 1000 });
    const { url } = await mock.start(0);
    const restPort = await freePort(); // nothing listens: every backfill fails
    const out = tmpDir('lost');
    const cfg = path.join(out, '..', `${path.basename(out)}.yaml`);
    fs.writeFileSync(cfg, 'recorder:\n  parquet_rotate_sec: 1\n');
    const child = spawn(
      process.execPath,
      [
        path.join(REPO, 'bin/flowlab.mjs'),
        ...RECORD,
        '--out',
        out,
        '--endpoint',
        url,
        '--rest-endpoint',
        `http://127.0.0.1:${restPort}`,
        '--streams',
        'trade,bookTicker',
        '--metrics-port',
        '0',
        '--config',
        cfg,
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.stdout.on('data', (d) => (stdout += String(d)));
    const exit = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      expect(await waitFor(() => /declared lost/.test(stderr), 40_000)).toBe(true);
      const m = /metrics (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stdout);
      expect(m).not.toBeNull();
      const text = await (await fetch(m![1])).text();
      const lost = Number(/^trade_ids_lost_total (\d+)/m.exec(text)?.[1]);
      expect(lost).toBeGreaterThan(0);
      expect(Number(/^backfill_errors_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(5);
      expect(text).toMatch(/^depth_resyncs_total 0$/m);
      expect(text).toMatch(/^journal_corrupt_lines_total 0$/m);
    } finally {
      child.kill('SIGTERM');
      await mock.close();
    }
    const code = await exit;
    expect({ code, stdout, stderr: stderr.slice(-2000) }).toMatchObject({ code: 1 });
    const sum = /trade_ids_lost=(\d+) backfill_errors=(\d+)/.exec(stdout);
    expect(sum).not.toBeNull();
    expect(Number(sum![1])).toBeGreaterThan(0);
    expect(stderr).toMatch(/flowlab: record: data lost: \d+ trade ids declared lost \(backfill failed\)/);
    const st = (readManifest(out).stats as { recorder: Record<string, number> }).recorder;
    expect(st.trade_ids_lost).toBe(Number(sum![1]));
    expect(st.backfill_errors).toBe(Number(sum![2]));
  }, 90_000);

  it('a corrupt journal line on recovery is counted, reported, and its bytes kept', async () => {
    const clock = new ManualClock(Date.UTC(2024, 7, 8, 12));
    const out = tmpDir('corrupt');
    const logs: string[] = [];
    const mk = () => fakeRecorder(out, { clock, onLog: (l) => logs.push(l) });
    const a = mk();
    await a.rec.start();
    a.sockets[0].open();
    for (let i = 0; i < 5; i++) a.sockets[0].send(bookTicker('BTCUSDT'));
    await new Promise((r) => setImmediate(r));
    // abandoned without a checkpoint (as if killed): the 5 quotes are only in the journal
    const seg = fs.readdirSync(path.join(out, JOURNAL_DIR)).filter((f) => f.endsWith('.jsonl'));
    expect(seg.length).toBe(1);
    const segFile = path.join(out, JOURNAL_DIR, seg[0]);
    const lines = fs.readFileSync(segFile, 'utf8').split('\n');
    const bad = `${lines[2].slice(0, 40)}\u0000garbage`;
    lines[2] = bad;
    fs.writeFileSync(segFile, lines.join('\n'));
    const b = mk();
    await b.rec.start();
    await b.rec.stop();
    expect(b.rec.counters.journal_corrupt_lines).toBe(1);
    expect(b.rec.counters.replayed).toBe(4);
    const kept = fs.readdirSync(path.join(out, JOURNAL_CORRUPT_DIR));
    expect(kept.length).toBe(1);
    expect(fs.readFileSync(path.join(out, JOURNAL_CORRUPT_DIR, kept[0]), 'utf8')).toBe(bad);
    expect(logs.some((l) => /journal line 2 is unreadable .*its message is not in the dataset/.test(l))).toBe(true);
    const st = (readManifest(out).stats as { recorder: Record<string, number> }).recorder;
    expect(st.journal_corrupt_lines).toBe(1);
    // a later start reads the retained segment again: not counted twice
    const c = mk();
    await c.rec.start();
    await c.rec.stop();
    expect(c.rec.counters.journal_corrupt_lines).toBe(0);
    expect((readManifest(out).stats as { recorder: Record<string, number> }).recorder.journal_corrupt_lines).toBe(1);
  });
});
