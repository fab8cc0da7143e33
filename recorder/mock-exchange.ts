/**
 * A local Binance look-alike for tests, benchmarks and demos (127.0.0.1 only).
 *
 *   WS   /stream?streams=btcusdt@aggTrade/btcusdt@bookTicker/...   combined-stream frames {"stream","data"}
 *   REST GET /api/v3/depth?symbol=&limit=                          snapshot {lastUpdateId,bids,asks}
 *        GET /api/v3/aggTrades?symbol=&fromId=&limit=              [{a,p,q,f,l,T,m,M}]
 *        GET /api/v3/historicalTrades?symbol=&fromId=&limit=       [{id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch}]
 *
 * Replay: one timeline (mock-source.ts). With a finite `speed`, message i is
 * due when `clock.now() - start >= (srcTs[i] - srcTs[0]) / speed`; with
 * `speed = Infinity` everything is due at once and only flow control paces it.
 *
 * Delivery (a deliberate mock contrivance, see recorder/README.md): connections
 * with the same stream set share a *session*. The mock sends `ping("flow:<pos>")`
 * every `window/2` messages and stops when `window` messages are unacknowledged;
 * the client's pong acknowledges everything before `pos`. A new connection of
 * the session resumes at the last acknowledged position, so what a client had
 * not acknowledged when it died is sent again (at-least-once), which lets tests
 * demand exactly-once from the recorder across disconnects and SIGKILL. The
 * real exchange resumes nothing: there, trades are backfilled over REST and
 * quotes lost in a disconnect stay lost.
 *
 * The REST trade endpoints serve only what the timeline has passed (sent or
 * dropped), like an exchange that cannot serve the future.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { NO_FAULTS, faultUniform, type FaultSpec } from './faults.js';
import { MockBook, type MockSource, type TradeRec } from './mock-source.js';

export interface MockExchangeOptions {
  readonly source: MockSource;
  /** Replay speed factor (1 = real time); Infinity = as fast as flow control allows. */
  readonly speed?: number;
  readonly faults?: FaultSpec;
  readonly clock?: Clock;
  /** Flow-control window in messages (default 2000). */
  readonly window?: number;
  /** Messages sent per turn of the event loop at max speed (default 512). */
  readonly batch?: number;
}

export interface MockStats {
  connections: number;
  open: number;
  sent: number;
  dups: number;
  reordered: number;
  malformed: number;
  dropped: number;
  disconnects: number;
  stalls: number;
  oversize: number;
  server_pings: number;
  cuts: number;
  rest_requests: number;
}

interface Session {
  readonly key: string;
  /** Global message index and stream name of each session entry. */
  readonly gi: Int32Array;
  readonly name: string[];
  acked: number;
  nextDisconnect: number;
  nextStall: number;
  nextOversize: number;
}

interface Conn {
  readonly ws: WebSocket;
  readonly session: Session;
  readonly openedAt: number;
  pos: number;
  acked: number;
  sinceFlow: number;
  held: string | null;
  stallUntil: number;
  closed: boolean;
  timer: TimerHandle | null;
  immediate: boolean;
  pingTimer: TimerHandle | null;
  cutTimer: TimerHandle | null;
}

const TRADE_STREAM = /@(aggTrade|trade)$/;
const MAX_BUFFERED = 4 * 1024 * 1024;

const MALFORMED = [
  (f: string) => f.slice(0, Math.max(1, f.length >> 1)),
  () => 'not json at all',
  () => '{"stream":"x@unknownStream","data":{}}',
  () => '[1,2,3]',
  () => '{"result":null,"id":1}',
  () => '{"stream":"btcusdt@aggTrade","data":{"a":"not-a-number"}}',
];

export class MockExchange {
  readonly source: MockSource;
  readonly speed: number;
  readonly faults: FaultSpec;
  readonly clock: Clock;
  readonly window: number;
  readonly batch: number;
  readonly stats: MockStats = {
    connections: 0,
    open: 0,
    sent: 0,
    dups: 0,
    reordered: 0,
    malformed: 0,
    dropped: 0,
    disconnects: 0,
    stalls: 0,
    oversize: 0,
    server_pings: 0,
    cuts: 0,
    rest_requests: 0,
  };
  private readonly sessions = new Map<string, Session>();
  private readonly conns = new Set<Conn>();
  private readonly books = new Map<string, MockBook>();
  private server: http.Server | null = null;
  private wss: WebSocketServer | null = null;
  private startedAt = 0;
  /** Every global message index below this has been passed by some connection. */
  highWater = 0;

  constructor(opts: MockExchangeOptions) {
    this.source = opts.source;
    this.speed = opts.speed ?? Infinity;
    if (!(this.speed > 0)) throw new RangeError(`speed must be > 0, got ${opts.speed}`);
    this.faults = opts.faults ?? NO_FAULTS;
    this.clock = opts.clock ?? systemClock;
    this.window = Math.max(2, opts.window ?? 2000);
    this.batch = Math.max(1, opts.batch ?? 2048);
  }

  /** Listen on 127.0.0.1 (`port` 0 = any free port). */
  async start(port = 0): Promise<{ port: number; url: string; restUrl: string }> {
    this.startedAt = this.clock.now();
    const server = http.createServer((req, res) => this.rest(req, res));
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (u.pathname !== '/stream' && u.pathname !== '/stream/') {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      const streams = (u.searchParams.get('streams') ?? '').split('/').filter((s) => s.length > 0);
      if (streams.length === 0) {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, streams));
    });
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const a = server.address() as AddressInfo;
    return { port: a.port, url: `ws://127.0.0.1:${a.port}`, restUrl: `http://127.0.0.1:${a.port}` };
  }

  address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  async close(): Promise<void> {
    for (const c of this.conns) this.endConn(c, true);
    this.wss?.close();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** Sessions whose every message has been acknowledged by a client. */
  sessionDone(): boolean {
    if (this.sessions.size === 0) return false;
    for (const s of this.sessions.values()) if (s.acked < s.gi.length) return false;
    return true;
  }

  /** Close every open connection abruptly (tests). */
  dropAll(): void {
    for (const c of this.conns) this.endConn(c, true);
  }

  private session(streams: string[]): Session {
    const names = [...new Set(streams.map(normStream))].sort();
    const key = names.join('/');
    let s = this.sessions.get(key);
    if (s) return s;
    const lists = names.map((n) => this.source.select(n));
    let total = 0;
    for (const l of lists) total += l.length;
    const merged: { gi: number; name: string }[] = [];
    lists.forEach((l, k) => l.forEach((gi) => merged.push({ gi, name: names[k] })));
    merged.sort((a, b) => a.gi - b.gi);
    const first = total > 0 ? this.source.srcTs[merged[0].gi] : 0;
    const f = this.faults;
    s = {
      key,
      gi: Int32Array.from(merged.map((m) => m.gi)),
      name: merged.map((m) => m.name),
      acked: 0,
      nextDisconnect: f.disconnectMs > 0 ? first + f.disconnectMs : Infinity,
      nextStall: f.stallMs > 0 ? first + f.stallEveryMs : Infinity,
      nextOversize: f.oversizeEveryMs > 0 ? first + f.oversizeEveryMs : Infinity,
    };
    this.sessions.set(key, s);
    return s;
  }

  private onConnection(ws: WebSocket, streams: string[]): void {
    const session = this.session(streams);
    this.stats.connections++;
    this.stats.open++;
    const c: Conn = {
      ws,
      session,
      openedAt: this.clock.now(),
      pos: session.acked,
      acked: session.acked,
      sinceFlow: 0,
      held: null,
      stallUntil: 0,
      closed: false,
      timer: null,
      immediate: false,
      pingTimer: null,
      cutTimer: null,
    };
    this.conns.add(c);
    ws.on('pong', (data: Buffer) => {
      const s = data.toString();
      if (!s.startsWith('flow:')) return;
      const p = Number(s.slice(5));
      if (p > c.acked) c.acked = p;
      if (p > session.acked) session.acked = p;
      this.schedule(c, 0);
    });
    ws.on('close', () => this.endConn(c, false));
    ws.on('error', () => this.endConn(c, true));
    ws.on('message', () => undefined); // subscribe/unsubscribe requests are not supported; ignored
    const f = this.faults;
    if (f.pingMs > 0) {
      const ping = () => {
        if (c.closed) return;
        this.stats.server_pings++;
        ws.ping('srv');
        c.pingTimer = this.clock.setTimeout(ping, f.pingMs);
      };
      c.pingTimer = this.clock.setTimeout(ping, f.pingMs);
    }
    if (f.cutMs > 0) {
      c.cutTimer = this.clock.setTimeout(() => {
        if (c.closed) return;
        this.stats.cuts++;
        ws.close(1001, 'forced cut');
        this.endConn(c, false);
      }, f.cutMs);
    }
    this.schedule(c, 0);
  }

  private endConn(c: Conn, terminate: boolean): void {
    if (c.closed) return;
    c.closed = true;
    this.stats.open--;
    this.clock.clearTimeout(c.timer);
    this.clock.clearTimeout(c.pingTimer);
    this.clock.clearTimeout(c.cutTimer);
    this.conns.delete(c);
    if (terminate) c.ws.terminate();
  }

  private schedule(c: Conn, ms: number): void {
    if (c.closed) return;
    this.clock.clearTimeout(c.timer);
    if (ms === 0 && this.clock === systemClock) {
      // real time, nothing to wait for: next turn of the event loop (a 0 ms timer costs >= 1 ms)
      c.timer = null;
      if (c.immediate) return;
      c.immediate = true;
      setImmediate(() => {
        c.immediate = false;
        if (c.timer === null) this.pump(c);
      });
      return;
    }
    c.timer = this.clock.setTimeout(() => {
      c.timer = null;
      this.pump(c);
    }, ms);
  }

  private send(c: Conn, frame: string): void {
    c.ws.send(frame);
    this.stats.sent++;
  }

  /** Send what is due, within the window and the socket buffer, then re-arm. */
  private pump(c: Conn): void {
    if (c.closed) return;
    const s = c.session;
    const src = this.source;
    const f = this.faults;
    const now = this.clock.now();
    if (now < c.stallUntil) return this.schedule(c, c.stallUntil - now);
    const dueSrc =
      this.speed === Infinity ? Infinity : (src.n > 0 ? src.srcTs[0] : 0) + (now - this.startedAt) * this.speed;
    let budget = this.batch;
    while (c.pos < s.gi.length) {
      if (c.pos - c.acked >= this.window) return this.flushHeld(c); // wait for a pong
      if (c.ws.bufferedAmount > MAX_BUFFERED) return this.schedule(c, 1);
      if (budget-- <= 0) return this.schedule(c, 0);
      const gi = s.gi[c.pos];
      const t = src.srcTs[gi];
      if (t > dueSrc) {
        this.flushHeld(c);
        return this.schedule(c, Math.max(1, Math.ceil((t - dueSrc) / this.speed)));
      }
      if (t >= s.nextDisconnect) {
        while (s.nextDisconnect <= t) s.nextDisconnect += f.disconnectMs;
        this.stats.disconnects++;
        this.endConn(c, true);
        return;
      }
      if (t >= s.nextStall) {
        while (s.nextStall <= t) s.nextStall += f.stallEveryMs;
        this.stats.stalls++;
        this.flushHeld(c);
        c.stallUntil = now + f.stallMs;
        return this.schedule(c, f.stallMs);
      }
      if (t >= s.nextOversize) {
        while (s.nextOversize <= t) s.nextOversize += f.oversizeEveryMs;
        this.stats.oversize++;
        this.send(c, `{"stream":"${s.name[c.pos]}","data":{"pad":"${'x'.repeat(f.oversizeBytes)}"}}`);
      }
      const name = s.name[c.pos];
      const frame = src.frame(gi, name);
      c.pos++;
      if (gi + 1 > this.highWater) this.highWater = gi + 1;
      if (frame !== null) {
        if (f.drop > 0 && TRADE_STREAM.test(name) && faultUniform(f.seed, gi, 'drop') < f.drop) {
          this.stats.dropped++;
        } else {
          if (f.malformed > 0 && faultUniform(f.seed, gi, 'malformed') < f.malformed) {
            const k = Math.floor(faultUniform(f.seed, gi, 'kind') * MALFORMED.length);
            this.stats.malformed++;
            this.send(c, MALFORMED[k](frame));
          }
          if (c.held === null && f.reorder > 0 && faultUniform(f.seed, gi, 'reorder') < f.reorder) {
            c.held = frame;
            this.stats.reordered++;
          } else {
            this.send(c, frame);
            if (f.dup > 0 && faultUniform(f.seed, gi, 'dup') < f.dup) {
              this.stats.dups++;
              this.send(c, frame);
            }
            this.flushHeld(c);
          }
        }
      }
      if (++c.sinceFlow >= this.window >> 1) {
        c.sinceFlow = 0;
        this.flushHeld(c);
        c.ws.ping(`flow:${c.pos}`);
      }
    }
    // end of the timeline: flush and ask for the final acknowledgement
    this.flushHeld(c);
    if (c.sinceFlow > 0) {
      c.sinceFlow = 0;
      c.ws.ping(`flow:${c.pos}`);
    }
  }

  private flushHeld(c: Conn): void {
    if (c.held !== null) {
      const h = c.held;
      c.held = null;
      this.send(c, h);
    }
  }

  // ---------------------------------------------------------------- REST

  private rest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.rest_requests++;
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') return reply(405, { code: -1000, msg: 'Only GET is supported.' });
    if (u.pathname === '/healthz') return reply(200, { ok: true, highWater: this.highWater, stats: this.stats });
    const sym = (u.searchParams.get('symbol') ?? '').toUpperCase();
    const st = this.source.symbols.get(sym);
    const limitRaw = u.searchParams.get('limit');
    const limit = limitRaw === null ? 500 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
      return reply(400, { code: -1100, msg: "Illegal characters found in parameter 'limit'." });
    if (u.pathname === '/api/v3/depth') {
      if (!st) return reply(400, { code: -1121, msg: 'Invalid symbol.' });
      if (st.snapshot) {
        let book = this.books.get(sym);
        if (!book) this.books.set(sym, (book = new MockBook(st)));
        book.advance(this.highWater);
        const lv = (l: [number, number][]) => l.slice(0, limit).map(([p, q]) => [String(p), String(q)]);
        return reply(200, {
          lastUpdateId: book.lastUpdateId,
          bids: lv(book.bids.levels()),
          asks: lv(book.asks.levels()),
        });
      }
      const { recs, index } = st.partials;
      let k = upperBound(index, this.highWater) - 1;
      if (k < 0) k = recs.length > 0 ? 0 : -1;
      if (k < 0) return reply(400, { code: -1121, msg: 'Invalid symbol.' });
      const d = recs[k];
      const lv = (l: [number, number][]) => l.slice(0, limit).map(([p, q]) => [String(p), String(q)]);
      return reply(200, { lastUpdateId: d.lastUpdateId, bids: lv(d.bids), asks: lv(d.asks) });
    }
    if (u.pathname === '/api/v3/aggTrades' || u.pathname === '/api/v3/historicalTrades') {
      if (!st) return reply(400, { code: -1121, msg: 'Invalid symbol.' });
      const agg = u.pathname === '/api/v3/aggTrades';
      if (limit > 1000) return reply(400, { code: -1100, msg: 'limit must be <= 1000' });
      const store = agg ? st.aggTrades : st.trades.recs.length > 0 ? st.trades : st.aggTrades;
      const visible = upperBound(store.index, this.highWater);
      const fromRaw = u.searchParams.get('fromId');
      let from: number;
      if (fromRaw === null) from = Math.max(0, visible - limit);
      else {
        const id = Number(fromRaw);
        if (!Number.isSafeInteger(id) || id < 0)
          return reply(400, { code: -1100, msg: "Illegal characters found in parameter 'fromId'." });
        from = lowerBoundId(store.recs, id, visible);
      }
      const out: unknown[] = [];
      for (let k = from; k < visible && out.length < limit; k++)
        out.push(agg ? aggJson(store.recs[k]) : tradeJson(store.recs[k]));
      return reply(200, out);
    }
    return reply(404, { code: -1, msg: `no such endpoint ${u.pathname}` });
  }
}

function normStream(s: string): string {
  const at = s.indexOf('@');
  return at > 0 ? s.slice(0, at).toLowerCase() + s.slice(at) : s;
}

/** First k with a[k] > x (a sorted). */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x - 1) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First k < end with recs[k].id >= id (ids increasing). */
function lowerBoundId(recs: readonly TradeRec[], id: number, end: number): number {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (recs[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function aggJson(t: TradeRec): unknown {
  return { a: t.id, p: t.price, q: t.qty, f: t.first, l: t.last, T: t.T, m: t.m, M: true };
}

function tradeJson(t: TradeRec): unknown {
  return {
    id: t.id,
    price: t.price,
    qty: t.qty,
    quoteQty: String(Number(t.price) * Number(t.qty)),
    time: t.T,
    isBuyerMaker: t.m,
    isBestMatch: true,
  };
}
