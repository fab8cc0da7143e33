/**
 * `flowlab canary --data <dataset> --symbols ADAUSDT,SOLUSDT --config <yaml>
 *   --out artifacts/runtime --run-tag <tag> [--from] [--to] [--threads <n|auto>]`
 * Parsing and delegation only; the engine is src/canary.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { action, examples, out, shown } from '../run.js';
import { parseSymbolList, parseTimeRange, validatePath, validateTag } from '../../core/validate.js';
import { DEFAULT_CONFIG_PATH, loadConfig, overrideConfig } from '../../config/load.js';
import { UsageError } from '../../core/errors.js';
import { GATE_MODES, type GateMode } from '../../canary/gates.js';
import { runCanary, type CanaryRun } from '../../canary/canary.js';
import { parseThreads } from '../../replay/shards.js';

interface CanaryCliOptions {
  data: string;
  config: string;
  out: string;
  runTag: string;
  symbols?: string;
  from?: string;
  to?: string;
  overwrite?: boolean;
  progress?: boolean;
  gateMode?: string;
  threads: string;
}

export function register(program: Command): void {
  program
    .command('canary')
    .description(
      'replay symbols under a config, evaluate the canary gates every minute, act, and write the acceptance report',
    )
    .requiredOption('--data <dataset>', 'raw dataset directory')
    .option(
      '--config <yaml>',
      'config file (may `extends` a base: the base is the rollback target)',
      DEFAULT_CONFIG_PATH,
    )
    .option('--out <dir>', 'output root', 'artifacts/runtime')
    .requiredOption('--run-tag <tag>', 'run tag (letters, digits, . _ -)')
    .option('--symbols <list>', 'comma-separated symbols (default: the config symbols present in the dataset)')
    .option('--from <time>', 'receive-time start, ISO-8601 UTC or epoch ms')
    .option('--to <time>', 'receive-time end (exclusive)')
    .option(
      '--gate-mode <mode>',
      'evidence (default: sequential tests on non-overlapping labels) or seed (the seed point-estimate rules); sets canary.gate_mode',
    )
    .option(
      '--threads <n|auto>',
      "symbol shards, each replay + canary engines on a thread of its own; 'auto': as replay (2 from 200k selected rows, else 1); outputs are identical",
      'auto',
    )
    .option('--overwrite', 'replace an existing run folder with the same tag')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addHelpText(
      'after',
      examples(
        'flowlab canary --data datasets/default --symbols ADAUSDT,SOLUSDT --run-tag c1',
        'flowlab canary --data datasets/default --config artifacts/runtime/c1/canary_report/slice_weights.yaml --run-tag c2',
      ),
    )
    .action(
      action(async (o: CanaryCliOptions) => {
        const threads = parseThreads(o.threads);
        let config = loadConfig(o.config);
        if (o.gateMode !== undefined) {
          if (!GATE_MODES.includes(o.gateMode as GateMode))
            throw new UsageError(`--gate-mode: '${o.gateMode}' is not valid (expected ${GATE_MODES.join(' or ')})`);
          config = overrideConfig(config, { canary: { gate_mode: o.gateMode } }, `${o.config} + --gate-mode`);
        }
        out(`config_fingerprint=${config.fingerprint} version=${config.config.version}`);
        const run = await runCanary({
          data: validatePath(o.data, '--data'),
          config,
          configPath: o.config,
          out: validatePath(o.out, '--out'),
          runTag: validateTag(o.runTag),
          symbols: o.symbols !== undefined ? parseSymbolList(o.symbols) : undefined,
          ...parseTimeRange(o.from, o.to),
          overwrite: o.overwrite,
          progress: o.progress === false ? false : undefined,
          threads,
        });
        for (const line of verdictLines(run, o.out)) out(line);
      }),
    );
}

/** The short verdict: where the report is (spelled like `--out`), one line per symbol, the incident count. */
export function verdictLines(run: CanaryRun, outGiven: string = run.reportDir): string[] {
  const lines = [`report: ${shown(outGiven, path.join(run.reportDir, 'ramp_batch_summary.md'))}`];
  for (const [sym, v] of Object.entries(run.verdicts)) {
    const auc = v.checks.find((c) => c.name === 'active_auc');
    const a =
      auc && auc.value !== null
        ? `${auc.value.toFixed(3)} [${auc.ci![0].toFixed(3)}, ${auc.ci![1].toFixed(3)}]`
        : 'insufficient';
    lines.push(
      `  ${sym.padEnd(10)} ${v.include_in_pool ? 'INCLUDE' : 'HOLD   '} Active AUC ${a}  ${v.include_in_pool ? '' : v.reason}`,
    );
  }
  const inc = run.result.incidents;
  const other = run.result.gateMode === 'seed' ? 'evidence' : 'seed';
  const shadow = run.summary.reduce((a, r) => a + (r.count[other] ?? 0), 0);
  const hasShadow = run.summary.some((r) => r.count[other] !== null);
  lines.push(
    `incidents: ${inc.length} (${inc.filter((i) => i.severity === 'P1').length} P1, ${inc.filter((i) => i.closed_at_ms === null).length} still open; gate mode ${run.result.gateMode}${hasShadow ? `; the ${other} rules would have raised ${shadow}` : ''})`,
  );
  return lines;
}
