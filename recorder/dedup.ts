/**
 * Bounded dedup memory for the recorder: the last `capacity` accepted
 * (stream key, id) pairs, oldest forgotten first.
 *
 * It replaces an `LRUCache<string>` of `"<SYM>|<code>|<id>"` keys. The
 * recorder only ever inserts a key it has just checked to be absent (or a
 * journal line, unique by construction), and `has()` never refreshed recency,
 * so the LRU was in effect insertion-ordered: this is the same policy without
 * building and hashing a string per message. Keys are split by *slot* (one per
 * (symbol, stream kind)), each with a `Set<number>` of ids; one global ring of
 * (slot, id) in insertion order bounds the total across slots, exactly like
 * the LRU's `max`.
 *
 * The ring grows by doubling up to `capacity`, so a large `dedup_lru` costs
 * memory only once that many keys have been seen.
 */
export class DedupMemory {
  private readonly sets: Set<number>[] = [];
  private slotOf: Int32Array;
  private ids: Float64Array;
  /** Next write position in the ring (= oldest entry once full). */
  private pos = 0;
  /** Entries held (<= capacity). */
  size = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`dedup capacity must be >= 1, got ${capacity}`);
    const init = Math.min(capacity, 4096);
    this.slotOf = new Int32Array(init);
    this.ids = new Float64Array(init);
  }

  /** A new key space (one per (symbol, stream kind)). */
  newSlot(): number {
    this.sets.push(new Set<number>());
    return this.sets.length - 1;
  }

  has(slot: number, id: number): boolean {
    return this.sets[slot].has(id);
  }

  /** Remember (slot, id); a pair already held is left where it is. */
  add(slot: number, id: number): void {
    const set = this.sets[slot];
    if (set.has(id)) return;
    let cap = this.ids.length;
    if (this.size === cap && cap < this.capacity) {
      // grow: the ring is full and linear (pos wrapped to 0) only when size == cap, so unroll it oldest first
      const n = Math.min(this.capacity, cap * 2);
      const s2 = new Int32Array(n);
      const i2 = new Float64Array(n);
      const p = this.pos;
      s2.set(this.slotOf.subarray(p), 0);
      s2.set(this.slotOf.subarray(0, p), cap - p);
      i2.set(this.ids.subarray(p), 0);
      i2.set(this.ids.subarray(0, p), cap - p);
      this.slotOf = s2;
      this.ids = i2;
      this.pos = cap;
      cap = n;
    }
    const p = this.pos;
    if (this.size === cap) this.sets[this.slotOf[p]].delete(this.ids[p]);
    else this.size++;
    this.slotOf[p] = slot;
    this.ids[p] = id;
    set.add(id);
    this.pos = p + 1 === cap ? 0 : p + 1;
  }
}
