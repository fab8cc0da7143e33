/**
 * Depth book checkpoint: a restart (crash after a checkpoint, journal lines
 * after it) restores the diff book from checkpoint.json and replays the
 * journal through it, so the diff-derived depth rows equal those of an
 * uninterrupted recording; a journal that does not continue the restored
 * book falls back to a snapshot resync, counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../recorder/clock.js';
import { CHECKPOINT_FILE } from '../../recorder/recorder.js';
import { fakeRecorder } from './fake-ws.js';
import { datasetDepthRows, tmpDir } from './helpers.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A scripted spot book: diff i (1-based) has U = u = 1000 + i and moves a few levels; `snapshot()` is the book now. */
class Script {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  last = 1000;
  constructor() {
    for (let k = 0; k < 30; k++) {
      this.bids.set(100 - k * 0.5, 1 + k);
      this.asks.set(100.5 + k * 0.5, 2 + k);
    }
  }
  snapshot(): unknown {
    const lv = (m: Map<number, number>, dir: number) =>
      [...m].sort((a, b) => dir * (a[0] - b[0])).map(([p, q]) => [p.toFixed(2), q.toFixed(3)]);
    return { lastUpdateId: this.last, bids: lv(this.bids, -1), asks: lv(this.asks, 1) };
  }
  /** The next diff as a combined-stream message (book updated). */
  next(tMs: number): unknown {
    const i = ++this.last;
    const b: [string, string][] = [];
    const a: [string, string][] = [];
    const bp = 100 - (i % 7) * 0.5;
    const ap = 100.5 + (i % 5) * 0.5;
    const bq = i % 4 === 0 ? 0 : 1 + (i % 13) / 8;
    const aq = i % 6 === 0 ? 0 : 2 + (i % 11) / 8;
    b.push([bp.toFixed(2), bq.toFixed(3)]);
    a.push([ap.toFixed(2), aq.toFixed(3)]);
    if (bq === 0) this.bids.delete(bp);
    else this.bids.set(bp, bq);
    if (aq === 0) this.asks.delete(ap);
    else this.asks.set(ap, aq);
    return { stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: tMs, s: 'BTCUSDT', U: i, u: i, b, a } };
  }
}

function make(out: string, clock: ManualClock, script: Script, fetches: { n: number }, beforeWrite?: () => void) {
  return fakeRecorder(out, {
    streams: ['depth@100ms'],
    config: { depth_levels: 5 },
    clock,
    beforeWrite,
    fetchJson: async () => {
      fetches.n++;
      return script.snapshot();
    },
  });
}

const N = 300;

/** Uninterrupted reference recording of diffs 1..N. */
async function reference(): Promise<{ u: number; ts: number; rest: string }[]> {
  const clock = new ManualClock(Date.UTC(2024, 7, 8, 12));
  const script = new Script();
  const out = tmpDir('depthref');
  const a = make(out, clock, script, { n: 0 });
  await a.rec.start();
  a.sockets[0].open();
  a.sockets[0].send(script.next(clock.now()));
  await tick(); // the snapshot (taken after diff 1) arrives
  for (let i = 2; i <= N; i++) {
    clock.advance(100);
    a.sockets[0].send(script.next(clock.now()));
  }
  await tick();
  await a.rec.stop();
  return datasetDepthRows(out);
}

/** Diffs 1..N with a checkpoint after `ckAt`, a crash after `crashAt`, a restart that gets the rest (with an overlap). */
/** The part of _checkpoint.json the tamper tests edit. */
interface CheckpointBooks {
  depth_books: Record<string, { books: Record<string, { lastUpdateId: number; bids: unknown }> }>;
}

async function crashAndResume(ckAt: number, crashAt: number, tamper?: (ck: CheckpointBooks) => void) {
  const clock = new ManualClock(Date.UTC(2024, 7, 8, 12));
  const script = new Script();
  const out = tmpDir('depthck');
  const fetches = { n: 0 };
  const a = make(out, clock, script, fetches);
  await a.rec.start();
  a.sockets[0].open();
  const sent: unknown[] = [];
  const send = (s: { send(m: unknown): void }, i: number) => {
    if (sent[i] === undefined) {
      if (i > 1) clock.advance(100); // the same times as the reference
      sent[i] = script.next(clock.now());
    }
    s.send(sent[i]);
  };
  send(a.sockets[0], 1);
  await tick();
  for (let i = 2; i <= ckAt; i++) send(a.sockets[0], i);
  await tick();
  await a.rec.checkpoint();
  for (let i = ckAt + 1; i <= crashAt; i++) send(a.sockets[0], i);
  await tick(); // journaled, not checkpointed: abandon `a` as if killed
  if (tamper) {
    const file = path.join(out, CHECKPOINT_FILE);
    const ck = JSON.parse(fs.readFileSync(file, 'utf8'));
    tamper(ck);
    fs.writeFileSync(file, JSON.stringify(ck));
  }
  const fetchesBefore = fetches.n;
  const b = make(out, clock, script, fetches);
  await b.rec.start();
  b.sockets[0].open();
  for (let i = crashAt - 10; i <= N; i++) send(b.sockets[0], i); // the first 10 are re-deliveries (deduped)
  await tick();
  await b.rec.idle();
  await tick();
  await b.rec.stop();
  return { rows: await datasetDepthRows(out), rec: b.rec, restartFetches: fetches.n - fetchesBefore };
}

describe('depth book checkpoint', () => {
  it('a restart rebuilds the depth rows of an uninterrupted recording exactly', async () => {
    const want = await reference();
    // the snapshot is taken after diff 1 (lastUpdateId 1001): diff 1 is stale, diffs 2..N make a row each
    expect(want.map((r) => r.u)).toEqual(Array.from({ length: N - 1 }, (_, i) => 1002 + i));
    const got = await crashAndResume(120, 200);
    expect(got.rec.counters.replayed).toBe(80);
    expect(got.rec.counters.depth_books_restored).toBe(1);
    expect(got.rec.counters.depth_resyncs).toBe(0);
    expect(got.restartFetches).toBe(0); // the restored book continued: no snapshot needed
    expect(got.rows).toEqual(want);
  });

  it('a failed part-file write rebuilds the books from the last checkpoint: no depth row lost', async () => {
    const want = await reference();
    const clock = new ManualClock(Date.UTC(2024, 7, 8, 12));
    const script = new Script();
    const out = tmpDir('depthretry');
    const fetches = { n: 0 };
    let fail = 0;
    const a = make(out, clock, script, fetches, () => {
      if (fail-- > 0) throw new Error('disk on fire');
    });
    await a.rec.start();
    a.sockets[0].open();
    a.sockets[0].send(script.next(clock.now()));
    await tick();
    for (let i = 2; i <= N; i++) {
      clock.advance(100);
      a.sockets[0].send(script.next(clock.now()));
      if (i === 120) {
        await tick();
        await a.rec.checkpoint();
      }
      if (i === 200) {
        await tick();
        fail = 1; // the first attempt fails: writer rebuilt from the manifest + journal after diff 120
        await a.rec.checkpoint();
        expect(a.rec.counters.write_retries).toBe(1);
      }
    }
    await tick();
    await a.rec.stop();
    // the rebuild re-applied the journal after diff 120 without counting those messages again
    expect(a.rec.counters.messages.depth_diff).toBe(N);
    expect(a.rec.counters.depth_resyncs).toBe(0);
    expect(fetches.n).toBe(1);
    expect(await datasetDepthRows(out)).toEqual(want);
  });

  it('a journal that does not continue the restored book falls back to a counted resync', async () => {
    const got = await crashAndResume(120, 200, (ck) => {
      ck.depth_books.BTCUSDT.books.BTCUSDT.lastUpdateId -= 3; // the book now misses three diffs
    });
    expect(got.rec.counters.depth_books_restored).toBe(1);
    expect(got.rec.counters.depth_resyncs).toBe(1);
    expect(got.restartFetches).toBe(1);
    const us = got.rows.map((r) => r.u);
    expect(us.slice(0, 119)).toEqual(Array.from({ length: 119 }, (_, i) => 1002 + i)); // checkpointed before the crash
    // replayed diffs 121..200 do not follow the (tampered) book: no rows until the snapshot taken at live diff 201
    expect(us.slice(119)).toEqual(Array.from({ length: N - 201 }, (_, i) => 1202 + i));
  });

  it('an unusable depth_books entry is ignored with a log line (snapshot resync, as without a checkpoint)', async () => {
    const got = await crashAndResume(120, 200, (ck) => {
      ck.depth_books.BTCUSDT.books.BTCUSDT.bids = 'garbage';
    });
    expect(got.rec.counters.depth_books_restored).toBe(0);
    expect(got.restartFetches).toBe(1);
    expect(got.rows[got.rows.length - 1].u).toBe(1000 + N);
  });
});
