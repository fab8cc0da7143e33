/**
 * `flowlab <command>`: one module per command under ./commands, each exporting
 * `register(program)`. Exit codes: 0 ok, 1 failure, 2 usage or config error.
 *
 * Shared for every command here: `--version`; required options marked
 * "(required)" in `--help` and all missing ones reported in one line (exit 2);
 * a final "done in X s" line on stdout after a command that ran (not after
 * `--json` output or another document on stdout, not after an error).
 */
import { Command, CommanderError, type Option } from 'commander';
import { doneLineSuppressed, getExit, setExit, threw } from './run.js';
import { COMMANDS } from './commands/index.js';
import { FLOWLAB_VERSION } from '../replay/code.js';

/** Commands quick enough that a timing line would only be noise. */
const UNTIMED = new Set(['config']);

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('flowlab')
    .description('Deterministic research environment for order-flow signals (OFI, CVD, fusion) on crypto ticks')
    .version(FLOWLAB_VERSION, '-V, --version', 'print the flowlab version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  for (const c of program.commands) checkAllRequired(c);
  return program;
}

/**
 * Commander stops at the first missing mandatory option; this marks them in
 * the help and, before the action, reports every missing one at once.
 */
function checkAllRequired(cmd: Command): void {
  const required: Option[] = cmd.options.filter((o) => o.mandatory);
  for (const o of required) {
    o.mandatory = false;
    o.description = `(required) ${o.description}`;
  }
  if (required.length === 0) return;
  cmd.hook('preAction', (c) => {
    const missing = required.filter((o) => c.getOptionValue(o.attributeName()) === undefined);
    if (missing.length === 0) return;
    const list = missing.map((o) => `'${o.flags}'`).join(', ');
    c.error(`error: required option${missing.length > 1 ? 's' : ''} ${list} not specified`, {
      code: 'commander.missingMandatoryOptionValue',
      exitCode: 2,
    });
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  setExit(0);
  const program = buildProgram();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  // sub-commands inherit exitOverride only when set per command
  for (const c of program.commands) c.exitOverride();
  let t0 = 0;
  program.hook('preAction', () => {
    t0 = performance.now();
  });
  program.hook('postAction', (_p, c) => {
    if (threw() || doneLineSuppressed() || UNTIMED.has(c.name()) || c.opts().json === true) return;
    process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  });
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return 0;
      return 2;
    }
    throw e;
  }
  return getExit();
}
