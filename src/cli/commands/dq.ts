/**
 * `flowlab dq --data <dataset> --out <dir> [--symbols ...] [--json] [--strict]`
 * `flowlab dq --run <out>/<tag> [--out <dir>] [--config <yaml>] [--json] [--strict]`
 *
 * --data: writes dq_summary.json and dq_YYYYMMDD_HH.json into --out and prints
 * the table (or, with --json, the summary JSON) to stdout.
 * --run: the seed's 1.3.1 harvest acceptance over a replay / canary / live run
 * and its raw dataset (src/dq/harvest-run.ts): dq_summary.json,
 * harvest_acceptance.md and the raw hourly files into --out (default
 * artifacts/dq/<tag>); thresholds from --config, else the run's own config.
 * Exit 0 when the dq ran, whatever its verdict (a failing dataset is a result,
 * not an error); with --strict, exit 1 when the verdict is not PASS.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { action, examples, out, shown } from '../run.js';
import { parsePositiveNumber, parseSymbolList, validatePath } from '../../core/validate.js';
import { UsageError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import { checkDqOutFolder, dqJson, formatDqTable, runDq, writeDqReport, type DqThresholds } from '../../dq/index.js';
import { harvestVerdictLine, runHarvest, writeHarvestReport } from '../../dq/harvest-run.js';

interface DqCliOptions {
  data?: string;
  run?: string;
  out?: string;
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
      'data-quality report of a raw dataset (--data: gaps, duplicates, empty minutes, clock skew, net latency, bad rows per symbol and UTC hour), or the seed 1.3.1 harvest acceptance of a run (--run: coverage, sessions, events, winsor, completeness plus the raw checks)',
    )
    .option('--data <dataset>', 'raw dataset folder (holds _manifest.json)')
    .option('--run <dir>', 'a replay / canary / live run folder (<out>/<tag>, holds manifest.json and data/)')
    .option('--out <dir>', 'output folder (required with --data; with --run default artifacts/dq/<tag>)')
    .option('--symbols <list>', 'comma-separated symbols (--data only; default: all in the dataset)')
    .option('--config <yaml>', 'take the thresholds from this config file (keys dq: and harvest:)')
    .option('--skew-quantile <q>', 'quantile of recv - exchange time used as the clock-skew estimate', '0.01')
    .option('--json', 'print the summary JSON instead of the table')
    .option('--strict', 'exit 1 when the verdict is not PASS')
    .addHelpText(
      'after',
      examples(
        'flowlab dq --data datasets/default --out artifacts/dq/default',
        'flowlab dq --data datasets/btc --out /tmp/dq --symbols BTCUSDT --json --strict',
        'flowlab dq --run artifacts/runtime/demo',
      ),
    )
    .action(
      action(async (opts: DqCliOptions) => {
        if ((opts.data === undefined) === (opts.run === undefined))
          throw new UsageError('dq: give exactly one of --data <dataset> or --run <out>/<tag>');
        if (opts.run !== undefined) return harvest(opts);
        if (opts.out === undefined) throw new UsageError('dq: --out <dir> is required with --data');
        const data = validatePath(opts.data as string, '--data');
        const outDir = validatePath(opts.out, '--out');
        checkDqOutFolder(outDir); // before the scans: a refused --out costs nothing
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
          out(
            `wrote ${files.length} files to ${shown(opts.out, outDir)} (${report.hours.length} hourly + dq_summary.json)`,
          );
        }
        return opts.strict && report.summary.verdict === 'FAIL' ? 1 : 0;
      }),
    );
}

async function harvest(opts: DqCliOptions): Promise<number> {
  if (opts.symbols !== undefined) throw new UsageError('dq --run: --symbols is not used (the run selects them)');
  const runDir = validatePath(opts.run as string, '--run');
  const outDir = validatePath(opts.out ?? path.join('artifacts', 'dq', path.basename(runDir)), '--out');
  checkDqOutFolder(outDir);
  const config = opts.config !== undefined ? loadConfig(opts.config) : undefined;
  const skewQuantile = parsePositiveNumber(opts.skewQuantile ?? '0.01', '--skew-quantile', { max: 0.49 });
  const r = await runHarvest(runDir, { config, skewQuantile });
  const files = writeHarvestReport(r, outDir);
  if (opts.json) {
    process.stdout.write(dqJson(r.summary));
  } else {
    out(formatDqTable(r.summary.raw));
    out('');
    for (const c of r.summary.checks) {
      const fig = c.figure === null ? 'n/a' : String(c.figure);
      out(`${c.name}: ${c.status} (${fig}, n=${c.n}; ${c.threshold})${c.reason ? ` - ${c.reason}` : ''}`);
      if (c.failing && c.failing.length > 0) out(`  failing: ${c.failing.join(', ')}`);
    }
    out(harvestVerdictLine(r.summary));
    out(`wrote ${files.length} files to ${outDir} (dq_summary.json, harvest_acceptance.md, raw hourly dq)`);
  }
  return opts.strict && r.summary.verdict !== 'PASS' ? 1 : 0;
}
