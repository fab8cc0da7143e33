import type { Command } from 'commander';
import { register as config } from './config.js';
import { register as importCmd } from './import.js';
import { register as dq } from './dq.js';
import { register as synth } from './synth.js';
import { register as replay } from './replay.js';
import { register as canary } from './canary.js';
import { register as demo } from './demo.js';
import { register as record } from './record.js';
import { register as mockExchange } from './mock-exchange.js';
import { register as live } from './live.js';
import { register as report } from './report.js';
import { register as sweep } from './sweep.js';

/** Every CLI command, in help order. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  demo,
  config,
  importCmd,
  synth,
  dq,
  replay,
  canary,
  report,
  record,
  mockExchange,
  live,
  sweep,
];
