/**
 * `flowlab live --symbols <list> --config <yaml> --endpoint <url> --out artifacts/runtime
 *   --run-tag <tag> [--duration 1h]`: record and run the same sequencer, pipeline
 * and canary live (src/live). Stops after --duration or on SIGINT/SIGTERM,
 * then writes the same artifacts as `flowlab canary`.
 */
import type { Command } from 'commander';
import { action, examples, out } from '../run.js';
import { parseSymbolList, validatePath, validateTag } from '../../core/validate.js';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load.js';
import { parseDuration } from '../../../recorder/faults.js';
import { verdictLines } from './canary.js';

interface LiveCliOptions {
  symbols: string;
  config: string;
  endpoint: string;
  restEndpoint?: string;
  out: string;
  runTag: string;
  duration?: string;
  streams?: string;
  overwrite?: boolean;
}

export function register(program: Command): void {
  program
    .command('live')
    .description(
      'record Binance streams and run the same pipeline and canary gates live; writes the artifacts of `flowlab canary`',
    )
    .requiredOption('--symbols <list>', 'comma-separated symbols')
    .option('--config <yaml>', 'config file', DEFAULT_CONFIG_PATH)
    .requiredOption('--endpoint <url>', 'WebSocket base URL (e.g. ws://127.0.0.1:<port> for flowlab mock-exchange)')
    .option('--rest-endpoint <url>', 'REST base URL (default: the endpoint host when local)')
    .option('--out <dir>', 'output root', 'artifacts/runtime')
    .requiredOption('--run-tag <tag>', 'run tag')
    .option('--duration <d>', 'stop after this long (e.g. 10m); default: until SIGINT/SIGTERM')
    .option('--streams <list>', 'stream suffixes per symbol (default aggTrade,bookTicker,depth<N>@100ms)')
    .option('--overwrite', 'replace an existing run folder with the same tag')
    .addHelpText(
      'after',
      examples('flowlab live --symbols BTCUSDT --endpoint ws://127.0.0.1:8765 --run-tag live1 --duration 10m'),
    )
    .action(
      action(async (o: LiveCliOptions) => {
        const config = loadConfig(o.config);
        const cfg = config.config;
        const symbols = parseSymbolList(o.symbols);
        out(`config_fingerprint=${config.fingerprint} version=${cfg.version}`);
        out(
          `cvd_direction=${symbols.map((s) => `${s}:+1`).join(',')} (initial; cvd_auto_flip ${cfg.fusion.cvd_auto_flip.enabled ? 'on' : 'off'})`,
        );
        out(`merge_tol_ms=${cfg.labels.merge_tol_ms}`);
        out(`fusion(w,g)=(${cfg.fusion.weights.ofi},${cfg.fusion.weights.cvd},${cfg.fusion.gate})`);
        const duration = o.duration !== undefined ? parseDuration(o.duration, '--duration') : undefined;
        if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration: '${o.duration}' must be > 0`);
        const stop = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        // the recorder (prom-client, ws) loads only when a live run starts
        const { runLive } = await import('../../live/live.js');
        const run = await runLive({
          symbols,
          config,
          configPath: o.config,
          endpoint: o.endpoint,
          restEndpoint: o.restEndpoint,
          out: validatePath(o.out, '--out'),
          runTag: validateTag(o.runTag),
          durationMs: duration,
          stop,
          overwrite: o.overwrite,
          recorder:
            o.streams !== undefined
              ? {
                  streams: o.streams
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean),
                }
              : {},
          onLog: (line) => process.stderr.write(`flowlab: live: ${line}\n`),
        });
        for (const line of verdictLines(run, o.out)) out(line);
      }),
    );
}
