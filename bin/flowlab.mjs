#!/usr/bin/env node
// flowlab CLI entry: registers tsx so the TypeScript sources run directly (no build step).
import { register } from 'tsx/esm/api';

// A reader that closes early (`flowlab dq ... | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
