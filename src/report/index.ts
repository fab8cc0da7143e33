/** Reports: deterministic CSV, hand-written SVG charts, the canary ramp report, weight overlays (see README.md). */
export * from './csv.js';
export * from './svg.js';
export * from './ramp.js';
export * from './overlay.js';
