/** Pure evaluation library (see README.md): labels, AUC + DeLong, calibration, top-k, slices, rolling canary windows. */
export * from './metric.js';
export * from './rng.js';
export * from './labels.js';
export * from './auc.js';
export * from './calibration.js';
export * from './topk.js';
export * from './slices.js';
export * from './multislice.js';
export * from './rolling.js';
