/** The project's seeded PRNG lives in core (shared with the evaluation code). */
export * from '../core/rng.js';
