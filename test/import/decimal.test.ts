/** decimal(): the fast path returns exactly the double Number() returns. */
import { describe, expect, it } from 'vitest';
import { decimal } from '../../src/core/parse.js';

const ref = (v: string): number => (v.length === 0 ? NaN : Number(v));

describe('decimal', () => {
  it('matches Number() on edge cases', () => {
    for (const s of [
      '',
      '.',
      '1.',
      '.5',
      '0',
      '00.10',
      '1e5',
      '-1',
      '+1',
      ' 1',
      '1 ',
      '0x10',
      'Infinity',
      '1..',
      '1.2.3',
      '0.1',
      '0.3',
      '1.005',
      '999999999999999',
      '9999999999999999',
      '9007199254740993',
      '123456789012345.6',
      '0.000000000000001',
      '0.0000000000000001',
      '61653.30',
      '0.00000001',
    ]) {
      expect(Object.is(decimal(s), ref(s)), JSON.stringify(s)).toBe(true);
    }
    expect(decimal(12.5)).toBe(12.5);
    expect(decimal(null)).toBeNaN();
  });

  it('matches Number() on 200k random plain decimals', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 200_000; i++) {
      const ni = Math.floor(rnd() * 10);
      const nf = Math.floor(rnd() * 12);
      let s = '';
      for (let j = 0; j < ni; j++) s += Math.floor(rnd() * 10);
      if (nf > 0 || rnd() < 0.3) s += '.';
      for (let j = 0; j < nf; j++) s += Math.floor(rnd() * 10);
      if (!Object.is(decimal(s), ref(s))) expect(decimal(s), s).toBe(ref(s));
    }
  });
});
