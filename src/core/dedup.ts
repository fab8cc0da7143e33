/**
 * Bounded dedup memory: the last `capacity` accepted (stream key, id) pairs,
 * oldest forgotten first. Used by the recorder (across reconnects, one slot per
 * (symbol, stream kind)) and by the pipeline (aggTrade ids per symbol, so
 * replay and live drop the same repeats before the calculators).
 *
 * In the recorder it replaced an `LRUCache<string>` of `"<SYM>|<code>|<id>"` keys. The
 * recorder only ever inserts a key it has just checked to be absent (or a
 * journal line, unique by construction), and `has()` never refreshed recency,
 * so the LRU was in effect insertion-ordered: this is the same policy without
 * building and hashing a string per message. Keys are (slot, id) with one
 * slot per (symbol, stream kind); ids are integers < 2^53.
 *
 * Layout: a ring of (slot, id) in insertion order bounds the total across
 * slots (the LRU's `max`), and an open-addressing hash table (linear probing,
 * load <= 1/2, backward-shift deletion) over typed arrays answers `has`
 * without boxing ids into heap numbers. Both grow by doubling, so a large
 * `dedup_lru` costs memory only once that many keys have been seen.
 */
export class DedupMemory {
  private slots = 0;
  // ring, insertion order
  private rSlot: Int32Array;
  private rId: Float64Array;
  /** Next write position in the ring (= oldest entry once full). */
  private pos = 0;
  /** Entries held (<= capacity). */
  size = 0;
  // hash table: hSlot -1 = empty
  private hSlot: Int32Array;
  private hId: Float64Array;
  private mask: number;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`dedup capacity must be >= 1, got ${capacity}`);
    const init = Math.min(capacity, 4096);
    this.rSlot = new Int32Array(init);
    this.rId = new Float64Array(init);
    const tcap = 1 << Math.ceil(Math.log2(2 * init + 1));
    this.hSlot = new Int32Array(tcap).fill(-1);
    this.hId = new Float64Array(tcap);
    this.mask = tcap - 1;
  }

  /** A new key space (one per (symbol, stream kind)). */
  newSlot(): number {
    return this.slots++;
  }

  private home(slot: number, id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d) ^ Math.imul(slot + 1, 0x165667b1), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
    return h & this.mask;
  }

  /** Table index of (slot, id), or -1. */
  private find(slot: number, id: number): number {
    const hs = this.hSlot;
    const hi = this.hId;
    const m = this.mask;
    for (let i = this.home(slot, id); ; i = (i + 1) & m) {
      const s = hs[i];
      if (s === -1) return -1;
      if (s === slot && hi[i] === id) return i;
    }
  }

  has(slot: number, id: number): boolean {
    return this.find(slot, id) >= 0;
  }

  private insert(slot: number, id: number): void {
    const hs = this.hSlot;
    const m = this.mask;
    let i = this.home(slot, id);
    while (hs[i] !== -1) i = (i + 1) & m;
    hs[i] = slot;
    this.hId[i] = id;
  }

  private remove(slot: number, id: number): void {
    let i = this.find(slot, id);
    if (i < 0) return;
    const hs = this.hSlot;
    const hi = this.hId;
    const m = this.mask;
    // backward-shift deletion: pull later entries of the probe run into the hole when their home allows
    for (let j = (i + 1) & m; hs[j] !== -1; j = (j + 1) & m) {
      const k = this.home(hs[j], hi[j]);
      const between = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!between) {
        hs[i] = hs[j];
        hi[i] = hi[j];
        i = j;
      }
    }
    hs[i] = -1;
  }

  private growTable(): void {
    const os = this.hSlot;
    const oi = this.hId;
    const n = os.length * 2;
    this.hSlot = new Int32Array(n).fill(-1);
    this.hId = new Float64Array(n);
    this.mask = n - 1;
    for (let i = 0; i < os.length; i++) if (os[i] !== -1) this.insert(os[i], oi[i]);
  }

  /** Remember (slot, id); a pair already held is left where it is. Returns false for such a pair (a repeat). */
  add(slot: number, id: number): boolean {
    if (this.find(slot, id) >= 0) return false;
    let cap = this.rId.length;
    if (this.size === cap && cap < this.capacity) {
      // grow the ring: unroll it oldest first
      const n = Math.min(this.capacity, cap * 2);
      const s2 = new Int32Array(n);
      const i2 = new Float64Array(n);
      const p = this.pos;
      s2.set(this.rSlot.subarray(p), 0);
      s2.set(this.rSlot.subarray(0, p), cap - p);
      i2.set(this.rId.subarray(p), 0);
      i2.set(this.rId.subarray(0, p), cap - p);
      this.rSlot = s2;
      this.rId = i2;
      this.pos = cap;
      cap = n;
    }
    const p = this.pos;
    if (this.size === cap) this.remove(this.rSlot[p], this.rId[p]);
    else this.size++;
    if (2 * this.size > this.hSlot.length) this.growTable();
    this.rSlot[p] = slot;
    this.rId[p] = id;
    this.insert(slot, id);
    this.pos = p + 1 === cap ? 0 : p + 1;
    return true;
  }
}
