/** /metrics over HTTP on 127.0.0.1, and oversized / malformed frames refused without a crash. */
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { loadCapture } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { Recorder } from '../../recorder/recorder.js';
import { CAPTURE, tmpDir, waitFor } from './helpers.js';
import { aggTrade } from './fake-ws.js';

const SEED_METRICS = [
  'recv_rate_tps',
  'ws_reconnects_total',
  'dedup_hits_total',
  'latency_ms',
  'cvd_scale_median',
  'cvd_floor_hit_rate',
  'write_errors_total',
  'parquet_flush_sec',
  'scene_coverage_miss',
  'journal_lag',
  'messages_total',
  'malformed_total',
];

function value(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels ? `\\{[^}]*${labels}[^}]*\\}` : '(\\{[^}]*\\})?'} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[m.length - 1]) : NaN;
}

describe('metrics', () => {
  it('exposes every seed metric on 127.0.0.1 with plausible values', async () => {
    const source = await loadCapture(CAPTURE, 8000);
    const mock = new MockExchange({ source, window: 1000 });
    const { url } = await mock.start(0);
    const rec = new Recorder({
      symbols: ['BTCUSDT'],
      out: tmpDir('metrics'),
      endpoint: url,
      streams: ['trade', 'bookTicker', 'depth@100ms'],
      metricsPort: 0,
      config: { parquet_rotate_sec: 1 },
      hourlyDq: false,
    });
    try {
      await rec.start();
      const a = rec.metricsAddress!;
      expect(a.address).toBe('127.0.0.1');
      expect(await waitFor(() => mock.sessionDone(), 30_000)).toBe(true);
      await rec.checkpoint();
      const res = await fetch(`http://127.0.0.1:${a.port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      for (const name of SEED_METRICS) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
      expect(value(text, 'messages_total', 'type="trade"')).toBeGreaterThan(1000);
      expect(value(text, 'messages_total', 'type="bookTicker"')).toBeGreaterThan(1000);
      expect(value(text, 'ws_reconnects_total')).toBe(0);
      expect(value(text, 'write_errors_total')).toBe(0);
      expect(value(text, 'journal_lag')).toBe(0);
      expect(value(text, 'parquet_flush_sec')).toBeGreaterThan(0);
      expect(value(text, 'parquet_flush_sec')).toBeLessThan(30);
      const p50 = value(text, 'latency_ms', 'quantile="p50"');
      const p99 = value(text, 'latency_ms', 'quantile="p99"');
      expect(p50).toBeGreaterThanOrEqual(0);
      expect(p99).toBeGreaterThanOrEqual(p50);
      // the same latency as a histogram (ops/prometheus records p50/p90/p99 from it)
      expect(text).toMatch(/^# TYPE latency_ms_histogram histogram$/m);
      const hn = value(text, 'latency_ms_histogram_count', 'symbol="BTCUSDT"');
      expect(hn).toBeGreaterThan(500);
      expect(value(text, 'latency_ms_histogram_bucket', 'le="\\+Inf"')).toBe(hn);
      expect(value(text, 'cvd_scale_median', 'symbol="BTCUSDT"')).toBeGreaterThan(0);
      const floor = value(text, 'cvd_floor_hit_rate', 'symbol="BTCUSDT"');
      expect(floor).toBeGreaterThanOrEqual(0);
      expect(floor).toBeLessThanOrEqual(1);
      const miss = value(text, 'scene_coverage_miss');
      expect(miss).toBeGreaterThanOrEqual(0);
      expect(miss).toBeLessThanOrEqual(4);
      expect(value(text, 'recv_rate_tps', 'symbol="BTCUSDT"')).toBeGreaterThanOrEqual(0);
    } finally {
      await rec.stop();
      await mock.close();
    }
    // not reachable on another interface address once stopped; and never bound to 0.0.0.0 (asserted above)
  });
});

describe('hostile frames', () => {
  it('refuses oversized frames, counts malformed ones, keeps recording', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as AddressInfo).port;
    let conns = 0;
    let id = 1;
    wss.on('connection', (ws) => {
      conns++;
      const t = Date.now();
      ws.send(JSON.stringify(aggTrade('BTCUSDT', t, id++)));
      ws.send('{"stream":"btcusdt@aggTrade","data":{'); // truncated
      ws.send(Buffer.from([1, 2, 3]), { binary: true });
      ws.send('null');
      ws.send(JSON.stringify({ stream: 'btcusdt@aggTrade', data: { a: -5 } }));
      ws.send(JSON.stringify({ stream: 'btcusdt@kline_1m', data: { k: 1 } }));
      if (conns === 1)
        ws.send('x'.repeat(2 * 1024 * 1024)); // > maxPayload: the client drops the socket
      else ws.send(JSON.stringify(aggTrade('BTCUSDT', t, id++)));
    });
    const rec = new Recorder({
      symbols: ['BTCUSDT'],
      out: tmpDir('hostile'),
      endpoint: `ws://127.0.0.1:${port}`,
      streams: ['aggTrade'],
      maxPayload: 1024 * 1024,
      backoff: { baseMs: 5, maxMs: 20, jitter: 0 },
      hourly: false,
      fetchJson: async () => [],
    });
    try {
      await rec.start();
      // aggTrade messages: 2 per first connection (one with a bad id), 3 on the second
      expect(await waitFor(() => (rec.counters.messages.aggTrade ?? 0) >= 5, 10_000)).toBe(true);
    } finally {
      await rec.stop();
      wss.close();
    }
    const k = rec.counters;
    expect(k.oversize).toBe(1);
    expect(k.reconnects).toBeGreaterThanOrEqual(1);
    expect(k.malformed.json).toBeGreaterThanOrEqual(2);
    expect(k.malformed.not_object).toBeGreaterThanOrEqual(2);
    // a stream message with a bad id is a bad row (the importer's rule and name), not a malformed frame
    expect(k.bad_rows.id_invalid).toBeGreaterThanOrEqual(2);
    expect(k.malformed.no_id).toBeUndefined();
    expect(k.malformed.unknown_stream).toBeGreaterThanOrEqual(2);
  });
});
