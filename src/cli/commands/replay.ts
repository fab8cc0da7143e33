/**
 * `flowlab replay --data <dataset> --config <yaml> --out <dir> --run-tag <tag>
 *   [--symbols] [--from] [--to] [--speed max|<factor>] [--overwrite] [--io auto|inline|workers]
 *   [--tables prices,ofi,cvd,fusion,events] [--threads <n|auto>]`
 * and `flowlab verify --run <out>/<run_tag>`. Parsing and delegation only.
 */
import { Option, type Command } from 'commander';
import { action, examples, out, shown } from '../run.js';
import {
  parsePositiveNumber,
  parseSymbolList,
  parseTimeRange,
  validatePath,
  validateTag,
} from '../../core/validate.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load.js';
import { replay } from '../../replay/replay.js';
import { checkTables, DERIVED_KINDS } from '../../pipeline/tables.js';
import { verifyRun } from '../../canary/verify.js';
import { parseThreads } from '../../replay/shards.js';

interface ReplayCliOptions {
  data: string;
  config: string;
  out: string;
  runTag: string;
  symbols?: string;
  from?: string;
  to?: string;
  speed: string;
  overwrite?: boolean;
  progress?: boolean;
  io: 'auto' | 'inline' | 'workers';
  tables: string;
  threads: string;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description(
      'replay a raw dataset through the pipeline into the five derived tables (prices, ofi, cvd, fusion, events)',
    )
    .requiredOption('--data <dataset>', 'raw dataset directory')
    .option('--config <yaml>', 'config file', DEFAULT_CONFIG_PATH)
    .requiredOption('--out <dir>', 'output root; the run goes to <out>/<run-tag>')
    .requiredOption('--run-tag <tag>', 'run tag (letters, digits, . _ -)')
    .option('--symbols <list>', 'comma-separated symbols (default: all in the dataset)')
    .option('--from <time>', 'receive-time start, ISO-8601 UTC or epoch ms (inclusive)')
    .option('--to <time>', 'receive-time end (exclusive)')
    .option('--speed <max|factor>', "'max' (as fast as possible) or a multiple of real time, e.g. 10", 'max')
    .option('--overwrite', 'replace an existing run folder with the same tag')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addOption(
      new Option(
        '--io <mode>',
        "where reading and Parquet writing run: 'workers' (threads beside the pipeline), 'inline', or 'auto' (workers for large selections); outputs are identical",
      )
        .choices(['auto', 'inline', 'workers'])
        .default('auto'),
    )
    .option(
      '--tables <list>',
      'derived tables to write, comma-separated; the others are not written (recorded in the manifest)',
      DERIVED_KINDS.join(','),
    )
    .option(
      '--threads <n|auto>',
      "symbol shards replayed in parallel, a thread each; 'auto': 2 from 200k selected rows, else 1; outputs are identical",
      'auto',
    )
    .addHelpText(
      'after',
      examples(
        'flowlab replay --data datasets/default --out artifacts/runtime --run-tag r1',
        'flowlab replay --data datasets/btc --out /tmp/runs --run-tag btc1 --symbols BTCUSDT --from 2024-08-08T08:00:00Z --to 2024-08-08T09:00:00Z',
        'flowlab replay --data datasets/default --out /tmp/runs --run-tag f1 --tables fusion,events',
      ),
    )
    .action(
      action(async (o: ReplayCliOptions) => {
        const tables = checkTables(o.tables, '--tables');
        const threads = parseThreads(o.threads);
        const config = loadConfig(o.config);
        out(`config_fingerprint=${config.fingerprint} version=${config.config.version}`);
        const speed = o.speed === 'max' ? 'max' : parsePositiveNumber(o.speed, '--speed', { min: 1e-6 });
        const r = await replay({
          data: validatePath(o.data, '--data'),
          config,
          out: validatePath(o.out, '--out'),
          runTag: validateTag(o.runTag),
          symbols: o.symbols !== undefined ? parseSymbolList(o.symbols) : undefined,
          ...parseTimeRange(o.from, o.to),
          speed,
          overwrite: o.overwrite,
          progress: o.progress === false ? false : undefined,
          io: o.io,
          tables,
          threads,
        });
        const m = r.manifest;
        const rows: Record<string, number> = {};
        for (const f of m.outputs) rows[f.kind] = (rows[f.kind] ?? 0) + f.rows;
        out(
          `replayed ${r.ticks.toLocaleString('en-US')} ticks of ${m.selection.symbols.join(',')} -> ${shown(o.out, r.runDir)}`,
        );
        out(
          `rows: ${Object.entries(rows)
            .map(([k, v]) => `${k}=${v.toLocaleString('en-US')}`)
            .join(' ')}`,
        );
        out(
          `sequencer: skew_ms=${m.counters.skew_ms} late_ticks=${m.counters.late_ticks.toLocaleString('en-US')} ` +
            `duplicate_trades=${m.counters.duplicate_trades.toLocaleString('en-US')} stale_quotes=${m.counters.stale_quotes.toLocaleString('en-US')}`,
        );
        for (const [s, v] of Object.entries(m.symbols)) {
          out(
            `  ${s}: cvd_final=${Number(v.cvd_final).toPrecision(8)} cvd_direction=${v.cvd_direction} flips=${v.cvd_flips} samples=${v.fusion_samples.toLocaleString('en-US')}`,
          );
        }
      }),
    );

  program
    .command('verify')
    .description(
      're-run a replay from its manifest and compare output hashes (exit 0 identical, 1 differs, 2 inputs missing or changed)',
    )
    .requiredOption('--run <dir>', 'run folder <out>/<run_tag>')
    .addHelpText('after', examples('flowlab verify --run artifacts/runtime/r1'))
    .action(
      action(async (o: { run: string }) => {
        const r = await verifyRun(validatePath(o.run, '--run'));
        for (const n of r.notes) out(`note: ${n}`);
        if (r.code === 0) out(r.message);
        else process.stderr.write(`flowlab: ${r.message}\n`);
        return r.code;
      }),
    );
}
