import { EventEmitter } from 'node:events';
import { ManualClock } from '../../recorder/clock.js';
import type { WsLike, WsFactory } from '../../recorder/connection.js';
import { Recorder, type RecorderOptions } from '../../recorder/recorder.js';

/** A scripted socket: the test decides when it opens, delivers, fails. Pings are answered at once. */
export class FakeWs extends EventEmitter implements WsLike {
  closed: { code?: number } | null = null;
  pings = 0;
  constructor(readonly url: string) {
    super();
  }
  ping(): void {
    this.pings++;
    if (!this.closed) this.emit('pong', Buffer.alloc(0));
  }
  pong(): void {}
  close(code?: number): void {
    if (this.closed) return;
    this.closed = { code };
    this.emit('close', code ?? 1000, Buffer.from(''));
  }
  terminate(): void {
    if (this.closed) return;
    this.closed = { code: 1006 };
    this.emit('close', 1006, Buffer.from(''));
  }
  open(): void {
    this.emit('open');
  }
  send(obj: unknown): void {
    this.emit('message', Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)), false);
  }
  fail(): void {
    this.emit('error', new Error('connect ECONNREFUSED'));
    this.terminate();
  }
}

export function fakeFactory(): { factory: WsFactory; sockets: FakeWs[] } {
  const sockets: FakeWs[] = [];
  return {
    sockets,
    factory: (url) => {
      const s = new FakeWs(url);
      sockets.push(s);
      return s;
    },
  };
}

/**
 * A Recorder into `out` on fake sockets, offline: BTCUSDT aggTrade + bookTicker
 * from ws://127.0.0.1:9, a ManualClock, no hourly outputs, REST answering [].
 * `opts` overrides any of these (e.g. `clock`, `streams`, `onLog`, `beforeWrite`).
 */
export function fakeRecorder(out: string, opts: Partial<RecorderOptions> = {}): { rec: Recorder; sockets: FakeWs[] } {
  const { factory, sockets } = fakeFactory();
  const rec = new Recorder({
    symbols: ['BTCUSDT'],
    out,
    endpoint: 'ws://127.0.0.1:9',
    streams: ['aggTrade', 'bookTicker'],
    clock: new ManualClock(),
    wsFactory: factory,
    hourly: false,
    fetchJson: async () => [],
    ...opts,
  });
  return { rec, sockets };
}

let aggId = 1000;
export function aggTrade(sym: string, tMs: number, id = aggId++): unknown {
  return {
    stream: `${sym.toLowerCase()}@aggTrade`,
    data: {
      e: 'aggTrade',
      E: tMs,
      s: sym,
      a: id,
      p: '100.5',
      q: '0.25',
      f: id * 2,
      l: id * 2 + 1,
      T: tMs,
      m: id % 2 === 0,
    },
  };
}
let bookU = 1;
export function bookTicker(sym: string): unknown {
  return {
    stream: `${sym.toLowerCase()}@bookTicker`,
    data: { u: bookU++, s: sym, b: '100.4', B: '1', a: '100.6', A: '2' },
  };
}
