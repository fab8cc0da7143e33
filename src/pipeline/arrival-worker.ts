/**
 * Worker side of `arrivalBlocksAhead` (src/pipeline/arrival-ahead.ts): runs
 * `arrivalBlocks` on its own thread and DuckDB instance and posts each block,
 * with every batch the first time a block refers to it (by id). Runs at most
 * `ahead` blocks ahead of the consumer (credits), so memory stays bounded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Dataset, type ReadOptions } from '../dataset/reader.js';
import { arrivalBlocks } from './arrival.js';
import { errorMessage } from '../io/workers.js';
import type { TickBatch } from '../core/types.js';

interface Data {
  readonly root: string;
  readonly opts: ReadOptions;
  readonly ahead: number;
}

const port = parentPort!;
const { root, opts, ahead } = (workerData as { data: Data }).data;
let credit = ahead;
let wake: (() => void) | null = null;
port.on('message', (m: { type: string; n: number }) => {
  if (m.type === 'credit') {
    credit += m.n;
    const w = wake;
    wake = null;
    w?.();
  }
});

async function run(): Promise<void> {
  let sent = new Set<number>();
  for await (const b of arrivalBlocks(new Dataset(root), opts)) {
    while (credit <= 0) await new Promise<void>((r) => (wake = r));
    credit--;
    const fresh: [number, TickBatch][] = [];
    const current = new Set<number>();
    for (let k = 0; k < b.batches.length; k++) {
      const id = b.batchIds[k];
      if (id < 0) continue;
      current.add(id);
      if (!sent.has(id)) fresh.push([id, b.batches[k]]);
    }
    sent = current;
    port.postMessage({ type: 'block', n: b.n, src: b.src, row: b.row, batchIds: b.batchIds, fresh }, [
      b.src.buffer,
      b.row.buffer,
    ]);
  }
  port.postMessage({ type: 'end' });
}

run().catch((e) => port.postMessage(errorMessage(e)));
