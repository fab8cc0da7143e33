/**
 * `flowlab import`: raw Binance captures or public-data files -> a raw dataset
 * (ARCHITECTURE §2). Parsing and delegation only; the work is in src/import/.
 */
import { Option, type Command } from 'commander';
import { action, out, shown } from '../run.js';
import { parsePositiveNumber, validateSymbol } from '../../core/validate.js';
import { IMPORT_FORMATS, runImport, type ImportFormat, type ImportResult } from '../../import/run.js';
import { nonZero } from '../../import/counters.js';

interface ImportOpts {
  format: ImportFormat;
  in: string[];
  out: string;
  depthLevels: string;
  rotateSec: string;
  symbol?: string;
}

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'import Binance WebSocket captures (ws-capture), public-data CSV/zip files (binance-vision) or Tardis.dev CSV datasets (tardis) into a raw dataset',
    )
    .addOption(new Option('--format <format>', 'input format').choices([...IMPORT_FORMATS]).makeOptionMandatory())
    .requiredOption(
      '--in <files...>',
      'input files, imported in the given order (one capture split over several files continues across them)',
    )
    .requiredOption('--out <dataset>', 'dataset directory to create (must not exist or be empty)')
    .option('--depth-levels <n>', 'depth levels per side kept in depth rows', '20')
    .option('--rotate-sec <s>', 'rotate part files every S seconds of receive time', '3600')
    .option('--symbol <sym>', 'binance-vision only: symbol when the file name does not carry one')
    .addHelpText(
      'after',
      `
Examples:
  flowlab import --format ws-capture --in btcusdt_20240808.gz btcusdt_20240809.gz --out datasets/btc
  flowlab import --format binance-vision --in BTCUSDT-aggTrades-2024-08-08.zip --out datasets/btc-vision
  flowlab import --format tardis --in binance_trades_2024-08-08_BTCUSDT.csv.gz binance_quotes_2024-08-08_BTCUSDT.csv.gz --out datasets/btc-tardis

Bad input rows are counted, not fatal; counters are printed and stored in _manifest.json (stats.import).`,
    )
    .action(
      action(async (opts: ImportOpts) => {
        const depthLevels = parsePositiveNumber(opts.depthLevels, '--depth-levels', {
          integer: true,
          min: 1,
          max: 100,
        });
        const rotateSec = parsePositiveNumber(opts.rotateSec, '--rotate-sec', { min: 1 });
        const symbol = opts.symbol !== undefined ? validateSymbol(opts.symbol, '--symbol') : undefined;
        const r = await runImport({
          format: opts.format,
          inputs: opts.in,
          out: opts.out,
          depthLevels,
          rotateSec,
          symbol,
          onWarning: (msg) => process.stderr.write(`flowlab: warning: ${msg}\n`),
        });
        for (const line of summarize({ ...r, out: shown(opts.out, r.out) })) out(line);
      }),
    );
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The printed summary: files, rows per symbol and kind, time span, non-zero counters. */
export function summarize(r: ImportResult): string[] {
  const m = r.manifest;
  const c = r.counters;
  const lines: string[] = [];
  const rate = r.seconds > 0 ? Math.round(c.lines / r.seconds) : 0;
  lines.push(
    `imported ${r.inputs.length} file(s) as ${String(m.source.type)} -> ${r.out}: ${c.lines} lines in ${r.seconds.toFixed(2)} s (${rate} lines/s)`,
  );
  for (const s of m.symbols) {
    const k = m.rows[s];
    lines.push(
      `  ${s.padEnd(14)} trades ${String(k.trades).padStart(9)}  quotes ${String(k.quotes).padStart(9)}  depth ${String(k.depth).padStart(9)}`,
    );
  }
  const tr = m.time_range;
  if (c.event_ts_ms_range)
    lines.push(`  input exchange time (E) ${iso(c.event_ts_ms_range[0])} .. ${iso(c.event_ts_ms_range[1])}`);
  if (c.recv_ts_ms_range)
    lines.push(`  input receive time      ${iso(c.recv_ts_ms_range[0])} .. ${iso(c.recv_ts_ms_range[1])}`);
  if (tr.ts_ms) lines.push(`  rows ts_ms              ${iso(tr.ts_ms[0])} .. ${iso(tr.ts_ms[1])}`);
  const msgs = Object.entries(c.messages).map(([k, v]) => `${k}=${v}`);
  if (msgs.length) lines.push(`  messages: ${msgs.join(' ')}`);
  const nz = nonZero(c);
  lines.push(`  counters: ${nz.length ? nz.join(' ') : 'all zero'}`);
  return lines;
}
