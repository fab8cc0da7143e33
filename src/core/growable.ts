/** Append-only typed-array columns that double their capacity when full: O(1) amortised push, no per-row objects. */

export class GrowF64 {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  /** Append `n` values from `src` starting at `from`, padding with `pad` up to `width` values. */
  pushRow(src: ArrayLike<number>, n: number, width: number, pad = NaN): void {
    if (this.length + width > this.data.length) this.grow(this.length + width);
    const d = this.data;
    let o = this.length;
    for (let j = 0; j < width; j++) d[o++] = j < n ? src[j] : pad;
    this.length = o;
  }
  private grow(min: number): void {
    let cap = this.data.length * 2;
    while (cap < min) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}

export class GrowI8 {
  data: Int8Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int8Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Int8Array {
    return this.data.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}

export class GrowU8 {
  data: Uint8Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Uint8Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}
