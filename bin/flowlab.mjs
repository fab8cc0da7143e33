#!/usr/bin/env node
// flowlab CLI entry: registers tsx so the TypeScript sources run directly (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
