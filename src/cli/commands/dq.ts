/**
 * `flowlab dq --data <dataset> --out <dir> [--symbols ...] [--json] [--strict]`
 *
 * Writes dq_summary.json and dq_YYYYMMDD_HH.json into --out and prints the
 * table (or, with --json, the summary JSON) to stdout. Exit 0 when the dq ran,
 * whatever its verdict (a failing dataset is a result, not an error); with
 * --strict, exit 1 when the verdict is FAIL.
 */
import type { Command } from 'commander';
import { action, out } from '../run.js';
import { parsePositiveNumber, parseSymbolList, validatePath } from '../../core/validate.js';
import { loadConfig } from '../../config/load.js';
import { dqJson, formatDqTable, runDq, writeDqReport, type DqThresholds } from '../../dq/index.js';

interface DqCliOptions {
  data: string;
  out: string;
  symbols?: string;
  json?: boolean;
  strict?: boolean;
  config?: string;
  skewQuantile?: string;
}

export function register(program: Command): void {
  program
    .command('dq')
    .description(
      'data-quality report of a raw dataset: gaps, duplicates, empty minutes, clock skew, net latency, bad rows (per symbol and UTC hour)',
    )
    .requiredOption('--data <dataset>', 'raw dataset folder (holds _manifest.json)')
    .requiredOption('--out <dir>', 'folder for dq_summary.json and dq_YYYYMMDD_HH.json')
    .option('--symbols <list>', 'comma-separated symbols (default: all in the dataset)')
    .option('--config <yaml>', 'take the thresholds from this config file (key dq:)')
    .option('--skew-quantile <q>', 'quantile of recv - exchange time used as the clock-skew estimate', '0.01')
    .option('--json', 'print the summary JSON instead of the table')
    .option('--strict', 'exit 1 when the verdict is FAIL')
    .action(
      action(async (opts: DqCliOptions) => {
        const data = validatePath(opts.data, '--data');
        const outDir = validatePath(opts.out, '--out');
        const symbols = opts.symbols !== undefined ? parseSymbolList(opts.symbols) : undefined;
        const skewQuantile = parsePositiveNumber(opts.skewQuantile ?? '0.01', '--skew-quantile', { max: 0.49 });
        let thresholds: Partial<DqThresholds> | undefined;
        if (opts.config !== undefined) thresholds = loadConfig(opts.config).config.dq;
        const report = await runDq(data, { symbols, thresholds, skewQuantile });
        const files = writeDqReport(report, outDir);
        if (opts.json) {
          process.stdout.write(dqJson(report.summary));
        } else {
          out(formatDqTable(report.summary));
          out(`wrote ${files.length} files to ${outDir} (${report.hours.length} hourly + dq_summary.json)`);
        }
        return opts.strict && report.summary.verdict === 'FAIL' ? 1 : 0;
      }),
    );
}
