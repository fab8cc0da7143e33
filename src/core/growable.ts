/**
 * Growable typed-array column builders: append one primitive at a time,
 * amortised O(1) (capacity doubles), then take a right-sized view.
 *
 * Null convention for float columns: NaN means null (the Parquet writer maps
 * NaN to NULL for nullable DOUBLE columns). Integer columns use a sentinel the
 * column documents (e.g. -1 = unknown slice).
 *
 * Example:
 *   const c = new GrowableF64();
 *   c.push(1.5); c.push(NaN);
 *   c.view();      // Float64Array [1.5, NaN] (shares memory until the next push)
 *   c.toArray();   // an independent copy
 */

type TypedCtor<T> = { new (n: number): T };

export abstract class Growable<T extends Float64Array | Int32Array | Int8Array | Uint8Array> {
  protected buf: T;
  length = 0;

  private readonly initialCapacity: number;

  constructor(
    private readonly ctor: TypedCtor<T>,
    initialCapacity: number,
  ) {
    this.initialCapacity = Math.max(4, initialCapacity | 0);
    this.buf = new ctor(this.initialCapacity);
  }

  push(x: number): void {
    if (this.length === this.buf.length) this.grow(this.length * 2);
    this.buf[this.length++] = x;
  }

  /** The whole backing buffer (capacity >= length); values past `length` are garbage. */
  get data(): T {
    return this.buf;
  }

  get(i: number): number {
    if (i < 0 || i >= this.length) throw new RangeError(`row ${i} requested, but the column holds ${this.length} rows`);
    return this.buf[i];
  }

  /** Zero-copy view of the first `length` values; invalidated by the next push that grows the buffer. */
  view(): T {
    return this.buf.subarray(0, this.length) as T;
  }

  /** Independent copy of the first `length` values. */
  toArray(): T {
    return this.buf.slice(0, this.length) as T;
  }

  clear(): void {
    this.length = 0;
  }

  /** Hold exactly `values` (adopted, not copied: e.g. a column rebuilt from another thread's copy). */
  assign(values: T): void {
    this.buf = values.length > 0 ? values : new this.ctor(this.initialCapacity);
    this.length = values.length;
  }

  /** Append `n` values of `src`, padded with `pad` up to `width` values (a fixed-width row of a flattened list column). */
  pushRow(src: ArrayLike<number>, n: number, width: number, pad = NaN): void {
    if (this.length + width > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + width) cap *= 2;
      this.grow(cap);
    }
    const d = this.buf;
    let o = this.length;
    for (let j = 0; j < width; j++) d[o++] = j < n ? src[j] : pad;
    this.length = o;
  }

  /**
   * Remove the first `n` values and return them as an array of their own (an
   * output part's column). When they are all the values, that is the backing
   * buffer itself (a view of its first `n`; no copy) and the builder starts a
   * fresh one: a run's last blocks, and every block of a stream that never
   * fills one, used to be copied out and the full buffer dropped, twice the
   * bytes through V8's external memory (which schedules its full GCs).
   * Otherwise a copy, and the rest moves to the front.
   */
  takeFront(n: number): T {
    if (n >= this.length) {
      const out = this.buf.subarray(0, this.length) as T;
      this.buf = new this.ctor(this.initialCapacity);
      this.length = 0;
      return out;
    }
    const out = this.buf.slice(0, n) as T;
    this.dropFront(n);
    return out;
  }

  /** Remove the first `n` values, keeping the rest in order (used to cut output parts at fixed row offsets). */
  dropFront(n: number): void {
    if (n <= 0) return;
    if (n >= this.length) {
      this.length = 0;
      return;
    }
    this.buf.copyWithin(0, n, this.length);
    this.length -= n;
  }

  private grow(n: number): void {
    const next = new this.ctor(n);
    (next as unknown as { set(a: T): void }).set(this.buf);
    this.buf = next;
  }
}

export class GrowableF64 extends Growable<Float64Array> {
  constructor(initialCapacity = 1024) {
    super(Float64Array, initialCapacity);
  }
}

export class GrowableI32 extends Growable<Int32Array> {
  constructor(initialCapacity = 1024) {
    super(Int32Array, initialCapacity);
  }
}

export class GrowableI8 extends Growable<Int8Array> {
  constructor(initialCapacity = 1024) {
    super(Int8Array, initialCapacity);
  }
}

export class GrowableU8 extends Growable<Uint8Array> {
  constructor(initialCapacity = 1024) {
    super(Uint8Array, initialCapacity);
  }
}
