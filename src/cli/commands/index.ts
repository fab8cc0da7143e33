import type { Command } from 'commander';
import { register as config } from './config.js';
import { register as importCmd } from './import.js';
import { register as dq } from './dq.js';
import { register as synth } from './synth.js';
import { register as replay } from './replay.js';
import { register as canary } from './canary.js';

/** Every CLI command, in help order. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [config, importCmd, synth, dq, replay, canary];
