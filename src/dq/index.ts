/** Data-quality checks of raw datasets (`flowlab dq`). Definitions: ./README.md. */
export { runDq, resolveDqParams, hourFileName, hourLabel, SUMMARY_FILE, MAX_DQ_HOURS } from './run.js';
export { checkDqOutFolder, writeDqReport, formatDqTable, dqJson, HOUR_FILE_RE } from './write.js';
export { DEFAULT_DQ_THRESHOLDS } from './types.js';
export type {
  DqThresholds,
  DqOptions,
  DqParams,
  DqReport,
  DqSummary,
  DqScopeReport,
  DqScope,
  DqCheck,
  CheckStatus,
  Verdict,
  SymbolVerdict,
  SymbolReport,
  TradeFigures,
  QuoteFigures,
  DepthFigures,
  LatencyFigure,
  EmptyBucketFigure,
  RateFigure,
  BadRowsFigure,
  Quantiles,
  HourIndexEntry,
} from './types.js';
