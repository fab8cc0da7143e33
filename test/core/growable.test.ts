import { describe, expect, it } from 'vitest';
import { GrowableF64, GrowableI8 } from '../../src/core/growable.js';

describe('Growable.takeFront', () => {
  it('all rows: hands over the values (no copy) and the builder starts empty and independent', () => {
    const g = new GrowableF64(4);
    for (let i = 0; i < 10; i++) g.push(i * 1.5);
    const backing = g.data;
    const out = g.takeFront(10);
    expect(Array.from(out)).toEqual(Array.from({ length: 10 }, (_, i) => i * 1.5));
    expect(out.buffer).toBe(backing.buffer); // the same memory, not a copy
    expect(g.length).toBe(0);
    for (let i = 0; i < 20; i++) g.push(-i);
    // pushes after the take never touch the handed-out rows
    expect(Array.from(out)).toEqual(Array.from({ length: 10 }, (_, i) => i * 1.5));
    expect(Array.from(g.view())).toEqual(Array.from({ length: 20 }, (_, i) => -i));
  });

  it('some rows: a copy of the first n, the rest moved to the front in order; equals view-slice + dropFront', () => {
    for (const n of [1, 3, 9]) {
      const a = new GrowableI8(2);
      const b = new GrowableI8(2);
      for (let i = 0; i < 10; i++) {
        a.push(i - 5);
        b.push(i - 5);
      }
      const out = a.takeFront(n);
      const ref = b.view().slice(0, n);
      b.dropFront(n);
      expect(Array.from(out)).toEqual(Array.from(ref));
      expect(out.length).toBe(n);
      expect(Array.from(a.view())).toEqual(Array.from(b.view()));
      a.push(100);
      expect(Array.from(out)).toEqual(Array.from(ref)); // independent of later pushes
    }
  });
});
