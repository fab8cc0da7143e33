import type { Command } from 'commander';

/** Every CLI command, in help order. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [];
