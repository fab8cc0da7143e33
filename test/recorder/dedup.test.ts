/** DedupMemory: insertion-ordered, bounded across slots, same policy as the LRU it replaced. */
import { describe, expect, it } from 'vitest';
import { DedupMemory } from '../../recorder/dedup.js';

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
    d.add(b, 5); // already held: no eviction
    expect(d.has(b, 1)).toBe(true);
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
