/**
 * Seeded pseudo-random numbers for the synthetic market: xoshiro128** (Blackman
 * & Vigna, 2018), 32-bit state words, seeded through splitmix32 from a hash of
 * the run seed and string keys. No `Math.random`, no clock: a stream is a pure
 * function of `(seed, keys)`.
 *
 * Independent streams: `Rng.derive(seed, 'BTCUSDT', 'market')` and
 * `Rng.derive(seed, 'ETHUSDT', 'market')` hash different keys, so adding a
 * symbol (or changing the fault rates, which use their own stream) leaves every
 * other stream untouched.
 *
 * Cross-platform: integer steps use `Math.imul` and 32-bit shifts; the
 * continuous draws use `Math.log` / `Math.sqrt` / `Math.exp`, which V8 computes
 * with its own fdlibm port (identical results on every OS for a given Node).
 *
 * Example:
 *   const r = Rng.derive(42, 'BTCUSDT', 'market');
 *   r.uniform();   // in (0, 1)
 *   r.normal();    // N(0, 1), Marsaglia polar method
 *   r.poisson(0.3) // small-mean Poisson by inversion, O(mean + 1) uniforms
 */

const TWO_POW_32 = 4294967296;

/** FNV-1a over UTF-16 code units, then a murmur3 finaliser. */
function hashString(s: string, basis: number): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** splitmix32 step: returns [next state, output]. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let t = s ^ (s >>> 16);
  t = Math.imul(t, 0x21f0aaad);
  t ^= t >>> 15;
  t = Math.imul(t, 0x735a2d97);
  t ^= t >>> 15;
  return [s, t >>> 0];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /** Seed the four state words from two 32-bit seeds (never all zero). */
  constructor(seedA: number, seedB = 0) {
    let st = (seedA ^ Math.imul(seedB >>> 0, 0x9e3779b1)) | 0;
    const w: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [ns, out] = splitmix32(st);
      st = ns;
      w.push(out ^ (i === 1 ? seedB >>> 0 : 0));
    }
    if ((w[0] | w[1] | w[2] | w[3]) === 0) w[0] = 1;
    this.s0 = w[0] | 0;
    this.s1 = w[1] | 0;
    this.s2 = w[2] | 0;
    this.s3 = w[3] | 0;
  }

  /**
   * A stream derived from a run seed (any safe integer) and string keys, e.g.
   * `(seed, symbol, 'market')`. Different keys give unrelated streams.
   */
  static derive(seed: number, ...keys: string[]): Rng {
    const text = `${seed}\u0000${keys.join('\u0000')}`;
    return new Rng(hashString(text, 0x811c9dc5), hashString(text, 0x2545f491));
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = (n3 << 11) | (n3 >>> 21);
    this.s0 = n0;
    this.s1 = n1;
    this.s2 = n2;
    this.s3 = n3;
    return result >>> 0;
  }

  /** Uniform in the open interval (0, 1), 32-bit resolution. */
  uniform(): number {
    return (this.nextU32() + 0.5) / TWO_POW_32;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal, Marsaglia polar method (pairs cached). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  /** Exponential with mean 1. */
  exponential(): number {
    return -Math.log(this.uniform());
  }

  /** Poisson(mean): inversion for mean <= 30 (the synthetic market's step means are < 5), normal approximation above. */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }

  /** Geometric number of failures before the first success, success probability p in (0, 1]. */
  geometric(p: number): number {
    if (p >= 1) return 0;
    return Math.floor(Math.log(this.uniform()) / Math.log(1 - p));
  }
}
