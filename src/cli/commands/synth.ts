/**
 * `flowlab synth --out <dataset> [--symbols ...] [--hours 24] [--start ...] [--seed 42]
 *   [--effect x] [--dup-rate r] [--gap-rate r] [--ooo-rate r] [--skew-ms n]
 *   [--depth-interval-ms n] [--depth-levels n] [--effect-schedule 'SYM:EFFECT@OFFSET,...'] [--force]`
 *
 * Generates the deterministic synthetic market (src/synth) into a raw dataset
 * and prints a one-paragraph summary. Parsing and delegation only.
 */
import type { Command } from 'commander';
import { action, out, shown } from '../run.js';
import { parsePositiveNumber, parseSymbolList, parseTime, validatePath } from '../../core/validate.js';
import { UsageError } from '../../core/errors.js';
import { DEFAULT_SYNTH, synthesize, type EffectChange, type SynthOptions } from '../../synth/index.js';
import { parseDuration } from '../../../recorder/faults.js';
import { MANIFEST_FILE } from '../../dataset/manifest.js';

interface SynthCliOptions {
  out: string;
  symbols: string;
  hours: string;
  start: string;
  seed: string;
  effect: string;
  dupRate: string;
  gapRate: string;
  oooRate: string;
  skewMs: string;
  depthIntervalMs: string;
  depthLevels: string;
  effectSchedule?: string;
  force?: boolean;
}

const d = DEFAULT_SYNTH;

export function register(program: Command): void {
  program
    .command('synth')
    .description('generate the deterministic synthetic market (trades, L1 quotes, depth) into a raw dataset')
    .requiredOption('--out <dataset>', 'dataset directory to create (must not exist or be empty)')
    .option('--symbols <list>', 'comma-separated symbols', d.symbols.join(','))
    .option('--hours <h>', 'hours of data', String(d.hours))
    .option('--start <time>', 'start, ISO-8601 UTC or epoch ms', new Date(d.startMs).toISOString())
    .option(
      '--seed <n>',
      'seed (non-negative integer): same seed and options give byte-identical files',
      String(d.seed),
    )
    .option('--effect <x>', 'strength of the order-flow effect on the future mid (0 = none)', String(d.effect))
    .option('--dup-rate <r>', 'probability that a trade is delivered twice', String(d.dupRate))
    .option('--gap-rate <r>', 'probability that a trade is lost (agg id gap)', String(d.gapRate))
    .option('--ooo-rate <r>', 'probability that a message is held back and overtaken (out of order)', String(d.oooRate))
    .option('--skew-ms <ms>', 'constant clock skew added to receive times (integer, may be negative)', String(d.skewMs))
    .option('--depth-interval-ms <ms>', 'depth snapshot cadence per symbol (>= 1000)', String(d.depthIntervalMs))
    .option('--depth-levels <n>', 'depth levels per side', String(d.depthLevels))
    .option(
      '--effect-schedule <list>',
      "ground truth that changes: 'SYM:EFFECT@OFFSET[,...]' (OFFSET from the start, e.g. 12h, 90m, 30s); from OFFSET on SYM's effect is EFFECT (--effect is every symbol's base)",
    )
    .option('--force', 'replace an existing dataset at --out')
    .addHelpText(
      'after',
      `
Example:
  flowlab synth --out datasets/default                  # 24 h x 6 symbols, seed 42 (the demo dataset)
  flowlab synth --out /tmp/s --symbols BTCUSDT --hours 1 --effect 0
  flowlab synth --out /tmp/dying --symbols BTCUSDT,SOLUSDT --effect 0.15 --effect-schedule 'SOLUSDT:0@12h'

The model, its parameters and the AUC a correct pipeline should find are in src/synth/README.md.`,
    )
    .action(
      action(async (o: SynthCliOptions) => {
        const opts = parseOptions(o);
        const outDir = validatePath(o.out, '--out');
        const t0 = performance.now();
        const s = await synthesize(opts, outDir, { overwrite: o.force === true });
        const sec = (performance.now() - t0) / 1000;
        const inj = s.injected;
        const sched = (s.options.effectSchedule ?? [])
          .map((c) => `${c.symbol} ${c.effect} from +${c.offsetMs / 1000} s`)
          .join(', ');
        const lat = s.symbols.map((x) => x.latency_ms.p50);
        out(
          `synth: wrote ${s.rows.total.toLocaleString('en-US')} rows to ${shown(o.out, outDir)} in ${sec.toFixed(1)} s ` +
            `(${s.options.symbols.length} symbols x ${s.options.hours} h from ${new Date(s.options.startMs).toISOString()}, seed ${s.options.seed}, effect ${s.options.effect}${sched ? `; ${sched}` : ''}): ` +
            `trades ${s.rows.trades.toLocaleString('en-US')}, quotes ${s.rows.quotes.toLocaleString('en-US')}, depth ${s.rows.depth.toLocaleString('en-US')}; ` +
            `injected ${inj.dup_trades} duplicate trades, ${inj.lost_trades} lost trades (agg id gaps), ` +
            `${inj.ooo_delayed} held-back messages (${inj.ooo_reordered} overtaken), ${inj.late_over_watermark} later than the 500 ms watermark; ` +
            `latency p50 ${Math.min(...lat)}-${Math.max(...lat)} ms; ${s.manifest.files.length} part files, truth in ${MANIFEST_FILE} stats.synth.`,
        );
      }),
    );
}

function parseOptions(o: SynthCliOptions): SynthOptions {
  const rate = (raw: string, where: string) => parsePositiveNumber(raw, where, { max: 0.5 });
  const skew = Number(o.skewMs);
  if (o.skewMs.trim() === '' || !Number.isInteger(skew) || Math.abs(skew) > 3_600_000) {
    throw new UsageError(`--skew-ms: '${o.skewMs}' is not valid (expected an integer number of ms within +-3600000)`);
  }
  const symbols = parseSymbolList(o.symbols);
  const hours = parsePositiveNumber(o.hours, '--hours', { min: 1 / 3600, max: 24 * 31 });
  return {
    symbols,
    hours,
    startMs: parseTime(o.start, '--start'),
    seed: parsePositiveNumber(o.seed, '--seed', { integer: true, max: Number.MAX_SAFE_INTEGER }),
    effect: parsePositiveNumber(o.effect, '--effect', { max: 5 }),
    dupRate: rate(o.dupRate, '--dup-rate'),
    gapRate: rate(o.gapRate, '--gap-rate'),
    oooRate: rate(o.oooRate, '--ooo-rate'),
    skewMs: skew,
    depthIntervalMs: parsePositiveNumber(o.depthIntervalMs, '--depth-interval-ms', {
      integer: true,
      min: 1000,
      max: 3_600_000,
    }),
    depthLevels: parsePositiveNumber(o.depthLevels, '--depth-levels', { integer: true, min: 1, max: 100 }),
    effectSchedule: o.effectSchedule === undefined ? [] : parseEffectSchedule(o.effectSchedule, symbols, hours),
  };
}

/** `SYM:EFFECT@OFFSET[,...]` -> changes; every message names the entry and what was expected. */
function parseEffectSchedule(raw: string, symbols: readonly string[], hours: number): EffectChange[] {
  const where = '--effect-schedule';
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.every((e) => e === ''))
    throw new UsageError(`${where}: '${raw}' is empty (expected SYM:EFFECT@OFFSET[,...], e.g. SOLUSDT:0@12h)`);
  const durMs = Math.round(hours * 3600) * 1000;
  const known = new Set(symbols);
  const seen = new Set<string>();
  return entries.map((e) => {
    const m = /^([^:@]+):([^:@]+)@([^:@]+)$/.exec(e);
    if (!m) throw new UsageError(`${where}: '${e}' is not SYM:EFFECT@OFFSET (e.g. SOLUSDT:0@12h)`);
    const symbol = m[1].trim().toUpperCase();
    if (!known.has(symbol))
      throw new UsageError(`${where}: '${e}': symbol ${symbol} is not in --symbols (${symbols.join(',')})`);
    const effect = parsePositiveNumber(m[2].trim(), `${where} '${e}': effect`, { max: 5 });
    const offsetMs = parseDuration(m[3], `${where} '${e}': offset`);
    if (offsetMs >= durMs)
      throw new UsageError(
        `${where}: '${e}': offset ${m[3].trim()} is not inside the dataset (expected less than --hours ${hours} = ${durMs / 1000} s)`,
      );
    const key = `${symbol}@${offsetMs}`;
    if (seen.has(key)) throw new UsageError(`${where}: '${e}': ${symbol} already changes at that offset`);
    seen.add(key);
    return { symbol, offsetMs, effect };
  });
}
