/**
 * `arrivalBlocksAhead`: the same blocks as `arrivalBlocks(new Dataset(root), opts)`,
 * in the same order, read on a worker thread (src/pipeline/arrival-worker.ts) up
 * to `ahead` blocks ahead of the consumer, so DuckDB decoding overlaps with
 * whatever the consumer computes. Batches cross the thread boundary once each
 * (structured clone); a block's `src` / `row` arrays are transferred.
 */
import type { ReadOptions } from '../dataset/reader.js';
import { EMPTY_BATCH, type ArrivalBlock } from './arrival.js';
import type { TickBatch } from '../core/types.js';
import { startWorker, toError, workerDied, type ErrorMessage } from '../io/workers.js';

type Msg =
  | { type: 'block'; n: number; src: Uint8Array; row: Int32Array; batchIds: number[]; fresh: [number, TickBatch][] }
  | { type: 'end' }
  | ErrorMessage;

export async function* arrivalBlocksAhead(
  root: string,
  opts: ReadOptions = {},
  ahead = 2,
): AsyncGenerator<ArrivalBlock> {
  const worker = startWorker(new URL('./arrival-worker.ts', import.meta.url), { root, opts, ahead });
  const queue: Msg[] = [];
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on('message', (m: Msg) => {
    queue.push(m);
    poke();
  });
  worker.on('error', (e) => {
    failure ??= workerDied('replay reader', e);
    poke();
  });
  worker.on('exit', (code) => {
    if (!ended) failure ??= workerDied('replay reader', `exited with code ${code}`);
    poke();
  });
  const batches = new Map<number, TickBatch>();
  try {
    for (;;) {
      while (queue.length === 0 && failure === null) await new Promise<void>((r) => (wake = r));
      const m = queue.shift();
      if (m === undefined) throw failure!;
      if (m.type === 'end') {
        ended = true;
        return;
      }
      if (m.type === 'error') {
        ended = true;
        throw toError(m, 'replay reader');
      }
      for (const [id, b] of m.fresh) batches.set(id, b);
      const list = m.batchIds.map((id) => (id < 0 ? EMPTY_BATCH : batches.get(id)!));
      for (const id of batches.keys()) if (!m.batchIds.includes(id)) batches.delete(id);
      worker.postMessage({ type: 'credit', n: 1 });
      yield { n: m.n, batches: list, batchIds: m.batchIds, src: m.src, row: m.row };
    }
  } finally {
    ended = true;
    await worker.terminate();
  }
}
