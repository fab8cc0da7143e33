/** The growable typed-array columns live in core; re-exported here for the calculators. */
export * from '../core/growable.js';
