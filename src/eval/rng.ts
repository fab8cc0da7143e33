/**
 * The seeded PRNG of the evaluation code (bootstrap, tests, benchmark): the
 * project's one generator (src/core/rng.ts, xoshiro128** seeded through
 * splitmix32) under the names used here. Never Math.random.
 *
 * Example: `const r = new EvalRng(7); r.uniform(); r.normal(); r.int(10); r.u32();`
 */
import { Rng } from '../core/rng.js';

export class EvalRng extends Rng {
  constructor(seed: number) {
    super(seed);
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    return this.nextU32();
  }
}
