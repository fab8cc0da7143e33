/**
 * Pure streaming calculators (no IO, no wall clock, no randomness): one
 * stateful instance per symbol, primitive-argument updates, typed outputs.
 * See each module's doc comment for formulas, units, cost and an example.
 */
export * from './params.js';
export * from './columns.js';
export * from './sorted-window.js';
export * from './ofi.js';
export * from './cvd.js';
export * from './robust.js';
export * from './rank.js';
export * from './session.js';
export * from './slices.js';
export * from './fusion.js';
export * from './events.js';
export * from './labels.js';
