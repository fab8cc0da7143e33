/** Child-process harness: `node --import tsx test/recorder/record-child.ts record ...` runs the real `record` command module. */
import { Command } from 'commander';
import { register } from '../../src/cli/commands/record.js';
import { getExit } from '../../src/cli/run.js';

const program = new Command().name('flowlab').exitOverride();
register(program);
await program.parseAsync(process.argv);
process.exit(getExit());
