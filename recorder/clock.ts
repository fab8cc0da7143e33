/**
 * Injectable time: everything in recorder/ that waits (backoff, ping, silence
 * watchdog, proactive reconnect, rotation, mock pacing and faults) goes
 * through a `Clock`, so tests drive it with `ManualClock` instead of sleeping.
 *
 * `now()` is epoch ms (UTC). Timers are one-shot; periodic work re-arms itself.
 */

export type TimerHandle = { readonly id: number };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | null | undefined): void;
}

/** Wall clock + Node timers (timers are unref'd so they never keep a process alive on their own). */
export class SystemClock implements Clock {
  private readonly live = new Map<number, NodeJS.Timeout>();
  private next = 1;
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    const t = setTimeout(
      () => {
        this.live.delete(id);
        fn();
      },
      Math.max(0, ms),
    );
    t.unref();
    this.live.set(id, t);
    return { id };
  }
  clearTimeout(h: TimerHandle | null | undefined): void {
    if (!h) return;
    const t = this.live.get(h.id);
    if (t) {
      clearTimeout(t);
      this.live.delete(h.id);
    }
  }
}

export const systemClock: Clock = new SystemClock();

/**
 * A clock that moves only when told. `advance(ms)` runs every timer due in
 * `(now, now + ms]` in due order (ties: creation order), setting `now` to each
 * timer's due time before calling it, so callbacks see the time they were due.
 */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: { id: number; due: number; fn: () => void }[] = [];
  constructor(startMs = Date.UTC(2024, 7, 8, 23, 0, 0)) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, due: this.t + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(h: TimerHandle | null | undefined): void {
    if (!h) return;
    this.timers = this.timers.filter((x) => x.id !== h.id);
  }
  /** Pending timers (for tests). */
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const x = this.timers[i];
        if (
          x.due <= end &&
          (best < 0 ||
            x.due < this.timers[best].due ||
            (x.due === this.timers[best].due && x.id < this.timers[best].id))
        )
          best = i;
      }
      if (best < 0) break;
      const x = this.timers[best];
      this.timers.splice(best, 1);
      this.t = Math.max(this.t, x.due);
      x.fn();
    }
    this.t = end;
  }
}
