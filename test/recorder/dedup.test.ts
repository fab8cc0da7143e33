/** DedupMemory: insertion-ordered, bounded across slots, same policy as the LRU it replaced. */
import { describe, expect, it } from 'vitest';
import { DedupMemory } from '../../src/core/dedup.js';

describe('DedupMemory', () => {
  it('forgets the oldest pair across all slots once capacity is reached', () => {
    const d = new DedupMemory(3);
    const a = d.newSlot();
    const b = d.newSlot();
    d.add(a, 1);
    d.add(b, 1);
    d.add(a, 2);
    expect([d.has(a, 1), d.has(b, 1), d.has(a, 2), d.has(b, 2)]).toEqual([true, true, true, false]);
    d.add(b, 5); // evicts (a, 1)
    expect([d.has(a, 1), d.has(b, 1), d.has(a, 2), d.has(b, 5)]).toEqual([false, true, true, true]);
    expect(d.size).toBe(3);
    expect(d.add(b, 5)).toBe(false); // already held: a repeat, no eviction
    expect(d.has(b, 1)).toBe(true);
    expect(d.add(b, 6)).toBe(true); // new: remembered (evicts (b, 1))
    expect(d.has(b, 1)).toBe(false);
  });

  it('grows its ring without losing insertion order', () => {
    const cap = 10_000;
    const d = new DedupMemory(cap);
    const s = d.newSlot();
    const t = d.newSlot();
    for (let i = 0; i < 25_000; i++) d.add(i % 2 ? s : t, 1e12 + i);
    expect(d.size).toBe(cap);
    for (let i = 0; i < 25_000; i++) expect(d.has(i % 2 ? s : t, 1e12 + i)).toBe(i >= 25_000 - cap);
    expect(d.has(s, 1e12 + 24_998)).toBe(false); // even ids went to slot t
  });
});

describe('DedupMemory vs a Set-based model', () => {
  it('answers like insertion-ordered Sets over 300k random operations', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const cap = 5000;
    const d = new DedupMemory(cap);
    const slots = [d.newSlot(), d.newSlot(), d.newSlot()];
    const model = new Map<string, true>(); // insertion-ordered
    for (let op = 0; op < 300_000; op++) {
      const slot = slots[Math.floor(rnd() * 3)];
      // near-monotonic ids around 5e12 with re-deliveries, plus small ids
      const id = rnd() < 0.9 ? 5e12 + Math.floor(op / 3) - Math.floor(rnd() * 8000) : Math.floor(rnd() * 50);
      const key = `${slot}|${id}`;
      if (d.has(slot, id) !== model.has(key)) expect(d.has(slot, id), `op ${op} ${key}`).toBe(model.has(key));
      if (rnd() < 0.7 && !model.has(key)) {
        d.add(slot, id);
        model.set(key, true);
        if (model.size > cap) model.delete(model.keys().next().value!);
      }
    }
    expect(d.size).toBe(model.size);
    for (const key of model.keys()) {
      const [s, id] = key.split('|').map(Number);
      if (!d.has(s, id)) expect(key).toBe('held');
    }
  });
});
