/**
 * `flowlab mock-exchange --data <dataset|capture.gz> --port <n> [--speed <x|max>] [--faults <spec>]`
 *
 * A local Binance look-alike on 127.0.0.1 (recorder/mock-exchange.ts): the
 * combined-stream WebSocket plus the REST depth / aggTrades / historicalTrades
 * endpoints, replaying a raw dataset or a ws-capture file. Runs until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { action, examples, out } from '../run.js';
import { parsePositiveNumber, validatePath } from '../../core/validate.js';
import { parseFaults } from '../../../recorder/faults.js';

interface MockOpts {
  data: string;
  port: string;
  speed: string;
  faults?: string;
  maxLines?: string;
  window: string;
}

export function register(program: Command): void {
  program
    .command('mock-exchange')
    .description(
      'serve a dataset or capture as a local Binance (combined-stream WebSocket + REST) on 127.0.0.1, with seeded faults',
    )
    .requiredOption('--data <path>', 'raw dataset folder or ws-capture file (.gz)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', '0')
    .option('--speed <x>', "replay speed factor, or 'max'", '1')
    .option(
      '--faults <spec>',
      'e.g. disconnect=5s,dup=0.01,reorder=0.01,malformed=0.001,stall=10s@30s,ping=3s,cut=60s,oversize=20s,drop=0.001,seed=7',
    )
    .option('--max-lines <n>', 'capture only: replay only the first N lines')
    .option('--window <n>', 'flow-control window in messages', '2000')
    .addHelpText(
      'after',
      examples(
        'flowlab mock-exchange --data datasets/default --port 8765 --speed 10',
        'flowlab mock-exchange --data capture.gz --port 0 --faults disconnect=5s,dup=0.01,seed=7',
      ),
    )
    .action(
      action(async (opts: MockOpts) => {
        const data = validatePath(opts.data, '--data');
        const port = parsePositiveNumber(opts.port, '--port', { integer: true, max: 65535 });
        const speed =
          opts.speed === 'max' || opts.speed === 'Infinity'
            ? Infinity
            : parsePositiveNumber(opts.speed, '--speed', { min: 1e-6 });
        const faults = parseFaults(opts.faults);
        const maxLines =
          opts.maxLines !== undefined
            ? parsePositiveNumber(opts.maxLines, '--max-lines', { integer: true, min: 1 })
            : undefined;
        const window = parsePositiveNumber(opts.window, '--window', { integer: true, min: 2 });
        // ws loads only when the mock exchange runs
        const [{ MockExchange }, { loadSource }] = await Promise.all([
          import('../../../recorder/mock-exchange.js'),
          import('../../../recorder/mock-source.js'),
        ]);
        const source = await loadSource(data, maxLines);
        const mock = new MockExchange({ source, speed, faults, window });
        const a = await mock.start(port);
        out(
          `mock exchange on ${a.url}/stream (REST ${a.restUrl}); ${source.n} messages; streams: ${source.streams.join(' ')}`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await mock.close();
        const s = mock.stats;
        out(
          `mock exchange stopped: connections=${s.connections} sent=${s.sent} dups=${s.dups} reordered=${s.reordered} malformed=${s.malformed} dropped=${s.dropped} disconnects=${s.disconnects} stalls=${s.stalls} oversize=${s.oversize} rest=${s.rest_requests}`,
        );
      }),
    );
}
