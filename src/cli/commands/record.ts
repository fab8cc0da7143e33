/**
 * `flowlab record --symbols <list> --out <dataset> [--endpoint ws://127.0.0.1:port]
 *   [--streams aggTrade,bookTicker,depth20@100ms] [--duration 60s] [--metrics-port n] [--config yaml]`
 *
 * Live recorder (ARCHITECTURE §7, recorder/README.md). Runs until --duration
 * has passed or SIGINT/SIGTERM, then flushes cleanly (journal, part files,
 * manifest, checkpoint, hourly files). Re-running on the same --out resumes
 * (only a recording of the same endpoint host, streams and symbols).
 * Exit: 0 clean stop, nothing lost; 1 data lost (trade ids no backfill could
 * recover, unreadable journal lines; the rest is recorded) or a data error; 2 usage.
 */
import type { Command } from 'commander';
import { action, examples, out } from '../run.js';
import { parsePositiveNumber, parseSymbolList, validatePath } from '../../core/validate.js';
import { UsageError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import type { RecorderConfig } from '../../../recorder/recorder.js';
import { parseDuration } from '../../../recorder/faults.js';

interface RecordOpts {
  symbols: string;
  out: string;
  endpoint?: string;
  restEndpoint?: string;
  streams?: string;
  duration?: string;
  metricsPort?: string;
  config?: string;
  seed: string;
  hourlyDq?: boolean;
}

export function register(program: Command): void {
  program
    .command('record')
    .description(
      'record Binance combined streams (aggTrade, bookTicker, depth) into a raw dataset, crash-safe and resumable',
    )
    .requiredOption('--symbols <list>', 'comma-separated symbols, e.g. BTCUSDT,ETHUSDT')
    .requiredOption(
      '--out <dataset>',
      'dataset folder: new, empty, or a recording of the same source to resume (exit 0 ok, 1 data lost, 2 usage)',
    )
    .option(
      '--endpoint <url>',
      'WebSocket base URL (default wss://stream.binance.com:9443; tests: ws://127.0.0.1:<port>)',
    )
    .option(
      '--rest-endpoint <url>',
      'REST base URL for depth snapshots and trade backfill (default: the endpoint host when local, else https://api.binance.com)',
    )
    .option('--streams <list>', 'stream suffixes per symbol (default aggTrade,bookTicker,depth<depth_levels>@100ms)')
    .option('--duration <d>', 'stop after this long (e.g. 60s, 2h); default: until SIGINT/SIGTERM')
    .option('--metrics-port <n>', 'serve Prometheus /metrics on 127.0.0.1:<n> (0 = any free port)')
    .option('--config <yaml>', 'config file (key recorder:)')
    .option('--seed <n>', 'seed of the reconnect jitter', '1')
    .option('--no-hourly-dq', 'skip the hourly dq reports (slices manifests are still written)')
    .addHelpText(
      'after',
      examples(
        'flowlab record --symbols BTCUSDT,ETHUSDT --out datasets/live --duration 2h --metrics-port 9464',
        'flowlab record --symbols BTCUSDT --out /tmp/rec --endpoint ws://127.0.0.1:8765 --duration 60s',
      ),
    )
    .action(
      action(async (opts: RecordOpts) => {
        const symbols = parseSymbolList(opts.symbols);
        const outDir = validatePath(opts.out, '--out');
        const loaded = opts.config !== undefined ? loadConfig(opts.config) : undefined;
        const config: Partial<RecorderConfig> | undefined = loaded?.config.recorder;
        const metricsPort =
          opts.metricsPort !== undefined
            ? parsePositiveNumber(opts.metricsPort, '--metrics-port', { integer: true, max: 65535 })
            : null;
        const seed = parsePositiveNumber(opts.seed, '--seed', { integer: true });
        const duration = opts.duration !== undefined ? parseDuration(opts.duration, '--duration') : null;
        if (duration !== null && duration <= 0) throw new UsageError(`--duration: '${opts.duration}' must be > 0`);
        // prom-client and ws load only when recording
        const { Recorder } = await import('../../../recorder/recorder.js');
        const rec = new Recorder({
          symbols,
          out: outDir,
          endpoint: opts.endpoint,
          restEndpoint: opts.restEndpoint,
          streams:
            opts.streams !== undefined
              ? opts.streams
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
              : undefined,
          config,
          coverageConfig: loaded,
          seed,
          metricsPort,
          hourlyDq: opts.hourlyDq !== false,
          onLog: (line) => process.stderr.write(`flowlab: record: ${line}\n`),
        });
        await rec.start();
        const m = rec.metricsAddress;
        out(
          `recording ${symbols.join(',')} -> ${outDir}${m ? ` (metrics http://${m.address}:${m.port}/metrics)` : ''}`,
        );
        await new Promise<void>((resolve) => {
          // The recorder's own timers are unref'd; this one keeps Node alive while it reconnects
          // (without it a refused connection ended the process with exit 13 and no word).
          const keepAlive = setInterval(() => undefined, 60_000);
          const done = () => {
            clearInterval(keepAlive);
            resolve();
          };
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          if (duration !== null) setTimeout(done, duration);
        });
        await rec.stop();
        const k = rec.counters;
        const msgs = Object.entries(k.messages)
          .map(([t, n]) => `${t}=${n}`)
          .join(' ');
        const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
        out(
          `stopped: ${msgs || 'no messages'}; dedup_hits=${k.dedup_hits} reconnects=${k.reconnects} malformed=${sum(k.malformed)} bad_rows=${sum(k.bad_rows)} backfilled=${k.backfilled} write_errors=${k.write_errors} checkpoints=${k.checkpoints} trade_ids_lost=${k.trade_ids_lost} backfill_errors=${k.backfill_errors} depth_resyncs=${k.depth_resyncs} journal_corrupt_lines=${k.journal_corrupt_lines}`,
        );
        // Exit 1 when data was lost (trade ids no backfill could recover, unreadable journal lines): the
        // dataset holds everything else, consistently; the loss is in the manifest and the DQ report too.
        const lost: string[] = [];
        if (k.trade_ids_lost > 0) lost.push(`${k.trade_ids_lost} trade ids declared lost (backfill failed)`);
        if (k.journal_corrupt_lines > 0)
          lost.push(
            `${k.journal_corrupt_lines} journal lines unreadable on recovery (kept in ${outDir}/_journal-corrupt)`,
          );
        if (lost.length > 0) {
          process.stderr.write(`flowlab: record: data lost: ${lost.join('; ')}\n`);
          return 1;
        }
        return 0;
      }),
    );
}
