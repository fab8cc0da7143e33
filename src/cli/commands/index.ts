import type { Command } from 'commander';
import { register as config } from './config.js';

/** Every CLI command, in help order. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [config];
