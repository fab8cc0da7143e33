/**
 * The one progress bar of long commands (synth, import, dq, replay, the
 * canary's evaluation). Drawn on stderr, and only when stderr is a terminal
 * unless the caller forces it (`--no-progress` gives `false`); otherwise every
 * method is a no-op, so piped or test output stays quiet. Reads the clock
 * only for the bar's ETA: it never influences any output file.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Begin (or restart with a new label) a phase of `total` units. */
  start(label: string, total: number, unit: string): void;
  update(done: number): void;
  stop(): void;
}

const QUIET: Progress = { start() {}, update() {}, stop() {} };

const thousands = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v));

/** A bar on stderr when `enabled` (default: stderr is a TTY), else a no-op. */
export function progressBar(enabled?: boolean): Progress {
  if (!(enabled ?? Boolean(process.stderr.isTTY))) return QUIET;
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(label, total, unit) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${label.padEnd(9)} {bar} {percentage}% | {value}/{total} ${unit} | eta {eta}s`,
          formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? thousands(v) : String(v)),
          hideCursor: true,
          noTTYOutput: true, // forced on (progress: true) it also draws into a pipe
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(0, total), 0);
    },
    update(done) {
      bar?.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
