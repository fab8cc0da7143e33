/**
 * One combined-stream WebSocket connection for a batch of symbols, kept alive:
 *
 * - reconnect with exponential backoff and jitter (`backoffDelay`), the attempt
 *   counter reset by the first data message of a connection (the server is
 *   healthy again once it delivers data, not merely once it accepts a socket);
 * - client ping every `pingMs`; a ping unanswered when the next one is due
 *   terminates the socket;
 * - silence watchdog judged **per connection**: any data message on the
 *   connection proves it alive, so a quiet symbol whose sibling streams still
 *   deliver never triggers it (pongs do not count: a stalled feed still pongs);
 * - proactive reconnect at `proactiveMs` of age (before Binance's 24 h cut),
 *   make-before-break: the successor socket is opened first and the old one is
 *   closed when the successor delivers its first data message (the overlap is
 *   removed by the recorder's dedup);
 * - `maxPayload`: an oversized frame makes `ws` fail the socket (close 1009),
 *   counted as `oversize`, then the normal reconnect;
 * - server pings are answered by the owner (`onPing` flushes the journal first,
 *   then pongs), so a pong acknowledges only journaled messages.
 *
 * All timing goes through the injected Clock; sockets through `wsFactory`.
 */
import WebSocket from 'ws';
import type { Clock, TimerHandle } from './clock.js';

/** The part of a `ws` WebSocket the connection uses (tests pass fakes). */
export interface WsLike {
  on(event: 'open', fn: () => void): unknown;
  on(event: 'message', fn: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'ping' | 'pong', fn: (data: Buffer) => void): unknown;
  on(event: 'close', fn: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  ping(data?: string | Buffer): void;
  pong(data?: string | Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

export type WsFactory = (url: string, opts: { maxPayload: number }) => WsLike;

export const defaultWsFactory: WsFactory = (url, opts) =>
  new WebSocket(url, {
    maxPayload: opts.maxPayload,
    autoPong: false,
    perMessageDeflate: false,
    handshakeTimeout: 10_000,
  }) as unknown as WsLike;

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Fraction of the delay that is random: delay * (1 - jitter + jitter * u), u in [0, 1). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 30_000, jitter: 0.5 };

/** Delay before reconnect attempt `attempt` (0-based): min(max, base * 2^attempt), jittered down by up to `jitter`. */
export function backoffDelay(attempt: number, u: number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  const d = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(d * (1 - o.jitter + o.jitter * u));
}

export interface ConnectionOptions {
  readonly id: number;
  readonly url: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly wsFactory: WsFactory;
  readonly backoff: BackoffOptions;
  readonly pingMs: number;
  readonly silenceMs: number;
  readonly proactiveMs: number;
  readonly maxPayload: number;
  /** A data frame (text). */
  readonly onMessage: (text: string, conn: StreamConnection) => void;
  /** A server ping: flush, then call `pong()`. */
  readonly onPing: (conn: StreamConnection) => void;
  readonly onEvent?: (ev: ConnEvent, conn: StreamConnection) => void;
}

export type ConnEvent =
  | { type: 'open' }
  | { type: 'close'; code: number; reason: string }
  | { type: 'reconnect'; attempt: number; delayMs: number }
  | { type: 'watchdog'; silentMs: number }
  | { type: 'ping_timeout' }
  | { type: 'proactive' }
  | { type: 'oversize' }
  | { type: 'error'; message: string };

interface Sock {
  readonly ws: WsLike;
  readonly openedAt: number;
  open: boolean;
  gotData: boolean;
  dead: boolean;
}

export class StreamConnection {
  readonly o: ConnectionOptions;
  private cur: Sock | null = null;
  private successor: Sock | null = null;
  private stopped = true;
  attempts = 0;
  lastDataAt = 0;
  private awaitingPong = false;
  private reconnectTimer: TimerHandle | null = null;
  private pingTimer: TimerHandle | null = null;
  private watchTimer: TimerHandle | null = null;
  private proactiveTimer: TimerHandle | null = null;
  // counters
  connects = 0;
  reconnects = 0;
  watchdogFires = 0;
  pingTimeouts = 0;
  proactive = 0;
  oversize = 0;
  /** Times of each connect attempt (tests). */
  readonly connectTimes: number[] = [];

  constructor(o: ConnectionOptions) {
    this.o = o;
  }

  get isOpen(): boolean {
    return this.cur?.open === true;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.o.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const s of [this.cur, this.successor]) {
      if (s && !s.dead) {
        s.dead = true;
        try {
          s.ws.close(1000, 'recorder stopping');
        } catch {
          s.ws.terminate();
        }
      }
    }
    this.cur = null;
    this.successor = null;
  }

  /** Answer a server ping (after the owner made the journal durable). */
  pong(data: Buffer): void {
    const s = this.cur;
    if (s?.open && !s.dead) s.ws.pong(data);
  }

  private emit(ev: ConnEvent): void {
    this.o.onEvent?.(ev, this);
  }

  private open(asSuccessor: boolean): Sock {
    const o = this.o;
    this.connects++;
    this.connectTimes.push(o.clock.now());
    const ws = o.wsFactory(o.url, { maxPayload: o.maxPayload });
    const s: Sock = { ws, openedAt: o.clock.now(), open: false, gotData: false, dead: false };
    ws.on('open', () => {
      if (s.dead) return;
      s.open = true;
      if (s === this.cur) this.onOpen();
    });
    ws.on('message', (data, isBinary) => {
      if (s.dead) return;
      if (s === this.successor) {
        // make-before-break: the successor delivers, the old socket goes
        const old = this.cur;
        this.cur = s;
        this.successor = null;
        if (old && !old.dead) {
          old.dead = true;
          old.ws.close(1000, 'proactive reconnect');
        }
        this.onOpen();
      }
      if (s !== this.cur) return;
      this.lastDataAt = o.clock.now();
      if (!s.gotData) {
        s.gotData = true;
        this.attempts = 0;
      }
      // Binance sends text only; a binary frame is decoded anyway and fails parsing (counted as malformed)
      void isBinary;
      // (decode a Buffer in place: Buffer.from(buffer) would copy every frame first)
      o.onMessage(
        typeof data === 'string'
          ? data
          : Buffer.isBuffer(data)
            ? data.toString('utf8')
            : Array.isArray(data)
              ? Buffer.concat(data).toString('utf8')
              : Buffer.from(data).toString('utf8'),
        this,
      );
    });
    ws.on('ping', (data) => {
      if (s.dead || s !== this.cur) {
        if (!s.dead) s.ws.pong(data);
        return;
      }
      this.pendingPing = data;
      o.onPing(this);
    });
    ws.on('pong', () => {
      if (s === this.cur) this.awaitingPong = false;
    });
    ws.on('error', (err) => {
      const msg = err?.message ?? String(err);
      if (/max payload/i.test(msg)) {
        this.oversize++;
        this.emit({ type: 'oversize' });
      } else this.emit({ type: 'error', message: msg });
    });
    ws.on('close', (code, reason) => {
      const wasDead = s.dead;
      s.dead = true;
      s.open = false;
      if (s === this.successor) {
        this.successor = null;
        return;
      }
      if (s !== this.cur || wasDead) return;
      this.cur = null;
      this.emit({ type: 'close', code, reason: reason?.toString() ?? '' });
      this.clearTimers();
      if (this.successor) {
        // the successor takes over
        this.cur = this.successor;
        this.successor = null;
        if (this.cur.open) this.onOpen();
        return;
      }
      this.scheduleReconnect();
    });
    if (!asSuccessor) this.cur = s;
    return s;
  }

  /** Last server ping payload, for the owner's `pong()` (kept per connection). */
  pendingPing: Buffer | null = null;

  private connect(): void {
    if (this.stopped) return;
    this.open(false);
  }

  private onOpen(): void {
    const o = this.o;
    const s = this.cur!;
    this.emit({ type: 'open' });
    this.clearTimers();
    this.lastDataAt = o.clock.now();
    this.awaitingPong = false;
    const ping = () => {
      if (this.cur !== s || s.dead) return;
      if (this.awaitingPong) {
        this.pingTimeouts++;
        this.emit({ type: 'ping_timeout' });
        this.kill(s);
        return;
      }
      this.awaitingPong = true;
      s.ws.ping();
      this.pingTimer = o.clock.setTimeout(ping, o.pingMs);
    };
    this.pingTimer = o.clock.setTimeout(ping, o.pingMs);
    const step = Math.max(10, Math.min(1000, Math.floor(o.silenceMs / 4)));
    const watch = () => {
      if (this.cur !== s || s.dead) return;
      const silent = o.clock.now() - this.lastDataAt;
      if (silent >= o.silenceMs) {
        this.watchdogFires++;
        this.emit({ type: 'watchdog', silentMs: silent });
        this.kill(s);
        return;
      }
      this.watchTimer = o.clock.setTimeout(watch, step);
    };
    this.watchTimer = o.clock.setTimeout(watch, step);
    const age = o.clock.now() - s.openedAt;
    this.proactiveTimer = o.clock.setTimeout(
      () => {
        if (this.cur !== s || s.dead || this.successor) return;
        this.proactive++;
        this.emit({ type: 'proactive' });
        this.successor = this.open(true);
      },
      Math.max(0, o.proactiveMs - age),
    );
  }

  /** Drop a socket now; its close event schedules the reconnect. */
  private kill(s: Sock): void {
    this.clearTimers();
    s.ws.terminate();
  }

  private clearTimers(): void {
    const c = this.o.clock;
    c.clearTimeout(this.pingTimer);
    c.clearTimeout(this.watchTimer);
    c.clearTimeout(this.proactiveTimer);
    this.pingTimer = this.watchTimer = this.proactiveTimer = null;
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempts, this.o.random(), this.o.backoff);
    this.attempts++;
    this.reconnects++;
    this.emit({ type: 'reconnect', attempt: this.attempts, delayMs: delay });
    this.reconnectTimer = this.o.clock.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }
}
