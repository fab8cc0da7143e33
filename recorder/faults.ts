/**
 * Fault spec of the mock exchange, e.g.
 *
 *   disconnect=5s,dup=0.01,reorder=0.01,malformed=0.001,stall=10s@30s,ping=3s,cut=60s,oversize=20s,drop=0.001,seed=7
 *
 * Two clocks are involved (decision recorded in recorder/README.md):
 * - **source time** (the replayed data's own receive-time axis) places the
 *   message-driven faults: `disconnect=D` closes the connection each time the
 *   replay crosses another D of source time, `stall=L@P` starts a stall every P,
 *   `oversize=P` sends one oversized frame every P. So they hit the same
 *   messages at any `speed`, including max speed.
 * - the mock's **clock** (injectable) measures durations: the stall length L,
 *   server `ping=I` interval and the forced `cut=C` (connection age, like
 *   Binance's 24 h cut).
 * Per-message faults (`dup`, `reorder`, `malformed`, `drop`) are pure functions
 * of `(seed, message index)`: deterministic whatever the connection history.
 * `drop` applies to trade messages only (they can be backfilled over REST);
 * the dropped trade is still served by the REST endpoints.
 *
 * Durations: `250ms`, `5s`, `2m`, `1h`; a bare number is seconds.
 */
import { UsageError } from '../src/core/errors.js';

export interface FaultSpec {
  /** Close the connection every this many ms of source time (0 = off). */
  readonly disconnectMs: number;
  readonly dup: number;
  readonly reorder: number;
  readonly malformed: number;
  /** Trades only. */
  readonly drop: number;
  /** Stall length on the mock clock (0 = off) and period in source time. */
  readonly stallMs: number;
  readonly stallEveryMs: number;
  /** Server ping interval on the mock clock (0 = off). */
  readonly pingMs: number;
  /** Forced cut at this connection age on the mock clock (0 = off). */
  readonly cutMs: number;
  /** One oversized frame every this many ms of source time (0 = off). */
  readonly oversizeEveryMs: number;
  readonly oversizeBytes: number;
  readonly seed: number;
}

export const NO_FAULTS: FaultSpec = Object.freeze({
  disconnectMs: 0,
  dup: 0,
  reorder: 0,
  malformed: 0,
  drop: 0,
  stallMs: 0,
  stallEveryMs: 0,
  pingMs: 0,
  cutMs: 0,
  oversizeEveryMs: 0,
  oversizeBytes: 2 * 1024 * 1024,
  seed: 1,
});

/** `250ms` / `5s` / `2m` / `1h` / bare seconds -> ms. */
export function parseDuration(raw: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`${where}: '${raw}' is not a duration (expected e.g. 250ms, 5s, 2m, 1h)`);
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? v : unit === 's' ? v * 1000 : unit === 'm' ? v * 60_000 : v * 3_600_000;
  return Math.round(ms);
}

function prob(raw: string, where: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1)
    throw new UsageError(`${where}: '${raw}' is not a probability (expected a number in 0..1)`);
  return v;
}

export function parseFaults(spec: string | undefined | null): FaultSpec {
  const f: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = { ...NO_FAULTS };
  if (!spec || spec.trim() === '' || spec.trim() === 'none') return f;
  for (const part of spec.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--faults: '${p}' is not key=value (keys: disconnect dup reorder malformed drop stall ping cut oversize oversize_bytes seed)`,
      );
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    const where = `--faults ${k}`;
    switch (k) {
      case 'disconnect':
        f.disconnectMs = parseDuration(v, where);
        break;
      case 'dup':
        f.dup = prob(v, where);
        break;
      case 'reorder':
        f.reorder = prob(v, where);
        break;
      case 'malformed':
        f.malformed = prob(v, where);
        break;
      case 'drop':
        f.drop = prob(v, where);
        break;
      case 'stall': {
        const at = v.indexOf('@');
        if (at <= 0) throw new UsageError(`${where}: '${v}' is not LENGTH@PERIOD (e.g. 10s@30s)`);
        f.stallMs = parseDuration(v.slice(0, at), where);
        f.stallEveryMs = parseDuration(v.slice(at + 1), where);
        if (f.stallEveryMs <= 0) throw new UsageError(`${where}: period must be > 0`);
        break;
      }
      case 'ping':
        f.pingMs = parseDuration(v, where);
        break;
      case 'cut':
        f.cutMs = parseDuration(v, where);
        break;
      case 'oversize':
        f.oversizeEveryMs = parseDuration(v, where);
        break;
      case 'oversize_bytes': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1024 || n > 256 * 1024 * 1024)
          throw new UsageError(`${where}: '${v}' is not valid (expected an integer 1024..268435456)`);
        f.oversizeBytes = n;
        break;
      }
      case 'seed': {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new UsageError(`${where}: '${v}' is not an integer`);
        f.seed = n;
        break;
      }
      default:
        throw new UsageError(
          `--faults: unknown fault '${k}' (keys: disconnect dup reorder malformed drop stall ping cut oversize oversize_bytes seed)`,
        );
    }
  }
  return f;
}

const SALT = {
  dup: 0x9e3779b1,
  reorder: 0x85ebca6b,
  malformed: 0xc2b2ae35,
  drop: 0x27d4eb2f,
  kind: 0x165667b1,
} as const;
export type FaultKind = keyof typeof SALT;

/** Deterministic uniform in [0, 1) from (seed, message index, fault kind). */
export function faultUniform(seed: number, index: number, kind: FaultKind): number {
  let h = (seed | 0) ^ Math.imul(index | 0, 0x2c1b3c6d) ^ SALT[kind];
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  h = (Math.imul(h ^ Math.floor(index / 4294967296), 0x9e3779b1) ^ (seed / 4294967296)) | 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
