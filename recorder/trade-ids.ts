/**
 * Trade-id continuity and REST backfill (recorder/README.md "Gaps and
 * backfill"): the exact per-(symbol, trade stream) id memory, and the timer
 * path that fetches open gaps over REST and, after 5 fruitless attempts,
 * declares their ids lost (`trade_ids_lost`).
 */
import { describeError } from '../src/core/errors.js';
import type { RecorderCounters } from './metrics.js';

/** Exact trade-id memory for one (symbol, trade stream): contiguous prefix + ids above it. */
export class TradeIds {
  floor = NaN;
  c = NaN;
  readonly above = new Set<number>();
  gapSince = NaN;
  attempts = 0;
  inFlight = false;

  has(id: number): boolean {
    return (id > this.floor && id <= this.c) || this.above.has(id);
  }

  /** Record an id; returns true when it opened a gap. */
  add(id: number, now: number): boolean {
    if (Number.isNaN(this.c)) {
      this.floor = id - 1;
      this.c = id;
      return false;
    }
    if (id <= this.c) return false;
    if (id === this.c + 1) {
      this.c = id;
      while (this.above.delete(this.c + 1)) this.c++;
      if (this.above.size === 0) {
        this.gapSince = NaN;
        this.attempts = 0;
      }
      return false;
    }
    this.above.add(id);
    if (Number.isNaN(this.gapSince)) {
      this.gapSince = now;
      return true;
    }
    return false;
  }

  maxAbove(): number {
    let m = -Infinity;
    for (const x of this.above) if (x > m) m = x;
    return m;
  }

  minAbove(): number {
    let m = Infinity;
    for (const x of this.above) if (x < m) m = x;
    return m;
  }

  /** Give up on the current gap: ids up to the next seen id are declared lost. Returns how many. */
  skipGap(): number {
    const m = this.minAbove();
    if (!Number.isFinite(m)) return 0;
    const lost = m - this.c - 1;
    this.c = m - 1;
    this.add(m, NaN);
    this.above.delete(m);
    this.gapSince = this.above.size > 0 ? this.gapSince : NaN;
    this.attempts = 0;
    return lost;
  }

  toJSON(): { floor: number; contiguous: number; above: number[] } {
    return { floor: this.floor, contiguous: this.c, above: [...this.above].sort((a, b) => a - b) };
  }

  /** From `toJSON()`'s value as read back from JSON (NaN was written as null). */
  static from(o: { floor: number | null; contiguous: number | null; above: number[] }): TradeIds {
    const t = new TradeIds();
    t.floor = o.floor ?? NaN;
    t.c = o.contiguous ?? NaN;
    for (const x of o.above) t.above.add(x);
    if (t.above.size > 0) t.gapSince = -Infinity;
    return t;
  }
}

/** What the backfill needs from the recorder. */
export interface GapHost {
  readonly counters: RecorderCounters;
  readonly rest: string;
  readonly inflight: ReadonlySet<Promise<unknown>>;
  fetchJson(url: string): Promise<unknown>;
  now(): number;
  /** A REST row normalised to a stream message, through the normal accept path; true when accepted. */
  ingest(text: string, recvMs: number): boolean;
  log(line: string): void;
  track(p: Promise<unknown>): void;
}

/** Every (symbol, trade stream)'s ids (`<SYM>|a` / `<SYM>|t`), and their backfill. */
export class TradeGaps {
  readonly ids = new Map<string, TradeIds>();
  constructor(private readonly h: GapHost) {}

  /** Open gaps older than `graceMs`: backfill, or after 5 fruitless attempts declare their ids lost. */
  check(graceMs: number): void {
    const now = this.h.now();
    for (const [key, tr] of this.ids) {
      if (tr.above.size === 0 || tr.inFlight) continue;
      if (!(now - tr.gapSince >= graceMs) && tr.gapSince !== -Infinity) continue;
      if (tr.attempts >= 5) {
        const lost = tr.skipGap();
        this.h.counters.trade_ids_lost += lost;
        this.h.log(`${key}: ${lost} trade ids could not be backfilled; declared lost`);
        continue;
      }
      this.backfill(key, tr);
    }
  }

  private backfill(key: string, tr: TradeIds): void {
    const [sym, t] = key.split('|');
    const agg = t === 'a';
    const from = tr.c + 1;
    // one request covers every open gap up to 1000 ids ahead; ids already held are dropped by dedup
    const want = Math.min(1000, tr.maxAbove() - from);
    if (!(want > 0)) return;
    tr.inFlight = true;
    tr.attempts++;
    this.h.counters.backfill_requests++;
    const url = `${this.h.rest}/api/v3/${agg ? 'aggTrades' : 'historicalTrades'}?symbol=${sym}&fromId=${from}&limit=${want}`;
    const lower = sym.toLowerCase();
    const p = this.h
      .fetchJson(url)
      .then((rows) => {
        if (!Array.isArray(rows)) throw new Error('backfill answer is not an array');
        const before = tr.c;
        for (const r of rows as Record<string, unknown>[]) {
          const data = agg
            ? { e: 'aggTrade', E: r.T, s: sym, a: r.a, p: r.p, q: r.q, f: r.f, l: r.l, T: r.T, m: r.m, M: r.M }
            : {
                e: 'trade',
                E: r.time,
                s: sym,
                t: r.id,
                p: r.price,
                q: r.qty,
                T: r.time,
                m: r.isBuyerMaker,
                M: r.isBestMatch,
              };
          if (this.h.ingest(JSON.stringify({ stream: `${lower}@${agg ? 'aggTrade' : 'trade'}`, data }), this.h.now()))
            this.h.counters.backfilled++;
        }
        if (tr.c > before) tr.attempts = 0;
        this.h.log(`${sym}: backfill from id ${from}: ${rows.length} trades received, contiguous up to ${tr.c}`);
      })
      .catch((e) => {
        this.h.counters.backfill_errors++;
        this.h.log(`${sym}: trade backfill failed: ${describeError(e)}`);
      })
      .finally(() => {
        tr.inFlight = false;
      });
    this.h.track(p);
  }

  /** Backfill every open gap now (used before a clean stop and by tests). */
  async now(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      let open = false;
      const before = [...this.ids.values()].map((t) => t.c);
      for (const [key, tr] of this.ids) {
        if (tr.above.size > 0 && !tr.inFlight) {
          open = true;
          this.backfill(key, tr);
        }
      }
      if (!open && this.h.inflight.size === 0) return;
      await Promise.allSettled([...this.h.inflight]);
      const after = [...this.ids.values()].map((t) => t.c);
      if (before.every((c, i) => c === after[i])) return; // no progress: the timer path retries / gives up
    }
  }
}
