/**
 * `flowlab sweep --data <d> --config <base.yaml> --grid KEY=a,b,c [--grid KEY=lo:hi:step ...]
 *   --out <dir> [--symbols ...] [--from --to] [--workers N | --queue redis://host:port] [--holdout 30%]`
 * and `flowlab worker --queue redis://host:port`. Parsing and delegation only; the engine is src/sweep.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { action, out } from '../run.js';
import { UsageError } from '../../core/errors.js';
import { parsePositiveNumber, parseSymbolList, parseTime, validatePath } from '../../core/validate.js';
import { DEFAULT_CONFIG_PATH } from '../../config/load.js';

interface SweepCliOptions {
  data: string;
  config: string;
  grid: string[];
  out: string;
  symbols?: string;
  from?: string;
  to?: string;
  workers?: string;
  queue?: string;
  holdout: string;
  progress?: boolean;
}

/** `30%`, `30` or `0.3` -> 0.3; `0`, `off` or `none` -> 0. */
export function parseHoldout(raw: string): number {
  const t = raw.trim().toLowerCase();
  if (t === 'off' || t === 'none') return 0;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(t);
  if (!m) throw new UsageError(`--holdout '${raw}': expected a percentage such as 30% (or 0 / off)`);
  const v = Number(m[1]);
  const f = m[2] === '%' || v >= 1 ? v / 100 : v;
  if (!(f >= 0 && f <= 0.9)) throw new UsageError(`--holdout '${raw}': expected 0% to 90%`);
  return f;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description(
      'run a grid of overlay configs x symbols as canary shards (local processes or a Redis queue); choose on a training period, report on a held-out one',
    )
    .requiredOption('--data <dataset>', 'raw dataset directory')
    .option(
      '--config <yaml>',
      'base config (every grid point extends it; it is the rollback target)',
      DEFAULT_CONFIG_PATH,
    )
    .requiredOption(
      '--grid <KEY=a,b,c|KEY=lo:hi:step>',
      'a grid axis over a config key (repeat for more axes)',
      collect,
      [],
    )
    .requiredOption('--out <dir>', 'sweep folder (new, or this same sweep to resume)')
    .option('--symbols <list>', 'comma-separated symbols (default: every symbol of the dataset)')
    .option('--from <time>', 'receive-time start, ISO-8601 UTC or epoch ms')
    .option('--to <time>', 'receive-time end (exclusive)')
    .option('--workers <n>', 'local worker processes (default: one per core)')
    .option(
      '--queue <redis-url>',
      'submit shards to a BullMQ queue on Redis instead (run `flowlab worker` to process them)',
    )
    .option('--holdout <pct>', 'share of the time range at its end held out for reporting the chosen config', '30%')
    .option('--no-progress', 'no progress bar even on a terminal')
    .addHelpText(
      'after',
      `
Examples:
  flowlab sweep --data datasets/default --grid fusion.weights.ofi=0.2:0.8:0.2 --symbols BTCUSDT,SOLUSDT --out artifacts/sweeps/w1
  flowlab sweep --data /shared/ds --grid fusion.weights.ofi=0.4,0.6 --grid fusion.gate=0.5,1 --out /shared/sweeps/s2 --queue redis://127.0.0.1:6379`,
    )
    .action(
      action(async (o: SweepCliOptions) => {
        if (o.workers !== undefined && o.queue !== undefined)
          throw new UsageError(
            '--workers and --queue exclude each other (queue workers are `flowlab worker` processes)',
          );
        const workers =
          o.workers !== undefined
            ? parsePositiveNumber(o.workers, '--workers', { integer: true, min: 1 })
            : os.availableParallelism();
        // heavy modules (BullMQ, ioredis, the progress bar) load only when this command runs
        const [{ parseQueueUrl }, { runSweep }, { default: cliProgress }] = await Promise.all([
          import('../../sweep/queue.js'),
          import('../../sweep/sweep.js'),
          import('cli-progress'),
        ]);
        if (o.queue !== undefined) parseQueueUrl(o.queue);
        const showBar = o.progress !== false && Boolean(process.stderr.isTTY);
        const bar = showBar
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: 'sweep {bar} {value}/{total} shards | eta {eta_formatted}' },
              cliProgress.Presets.shades_classic,
            )
          : null;
        let started = false;
        const r = await runSweep({
          data: validatePath(o.data, '--data'),
          configPath: o.config,
          grid: o.grid,
          symbols: o.symbols !== undefined ? parseSymbolList(o.symbols) : undefined,
          fromMs: o.from !== undefined ? parseTime(o.from, '--from') : undefined,
          toMs: o.to !== undefined ? parseTime(o.to, '--to') : undefined,
          out: validatePath(o.out, '--out'),
          workers,
          queue: o.queue,
          holdout: parseHoldout(o.holdout),
          onProgress: (done, total) => {
            if (!bar) return;
            if (!started) {
              bar.start(total, done);
              started = true;
            } else bar.update(done);
          },
        });
        bar?.stop();
        out(
          `sweep: ${r.configs} configs x ${r.shards / Math.max(1, r.configs)} symbols = ${r.shards} shards, ${r.ran} run now`,
        );
        out(`results: ${r.resultsFile}`);
        out(`summary: ${r.summaryFile}${r.chosenIndex !== null ? ` (chosen: config ${r.chosenIndex})` : ''}`);
      }),
    );

  program
    .command('worker')
    .description('process sweep shards from a BullMQ queue on Redis until stopped (SIGINT / SIGTERM)')
    .requiredOption('--queue <redis-url>', 'the Redis the sweep submits to, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'shards at once on this machine (each in its own process)', '1')
    .option('--lock-ms <ms>', 'job lock: how long a killed worker holds its shard before another takes it', '30000')
    .addHelpText(
      'after',
      `
Example:
  flowlab worker --queue redis://10.0.0.5:6379 --concurrency 2   # on every machine that reads the dataset and --out paths`,
    )
    .action(
      action(async (o: { queue: string; concurrency: string; lockMs: string }) => {
        const { parseQueueUrl, startWorker } = await import('../../sweep/queue.js');
        parseQueueUrl(o.queue);
        const concurrency = parsePositiveNumber(o.concurrency, '--concurrency', { integer: true, min: 1 });
        const lock = parsePositiveNumber(o.lockMs, '--lock-ms', { integer: true, min: 1 });
        const w = startWorker(o.queue, {
          concurrency,
          lockDurationMs: lock,
          stalledIntervalMs: Math.max(500, Math.floor(lock / 2)),
        });
        w.on('failed', (job, err) => process.stderr.write(`flowlab worker: shard ${job?.id} failed: ${err.message}\n`));
        w.on('completed', (job) => out(`worker: shard ${job.id} done`));
        w.on('error', (err) => process.stderr.write(`flowlab worker: ${err.message}\n`));
        await w.waitUntilReady();
        out(`worker: ready on ${o.queue} (concurrency ${concurrency})`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        // a shard in progress is given up (BullMQ hands it to another worker when the lock expires)
        await Promise.race([w.close(true), new Promise((r) => setTimeout(r, 5_000).unref())]);
        out('worker: stopped');
        return 0;
      }),
    );
}
