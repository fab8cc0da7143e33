/**
 * The recorder's connections (recorder/README.md "Connections"): one
 * `StreamConnection` per `perConnection` symbols, pongs only after the
 * journal is flushed, every connection event counted and logged.
 */
import type { Clock } from './clock.js';
import { StreamConnection, type BackoffOptions, type ConnEvent, type WsFactory } from './connection.js';
import type { RecorderCounters } from './metrics.js';

export interface ConnectionsOptions {
  readonly symbols: readonly string[];
  readonly streams: readonly string[];
  readonly endpoint: string;
  readonly perConnection: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly wsFactory: WsFactory;
  readonly backoff: BackoffOptions;
  readonly cfg: {
    readonly wss_ping_interval_sec: number;
    readonly silence_watchdog_sec: number;
    readonly proactive_reconnect_hours: number;
  };
  readonly maxPayload: number;
  readonly counters: RecorderCounters;
  onFrame(text: string): void;
  /** Flush the journal; false when the write failed (then no pong: a pong acknowledges journaled data only). */
  flushJournal(): boolean;
  /** A connection closed (depth books ask for a snapshot at the next diff). */
  onClose(): void;
  log(line: string): void;
}

/** Open (and start) the connections for every symbol, appending them to `conns`. */
export function openConnections(conns: StreamConnection[], o: ConnectionsOptions): void {
  const per = Math.max(1, o.perConnection);
  for (let i = 0; i < o.symbols.length; i += per) {
    const batch = o.symbols.slice(i, i + per);
    const names = batch.flatMap((s) => o.streams.map((st) => `${s.toLowerCase()}@${st}`));
    const conn = new StreamConnection({
      id: conns.length,
      url: `${o.endpoint}/stream?streams=${names.join('/')}`,
      clock: o.clock,
      random: o.random,
      wsFactory: o.wsFactory,
      backoff: o.backoff,
      pingMs: o.cfg.wss_ping_interval_sec * 1000,
      silenceMs: o.cfg.silence_watchdog_sec * 1000,
      proactiveMs: o.cfg.proactive_reconnect_hours * 3_600_000,
      maxPayload: o.maxPayload,
      onMessage: (text) => o.onFrame(text),
      onPing: (c) => {
        const data = c.pendingPing ?? Buffer.alloc(0);
        if (o.flushJournal()) c.pong(data);
      },
      onEvent: (ev, c) => onConnEvent(o, ev, c),
    });
    conns.push(conn);
    conn.start();
  }
}

function onConnEvent(o: ConnectionsOptions, ev: ConnEvent, c: StreamConnection): void {
  const k = o.counters;
  switch (ev.type) {
    case 'reconnect':
      k.reconnects++;
      o.log(`conn ${c.o.id}: reconnect #${ev.attempt} in ${ev.delayMs} ms`);
      break;
    case 'watchdog':
      k.watchdog_fires++;
      o.log(`conn ${c.o.id}: silent for ${ev.silentMs} ms, reconnecting`);
      break;
    case 'ping_timeout':
      k.ping_timeouts++;
      break;
    case 'proactive':
      k.proactive_reconnects++;
      o.log(`conn ${c.o.id}: proactive reconnect`);
      break;
    case 'oversize':
      k.oversize++;
      o.log(`conn ${c.o.id}: oversized frame refused (maxPayload)`);
      break;
    case 'error':
      o.log(`conn ${c.o.id}: ${ev.message}`);
      break;
    default:
      break;
  }
  if (ev.type === 'close') o.onClose();
}
