/**
 * Worker side of `runShards` (src/replay/shards.ts): one symbol shard's
 * `runPass` (read -> sequence -> calculators -> write, own DuckDB instance),
 * watched by the spec's shard observer if any, reporting its tick count now
 * and then, then its outputs, figures and observer record, or the error. A `stop` message (another shard failed) ends the pass between arrival
 * blocks, after its writes in flight; it then answers `stopped`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../io/workers.js';
import { runPass, type PassSpec } from './replay.js';
import type { ShardMessage } from './shards.js';

/** Ticks between progress messages. */
const TICKS_EVERY = 100_000;

const port = parentPort!;
const spec = (workerData as { data: PassSpec }).data;
const stop = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stop.abort();
});
const post = (m: ShardMessage) => port.postMessage(m);

let reported = 0;
runPass(spec, {
  signal: stop.signal,
  onTicks: (t) => {
    if (t - reported >= TICKS_EVERY) {
      reported = t;
      post({ type: 'ticks', ticks: t });
    }
  },
}).then(
  (r) => {
    post({ type: 'ticks', ticks: r.ticks });
    const m: ShardMessage = {
      type: 'result',
      outputs: r.outputs,
      ticks: r.ticks,
      counters: r.counters,
      symbols: r.symbolSummary(),
      ...(r.observed ? { observed: r.observed } : {}),
    };
    // the observer's columns move to the calling thread (they are not used here any more)
    port.postMessage(m, r.observed?.flatMap((o) => [...o.transfer]) ?? []);
  },
  (e) => post(stop.signal.aborted ? { type: 'stopped' } : errorMessage(e)),
);
