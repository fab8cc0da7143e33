/**
 * `flowlab <command>`: one module per command under ./commands, each exporting
 * `register(program)`. Exit codes: 0 ok, 1 failure, 2 usage or config error.
 */
import { Command, CommanderError } from 'commander';
import { getExit, setExit } from './run.js';
import { COMMANDS } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('flowlab')
    .description('Deterministic research environment for order-flow signals (OFI, CVD, fusion) on crypto ticks')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
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
