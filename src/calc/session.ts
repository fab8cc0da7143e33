/**
 * Trading-session labels from IANA time zones, DST-aware (ARCHITECTURE §4).
 *
 * Rule: an ordered list of `{ name, tz, start, end }`; an instant gets the name
 * of the FIRST rule whose local wall-clock time in `tz` lies in [start, end)
 * (windows with end < start wrap past midnight), else `session_fallback`.
 * First-match-wins plus a fallback makes the sessions a partition: every
 * instant maps to exactly one session.
 *
 * Default (params.ts):
 *   London if Europe/London local time in [08:00, 13:00)
 *   NY     if America/New_York local time in [08:00, 17:00) (and not London)
 *   Tokyo  otherwise.
 * In UTC: London 08-13 (GMT) / 07-12 (BST); NY 13-22 (EST) / 12-21 (EDT); Tokyo the rest.
 * In the weeks where only the US has switched (e.g. 2024-03-10 .. 03-30) the
 * London and NY windows overlap 12-13 UTC and London wins that hour.
 *
 * Speed: the UTC offset of each rule's zone is computed with
 * `Intl.DateTimeFormat(..., { timeZone })` once per UTC hour and cached (the
 * last hour only, so memory is O(rules)); a lookup inside a cached hour is a few
 * arithmetic operations. This assumes zone offsets change only on whole UTC
 * hours, which holds for every zone in the default rules (and nearly all zones).
 * The machine's own time zone is never used.
 *
 * Example:
 *   const s = new SessionClassifier(DEFAULT_CALC_PARAMS.slices.sessions, 'Tokyo');
 *   s.name(Date.UTC(2024, 6, 1, 7, 30));   // 'London' (08:30 BST)
 *   s.name(Date.UTC(2024, 0, 2, 7, 30));   // 'Tokyo'  (07:30 GMT)
 */
import type { SessionRule } from './params.js';
import { UsageError } from '../core/errors.js';

const HOUR_MS = 3_600_000;
const DAY_MIN = 1440;

function parseHhMm(where: string, s: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && Number(m[2]) !== 0)) {
    throw new UsageError(`${where}: '${s}' is not a local time (expected HH:MM, 00:00 to 24:00)`);
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

const dtfCache = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string, where: string): Intl.DateTimeFormat {
  let f = dtfCache.get(tz);
  if (f) return f;
  try {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new UsageError(`${where}: '${tz}' is not an IANA time zone (expected e.g. Europe/London)`);
  }
  dtfCache.set(tz, f);
  return f;
}

/** UTC offset (local - UTC, ms) of `tz` at instant `ms`, via Intl. */
export function zoneOffsetMs(tz: string, ms: number): number {
  const parts = formatterFor(tz, 'time zone').formatToParts(new Date(ms));
  let y = 0,
    mo = 0,
    d = 0,
    h = 0,
    mi = 0,
    s = 0;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
    }
  }
  const local = Date.UTC(y, mo - 1, d, h === 24 ? 0 : h, mi, s);
  const floorSec = Math.floor(ms / 1000) * 1000;
  return local - floorSec;
}

export class SessionClassifier {
  /** Session names, code = index; rule names first (in order, deduplicated), then the fallback. */
  readonly names: readonly string[];
  private readonly tz: string[];
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly code: Int32Array;
  private readonly fallbackCode: number;
  private readonly offsets: Float64Array;
  private cachedHour = NaN;
  private wholeMinutes = false;
  private cachedMinute = NaN;
  private cachedCode = 0;

  constructor(rules: readonly SessionRule[], fallback: string) {
    if (!Array.isArray(rules)) throw new UsageError(`slices.sessions: expected a list of {name, tz, start, end}`);
    if (typeof fallback !== 'string' || fallback.length === 0) {
      throw new UsageError(
        `slices.session_fallback: ${JSON.stringify(fallback)} is not valid (expected a session name)`,
      );
    }
    const names: string[] = [];
    const n = rules.length;
    this.tz = [];
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    this.code = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = rules[i];
      const where = `slices.sessions[${i}]`;
      if (typeof r?.name !== 'string' || r.name.length === 0)
        throw new UsageError(`${where}.name: ${JSON.stringify(r?.name)} is not valid (expected a session name)`);
      formatterFor(r.tz, `${where}.tz`);
      this.tz.push(r.tz);
      this.start[i] = parseHhMm(`${where}.start`, r.start);
      this.end[i] = parseHhMm(`${where}.end`, r.end);
      let c = names.indexOf(r.name);
      if (c < 0) c = names.push(r.name) - 1;
      this.code[i] = c;
    }
    let fc = names.indexOf(fallback);
    if (fc < 0) fc = names.push(fallback) - 1;
    this.fallbackCode = fc;
    this.names = names;
    this.offsets = new Float64Array(n);
  }

  /** Session code (index into `names`) of the instant `ms` (epoch ms UTC). */
  code_at(ms: number): number {
    const hour = Math.floor(ms / HOUR_MS);
    if (hour !== this.cachedHour) {
      const h0 = hour * HOUR_MS;
      let whole = true;
      for (let i = 0; i < this.tz.length; i++) {
        this.offsets[i] = zoneOffsetMs(this.tz[i], h0);
        if (this.offsets[i] % 60_000 !== 0) whole = false;
      }
      this.cachedHour = hour;
      this.wholeMinutes = whole;
      this.cachedMinute = NaN;
    }
    // with whole-minute offsets every zone's local minute changes with the UTC minute
    const minute = Math.floor(ms / 60_000);
    if (minute === this.cachedMinute) return this.cachedCode;
    const code = this.classify(ms);
    if (this.wholeMinutes) {
      this.cachedMinute = minute;
      this.cachedCode = code;
    }
    return code;
  }

  private classify(ms: number): number {
    for (let i = 0; i < this.tz.length; i++) {
      const localMin = Math.floor((ms + this.offsets[i]) / 60_000);
      const mod = ((localMin % DAY_MIN) + DAY_MIN) % DAY_MIN;
      const s = this.start[i];
      const e = this.end[i];
      const inside = s <= e ? mod >= s && mod < e : mod >= s || mod < e;
      if (inside) return this.code[i];
    }
    return this.fallbackCode;
  }

  name(ms: number): string {
    return this.names[this.code_at(ms)];
  }
}
