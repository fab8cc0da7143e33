/** Backoff, watchdog, proactive reconnect and rotation, driven by ManualClock and scripted sockets (no real sleeps). */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../recorder/clock.js';
import { StreamConnection, backoffDelay, DEFAULT_BACKOFF } from '../../recorder/connection.js';
import { CHECKPOINT_FILE, JOURNAL_DIR, type RecorderOptions } from '../../recorder/recorder.js';
import { readManifest } from '../../src/dataset/manifest.js';
import { aggTrade, bookTicker, fakeFactory, fakeRecorder } from './fake-ws.js';
import { tmpDir } from './helpers.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('backoff', () => {
  it('doubles from base to the cap, jittered down by at most the jitter fraction', () => {
    const o = { baseMs: 250, maxMs: 30_000, jitter: 0.5 };
    expect(backoffDelay(0, 0, o)).toBe(125);
    expect(backoffDelay(0, 0.999999, o)).toBe(250);
    expect(backoffDelay(3, 1 - 1e-9, o)).toBe(2000);
    expect(backoffDelay(20, 0, o)).toBe(15_000);
    expect(backoffDelay(20, 1 - 1e-9, o)).toBe(30_000);
    for (let a = 0; a < 12; a++) {
      const d = Math.min(30_000, 250 * 2 ** a);
      const x = backoffDelay(a, 0.37, o);
      expect(x).toBeGreaterThanOrEqual(d / 2);
      expect(x).toBeLessThanOrEqual(d);
    }
  });

  it('follows the schedule on repeated failures and resets after data flows', () => {
    const clock = new ManualClock();
    const { factory, sockets } = fakeFactory();
    const us = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.6, 0.4];
    let k = 0;
    const conn = new StreamConnection({
      id: 0,
      url: 'ws://127.0.0.1:1/stream?streams=btcusdt@aggTrade',
      clock,
      random: () => us[k++ % us.length],
      wsFactory: factory,
      backoff: DEFAULT_BACKOFF,
      pingMs: 20_000,
      silenceMs: 60_000,
      proactiveMs: 23.5 * 3_600_000,
      maxPayload: 1 << 20,
      onMessage: () => undefined,
      onPing: () => undefined,
    });
    conn.start();
    const expected: number[] = [];
    for (let i = 0; i < 6; i++) {
      sockets[sockets.length - 1].fail();
      const d = backoffDelay(i, us[i]);
      expected.push(d);
      clock.advance(d - 1);
      expect(sockets.length).toBe(i + 1); // not yet
      clock.advance(1);
      expect(sockets.length).toBe(i + 2);
    }
    const gaps = conn.connectTimes.slice(1).map((t, i) => t - conn.connectTimes[i]);
    expect(gaps).toEqual(expected);
    // open + data resets the attempt counter: the next failure waits backoffDelay(0, u)
    const s = sockets[sockets.length - 1];
    s.open();
    s.send(aggTrade('BTCUSDT', clock.now()));
    expect(conn.attempts).toBe(0);
    s.fail();
    const d0 = backoffDelay(0, us[6]);
    clock.advance(d0);
    expect(
      conn.connectTimes[conn.connectTimes.length - 1] - conn.connectTimes[conn.connectTimes.length - 2],
    ).toBeGreaterThanOrEqual(d0);
    expect(sockets.length).toBe(8);
    conn.stop();
  });
});

function recorderWith(clock: ManualClock, extra: Partial<RecorderOptions> = {}) {
  const out = tmpDir('clock');
  const { rec, sockets } = fakeRecorder(out, {
    symbols: ['BTCUSDT', 'ETHUSDT'],
    endpoint: 'ws://127.0.0.1:9/',
    clock,
    ...extra,
  });
  return { rec, sockets, out };
}

describe('silence watchdog (per connection)', () => {
  it('does not fire on a quiet symbol while another stream of the connection is alive, fires on real silence', async () => {
    const clock = new ManualClock();
    const { rec, sockets } = recorderWith(clock, { config: { silence_watchdog_sec: 60 } });
    await rec.start();
    expect(sockets.length).toBe(1); // both symbols on one connection
    expect(sockets[0].url).toContain('btcusdt@aggTrade/btcusdt@bookTicker/ethusdt@aggTrade/ethusdt@bookTicker');
    sockets[0].open();
    for (let s = 0; s < 300; s++) {
      clock.advance(1000);
      sockets[0].send(aggTrade('BTCUSDT', clock.now())); // ETHUSDT silent for 5 minutes
    }
    expect(rec.counters.watchdog_fires).toBe(0);
    expect(sockets.length).toBe(1);
    clock.advance(59_000);
    expect(rec.counters.watchdog_fires).toBe(0);
    clock.advance(2_000);
    expect(rec.counters.watchdog_fires).toBe(1);
    expect(sockets[0].closed).not.toBeNull();
    clock.advance(1_000); // backoff (<= 250 ms) elapsed
    expect(sockets.length).toBe(2);
    await rec.stop();
  });
});

describe('proactive reconnect', () => {
  it('opens a successor before the cut and closes the old socket once the successor delivers', async () => {
    const clock = new ManualClock();
    const { rec, sockets } = recorderWith(clock, { config: { proactive_reconnect_hours: 0.01 } }); // 36 s
    await rec.start();
    sockets[0].open();
    for (let s = 0; s < 35; s++) {
      clock.advance(1000);
      sockets[0].send(aggTrade('BTCUSDT', clock.now()));
    }
    expect(sockets.length).toBe(1);
    clock.advance(1000);
    expect(sockets.length).toBe(2);
    expect(rec.counters.proactive_reconnects).toBe(1);
    // the old socket still delivers until the successor does
    sockets[0].send(aggTrade('BTCUSDT', clock.now(), 5_000_001));
    expect(sockets[0].closed).toBeNull();
    sockets[1].open();
    sockets[1].send(aggTrade('BTCUSDT', clock.now(), 5_000_001)); // overlap: dedup
    expect(sockets[0].closed).toEqual({ code: 1000 });
    sockets[1].send(aggTrade('BTCUSDT', clock.now(), 5_000_002));
    expect(rec.counters.dedup_hits).toBe(1);
    expect(rec.counters.reconnects).toBe(0);
    expect(rec.counters.messages.aggTrade).toBe(37);
    await rec.stop();
  });
});

describe('rotation and checkpoints on the injected clock', () => {
  it('seals a part per parquet_rotate_sec and advances checkpoint.json', async () => {
    const clock = new ManualClock(Date.UTC(2024, 7, 8, 23, 0, 0));
    const { rec, sockets, out } = recorderWith(clock, { config: { parquet_rotate_sec: 60 } });
    await rec.start();
    sockets[0].open();
    const seqs: number[] = [];
    for (let s = 1; s <= 150; s++) {
      clock.advance(1000);
      sockets[0].send(aggTrade('BTCUSDT', clock.now()));
      sockets[0].send(bookTicker('ETHUSDT'));
      await tick();
      if (s % 60 === 0) {
        await rec.idle();
        const ck = JSON.parse(fs.readFileSync(path.join(out, CHECKPOINT_FILE), 'utf8'));
        seqs.push(ck.journal_seq);
      }
    }
    await rec.idle();
    expect(seqs).toEqual([117, 237]); // the timer fires at t = 60 s before that second's 2 messages: 59 s x 2 = 118 lines, jseq from 0
    await rec.stop();
    const m = readManifest(out);
    const parts = m.files.filter((f) => f.symbol === 'BTCUSDT' && f.kind === 'trades');
    expect(parts.length).toBe(3);
    for (const f of parts) expect(f.last_recv_ts_ms - f.first_recv_ts_ms).toBeLessThan(60_000);
    expect(parts.reduce((a, f) => a + f.rows, 0)).toBe(150);
    expect(m.rows.ETHUSDT.quotes).toBe(150);
    // journal truncated past the checkpoint, except the dedup memory it keeps
    expect(fs.existsSync(path.join(out, JOURNAL_DIR))).toBe(true);
  });
});
