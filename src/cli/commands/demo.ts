/**
 * `flowlab demo` (npm run demo): the main job on the embedded default.
 *  1. synthesize the default dataset (datasets/default: 24 h, six symbols,
 *     seed 42) if it is absent;
 *  2. data quality of that dataset (dq files under artifacts/dq/default);
 *  3. the canary on all six symbols over the 24 h (artifacts/runtime/demo);
 *  4. where the report is, a short verdict per symbol, and the harvest
 *     acceptance verdict of the run (artifacts/dq/<run-tag>, `flowlab dq --run`).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { action, examples, out, shown } from '../run.js';
import { DEFAULT_DATASET_RECIPE, synthesize } from '../../synth/index.js';
import { formatDqTable, runDq, writeDqReport } from '../../dq/index.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load.js';
import { runCanary } from '../../canary/canary.js';
import { verdictLines } from './canary.js';
import { harvestVerdictLine, runHarvest, writeHarvestReport } from '../../dq/harvest-run.js';
import { isDataset } from '../../dataset/manifest.js';
import { validatePath, validateTag } from '../../core/validate.js';

interface DemoOptions {
  data: string;
  config: string;
  out: string;
  runTag: string;
  progress?: boolean;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job on the embedded default: synthesize the default dataset if absent, check its data quality, run the canary on all six symbols and print the verdict',
    )
    .option(
      '--data <dataset>',
      'dataset directory (synthesized with the default recipe if absent)',
      DEFAULT_DATASET_RECIPE.dir,
    )
    .option('--config <yaml>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--out <dir>', 'output root', 'artifacts/runtime')
    .option('--run-tag <tag>', 'run tag', 'demo')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addHelpText(
      'after',
      examples(
        'flowlab demo                                   # synthesize if absent, dq, canary on six symbols',
        'flowlab demo --run-tag demo2 --out /tmp/runtime',
      ),
    )
    .action(
      action(async (o: DemoOptions) => {
        const config = loadConfig(o.config);
        out(`config_fingerprint=${config.fingerprint} version=${config.config.version}`);
        const data = validatePath(o.data, '--data');
        if (!isDataset(data)) {
          out(
            `[1/3] synthesizing the default dataset into ${shown(o.data, data)} (24 h x 6 symbols, seed ${DEFAULT_DATASET_RECIPE.options.seed}) ...`,
          );
          const t = performance.now();
          const s = await synthesize(DEFAULT_DATASET_RECIPE.options, data, { where: '--data' });
          out(`      ${s.rows.total.toLocaleString('en-US')} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        } else {
          out(`[1/3] using the dataset in ${shown(o.data, data)}`);
        }
        out('[2/3] data quality');
        const dq = await runDq(data, { thresholds: config.config.dq });
        const dqDir = path.join(path.resolve(o.out, '..'), 'dq', path.basename(data));
        writeDqReport(dq, dqDir);
        out(formatDqTable(dq.summary));
        out(`      dq files: ${shown(o.out, dqDir)}`);
        out('[3/3] canary on every symbol (gates every minute, walk-forward calibration) ...');
        const run = await runCanary({
          data,
          config,
          configPath: o.config,
          out: validatePath(o.out, '--out'),
          runTag: validateTag(o.runTag),
          overwrite: true,
          progress: o.progress === false ? false : undefined,
        });
        for (const line of verdictLines(run, o.out)) out(line);
        // the seed's 1.3.1 harvest acceptance of the same run (coverage, sessions, events, winsor, completeness + raw dq)
        const harvest = await runHarvest(run.replay.runDir, { config, raw: dq });
        const harvestDir = path.join(path.resolve(o.out, '..'), 'dq', o.runTag);
        writeHarvestReport(harvest, harvestDir);
        out(harvestVerdictLine(harvest.summary));
        out(`      harvest report: ${shown(o.out, path.join(harvestDir, 'harvest_acceptance.md'))}`);
      }),
    );
}
